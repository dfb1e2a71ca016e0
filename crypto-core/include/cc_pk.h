/* Keys: generation, parsing, signing (cc_pk.c). Conventions: see cc.h. */
#ifndef CC_PK_H
#define CC_PK_H

#include "cc.h"

/* Generates a key. kind CC_KEY_EC with size 256/384/521, or CC_KEY_RSA with size
 * 1024..4096 (multiple of 1024, e 65537). seed_len 0 draws from the core's generator; a
 * seed makes generation deterministic (benchmarks and tests only).
 * Out: key = private key DER (RSAPrivateKey or ECPrivateKey), spki = SubjectPublicKeyInfo. */
int cc_pk_generate(int kind, int size, const uint8_t *seed, size_t seed_len,
                   cc_buf *key, cc_buf *spki);

/* Reads a private key: PEM or DER; PKCS#1, SEC1, PKCS#8, encrypted PKCS#8 (PBES2 or
 * PKCS#12 PBE) and legacy encrypted PEM. Out as cc_pk_generate. */
int cc_pk_parse(const uint8_t *in, size_t in_len, const uint8_t *pass, size_t pass_len,
                cc_buf *key, cc_buf *spki);

/* Describes a public key (SubjectPublicKeyInfo DER or PEM) as JSON:
 * {"type":"EC","curve":"P-256","bits":256} or {"type":"RSA","bits":2048}. */
int cc_pk_describe(const uint8_t *spki, size_t spki_len, cc_buf *json);

/* Signs a digest with a private key DER. ECDSA signatures are DER (ECDSA-Sig-Value). */
int cc_pk_sign(const uint8_t *key, size_t key_len, int scheme, int md,
               const uint8_t *digest, size_t digest_len, cc_buf *sig);

/* Verifies a signature over a digest. Returns 1 valid, 0 not valid. */
int cc_pk_verify(const uint8_t *spki, size_t spki_len, int scheme, int md,
                 const uint8_t *digest, size_t digest_len,
                 const uint8_t *sig, size_t sig_len);

/* Returns 1 when both public keys (SPKI, PEM or DER) are the same key, 0 otherwise. */
int cc_pk_same(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

#endif /* CC_PK_H */
