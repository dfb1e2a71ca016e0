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

/* Bignum multiply-accumulate for the WASI build (64-bit limbs, see core.mk). wasm has no
 * 64x64->128 multiply and mbedTLS no double-width type there, so bn_mul.h's generic
 * MULADDC splits limbs in halves and carries with four compares per limb. This one makes
 * the same four 32x32->64 products but adds them column by column, without compares:
 *   t = s*b + c + d < 2^128;  w0 = lo(s0*b0) + lo(c) + lo(d) < 2^34;
 *   w1 = hi(s0*b0) + lo(s0*b1) + lo(s1*b0) + hi(c) + hi(d) + hi(w0) < 2^35;
 *   c' = s1*b1 + hi(s0*b1) + hi(s1*b0) + hi(w1);  d' = lo(w1):lo(w0).
 * RSA-2048 sign -8% in wasm; keys and signatures byte-identical (bench/tuning/README.md).
 * bn_mul.h keeps a MULADDC_X1_* defined here; the native build is not affected. */
#if defined(__wasm__) && defined(MBEDTLS_HAVE_INT64)
#define MULADDC_X1_INIT                                                         \
    {                                                                           \
        const unsigned long long b0_ = (unsigned int) b, b1_ = b >> 32;
#define MULADDC_X1_CORE                                                         \
    {                                                                           \
        const unsigned long long s_ = *s++, d_ = *d;                            \
        const unsigned long long s0_ = (unsigned int) s_, s1_ = s_ >> 32;       \
        const unsigned long long p00_ = s0_ * b0_, p01_ = s0_ * b1_;            \
        const unsigned long long p10_ = s1_ * b0_, p11_ = s1_ * b1_;            \
        const unsigned long long w0_ = (p00_ & 0xffffffffu) + (c & 0xffffffffu) \
                                       + (d_ & 0xffffffffu);                    \
        const unsigned long long w1_ = (p00_ >> 32) + (p01_ & 0xffffffffu)      \
                                       + (p10_ & 0xffffffffu) + (c >> 32)       \
                                       + (d_ >> 32) + (w0_ >> 32);              \
        c = p11_ + (p01_ >> 32) + (p10_ >> 32) + (w1_ >> 32);                   \
        *d++ = (w1_ << 32) | (w0_ & 0xffffffffu);                               \
    }
#define MULADDC_X1_STOP                                                         \
    }
#endif

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
