/* Key-store support: sealing key files at rest, random bytes, and moving keys in and out
 * of PKCS#11 tokens as their components (cc_store.c). Conventions: see cc.h. */
#ifndef CC_STORE_H
#define CC_STORE_H

#include "cc.h"

/* Fills out with len random bytes from the core's generator (len 1..4096). */
int cc_store_random(size_t len, cc_buf *out);

/* AES-256-GCM with a fresh random 96-bit nonce. key: 32 bytes. sealed = nonce || ct || tag. */
int cc_store_seal(const uint8_t *key, size_t key_len, const uint8_t *aad, size_t aad_len,
                  const uint8_t *plain, size_t plain_len, cc_buf *sealed);

/* Opens what cc_store_seal made; CC_E_AUTH when key, aad or data do not match. */
int cc_store_open(const uint8_t *key, size_t key_len, const uint8_t *aad, size_t aad_len,
                  const uint8_t *sealed, size_t sealed_len, cc_buf *plain);

/* Splits a private key DER into the components a PKCS#11 token imports. parts is a list
 * of fields, each a 4-byte big-endian length then the bytes:
 *   EC:  curve OID (DER, for CKA_EC_PARAMS), private value d, public point 04||X||Y
 *   RSA: n, e, d, p, q, dp, dq, qinv (unsigned big-endian)
 * Returns CC_KEY_EC or CC_KEY_RSA. parts holds secrets: wipe it after use. */
int cc_store_key_parts(const uint8_t *key, size_t key_len, cc_buf *parts);

/* Builds a SubjectPublicKeyInfo from what a PKCS#11 token reports:
 *   CC_KEY_EC:  a = CKA_EC_PARAMS (DER OID), b = CKA_EC_POINT (DER OCTET STRING or raw point)
 *   CC_KEY_RSA: a = CKA_MODULUS, b = CKA_PUBLIC_EXPONENT */
int cc_store_spki(int kind, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                  cc_buf *spki);

#endif /* CC_STORE_H */
