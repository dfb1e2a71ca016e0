/*
 * certd crypto core: the C layer over mbedTLS that the WASI module exports.
 *
 * Conventions (the binding in wasm/core.ts relies on them):
 *  - every function is named cc_<module>_<verb> and returns int: >= 0 is success (some
 *    functions return a value, e.g. 1/0 for a check), < 0 is a CC_E_* status;
 *  - inputs are (const uint8_t *p, size_t len) pairs; text inputs are UTF-8, not
 *    NUL-terminated;
 *  - outputs are cc_buf slots; the core allocates them with cc_alloc, the caller wipes and
 *    frees them with cc_free. On failure every output slot is left empty;
 *  - every secret the core held is zeroized before its memory is freed.
 * No mbedTLS type appears here.
 */
#ifndef CC_H
#define CC_H

#include <stddef.h>
#include <stdint.h>

typedef struct cc_buf {
    uint8_t *p;
    size_t len;
} cc_buf;

/* Statuses. Append-only: the binding's error catalogue maps each to a stable name. */
#define CC_OK                    0
#define CC_E_ARG                -1  /* an argument is out of range (a caller bug) */
#define CC_E_NOMEM              -2  /* the core's heap is exhausted */
#define CC_E_RNG                -3  /* the random generator failed */
#define CC_E_PEM                -4  /* malformed PEM or base64 */
#define CC_E_DER                -5  /* malformed DER / ASN.1 */
#define CC_E_KEY                -6  /* not a private key in a form the core reads */
#define CC_E_KEY_TYPE           -7  /* key type, size or curve not supported */
#define CC_E_PASS_REQUIRED      -8  /* the key is encrypted and no passphrase was given */
#define CC_E_PASS_WRONG         -9  /* wrong passphrase (or a MAC that does not check) */
#define CC_E_ALG               -10  /* a cipher, PBE, digest or MAC algorithm not supported */
#define CC_E_CERT              -11  /* not a certificate the core reads */
#define CC_E_SUBJECT           -12  /* a subject / distinguished name that does not parse */
#define CC_E_SAN               -13  /* a subject alternative name that does not parse */
#define CC_E_TIME              -14  /* a validity time that does not parse or is out of order */
#define CC_E_SIG               -15  /* a signature that is malformed or the wrong size */
#define CC_E_P12               -16  /* a PKCS#12 file that does not parse */
#define CC_E_P12_NO_KEY        -17  /* a PKCS#12 file with no private key */
#define CC_E_P12_NO_CERT       -18  /* a PKCS#12 file with no certificate for its key */
#define CC_E_CSR               -19  /* not a certificate request the core reads */
#define CC_E_AUTH              -20  /* sealed data that does not authenticate */
#define CC_E_ITER              -21  /* a key derivation asks for more iterations than allowed */
#define CC_E_INTERNAL          -99  /* anything else from mbedTLS */

/* Key kinds and digest ids used across modules. */
#define CC_KEY_EC      1
#define CC_KEY_RSA     2

#define CC_MD_SHA256   1
#define CC_MD_SHA384   2
#define CC_MD_SHA512   3

#define CC_SIG_ECDSA    1
#define CC_SIG_PKCS1V15 2
#define CC_SIG_PSS      3

/* Lifecycle and memory -------------------------------------------------------------- */

/* Seeds the random generator from WASI random_get. Call once after _initialize. */
int cc_core_init(void);
void *cc_alloc(size_t len);
void cc_free(void *p);


#endif /* CC_H */
