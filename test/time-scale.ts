// How much longer the tests' time limits are: test-arm.sh sets it for runs under QEMU, where
// CPU-bound work (an RSA-4096 keygen in the wasm core on armv7) is 5-20x slower.
export const TIME_SCALE = Math.max(1, Number(process.env.CERTD_TEST_TIME_SCALE) || 1);
