/* X.509 certificates and PKCS#10 requests signed elsewhere: the core builds the
 * to-be-signed DER and its digest here, a key store signs the digest, and cc_x509sign.c
 * checks that signature before it assembles. Subjects are parsed by cc_dn.c, SANs by
 * cc_san.c. */
#include <string.h>

#include "cc_der.h"
#include "cc_dn.h"
#include "cc_san.h"
#include "cc_time.h"
#include "cc_x509sign.h"
#include "cc_x509write.h"
#include "mbedtls/asn1write.h"
#include "mbedtls/sha1.h"

#define SERIAL_LEN 16
#define KEY_ID_LEN 20
#define FIXED_DER_MAX 512   /* a TBS but for its names, SPKI and SANs */

/* Everything a TBS is made of, read and checked before anything is written. */
typedef struct {
    mbedtls_pk_context pk;
    mbedtls_md_type_t md;
    const uint8_t *spki;        /* DER: into the input or into owned */
    size_t spki_len;
    uint8_t *owned;             /* the SPKI decoded from PEM */
    cc_dn_name *name;
    cc_san_list sans;
    /* certificates only */
    const uint8_t *not_before, *not_after;
    int nb_year, na_year;
    unsigned char serial[SERIAL_LEN];
    unsigned char key_id[KEY_ID_LEN];
} tbs_parts;

static void parts_init(tbs_parts *t)
{
    memset(t, 0, sizeof(*t));
    mbedtls_pk_init(&t->pk);
}

static void parts_free(tbs_parts *t)
{
    mbedtls_pk_free(&t->pk);
    cc_free(t->owned);
    cc_free(t->name);
    cc_san_free(&t->sans);
}

static int parts_read(tbs_parts *t, const uint8_t *spki, size_t spki_len,
                      const uint8_t *subject, size_t subject_len,
                      const uint8_t *sans, size_t sans_len)
{
    int ret;

    if ((ret = cc_pem_or_der(spki, spki_len, "PUBLIC KEY", &t->spki, &t->spki_len,
                             &t->owned)) != CC_OK ||
        (ret = cc_x509sign_load_key(&t->pk, t->spki, t->spki_len)) != CC_OK ||
        (ret = cc_x509sign_key_digest(&t->pk, &t->md)) != CC_OK) {
        return ret;
    }
    if ((t->name = cc_alloc(sizeof(*t->name))) == NULL) {
        return CC_E_NOMEM;
    }
    if ((ret = cc_dn_parse(subject, subject_len, t->name)) != CC_OK) {
        return ret;
    }
    return cc_san_parse(sans, sans_len, &t->sans);
}

/* Reads a validity time; returns its year, or CC_E_TIME. */
static int parts_time(const uint8_t *text, size_t len)
{
    mbedtls_x509_time t;

    /* Validity starts in year 1 at the earliest; cc_time_parse takes year 0 for the
     * verifier's "now". */
    if (cc_time_parse(text, len, &t) != CC_OK || t.year < 1) {
        return CC_E_TIME;
    }
    return t.year;
}

/* An upper bound of the TBS size: names twice (a certificate's issuer and subject). */
static size_t parts_der_max(const tbs_parts *t)
{
    return FIXED_DER_MAX + t->spki_len + 2 * cc_dn_der_max(t->name) + cc_san_der_max(&t->sans);
}

/* RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's value. */
static int make_key_id(tbs_parts *t)
{
    unsigned char *p = (unsigned char *) t->spki, *end = p + t->spki_len;
    size_t len;

    if (mbedtls_asn1_get_tag(&p, end, &len, CC_DER_SEQ) != 0 ||
        mbedtls_asn1_get_tag(&p, end, &len, CC_DER_SEQ) != 0) {
        return CC_E_KEY;
    }
    p += len;
    if (mbedtls_asn1_get_bitstring_null(&p, end, &len) != 0) {
        return CC_E_KEY;
    }
    return mbedtls_sha1(p, len, t->key_id) == 0 ? CC_OK : CC_E_INTERNAL;
}

/* RFC 5280 4.1.2.2: positive, nonzero, at most 20 octets; random, so unique in practice. */
static int make_serial(tbs_parts *t)
{
    unsigned char any;
    size_t i;

    do {
        if (cc_rng(cc_rng_ctx(), t->serial, SERIAL_LEN) != 0) {
            return CC_E_RNG;
        }
        t->serial[0] &= 0x7F;
        for (any = 0, i = 0; i < SERIAL_LEN; i++) {
            any |= t->serial[i];
        }
    } while (any == 0);
    return CC_OK;
}

/* Writes an Extension around value_len bytes of extnValue content already written. */
static int write_extension(unsigned char **p, const unsigned char *start, const char *oid,
                           size_t oid_len, int critical, size_t value_len)
{
    size_t len = value_len;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(len, cc_der_header(p, start, value_len, MBEDTLS_ASN1_OCTET_STRING));
    if (critical) {
        MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_bool(p, start, 1));
    }
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start, oid, oid_len));
    MBEDTLS_ASN1_CHK_ADD(len, cc_der_header(p, start, len, CC_DER_SEQ));
    return (int) len;
}

static int write_san_extension(unsigned char **p, const unsigned char *start,
                               const cc_san_list *sans, int critical)
{
    size_t v = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(v, cc_san_write(p, start, sans));
    return write_extension(p, start, CC_OID_ARG(MBEDTLS_OID_SUBJECT_ALT_NAME), critical, v);
}

/* The extensions of a camera's server and 802.1X client certificate, in [3]. */
static int write_crt_extensions(unsigned char **p, const unsigned char *start,
                                const tbs_parts *t)
{
    unsigned char usage = MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
    size_t len = 0, v;
    int ret;

    if (t->sans.count > 0) {
        MBEDTLS_ASN1_CHK_ADD(len, write_san_extension(p, start, &t->sans, 0));
    }
    /* authorityKeyIdentifier [0] keyIdentifier: the key's own, the certificate signs itself. */
    v = 0;
    MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_raw_buffer(p, start, t->key_id, KEY_ID_LEN));
    MBEDTLS_ASN1_CHK_ADD(v, cc_der_header(p, start, v, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0));
    MBEDTLS_ASN1_CHK_ADD(v, cc_der_header(p, start, v, CC_DER_SEQ));
    MBEDTLS_ASN1_CHK_ADD(len, write_extension(p, start,
                                              CC_OID_ARG(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER),
                                              0, v));
    v = 0;
    MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_octet_string(p, start, t->key_id, KEY_ID_LEN));
    MBEDTLS_ASN1_CHK_ADD(len, write_extension(p, start,
                                              CC_OID_ARG(MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER),
                                              0, v));
    /* HTTPS server, and client for HTTPS and IEEE 802.1X (EAP-TLS). */
    v = 0;
    MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_oid(p, start, CC_OID_ARG(MBEDTLS_OID_CLIENT_AUTH)));
    MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_oid(p, start, CC_OID_ARG(MBEDTLS_OID_SERVER_AUTH)));
    MBEDTLS_ASN1_CHK_ADD(v, cc_der_header(p, start, v, CC_DER_SEQ));
    MBEDTLS_ASN1_CHK_ADD(len, write_extension(p, start,
                                              CC_OID_ARG(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, v));
    /* Signing, plus what the key type does in TLS key exchange. */
    usage |= mbedtls_pk_get_type(&t->pk) == MBEDTLS_PK_RSA ? MBEDTLS_X509_KU_KEY_ENCIPHERMENT
                                                           : MBEDTLS_X509_KU_KEY_AGREEMENT;
    v = 0;
    MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_named_bitstring(p, start, &usage, 8));
    MBEDTLS_ASN1_CHK_ADD(len, write_extension(p, start, CC_OID_ARG(MBEDTLS_OID_KEY_USAGE), 1, v));
    /* cA FALSE is the DEFAULT, so the SEQUENCE is empty. */
    v = 0;
    MBEDTLS_ASN1_CHK_ADD(v, cc_der_header(p, start, 0, CC_DER_SEQ));
    MBEDTLS_ASN1_CHK_ADD(len, write_extension(p, start,
                                              CC_OID_ARG(MBEDTLS_OID_BASIC_CONSTRAINTS), 1, v));

    MBEDTLS_ASN1_CHK_ADD(len, cc_der_header(p, start, len, CC_DER_SEQ));
    MBEDTLS_ASN1_CHK_ADD(len, cc_der_header(p, start, len, CC_DER_CTX(3)));
    return (int) len;
}

static int write_crt_tbs(unsigned char **p, const unsigned char *start, const tbs_parts *t)
{
    size_t len = 0, v = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(len, write_crt_extensions(p, start, t));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, t->spki, t->spki_len));
    MBEDTLS_ASN1_CHK_ADD(len, cc_dn_write(p, start, t->name));
    MBEDTLS_ASN1_CHK_ADD(v, cc_time_write(p, start, t->not_after, t->na_year));
    MBEDTLS_ASN1_CHK_ADD(v, cc_time_write(p, start, t->not_before, t->nb_year));
    MBEDTLS_ASN1_CHK_ADD(v, cc_der_header(p, start, v, CC_DER_SEQ));
    len += v;
    MBEDTLS_ASN1_CHK_ADD(len, cc_dn_write(p, start, t->name)); /* issuer: self-signed */
    MBEDTLS_ASN1_CHK_ADD(len, cc_x509sign_write_alg(p, start, &t->pk, t->md));
    MBEDTLS_ASN1_CHK_ADD(len, cc_der_write_uint(p, start, t->serial, SERIAL_LEN));
    v = 0;
    MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_int(p, start, 2)); /* v3 */
    MBEDTLS_ASN1_CHK_ADD(v, cc_der_header(p, start, v, CC_DER_CTX(0)));
    len += v;
    MBEDTLS_ASN1_CHK_ADD(len, cc_der_header(p, start, len, CC_DER_SEQ));
    return (int) len;
}

static int write_cri(unsigned char **p, const unsigned char *start, const tbs_parts *t)
{
    size_t len = 0, v = 0;
    int ret;

    if (t->sans.count > 0) {
        /* Attribute { extensionRequest, SET { Extensions } }. With an empty subject the
         * SAN carries the identity and is critical (RFC 5280 4.2.1.6). */
        MBEDTLS_ASN1_CHK_ADD(v, write_san_extension(p, start, &t->sans, t->name->count == 0));
        MBEDTLS_ASN1_CHK_ADD(v, cc_der_header(p, start, v, CC_DER_SEQ));
        MBEDTLS_ASN1_CHK_ADD(v, cc_der_header(p, start, v, CC_DER_SET));
        MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_oid(p, start,
                                                       CC_OID_ARG(MBEDTLS_OID_PKCS9_CSR_EXT_REQ)));
        MBEDTLS_ASN1_CHK_ADD(v, cc_der_header(p, start, v, CC_DER_SEQ));
    }
    /* attributes [0], maybe empty */
    MBEDTLS_ASN1_CHK_ADD(v, cc_der_header(p, start, v, CC_DER_CTX(0)));
    len += v;
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, t->spki, t->spki_len));
    MBEDTLS_ASN1_CHK_ADD(len, cc_dn_write(p, start, t->name));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_int(p, start, 0)); /* v1 */
    MBEDTLS_ASN1_CHK_ADD(len, cc_der_header(p, start, len, CC_DER_SEQ));
    return (int) len;
}

static const char *digest_name(mbedtls_md_type_t md)
{
    return md == MBEDTLS_MD_SHA512 ? "SHA-512" : md == MBEDTLS_MD_SHA384 ? "SHA-384" : "SHA-256";
}

/* Writes a TBS with writer, then fills the three outputs of the *_tbs functions. */
static int tbs_outputs(const tbs_parts *t,
                       int (*writer)(unsigned char **, const unsigned char *, const tbs_parts *),
                       cc_buf *tbs, cc_buf *digest, cc_buf *alg_json)
{
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(t->md);
    size_t size = parts_der_max(t);
    unsigned char *buf = cc_alloc(size), *p;
    cc_json j;
    int n, ret;

    if (buf == NULL) {
        return CC_E_NOMEM;
    }
    cc_json_init(&j);
    p = buf + size;
    if ((n = writer(&p, buf, t)) < 0) {
        ret = cc_status_from_mbedtls(n);
        goto cleanup;
    }
    if (mbedtls_md(info, p, (size_t) n, hash) != 0) {
        ret = CC_E_INTERNAL;
        goto cleanup;
    }
    cc_json_raw(&j, "{");
    cc_json_key(&j, "scheme");
    cc_json_cstr(&j, mbedtls_pk_get_type(&t->pk) == MBEDTLS_PK_RSA ? "RSA-PKCS1-V1_5" : "ECDSA");
    cc_json_key(&j, "digest");
    cc_json_cstr(&j, digest_name(t->md));
    cc_json_raw(&j, "}");
    if ((ret = cc_buf_set(tbs, p, (size_t) n)) == CC_OK &&
        (ret = cc_buf_set(digest, hash, mbedtls_md_get_size(info))) == CC_OK) {
        ret = cc_json_finish(&j, alg_json);
    }

cleanup:
    cc_json_free(&j);
    cc_free(buf);
    if (ret != CC_OK) {
        cc_buf_clear(tbs);
        cc_buf_clear(digest);
        cc_buf_clear(alg_json);
    }
    return ret;
}

int cc_x509_crt_tbs(const uint8_t *spki, size_t spki_len,
                    const uint8_t *subject, size_t subject_len,
                    const uint8_t *sans, size_t sans_len,
                    const uint8_t *not_before, size_t nb_len,
                    const uint8_t *not_after, size_t na_len,
                    cc_buf *tbs, cc_buf *digest, cc_buf *alg_json)
{
    tbs_parts t;
    int ret;

    parts_init(&t);
    if ((ret = parts_read(&t, spki, spki_len, subject, subject_len, sans, sans_len)) != CC_OK) {
        goto cleanup;
    }
    if (t.name->count == 0) {
        ret = CC_E_SUBJECT;
        goto cleanup;
    }
    t.not_before = not_before;
    t.not_after = not_after;
    if ((t.nb_year = parts_time(not_before, nb_len)) < 0 ||
        (t.na_year = parts_time(not_after, na_len)) < 0 ||
        memcmp(not_after, not_before, CC_TIME_LEN) <= 0) {
        ret = CC_E_TIME;
        goto cleanup;
    }
    if ((ret = make_key_id(&t)) != CC_OK || (ret = make_serial(&t)) != CC_OK) {
        goto cleanup;
    }
    ret = tbs_outputs(&t, write_crt_tbs, tbs, digest, alg_json);

cleanup:
    parts_free(&t);
    return ret;
}

int cc_x509_csr_tbs(const uint8_t *spki, size_t spki_len,
                    const uint8_t *subject, size_t subject_len,
                    const uint8_t *sans, size_t sans_len,
                    cc_buf *cri, cc_buf *digest, cc_buf *alg_json)
{
    tbs_parts t;
    int ret;

    parts_init(&t);
    if ((ret = parts_read(&t, spki, spki_len, subject, subject_len, sans, sans_len)) == CC_OK) {
        ret = tbs_outputs(&t, write_cri, cri, digest, alg_json);
    }
    parts_free(&t);
    return ret;
}
