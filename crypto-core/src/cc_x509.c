/* X.509 certificates: a JSON description of each (cc_x509.h). Names are printed by cc_dn.c,
 * subject alternative names by cc_san.c; chains are verified in cc_x509_chain.c.
 *
 * mbedTLS keeps some of what this needs (key usage bits, basic constraints, the signature's
 * algorithms) in private fields without getters, so private access is enabled here. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS

#include <stdio.h>
#include <string.h>

#include "cc_crt_list.h"
#include "cc_der.h"
#include "cc_dn.h"
#include "cc_pk.h"
#include "cc_san.h"
#include "cc_time.h"
#include "cc_x509.h"
#include "mbedtls/md.h"
#include "mbedtls/sha1.h"
#include "mbedtls/sha256.h"

typedef struct {
    const char *oid;
    size_t oid_len;
    const char *name;
} oid_name;

#define OID_NAME(oid, name) { CC_OID_ARG(oid), name }

static const oid_name eku_names[] = {
    OID_NAME(MBEDTLS_OID_SERVER_AUTH, "serverAuth"),
    OID_NAME(MBEDTLS_OID_CLIENT_AUTH, "clientAuth"),
    OID_NAME(MBEDTLS_OID_CODE_SIGNING, "codeSigning"),
    OID_NAME(MBEDTLS_OID_EMAIL_PROTECTION, "emailProtection"),
    OID_NAME(MBEDTLS_OID_TIME_STAMPING, "timeStamping"),
    OID_NAME(MBEDTLS_OID_OCSP_SIGNING, "OCSPSigning"),
};

static const oid_name sig_names[] = {
    OID_NAME(MBEDTLS_OID_ECDSA_SHA1, "ecdsa-with-SHA1"),
    OID_NAME(MBEDTLS_OID_ECDSA_SHA224, "ecdsa-with-SHA224"),
    OID_NAME(MBEDTLS_OID_ECDSA_SHA256, "ecdsa-with-SHA256"),
    OID_NAME(MBEDTLS_OID_ECDSA_SHA384, "ecdsa-with-SHA384"),
    OID_NAME(MBEDTLS_OID_ECDSA_SHA512, "ecdsa-with-SHA512"),
    OID_NAME(MBEDTLS_OID_PKCS1_MD5, "md5WithRSAEncryption"),
    OID_NAME(MBEDTLS_OID_PKCS1_SHA1, "sha1WithRSAEncryption"),
    OID_NAME(MBEDTLS_OID_PKCS1_SHA224, "sha224WithRSAEncryption"),
    OID_NAME(MBEDTLS_OID_PKCS1_SHA256, "sha256WithRSAEncryption"),
    OID_NAME(MBEDTLS_OID_PKCS1_SHA384, "sha384WithRSAEncryption"),
    OID_NAME(MBEDTLS_OID_PKCS1_SHA512, "sha512WithRSAEncryption"),
    OID_NAME(MBEDTLS_OID_RSASSA_PSS, "rsassaPss"),
};

static const struct {
    unsigned int bit;
    const char *name;
} key_usages[] = {
    { MBEDTLS_X509_KU_DIGITAL_SIGNATURE, "digitalSignature" },
    { MBEDTLS_X509_KU_NON_REPUDIATION, "nonRepudiation" },
    { MBEDTLS_X509_KU_KEY_ENCIPHERMENT, "keyEncipherment" },
    { MBEDTLS_X509_KU_DATA_ENCIPHERMENT, "dataEncipherment" },
    { MBEDTLS_X509_KU_KEY_AGREEMENT, "keyAgreement" },
    { MBEDTLS_X509_KU_KEY_CERT_SIGN, "keyCertSign" },
    { MBEDTLS_X509_KU_CRL_SIGN, "cRLSign" },
    { MBEDTLS_X509_KU_ENCIPHER_ONLY, "encipherOnly" },
    { MBEDTLS_X509_KU_DECIPHER_ONLY, "decipherOnly" },
};

/* Appends the table's name for an OID, else its dotted form. */
static int oid_json(cc_json *j, const oid_name *table, size_t n, const mbedtls_x509_buf *oid)
{
    char dotted[CC_OID_TEXT_MAX];
    size_t i;
    int ret;

    for (i = 0; i < n; i++) {
        if (table[i].oid_len == oid->len && memcmp(table[i].oid, oid->p, oid->len) == 0) {
            cc_json_cstr(j, table[i].name);
            return CC_OK;
        }
    }
    if ((ret = cc_der_oid_text(oid, dotted)) != CC_OK) {
        return ret;
    }
    cc_json_cstr(j, dotted);
    return CC_OK;
}

static void time_json(cc_json *j, const char *key, const char *unix_key,
                      const mbedtls_x509_time *t)
{
    char iso[32];

    snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02dZ",
             t->year, t->mon, t->day, t->hour, t->min, t->sec);
    cc_json_key(j, key);
    cc_json_cstr(j, iso);
    cc_json_key(j, unix_key);
    cc_json_int(j, cc_time_unix(t));
}

static int key_json(cc_json *j, const mbedtls_x509_crt *crt)
{
    cc_buf desc = { NULL, 0 };
    char *text;
    int ret;

    /* The same description as cc_pk_describe gives, from the certificate's SPKI. */
    if ((ret = cc_pk_describe(crt->pk_raw.p, crt->pk_raw.len, &desc)) < 0) {
        return ret;
    }
    if ((text = cc_alloc(desc.len + 1)) == NULL) {
        ret = CC_E_NOMEM;
    } else {
        memcpy(text, desc.p, desc.len);
        cc_json_key(j, "key");
        cc_json_raw(j, text);
        ret = CC_OK;
    }
    cc_free(text);
    cc_buf_clear(&desc);
    return ret;
}

static int is_self_signed(mbedtls_x509_crt *crt)
{
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(crt->sig_md);

    if (crt->subject_raw.len != crt->issuer_raw.len ||
        memcmp(crt->subject_raw.p, crt->issuer_raw.p, crt->subject_raw.len) != 0 ||
        md == NULL || mbedtls_md(md, crt->tbs.p, crt->tbs.len, hash) != 0) {
        return 0;
    }
    return mbedtls_pk_verify_ext(crt->sig_pk, crt->sig_opts, &crt->pk, crt->sig_md, hash,
                                 mbedtls_md_get_size(md), crt->sig.p, crt->sig.len) == 0;
}

static int usage_json(cc_json *j, const mbedtls_x509_crt *crt)
{
    const mbedtls_x509_sequence *eku;
    size_t i, n = 0;
    int ret;

    cc_json_key(j, "key_usage");
    cc_json_raw(j, "[");
    if (mbedtls_x509_crt_has_ext_type(crt, MBEDTLS_X509_EXT_KEY_USAGE)) {
        for (i = 0; i < sizeof(key_usages) / sizeof(key_usages[0]); i++) {
            if (crt->key_usage & key_usages[i].bit) {
                cc_json_raw(j, n++ ? "," : "");
                cc_json_cstr(j, key_usages[i].name);
            }
        }
    }
    cc_json_raw(j, "]");

    cc_json_key(j, "extended_key_usage");
    cc_json_raw(j, "[");
    n = 0;
    if (mbedtls_x509_crt_has_ext_type(crt, MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE)) {
        for (eku = &crt->ext_key_usage; eku != NULL; eku = eku->next) {
            cc_json_raw(j, n++ ? "," : "");
            if ((ret = oid_json(j, eku_names, sizeof(eku_names) / sizeof(eku_names[0]),
                                &eku->buf)) != CC_OK) {
                return ret;
            }
        }
    }
    cc_json_raw(j, "]");

    cc_json_key(j, "basic_constraints");
    if (mbedtls_x509_crt_has_ext_type(crt, MBEDTLS_X509_EXT_BASIC_CONSTRAINTS)) {
        cc_json_raw(j, crt->ca_istrue ? "{\"ca\":true" : "{\"ca\":false");
        cc_json_key(j, "path_len");
        /* mbedTLS keeps pathLenConstraint + 1, and 0 for none. */
        if (crt->max_pathlen > 0) {
            cc_json_int(j, crt->max_pathlen - 1);
        } else {
            cc_json_raw(j, "null");
        }
        cc_json_raw(j, "}");
    } else {
        cc_json_raw(j, "null");
    }
    return CC_OK;
}

static int cert_json(cc_json *j, cc_crt_node *node)
{
    mbedtls_x509_crt *crt = &node->crt;
    const unsigned char *serial = crt->serial.p;
    size_t serial_len = crt->serial.len, i;
    unsigned char sha1[20], sha256[32];
    char dotted[CC_OID_TEXT_MAX];
    int ret;

    cc_json_raw(j, "{");
    if ((ret = cc_dn_json(j, &crt->subject, "subject", "subject_attrs")) != CC_OK ||
        (ret = cc_dn_json(j, &crt->issuer, "issuer", "issuer_attrs")) != CC_OK) {
        return ret;
    }
    cc_der_strip_zeros(&serial, &serial_len);
    cc_json_key(j, "serial");
    cc_json_hex(j, serial, serial_len, 0);
    cc_json_key(j, "version");
    cc_json_int(j, crt->version);
    time_json(j, "not_before", "not_before_unix", &crt->valid_from);
    time_json(j, "not_after", "not_after_unix", &crt->valid_to);
    cc_san_json(j, crt);
    if ((ret = usage_json(j, crt)) != CC_OK) {
        return ret;
    }

    cc_json_key(j, "unsupported_critical_extensions");
    cc_json_raw(j, "[");
    for (i = 0; i < node->unsupported_count; i++) {
        if ((ret = cc_der_oid_text(&node->unsupported[i], dotted)) != CC_OK) {
            return ret;
        }
        cc_json_raw(j, i ? "," : "");
        cc_json_cstr(j, dotted);
    }
    cc_json_raw(j, "]");

    cc_json_key(j, "signature_algorithm");
    if ((ret = oid_json(j, sig_names, sizeof(sig_names) / sizeof(sig_names[0]),
                        &crt->sig_oid)) != CC_OK ||
        (ret = key_json(j, crt)) != CC_OK) {
        return ret;
    }
    cc_json_key(j, "spki");
    cc_json_b64(j, crt->pk_raw.p, crt->pk_raw.len);

    if (mbedtls_sha1(crt->raw.p, crt->raw.len, sha1) != 0 ||
        mbedtls_sha256(crt->raw.p, crt->raw.len, sha256, 0) != 0) {
        return CC_E_INTERNAL;
    }
    cc_json_key(j, "sha1");
    cc_json_hex(j, sha1, sizeof(sha1), ':');
    cc_json_key(j, "sha256");
    cc_json_hex(j, sha256, sizeof(sha256), ':');
    cc_json_key(j, "self_signed");
    cc_json_raw(j, is_self_signed(crt) ? "true" : "false");
    cc_json_key(j, "der");
    cc_json_b64(j, crt->raw.p, crt->raw.len);
    cc_json_raw(j, "}");
    return CC_OK;
}

int cc_x509_parse(const uint8_t *in, size_t len, cc_buf *json)
{
    cc_crt_list list;
    cc_json j;
    size_t i;
    int ret;

    cc_crt_list_init(&list);
    cc_json_init(&j);
    if ((ret = cc_crt_list_read(&list, CC_X509_MAX_CERTS, in, len)) != CC_OK) {
        goto cleanup;
    }
    cc_json_raw(&j, "[");
    for (i = 0; i < list.count; i++) {
        cc_json_raw(&j, i ? "," : "");
        if ((ret = cert_json(&j, list.node[i])) != CC_OK) {
            goto cleanup;
        }
    }
    cc_json_raw(&j, "]");
    ret = cc_json_finish(&j, json);

cleanup:
    cc_json_free(&j);
    cc_crt_list_free(&list);
    return ret;
}
