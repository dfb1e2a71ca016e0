/* Keys: generation, parsing of every common private-key form, signing and verifying. */
#include <string.h>

#include "cc_internal.h"
#include "cc_pbe.h"
#include "cc_pk.h"
#include "mbedtls/ecp.h"
#include "mbedtls/hmac_drbg.h"
#include "mbedtls/pk.h"
#include "mbedtls/rsa.h"

/* Big enough for an RSA-4096 RSAPrivateKey and for any SPKI we write. */
#define KEY_DER_MAX 5200
#define SPKI_DER_MAX 1100

/* The digest id of a caller and the length its digest must have. */
static int digest_of(int md, size_t digest_len, mbedtls_md_type_t *out)
{
    size_t want;

    switch (md) {
        case CC_MD_SHA256: *out = MBEDTLS_MD_SHA256; want = 32; break;
        case CC_MD_SHA384: *out = MBEDTLS_MD_SHA384; want = 48; break;
        case CC_MD_SHA512: *out = MBEDTLS_MD_SHA512; want = 64; break;
        default: return CC_E_ALG;
    }
    return digest_len == want ? CC_OK : CC_E_ARG;
}

int cc_pk_export(mbedtls_pk_context *pk, cc_buf *key, cc_buf *spki)
{
    unsigned char *buf = cc_alloc(KEY_DER_MAX);
    int n, ret;

    if (buf == NULL) {
        return CC_E_NOMEM;
    }
    /* mbedTLS writes DER backwards, at the end of the buffer. */
    n = mbedtls_pk_write_key_der(pk, buf, KEY_DER_MAX);
    if (n < 0) {
        ret = cc_status_from_mbedtls(n);
        goto cleanup;
    }
    if ((ret = cc_buf_set(key, buf + KEY_DER_MAX - n, (size_t) n)) != CC_OK) {
        goto cleanup;
    }
    n = mbedtls_pk_write_pubkey_der(pk, buf, SPKI_DER_MAX);
    if (n < 0) {
        ret = cc_status_from_mbedtls(n);
        goto cleanup;
    }
    ret = cc_buf_set(spki, buf + SPKI_DER_MAX - n, (size_t) n);

cleanup:
    cc_wipe_free(buf, KEY_DER_MAX);
    if (ret != CC_OK) {
        cc_buf_clear(key);
        cc_buf_clear(spki);
    }
    return ret;
}

static int curve_from_size(int size, mbedtls_ecp_group_id *grp)
{
    switch (size) {
        case 256: *grp = MBEDTLS_ECP_DP_SECP256R1; return CC_OK;
        case 384: *grp = MBEDTLS_ECP_DP_SECP384R1; return CC_OK;
        case 521: *grp = MBEDTLS_ECP_DP_SECP521R1; return CC_OK;
        default: return CC_E_KEY_TYPE;
    }
}

int cc_pk_generate(int kind, int size, const uint8_t *seed, size_t seed_len,
                   cc_buf *key, cc_buf *spki)
{
    mbedtls_pk_context pk;
    mbedtls_hmac_drbg_context seeded;
    int (*f_rng)(void *, unsigned char *, size_t) = cc_rng;
    void *p_rng = cc_rng_ctx();
    mbedtls_ecp_group_id grp = MBEDTLS_ECP_DP_NONE;
    int ret;

    mbedtls_pk_init(&pk);
    mbedtls_hmac_drbg_init(&seeded);

    if (kind == CC_KEY_EC) {
        ret = curve_from_size(size, &grp);
    } else if (kind == CC_KEY_RSA) {
        ret = (size >= 1024 && size <= 4096 && size % 1024 == 0) ? CC_OK : CC_E_KEY_TYPE;
    } else {
        ret = CC_E_KEY_TYPE;
    }
    if (ret != CC_OK) {
        goto cleanup;
    }
    if (seed_len > 0) {
        ret = mbedtls_hmac_drbg_seed_buf(&seeded, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
                                         seed, seed_len);
        if (ret != 0) {
            ret = CC_E_RNG;
            goto cleanup;
        }
        f_rng = mbedtls_hmac_drbg_random;
        p_rng = &seeded;
    }

    if (kind == CC_KEY_EC) {
        ret = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
        if (ret == 0) {
            ret = mbedtls_ecp_gen_key(grp, mbedtls_pk_ec(pk), f_rng, p_rng);
        }
    } else {
        ret = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
        if (ret == 0) {
            ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), f_rng, p_rng, (unsigned) size, 65537);
        }
    }
    if (ret != 0) {
        ret = cc_status_from_mbedtls(ret);
        goto cleanup;
    }
    ret = cc_pk_export(&pk, key, spki);

cleanup:
    mbedtls_hmac_drbg_free(&seeded);
    mbedtls_pk_free(&pk);
    return ret;
}

static int has_label(const uint8_t *in, size_t len, const char *label)
{
    size_t n = strlen(label), i;

    for (i = 0; i + n <= len; i++) {
        if (memcmp(in + i, label, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Parses a key mbedTLS reads itself (plain forms and legacy encrypted PEM). mbedTLS takes
 * PEM only NUL-terminated (the NUL counted in the length), so PEM input is copied first. */
static int parse_plain(mbedtls_pk_context *pk, const uint8_t *in, size_t in_len,
                       const uint8_t *pass, size_t pass_len, int is_pem)
{
    uint8_t *copy = cc_alloc(in_len + 1);
    int ret;

    if (copy == NULL) {
        return CC_E_NOMEM;
    }
    memcpy(copy, in, in_len);
    /* A NULL passphrase is what makes mbedTLS say "required" rather than "mismatch". */
    ret = mbedtls_pk_parse_key(pk, copy, in_len + (is_pem ? 1 : 0), pass_len ? pass : NULL, pass_len, cc_rng,
                               cc_rng_ctx());
    cc_wipe_free(copy, in_len + 1);
    return ret == 0 ? CC_OK : cc_status_from_mbedtls(ret);
}

/* Encrypted PKCS#8 goes through our own PBE layer so that UTF-8 passphrases reach the
 * PKCS#12 KDF as BMPString, as OpenSSL writes them (mbedTLS widens ASCII only). */
static int parse_encrypted_pkcs8(mbedtls_pk_context *pk, const uint8_t *der, size_t der_len,
                                 const uint8_t *pass, size_t pass_len)
{
    cc_buf plain = { NULL, 0 };
    int ret;

    if (pass_len == 0) {
        return CC_E_PASS_REQUIRED;
    }
    ret = cc_pbe_decrypt_pkcs8(der, der_len, pass, pass_len, &plain);
    if (ret != CC_OK) {
        return ret;
    }
    ret = mbedtls_pk_parse_key(pk, plain.p, plain.len, NULL, 0, cc_rng, cc_rng_ctx());
    cc_buf_clear(&plain);
    /* Decrypted bytes that are not a key: a wrong passphrase whose padding happened to check. */
    return ret == 0 ? CC_OK : CC_E_PASS_WRONG;
}

int cc_pk_parse(const uint8_t *in, size_t in_len, const uint8_t *pass, size_t pass_len,
                cc_buf *key, cc_buf *spki)
{
    mbedtls_pk_context pk;
    const uint8_t *der;
    size_t der_len;
    uint8_t *owned = NULL;
    int ret;

    mbedtls_pk_init(&pk);
    if (in_len == 0) {
        ret = CC_E_KEY;
        goto cleanup;
    }
    if (has_label(in, in_len, "-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
        ret = cc_pem_or_der(in, in_len, "ENCRYPTED PRIVATE KEY", &der, &der_len, &owned);
        if (ret == CC_OK) {
            ret = parse_encrypted_pkcs8(&pk, der, der_len, pass, pass_len);
        }
    } else if (has_label(in, in_len, "-----BEGIN ")) {
        ret = parse_plain(&pk, in, in_len, pass, pass_len, 1);
        if (ret == CC_E_DER) {
            ret = CC_E_PEM;
        }
    } else {
        ret = parse_plain(&pk, in, in_len, NULL, 0, 0);
        if (ret != CC_OK && cc_pbe_is_encrypted_pkcs8(in, in_len)) {
            mbedtls_pk_free(&pk);
            mbedtls_pk_init(&pk);
            ret = parse_encrypted_pkcs8(&pk, in, in_len, pass, pass_len);
        }
    }
    if (ret == CC_OK) {
        ret = cc_pk_export(&pk, key, spki);
    } else if (ret == CC_E_DER || ret == CC_E_INTERNAL) {
        ret = CC_E_KEY;
    }

cleanup:
    if (owned != NULL) {
        cc_wipe_free(owned, der_len);
    }
    mbedtls_pk_free(&pk);
    return ret;
}

static int load_public(mbedtls_pk_context *pk, const uint8_t *in, size_t in_len)
{
    const uint8_t *der;
    size_t der_len;
    uint8_t *owned = NULL;
    int ret = cc_pem_or_der(in, in_len, "PUBLIC KEY", &der, &der_len, &owned);

    if (ret != CC_OK) {
        return ret;
    }
    ret = mbedtls_pk_parse_public_key(pk, der, der_len);
    cc_free(owned);
    return ret == 0 ? CC_OK : CC_E_KEY;
}

int cc_pk_describe(const uint8_t *spki, size_t spki_len, cc_buf *json)
{
    mbedtls_pk_context pk;
    cc_json j;
    int ret;

    mbedtls_pk_init(&pk);
    cc_json_init(&j);
    if ((ret = load_public(&pk, spki, spki_len)) != CC_OK) {
        goto cleanup;
    }
    cc_json_raw(&j, "{");
    if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA) {
        cc_json_key(&j, "type");
        cc_json_cstr(&j, "RSA");
    } else if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY) {
        const char *curve;
        switch (mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(pk))) {
            case MBEDTLS_ECP_DP_SECP256R1: curve = "P-256"; break;
            case MBEDTLS_ECP_DP_SECP384R1: curve = "P-384"; break;
            case MBEDTLS_ECP_DP_SECP521R1: curve = "P-521"; break;
            default: ret = CC_E_KEY_TYPE; goto cleanup;
        }
        cc_json_key(&j, "type");
        cc_json_cstr(&j, "EC");
        cc_json_key(&j, "curve");
        cc_json_cstr(&j, curve);
    } else {
        ret = CC_E_KEY_TYPE;
        goto cleanup;
    }
    cc_json_key(&j, "bits");
    cc_json_int(&j, (long long) mbedtls_pk_get_bitlen(&pk));
    cc_json_raw(&j, "}");
    ret = cc_json_finish(&j, json);

cleanup:
    cc_json_free(&j);
    mbedtls_pk_free(&pk);
    return ret;
}

static int scheme_fits(mbedtls_pk_context *pk, int scheme, mbedtls_pk_type_t *type)
{
    int is_rsa = mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA;

    switch (scheme) {
        case CC_SIG_ECDSA: *type = MBEDTLS_PK_ECDSA; return is_rsa ? CC_E_ALG : CC_OK;
        case CC_SIG_PKCS1V15: *type = MBEDTLS_PK_RSA; return is_rsa ? CC_OK : CC_E_ALG;
        case CC_SIG_PSS: *type = MBEDTLS_PK_RSASSA_PSS; return is_rsa ? CC_OK : CC_E_ALG;
        default: return CC_E_ALG;
    }
}

int cc_pk_sign(const uint8_t *key, size_t key_len, int scheme, int md,
               const uint8_t *digest, size_t digest_len, cc_buf *sig)
{
    unsigned char out[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    mbedtls_pk_context pk;
    mbedtls_pk_type_t type;
    mbedtls_md_type_t md_type;
    size_t olen = 0;
    int ret;

    mbedtls_pk_init(&pk);
    if ((ret = digest_of(md, digest_len, &md_type)) != CC_OK) {
        goto cleanup;
    }
    ret = mbedtls_pk_parse_key(&pk, key, key_len, NULL, 0, cc_rng, cc_rng_ctx());
    if (ret != 0) {
        ret = CC_E_KEY;
        goto cleanup;
    }
    if ((ret = scheme_fits(&pk, scheme, &type)) != CC_OK) {
        goto cleanup;
    }
    ret = mbedtls_pk_sign_ext(type, &pk, md_type, digest, digest_len, out, sizeof(out), &olen,
                              cc_rng, cc_rng_ctx());
    ret = ret == 0 ? cc_buf_set(sig, out, olen) : cc_status_from_mbedtls(ret);

cleanup:
    mbedtls_pk_free(&pk);
    return ret;
}

int cc_pk_verify(const uint8_t *spki, size_t spki_len, int scheme, int md,
                 const uint8_t *digest, size_t digest_len,
                 const uint8_t *sig, size_t sig_len)
{
    mbedtls_pk_context pk;
    mbedtls_pk_rsassa_pss_options pss = { MBEDTLS_MD_NONE, MBEDTLS_RSA_SALT_LEN_ANY };
    mbedtls_pk_type_t type;
    mbedtls_md_type_t md_type;
    int ret;

    mbedtls_pk_init(&pk);
    if ((ret = digest_of(md, digest_len, &md_type)) != CC_OK) {
        goto cleanup;
    }
    if ((ret = load_public(&pk, spki, spki_len)) != CC_OK) {
        goto cleanup;
    }
    if ((ret = scheme_fits(&pk, scheme, &type)) != CC_OK) {
        goto cleanup;
    }
    pss.mgf1_hash_id = md_type;
    ret = mbedtls_pk_verify_ext(type, type == MBEDTLS_PK_RSASSA_PSS ? &pss : NULL, &pk,
                                md_type, digest, digest_len, sig, sig_len);
    /* An invalid signature is an answer, not an error. */
    ret = ret == 0 ? 1 : 0;

cleanup:
    mbedtls_pk_free(&pk);
    return ret;
}

int cc_pk_same(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    mbedtls_pk_context pa, pb;
    unsigned char da[SPKI_DER_MAX], db[SPKI_DER_MAX];
    int na, nb, ret;

    mbedtls_pk_init(&pa);
    mbedtls_pk_init(&pb);
    if ((ret = load_public(&pa, a, a_len)) != CC_OK ||
        (ret = load_public(&pb, b, b_len)) != CC_OK) {
        goto cleanup;
    }
    /* Compare canonical re-encodings, so that e.g. compressed and uncompressed EC points
     * of one key count as the same key. */
    na = mbedtls_pk_write_pubkey_der(&pa, da, sizeof(da));
    nb = mbedtls_pk_write_pubkey_der(&pb, db, sizeof(db));
    if (na < 0 || nb < 0) {
        ret = cc_status_from_mbedtls(na < 0 ? na : nb);
        goto cleanup;
    }
    ret = (na == nb && memcmp(da + sizeof(da) - na, db + sizeof(db) - nb, (size_t) na) == 0);

cleanup:
    mbedtls_pk_free(&pa);
    mbedtls_pk_free(&pb);
    return ret;
}
