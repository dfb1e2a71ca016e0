/*
 * mbedTLS configuration of certd's crypto core.
 *
 * Only what certd uses: keys (RSA, EC P-256/384/521), X.509 and CSR parse and write,
 * PEM, PKCS#5 and PKCS#12 key decryption, AES-GCM for keys at rest. No network, no file
 * system, no time (the caller passes "now" where validity matters), no threads: the same
 * module runs as a WASI reactor on every architecture. Entropy comes only from WASI
 * random_get (see cc_rng.c), through MBEDTLS_ENTROPY_HARDWARE_ALT.
 */
#ifndef CC_MBEDTLS_CONFIG_H
#define CC_MBEDTLS_CONFIG_H

/* System */
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#define MBEDTLS_DEPRECATED_REMOVED

/* Big numbers and public-key algorithms */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_GENPRIME
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDSA_C

/* Encodings */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_OID_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C

/* Keys */
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_PK_PARSE_EC_EXTENDED
#define MBEDTLS_PK_PARSE_EC_COMPRESSED

/* Password-based decryption: PBES2 (PKCS#5) and PKCS#12 PBE, legacy encrypted PEM */
#define MBEDTLS_PKCS5_C
#define MBEDTLS_PKCS12_C

/* X.509 */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CSR_PARSE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CRT_WRITE_C
#define MBEDTLS_X509_CSR_WRITE_C
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT
#define MBEDTLS_X509_MAX_INTERMEDIATE_CA 10

/* Digests */
#define MBEDTLS_MD_C
#define MBEDTLS_MD5_C
#define MBEDTLS_SHA1_C
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C

/* Ciphers: CBC for encrypted keys, GCM for keys at rest */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_AES_C
#define MBEDTLS_DES_C
#define MBEDTLS_CIPHER_MODE_CBC
#define MBEDTLS_CIPHER_PADDING_PKCS7
#define MBEDTLS_GCM_C

/* Random */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_HMAC_DRBG_C

#endif /* CC_MBEDTLS_CONFIG_H */
