/* Password-based decryption: PBES2 through mbedTLS, PKCS#12 PBE with our own KDF input. */
#include <string.h>

#include "cc_internal.h"
#include "cc_pbe.h"
#include "cc_rc2.h"
#include "cc_text.h"
#include "mbedtls/asn1.h"
#include "mbedtls/cipher.h"
#include "mbedtls/md.h"
#include "mbedtls/oid.h"
#include "mbedtls/pkcs12.h"
#include "mbedtls/pkcs5.h"
#include "mbedtls/platform_util.h"

/* 1.2.840.113549.1.12.1.{3,4,5,6}: pbeWithSHAAnd{3-KeyTripleDES,2-KeyTripleDES,
 * 128BitRC2,40BitRC2}-CBC */
static const uint8_t OID_PKCS12_PBE[] = { 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x01 };

/* Appends one UTF-16 code unit, big-endian. */
static size_t put_u16(uint8_t *p, uint32_t unit)
{
    p[0] = (uint8_t) (unit >> 8);
    p[1] = (uint8_t) unit;
    return 2;
}

int cc_pbe_bmp_password(const uint8_t *utf8, size_t len, uint8_t **out, size_t *out_len)
{
    /* A UTF-8 sequence never takes more than twice its length in UTF-16 (a 4-byte one
     * becomes a surrogate pair); then the 2-byte terminator. */
    size_t cap = len * 2 + 2, i = 0, n = 0, k;
    uint32_t cp;
    uint8_t *bmp;
    int ret = CC_E_ARG;

    *out = NULL;
    *out_len = 0;
    if ((bmp = cc_alloc(cap)) == NULL) {
        return CC_E_NOMEM;
    }
    while (i < len) {
        /* Not UTF-8 (overlong forms and surrogates included) is refused, not replaced: a
         * passphrase changed here would derive another key without a word. */
        if ((k = cc_text_utf8_next(utf8 + i, len - i, &cp)) == 0) {
            goto cleanup;
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            n += put_u16(bmp + n, 0xD800 | (cp >> 10));
            n += put_u16(bmp + n, 0xDC00 | (cp & 0x3FF));
        } else {
            n += put_u16(bmp + n, cp);
        }
        i += k;
    }
    n += put_u16(bmp + n, 0);
    *out = bmp;
    *out_len = n;
    bmp = NULL; /* the caller's now */
    ret = CC_OK;

cleanup:
    cc_wipe_free(bmp, cap);
    return ret;
}

int cc_pbe_pkcs12_kdf(int md, const uint8_t *bmp, size_t bmp_len, const uint8_t *salt,
                      size_t salt_len, int id, int iterations, uint8_t *out, size_t out_len)
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type((mbedtls_md_type_t) md);
    mbedtls_md_context_t ctx;
    unsigned char a[MBEDTLS_MD_MAX_SIZE], b[128], d[128];
    size_t u, v, s_len, p_len, i_len, i, j, off = 0;
    uint8_t *block = NULL;
    int r, ret;

    if (info == NULL || iterations < 1) {
        return CC_E_ALG;
    }
    u = mbedtls_md_get_size(info);
    /* v: the digest's input block size in bytes. */
    v = (md == MBEDTLS_MD_SHA384 || md == MBEDTLS_MD_SHA512) ? 128 : 64;
    s_len = v * ((salt_len + v - 1) / v);
    p_len = v * ((bmp_len + v - 1) / v);
    i_len = s_len + p_len;

    mbedtls_md_init(&ctx);
    block = cc_alloc(i_len ? i_len : 1);
    if (block == NULL) {
        ret = CC_E_NOMEM;
        goto cleanup;
    }
    /* I = salt repeated to s_len bytes || passphrase repeated to p_len bytes. */
    for (i = 0; i < s_len; i++) block[i] = salt[i % salt_len];
    for (i = 0; i < p_len; i++) block[s_len + i] = bmp[i % bmp_len];
    memset(d, id, v);
    if ((ret = mbedtls_md_setup(&ctx, info, 0)) != 0) {
        goto mbedtls_error;
    }
    while (off < out_len) {
        size_t take;
        /* A = H^iterations(D || I) */
        if ((ret = mbedtls_md_starts(&ctx)) != 0 || (ret = mbedtls_md_update(&ctx, d, v)) != 0 ||
            (ret = mbedtls_md_update(&ctx, block, i_len)) != 0 ||
            (ret = mbedtls_md_finish(&ctx, a)) != 0) {
            goto mbedtls_error;
        }
        for (r = 1; r < iterations; r++) {
            if ((ret = mbedtls_md(info, a, u, a)) != 0) {
                goto mbedtls_error;
            }
        }
        take = out_len - off < u ? out_len - off : u;
        memcpy(out + off, a, take);
        off += take;
        if (off >= out_len) {
            break;
        }
        /* Each v-byte block I_j becomes (I_j + B + 1) mod 2^(8v), B = A repeated to v bytes. */
        for (i = 0; i < v; i++) b[i] = a[i % u];
        for (j = 0; j < i_len; j += v) {
            unsigned carry = 1;
            for (i = v; i-- > 0;) {
                carry += (unsigned) block[j + i] + b[i];
                block[j + i] = (uint8_t) carry;
                carry >>= 8;
            }
        }
    }
    ret = CC_OK;
    goto cleanup;

mbedtls_error:
    ret = cc_status_from_mbedtls(ret);
cleanup:
    mbedtls_md_free(&ctx);
    cc_wipe_free(block, i_len ? i_len : 1);
    mbedtls_platform_zeroize(a, sizeof(a));
    mbedtls_platform_zeroize(b, sizeof(b));
    return ret;
}

/* Decrypts with a PKCS#12 PBE (RFC 7292 appendix B / C). */
static int pkcs12_pbe(int which, const mbedtls_asn1_buf *params, const uint8_t *pass,
                      size_t pass_len, const uint8_t *data, size_t data_len, cc_buf *out)
{
    unsigned char key[24], iv[8];
    unsigned char *p = params->p, *end = params->p + params->len;
    mbedtls_asn1_buf salt;
    mbedtls_cipher_context_t cipher;
    uint8_t *bmp = NULL, *plain = NULL;
    size_t bmp_len = 0, key_len, olen = 0, fin = 0;
    int iterations, ret;

    mbedtls_cipher_init(&cipher);
    switch (which) {
        case 3: key_len = 24; break; /* 3-key 3DES */
        case 4: key_len = 16; break; /* 2-key 3DES */
        case 5: key_len = 16; break; /* RC2-128 */
        case 6: key_len = 5; break;  /* RC2-40 */
        default: return CC_E_ALG;
    }
    /* pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER } */
    if (params->tag != (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
        mbedtls_asn1_get_tag(&p, end, &salt.len, MBEDTLS_ASN1_OCTET_STRING) != 0) {
        return CC_E_DER;
    }
    salt.p = p;
    p += salt.len;
    if (mbedtls_asn1_get_int(&p, end, &iterations) != 0 || p != end) {
        return CC_E_DER;
    }
    if (iterations < 1) {
        return CC_E_ALG;
    }
    if (data_len == 0 || data_len % 8 != 0) {
        return CC_E_DER;
    }
    if ((ret = cc_pbe_bmp_password(pass, pass_len, &bmp, &bmp_len)) != CC_OK) {
        return ret;
    }
    ret = cc_pbe_pkcs12_kdf(MBEDTLS_MD_SHA1, bmp, bmp_len, salt.p, salt.len,
                            MBEDTLS_PKCS12_DERIVE_KEY, iterations, key, key_len);
    if (ret == CC_OK) {
        ret = cc_pbe_pkcs12_kdf(MBEDTLS_MD_SHA1, bmp, bmp_len, salt.p, salt.len,
                                MBEDTLS_PKCS12_DERIVE_IV, iterations, iv, sizeof(iv));
    }
    if (ret != CC_OK) {
        goto cleanup;
    }
    plain = cc_alloc(data_len);
    if (plain == NULL) {
        ret = CC_E_NOMEM;
        goto cleanup;
    }
    if (which == 5 || which == 6) {
        ret = cc_rc2_cbc_decrypt(key, key_len, (int) key_len * 8, iv, data, data_len, plain,
                                 &olen);
        goto done;
    }
    if (which == 4) {
        /* 2-key 3DES is 3DES with K3 = K1. */
        memcpy(key + 16, key, 8);
    }
    ret = mbedtls_cipher_setup(&cipher, mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_DES_EDE3_CBC));
    if (ret == 0) ret = mbedtls_cipher_setkey(&cipher, key, 192, MBEDTLS_DECRYPT);
    if (ret == 0) ret = mbedtls_cipher_set_padding_mode(&cipher, MBEDTLS_PADDING_PKCS7);
    if (ret == 0) ret = mbedtls_cipher_set_iv(&cipher, iv, sizeof(iv));
    if (ret == 0) ret = mbedtls_cipher_reset(&cipher);
    if (ret == 0) ret = mbedtls_cipher_update(&cipher, data, data_len, plain, &olen);
    if (ret == 0) ret = mbedtls_cipher_finish(&cipher, plain + olen, &fin);
    olen += fin;
    if (ret == MBEDTLS_ERR_CIPHER_INVALID_PADDING) {
        ret = CC_E_PASS_WRONG;
    } else if (ret != 0) {
        ret = cc_status_from_mbedtls(ret);
    }

done:
    if (ret == CC_OK) {
        ret = cc_buf_set(out, plain, olen);
    }
cleanup:
    mbedtls_cipher_free(&cipher);
    mbedtls_platform_zeroize(key, sizeof(key));
    mbedtls_platform_zeroize(iv, sizeof(iv));
    cc_wipe_free(plain, data_len);
    cc_wipe_free(bmp, bmp_len);
    return ret;
}

static int pbes2(const mbedtls_asn1_buf *params, const uint8_t *pass, size_t pass_len,
                 const uint8_t *data, size_t data_len, cc_buf *out)
{
    uint8_t *plain;
    size_t olen = 0;
    int ret;

    if (data_len == 0) {
        return CC_E_DER;
    }
    plain = cc_alloc(data_len);
    if (plain == NULL) {
        return CC_E_NOMEM;
    }
    /* PBES2 takes the passphrase as its bytes (OpenSSL: UTF-8), no BMPString. */
    ret = mbedtls_pkcs5_pbes2_ext(params, MBEDTLS_PKCS5_DECRYPT, pass, pass_len, data, data_len,
                                  plain, data_len, &olen);
    if (ret == 0) {
        ret = cc_buf_set(out, plain, olen);
    } else if (ret == MBEDTLS_ERR_PKCS5_PASSWORD_MISMATCH ||
               ret == MBEDTLS_ERR_CIPHER_INVALID_PADDING) {
        ret = CC_E_PASS_WRONG;
    } else {
        ret = cc_status_from_mbedtls(ret);
        if (ret == CC_E_INTERNAL) {
            ret = CC_E_ALG;
        }
    }
    cc_wipe_free(plain, data_len);
    return ret;
}

static int is_pkcs12_pbe(const mbedtls_asn1_buf *oid)
{
    return oid->len == sizeof(OID_PKCS12_PBE) + 1 &&
           memcmp(oid->p, OID_PKCS12_PBE, sizeof(OID_PKCS12_PBE)) == 0;
}

/* PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme ... }
 * PBKDF2-params ::= SEQUENCE { salt OCTET STRING, iterationCount INTEGER, ... }
 * pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER } */
int cc_pbe_cost(const uint8_t *alg, size_t alg_len, int *iterations, int *runs)
{
    unsigned char *p = (unsigned char *) alg, *end;
    mbedtls_asn1_buf oid, params, kdf_oid, kdf_params;
    size_t len;

    memset(&params, 0, sizeof(params));
    if (mbedtls_asn1_get_alg(&p, alg + alg_len, &oid, &params) != 0 ||
        params.tag != (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) {
        return CC_E_DER;
    }
    p = params.p;
    end = params.p + params.len;
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS5_PBES2, &oid) == 0) {
        memset(&kdf_params, 0, sizeof(kdf_params));
        if (mbedtls_asn1_get_alg(&p, end, &kdf_oid, &kdf_params) != 0) {
            return CC_E_DER;
        }
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS5_PBKDF2, &kdf_oid) != 0 ||
            kdf_params.tag != (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) {
            return CC_E_ALG;
        }
        p = kdf_params.p;
        end = kdf_params.p + kdf_params.len;
        *runs = 1;
    } else if (is_pkcs12_pbe(&oid)) {
        *runs = 2;
    } else {
        return CC_E_ALG;
    }
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0) {
        return CC_E_DER;
    }
    p += len;
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_INTEGER) != 0 || len == 0 ||
        (p[0] & 0x80)) {
        return CC_E_DER;
    }
    /* Read with the cap in mind: a count of any length over it is refused, not wrapped. */
    for (*iterations = 0; len > 0; len--, p++) {
        if (*iterations > CC_PBE_MAX_ITERATIONS) {
            return CC_E_ITER;
        }
        *iterations = (*iterations << 8) | *p;
    }
    return CC_OK;
}

int cc_pbe_decrypt(const uint8_t *alg, size_t alg_len, const uint8_t *pass, size_t pass_len,
                   const uint8_t *data, size_t data_len, cc_buf *out)
{
    unsigned char *p = (unsigned char *) alg;
    mbedtls_asn1_buf oid, params;
    int iterations = 0, runs = 0, ret;

    if ((ret = cc_pbe_cost(alg, alg_len, &iterations, &runs)) != CC_OK) {
        return ret;
    }
    if (iterations > CC_PBE_MAX_ITERATIONS) {
        return CC_E_ITER;
    }
    memset(&params, 0, sizeof(params));
    if (mbedtls_asn1_get_alg(&p, alg + alg_len, &oid, &params) != 0) {
        return CC_E_DER;
    }
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS5_PBES2, &oid) == 0) {
        return pbes2(&params, pass, pass_len, data, data_len, out);
    }
    if (is_pkcs12_pbe(&oid)) {
        return pkcs12_pbe(oid.p[sizeof(OID_PKCS12_PBE)], &params, pass, pass_len, data,
                          data_len, out);
    }
    return CC_E_ALG;
}

/* EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, encryptedData OCTET STRING } */
static int split_epki(const uint8_t *der, size_t der_len, const uint8_t **alg, size_t *alg_len,
                      const uint8_t **data, size_t *data_len)
{
    unsigned char *p = (unsigned char *) der, *end = (unsigned char *) der + der_len;
    size_t len;

    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
        p + len != end) {
        return CC_E_DER;
    }
    *alg = p;
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) {
        return CC_E_DER;
    }
    p += len;
    *alg_len = (size_t) (p - *alg);
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_OCTET_STRING) || p + len != end) {
        return CC_E_DER;
    }
    *data = p;
    *data_len = len;
    return CC_OK;
}

int cc_pbe_is_encrypted_pkcs8(const uint8_t *der, size_t der_len)
{
    const uint8_t *alg, *data;
    size_t alg_len, data_len;

    return split_epki(der, der_len, &alg, &alg_len, &data, &data_len) == CC_OK;
}

int cc_pbe_decrypt_pkcs8(const uint8_t *der, size_t der_len, const uint8_t *pass,
                         size_t pass_len, cc_buf *out)
{
    const uint8_t *alg, *data;
    size_t alg_len, data_len;
    int ret = split_epki(der, der_len, &alg, &alg_len, &data, &data_len);

    if (ret != CC_OK) {
        return ret;
    }
    return cc_pbe_decrypt(alg, alg_len, pass, pass_len, data, data_len, out);
}
