/* Password-based decryption shared by encrypted PKCS#8 and PKCS#12 (internal). */
#ifndef CC_PBE_H
#define CC_PBE_H

#include "cc.h"

/* Most iterations one KDF run may ask for; more is refused (CC_E_ITER) before deriving.
 * 600000 is OWASP's PBKDF2-HMAC-SHA256 figure; a PKCS#12 of three runs at it decodes in
 * about 2 s on a desktop core, 10-20 s on a camera's ARM (README: PKCS#12 iterations). */
#define CC_PBE_MAX_ITERATIONS 600000

/* Decrypts data encrypted under an AlgorithmIdentifier (alg: the DER of the whole
 * AlgorithmIdentifier SEQUENCE). Supports PBES2 (PBKDF2 + AES/DES/3DES-CBC) and the
 * PKCS#12 PBEs with SHA-1: 3-key and 2-key 3DES, RC2-128 and RC2-40. */
int cc_pbe_decrypt(const uint8_t *alg, size_t alg_len, const uint8_t *pass, size_t pass_len,
                   const uint8_t *data, size_t data_len, cc_buf *out);

/* What decrypting under an AlgorithmIdentifier costs, read without deriving anything:
 * the iteration count and how many KDF runs of it (a PKCS#12 PBE derives key and IV
 * apart). CC_E_ALG for a scheme cc_pbe_decrypt does not know. */
int cc_pbe_cost(const uint8_t *alg, size_t alg_len, int *iterations, int *runs);

/* Decrypts an EncryptedPrivateKeyInfo DER into the PrivateKeyInfo DER. */
int cc_pbe_decrypt_pkcs8(const uint8_t *der, size_t der_len, const uint8_t *pass,
                         size_t pass_len, cc_buf *out);

/* 1 if der has the shape of an EncryptedPrivateKeyInfo, 0 otherwise. */
int cc_pbe_is_encrypted_pkcs8(const uint8_t *der, size_t der_len);

/* A UTF-8 passphrase as the PKCS#12 KDF wants it: BMPString (UTF-16BE) plus two zero
 * bytes. An empty passphrase gives just the two zero bytes, as OpenSSL writes it (a MAC
 * check may also try no bytes at all). Wipe and free *out after use. */
int cc_pbe_bmp_password(const uint8_t *utf8, size_t len, uint8_t **out, size_t *out_len);

/* The PKCS#12 key derivation (RFC 7292 appendix B.2) with SHA-1, SHA-224, SHA-256, SHA-384
 * or SHA-512 (md: an mbedtls_md_type_t). id: 1 key, 2 IV, 3 MAC key. Unlike
 * mbedtls_pkcs12_derivation it takes passphrases and salts of any length. */
int cc_pbe_pkcs12_kdf(int md, const uint8_t *bmp, size_t bmp_len, const uint8_t *salt,
                      size_t salt_len, int id, int iterations, uint8_t *out, size_t out_len);

#endif /* CC_PBE_H */
