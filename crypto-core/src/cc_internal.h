/* Shared helpers of the core's modules. Not exported. */
#ifndef CC_INTERNAL_H
#define CC_INTERNAL_H

#include "cc.h"

/* The core's random generator (CTR_DRBG over WASI random_get), as an mbedTLS f_rng. */
int cc_rng(void *ctx, unsigned char *out, size_t len);
void *cc_rng_ctx(void);

/* Maps an mbedTLS error code (negative, high or low level) to a CC_E_* status. */
int cc_status_from_mbedtls(int ret);

/* Fills an output slot with a copy of len bytes. */
int cc_buf_set(cc_buf *out, const void *p, size_t len);
/* Wipes and frees an output slot, leaving it empty. */
void cc_buf_clear(cc_buf *out);

/* A growable text buffer for JSON results (public data only). */
typedef struct cc_json {
    char *p;
    size_t len;
    size_t cap;
    int failed;
} cc_json;

void cc_json_init(cc_json *j);
void cc_json_free(cc_json *j);
void cc_json_raw(cc_json *j, const char *s);
void cc_json_str(cc_json *j, const char *s, size_t len);   /* quoted, escaped */
void cc_json_cstr(cc_json *j, const char *s);              /* quoted, escaped */
void cc_json_int(cc_json *j, long long v);
/* Uppercase hex, sep (if not 0) between octets: quoted, or raw inside text being built. */
void cc_json_hex(cc_json *j, const uint8_t *p, size_t len, char sep);
void cc_json_hex_raw(cc_json *j, const uint8_t *p, size_t len, char sep);
void cc_json_b64(cc_json *j, const uint8_t *p, size_t len);           /* quoted */
void cc_json_key(cc_json *j, const char *key);             /* "key": with a comma if needed */
/* Moves the text into an output slot; fails with CC_E_NOMEM if any append failed. */
int cc_json_finish(cc_json *j, cc_buf *out);

/* Reads a PEM block with the given label if the input is PEM, else takes it as DER.
 * *der points into *owned (freed by the caller with cc_free after wiping) or into in. */
int cc_pem_or_der(const uint8_t *in, size_t in_len, const char *label,
                  const uint8_t **der, size_t *der_len, uint8_t **owned);

/* Writes a parsed key (an mbedtls_pk_context) as the canonical private key DER and its
 * SubjectPublicKeyInfo DER into two output slots; both are left empty on failure. */
struct mbedtls_pk_context;
int cc_pk_export(struct mbedtls_pk_context *pk, cc_buf *key, cc_buf *spki);

/* Zeroizes and frees memory that may hold a secret. */
void cc_wipe_free(void *p, size_t len);

#endif /* CC_INTERNAL_H */
