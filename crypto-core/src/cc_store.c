/* Key-store support: key files sealed at rest, random bytes, PKCS#11 key components. */
#include <string.h>

#include "cc_internal.h"
#include "cc_store.h"
#include "mbedtls/asn1.h"
#include "mbedtls/ecp.h"
#include "mbedtls/gcm.h"
#include "mbedtls/oid.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/rsa.h"

#define NONCE_LEN 12
#define TAG_LEN 16
/* Largest field of an RSA-4096 or P-521 key, with room to spare. */
#define PART_MAX 1024
#define SPKI_MAX 1100

int cc_store_random(size_t len, cc_buf *out)
{
    uint8_t *p;
    int ret;

    if (len < 1 || len > 4096) {
        return CC_E_ARG;
    }
    p = cc_alloc(len);
    if (p == NULL) {
        return CC_E_NOMEM;
    }
    ret = cc_rng(cc_rng_ctx(), p, len);
    if (ret != 0) {
        cc_wipe_free(p, len);
        return CC_E_RNG;
    }
    out->p = p;
    out->len = len;
    return CC_OK;
}

int cc_store_seal(const uint8_t *key, size_t key_len, const uint8_t *aad, size_t aad_len,
                  const uint8_t *plain, size_t plain_len, cc_buf *sealed)
{
    mbedtls_gcm_context gcm;
    size_t total = NONCE_LEN + plain_len + TAG_LEN;
    uint8_t *out = NULL;
    int ret;

    if (key_len != 32) {
        return CC_E_ARG;
    }
    mbedtls_gcm_init(&gcm);
    out = cc_alloc(total);
    if (out == NULL) {
        ret = CC_E_NOMEM;
        goto cleanup;
    }
    if (cc_rng(cc_rng_ctx(), out, NONCE_LEN) != 0) {
        ret = CC_E_RNG;
        goto cleanup;
    }
    ret = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 256);
    if (ret == 0) {
        ret = mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, plain_len, out, NONCE_LEN,
                                        aad, aad_len, plain, out + NONCE_LEN, TAG_LEN,
                                        out + NONCE_LEN + plain_len);
    }
    if (ret != 0) {
        ret = cc_status_from_mbedtls(ret);
        goto cleanup;
    }
    sealed->p = out;
    sealed->len = total;
    out = NULL;
    ret = CC_OK;

cleanup:
    cc_wipe_free(out, total);
    mbedtls_gcm_free(&gcm);
    return ret;
}

int cc_store_open(const uint8_t *key, size_t key_len, const uint8_t *aad, size_t aad_len,
                  const uint8_t *sealed, size_t sealed_len, cc_buf *plain)
{
    mbedtls_gcm_context gcm;
    size_t len;
    uint8_t *out = NULL;
    int ret;

    if (key_len != 32) {
        return CC_E_ARG;
    }
    if (sealed_len < NONCE_LEN + TAG_LEN) {
        return CC_E_AUTH;
    }
    len = sealed_len - NONCE_LEN - TAG_LEN;
    mbedtls_gcm_init(&gcm);
    out = cc_alloc(len);
    if (out == NULL) {
        ret = CC_E_NOMEM;
        goto cleanup;
    }
    ret = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 256);
    if (ret == 0) {
        ret = mbedtls_gcm_auth_decrypt(&gcm, len, sealed, NONCE_LEN, aad, aad_len,
                                       sealed + NONCE_LEN + len, TAG_LEN,
                                       sealed + NONCE_LEN, out);
    }
    if (ret == MBEDTLS_ERR_GCM_AUTH_FAILED) {
        ret = CC_E_AUTH;
        goto cleanup;
    }
    if (ret != 0) {
        ret = cc_status_from_mbedtls(ret);
        goto cleanup;
    }
    plain->p = out;
    plain->len = len;
    out = NULL;
    ret = CC_OK;

cleanup:
    cc_wipe_free(out, len);
    mbedtls_gcm_free(&gcm);
    return ret;
}

/* Appends one length-prefixed field to buf (of capacity cap) at *off. */
static int put_part(uint8_t *buf, size_t cap, size_t *off, const uint8_t *p, size_t len)
{
    if (*off + 4 + len > cap) {
        return CC_E_INTERNAL;
    }
    buf[(*off)++] = (uint8_t) (len >> 24);
    buf[(*off)++] = (uint8_t) (len >> 16);
    buf[(*off)++] = (uint8_t) (len >> 8);
    buf[(*off)++] = (uint8_t) len;
    memcpy(buf + *off, p, len);
    *off += len;
    return CC_OK;
}

static int put_mpi(uint8_t *buf, size_t cap, size_t *off, const mbedtls_mpi *x, uint8_t *tmp)
{
    size_t len = mbedtls_mpi_size(x);

    if (len > PART_MAX || mbedtls_mpi_write_binary(x, tmp, len) != 0) {
        return CC_E_INTERNAL;
    }
    return put_part(buf, cap, off, tmp, len);
}

static int ec_parts(mbedtls_pk_context *pk, uint8_t *buf, size_t cap, size_t *off, uint8_t *tmp)
{
    const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(*pk);
    const char *oid;
    size_t oid_len, len;
    uint8_t der[16];
    int ret;

    if (mbedtls_oid_get_oid_by_ec_grp(mbedtls_ecp_keypair_get_group_id(ec), &oid, &oid_len) != 0 ||
        oid_len + 2 > sizeof(der)) {
        return CC_E_KEY_TYPE;
    }
    der[0] = MBEDTLS_ASN1_OID;
    der[1] = (uint8_t) oid_len;
    memcpy(der + 2, oid, oid_len);
    if ((ret = put_part(buf, cap, off, der, oid_len + 2)) != CC_OK) {
        return ret;
    }
    if (mbedtls_ecp_write_key_ext(ec, &len, tmp, PART_MAX) != 0 ||
        (ret = put_part(buf, cap, off, tmp, len)) != CC_OK) {
        return CC_E_INTERNAL;
    }
    if (mbedtls_ecp_write_public_key(ec, MBEDTLS_ECP_PF_UNCOMPRESSED, &len, tmp, PART_MAX) != 0) {
        return CC_E_INTERNAL;
    }
    return put_part(buf, cap, off, tmp, len);
}

static int rsa_parts(mbedtls_pk_context *pk, uint8_t *buf, size_t cap, size_t *off, uint8_t *tmp)
{
    const mbedtls_rsa_context *rsa = mbedtls_pk_rsa(*pk);
    mbedtls_mpi v[8];
    int i, ret;

    for (i = 0; i < 8; i++) {
        mbedtls_mpi_init(&v[i]);
    }
    /* n, p, q, d, e then the CRT values; written in PKCS#11 attribute order below. */
    ret = mbedtls_rsa_export(rsa, &v[0], &v[3], &v[4], &v[2], &v[1]);
    if (ret == 0) {
        ret = mbedtls_rsa_export_crt(rsa, &v[5], &v[6], &v[7]);
    }
    if (ret != 0) {
        ret = CC_E_KEY;
        goto cleanup;
    }
    for (i = 0; i < 8 && ret == CC_OK; i++) {
        ret = put_mpi(buf, cap, off, &v[i], tmp);
    }

cleanup:
    for (i = 0; i < 8; i++) {
        mbedtls_mpi_free(&v[i]); /* mbedtls_mpi_free zeroizes */
    }
    return ret;
}

int cc_store_key_parts(const uint8_t *key, size_t key_len, cc_buf *parts)
{
    const size_t cap = 8 * (4 + PART_MAX);
    mbedtls_pk_context pk;
    uint8_t *buf = NULL, *tmp = NULL;
    size_t off = 0;
    int kind = 0, ret;

    mbedtls_pk_init(&pk);
    buf = cc_alloc(cap);
    tmp = cc_alloc(PART_MAX);
    if (buf == NULL || tmp == NULL) {
        ret = CC_E_NOMEM;
        goto cleanup;
    }
    if (mbedtls_pk_parse_key(&pk, key, key_len, NULL, 0, cc_rng, cc_rng_ctx()) != 0) {
        ret = CC_E_KEY;
        goto cleanup;
    }
    if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY) {
        kind = CC_KEY_EC;
        ret = ec_parts(&pk, buf, cap, &off, tmp);
    } else if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA) {
        kind = CC_KEY_RSA;
        ret = rsa_parts(&pk, buf, cap, &off, tmp);
    } else {
        ret = CC_E_KEY_TYPE;
    }
    if (ret == CC_OK) {
        ret = cc_buf_set(parts, buf, off);
    }

cleanup:
    cc_wipe_free(buf, cap);
    cc_wipe_free(tmp, PART_MAX);
    mbedtls_pk_free(&pk);
    return ret == CC_OK ? kind : ret;
}

static int write_spki(mbedtls_pk_context *pk, cc_buf *spki)
{
    uint8_t der[SPKI_MAX];
    int n = mbedtls_pk_write_pubkey_der(pk, der, sizeof(der));

    return n < 0 ? cc_status_from_mbedtls(n) : cc_buf_set(spki, der + sizeof(der) - n, (size_t) n);
}

static int ec_spki(mbedtls_pk_context *pk, const uint8_t *params, size_t params_len,
                   const uint8_t *point, size_t point_len, cc_buf *spki)
{
    unsigned char *p = (unsigned char *) params, *q = (unsigned char *) point;
    mbedtls_asn1_buf oid;
    mbedtls_ecp_group_id grp;
    mbedtls_ecp_group group;
    mbedtls_ecp_point pub;
    size_t len;
    int ret;

    mbedtls_ecp_group_init(&group);
    mbedtls_ecp_point_init(&pub);
    if (mbedtls_asn1_get_tag(&p, params + params_len, &oid.len, MBEDTLS_ASN1_OID) != 0) {
        ret = CC_E_DER;
        goto cleanup;
    }
    oid.p = p;
    if (mbedtls_oid_get_ec_grp(&oid, &grp) != 0) {
        ret = CC_E_KEY_TYPE;
        goto cleanup;
    }
    ret = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (ret == 0) ret = mbedtls_ecp_group_load(&group, grp);
    if (ret != 0) {
        ret = CC_E_KEY;
        goto cleanup;
    }
    /* CKA_EC_POINT is a DER OCTET STRING; some tokens give the bare point. A bare
     * uncompressed point has exactly 1 + 2 * field bytes, a wrapped one more: the length
     * decides, since a bare point's own bytes can look like an OCTET STRING header
     * (04 3f ... for P-256 when x starts with 0x3f). */
    if (point_len != 1 + 2 * ((group.pbits + 7) / 8) && point_len > 0 &&
        point[0] == MBEDTLS_ASN1_OCTET_STRING &&
        mbedtls_asn1_get_tag(&q, point + point_len, &len, MBEDTLS_ASN1_OCTET_STRING) == 0 &&
        q + len == point + point_len) {
        point = q;
        point_len = len;
    }
    ret = mbedtls_ecp_point_read_binary(&group, &pub, point, point_len);
    if (ret == 0) ret = mbedtls_ecp_check_pubkey(&group, &pub);
    if (ret == 0) ret = mbedtls_ecp_set_public_key(grp, mbedtls_pk_ec(*pk), &pub);
    ret = ret == 0 ? write_spki(pk, spki) : CC_E_KEY;

cleanup:
    mbedtls_ecp_point_free(&pub);
    mbedtls_ecp_group_free(&group);
    return ret;
}

int cc_store_spki(int kind, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                  cc_buf *spki)
{
    mbedtls_pk_context pk;
    int ret;

    mbedtls_pk_init(&pk);
    if (kind == CC_KEY_EC) {
        ret = ec_spki(&pk, a, a_len, b, b_len, spki);
    } else if (kind == CC_KEY_RSA) {
        ret = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
        if (ret == 0) {
            ret = mbedtls_rsa_import_raw(mbedtls_pk_rsa(pk), a, a_len, NULL, 0, NULL, 0, NULL, 0,
                                         b, b_len);
        }
        if (ret == 0) ret = mbedtls_rsa_complete(mbedtls_pk_rsa(pk));
        if (ret == 0) ret = mbedtls_rsa_check_pubkey(mbedtls_pk_rsa(pk));
        ret = ret == 0 ? write_spki(&pk, spki) : CC_E_KEY;
    } else {
        ret = CC_E_KEY_TYPE;
    }
    mbedtls_pk_free(&pk);
    return ret;
}
