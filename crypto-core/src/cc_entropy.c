/* The core's only entropy source: WASI random_get (getrandom(2) in the native build). */
#include <stddef.h>
#include <stdint.h>

#include "mbedtls/entropy.h"

#if defined(__wasm__)
__attribute__((import_module("wasi_snapshot_preview1"), import_name("random_get")))
extern uint16_t cc_wasi_random_get(uint8_t *buf, size_t len);

static int fill(unsigned char *out, size_t len)
{
    return cc_wasi_random_get(out, len) == 0 ? 0 : -1;
}
#else
#include <sys/random.h>

static int fill(unsigned char *out, size_t len)
{
    while (len > 0) {
        ssize_t n = getrandom(out, len, 0);
        if (n <= 0) {
            return -1;
        }
        out += n;
        len -= (size_t) n;
    }
    return 0;
}
#endif

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
    (void) data;
    if (fill(output, len) != 0) {
        *olen = 0;
        return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
    }
    *olen = len;
    return 0;
}
