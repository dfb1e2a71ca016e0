// How long certd waits for keystored, per operation. Sized from the wasm core on x86
// (RSA-4096 keygen 2-15 s, RSA-2048 0.3-3 s, an RSA-4096 signature 0.15 s, all in
// keystored's worker thread, where a call may queue behind another keygen), with room.
// CERTD_KEYSTORE_TIME_SCALE multiplies every limit: set it on slow CPUs (armv7: 5-10).
import { Opcode, type KeyType } from '../../../ipc/protocol';

export const TIME_SCALE = Math.max(1, Number(process.env.CERTD_KEYSTORE_TIME_SCALE) || 1);

const SHORT_MS = 5000;
const GENERATE_MS: Record<KeyType, number> = {
  'EC-P256': 10_000, 'EC-P384': 10_000, 'EC-P521': 10_000,
  'RSA-1024': 15_000, 'RSA-2048': 30_000, 'RSA-3072': 60_000, 'RSA-4096': 120_000,
};
const LONG_MS: Partial<Record<Opcode, number>> = { [Opcode.SIGN_DIGEST]: 30_000, [Opcode.IMPORT_KEY]: 10_000 };

/** Milliseconds a call may wait for its reply. */
export function timeoutFor(op: Opcode, keyType?: KeyType): number {
  const ms = op === Opcode.GENERATE_KEY && keyType ? GENERATE_MS[keyType] : LONG_MS[op] ?? SHORT_MS;
  return ms * TIME_SCALE;
}

/** A call unanswered this long makes certd ask keystored whether it is there at all. */
export const PROBE_AFTER_MS = 1500 * TIME_SCALE;
/** The probe (DESCRIBE_STORES: answered from memory, touches no token) may take this long. */
export const PROBE_TIMEOUT_MS = 2000 * TIME_SCALE;
/** While keystored is down, it is probed this often; writes fail at once meanwhile. */
export const PROBE_EVERY_MS = 1000;
