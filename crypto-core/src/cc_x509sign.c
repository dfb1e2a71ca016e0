/* Certificates and PKCS#10 requests from a to-be-signed structure and a signature made
 * elsewhere (a TPM, a secure element): the signature is reshaped to what X.509 carries,
 * checked against the TBS's own key, and only then assembled. */
#include <string.h>

#include "cc_der.h"
#include "cc_x509sign.h"
#include "cc_x509write.h"
#include "mbedtls/asn1write.h"
#include "mbedtls/ecp.h"
#include "mbedtls/oid.h"

#define ALG_DER_MAX 32

/* Keys and algorithms ------------------------------------------------------------------ */

/* Enters the outer SEQUENCE, which must span all of the input. */
static int enter(const uint8_t *der, size_t der_len, unsigned char **p)
{
    size_t len;

    *p = (unsigned char *) der;
    if (mbedtls_asn1_get_tag(p, der + der_len, &len, CC_DER_SEQ) != 0 ||
        *p + len != der + der_len) {
        return CC_E_DER;
    }
    return CC_OK;
}

int cc_x509sign_load_key(mbedtls_pk_context *pk, const uint8_t *der, size_t der_len)
{
    unsigned char *p;

    if (enter(der, der_len, &p) != CC_OK || mbedtls_pk_parse_public_key(pk, der, der_len) != 0) {
        return CC_E_KEY;
    }
    return CC_OK;
}

int cc_x509sign_key_digest(const mbedtls_pk_context *pk, mbedtls_md_type_t *md)
{
    if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA) {
        *md = MBEDTLS_MD_SHA256;
        return CC_OK;
    }
    if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY) {
        return CC_E_KEY_TYPE;
    }
    switch (mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*pk))) {
        case MBEDTLS_ECP_DP_SECP256R1: *md = MBEDTLS_MD_SHA256; return CC_OK;
        case MBEDTLS_ECP_DP_SECP384R1: *md = MBEDTLS_MD_SHA384; return CC_OK;
        case MBEDTLS_ECP_DP_SECP521R1: *md = MBEDTLS_MD_SHA512; return CC_OK;
        default: return CC_E_KEY_TYPE;
    }
}

int cc_x509sign_write_alg(unsigned char **p, const unsigned char *start,
                          const mbedtls_pk_context *pk, mbedtls_md_type_t md)
{
    mbedtls_pk_type_t sig = mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA ? MBEDTLS_PK_RSA
                                                                     : MBEDTLS_PK_ECDSA;
    const char *oid;
    size_t oid_len;
    int ret;

    if ((ret = mbedtls_oid_get_oid_by_sig_alg(sig, md, &oid, &oid_len)) != 0) {
        return ret;
    }
    /* Parameters: absent for ECDSA (RFC 5758 3.2), NULL for PKCS#1 v1.5 (RFC 4055 5). */
    return mbedtls_asn1_write_algorithm_identifier_ext(p, start, oid, oid_len, 0,
                                                       sig == MBEDTLS_PK_RSA);
}

/* Reading the TBS ------------------------------------------------------------------------ */

/* Moves past one element with the given tag; gives its whole encoding if asked. */
static int skip(unsigned char **p, const unsigned char *end, int tag,
                const unsigned char **elem, size_t *elem_len)
{
    unsigned char *begin = *p;
    size_t len;

    if (mbedtls_asn1_get_tag(p, end, &len, tag) != 0) {
        return CC_E_DER;
    }
    *p += len;
    if (elem != NULL) {
        *elem = begin;
        *elem_len = (size_t) (*p - begin);
    }
    return CC_OK;
}

/* The TBSCertificate's signature AlgorithmIdentifier and SubjectPublicKeyInfo. */
static int split_crt_tbs(const uint8_t *tbs, size_t tbs_len, const unsigned char **alg,
                         size_t *alg_len, const unsigned char **spki, size_t *spki_len)
{
    const unsigned char *end = tbs + tbs_len;
    unsigned char *p;

    if (enter(tbs, tbs_len, &p) != CC_OK ||
        (p < end && *p == CC_DER_CTX(0) && skip(&p, end, CC_DER_CTX(0), NULL, NULL) != CC_OK) ||
        skip(&p, end, MBEDTLS_ASN1_INTEGER, NULL, NULL) != CC_OK ||  /* serialNumber */
        skip(&p, end, CC_DER_SEQ, alg, alg_len) != CC_OK ||
        skip(&p, end, CC_DER_SEQ, NULL, NULL) != CC_OK ||            /* issuer */
        skip(&p, end, CC_DER_SEQ, NULL, NULL) != CC_OK ||            /* validity */
        skip(&p, end, CC_DER_SEQ, NULL, NULL) != CC_OK ||            /* subject */
        skip(&p, end, CC_DER_SEQ, spki, spki_len) != CC_OK) {
        return CC_E_DER;
    }
    return CC_OK;
}

/* The CertificationRequestInfo's SubjectPublicKeyInfo. */
static int split_cri(const uint8_t *cri, size_t cri_len, const unsigned char **spki,
                     size_t *spki_len)
{
    const unsigned char *end = cri + cri_len;
    unsigned char *p;

    if (enter(cri, cri_len, &p) != CC_OK ||
        skip(&p, end, MBEDTLS_ASN1_INTEGER, NULL, NULL) != CC_OK ||  /* version */
        skip(&p, end, CC_DER_SEQ, NULL, NULL) != CC_OK ||            /* subject */
        skip(&p, end, CC_DER_SEQ, spki, spki_len) != CC_OK) {
        return CC_E_DER;
    }
    return CC_OK;
}

/* The digest of the algorithm a TBS names, which must suit its key. */
static int tbs_digest(const unsigned char *alg, size_t alg_len, const mbedtls_pk_context *pk,
                      mbedtls_md_type_t *md)
{
    unsigned char *p = (unsigned char *) alg;
    mbedtls_asn1_buf oid, params;
    mbedtls_pk_type_t sig;

    if (mbedtls_asn1_get_alg(&p, alg + alg_len, &oid, &params) != 0) {
        return CC_E_DER;
    }
    if (mbedtls_oid_get_sig_alg(&oid, md, &sig) != 0 ||
        (*md != MBEDTLS_MD_SHA256 && *md != MBEDTLS_MD_SHA384 && *md != MBEDTLS_MD_SHA512) ||
        !((sig == MBEDTLS_PK_ECDSA && mbedtls_pk_get_type(pk) == MBEDTLS_PK_ECKEY) ||
          (sig == MBEDTLS_PK_RSA && mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA))) {
        return CC_E_ALG;
    }
    return CC_OK;
}

/* Signatures ----------------------------------------------------------------------------- */

/* An ECDSA-Sig-Value's r and s, which must be non-negative. */
static int read_ecdsa_der(const uint8_t *sig, size_t sig_len, const unsigned char **r,
                          size_t *r_len, const unsigned char **s, size_t *s_len)
{
    const unsigned char *end = sig + sig_len;
    unsigned char *p;

    if (enter(sig, sig_len, &p) != CC_OK ||
        mbedtls_asn1_get_tag(&p, end, r_len, MBEDTLS_ASN1_INTEGER) != 0) {
        return CC_E_SIG;
    }
    *r = p;
    p += *r_len;
    if (mbedtls_asn1_get_tag(&p, end, s_len, MBEDTLS_ASN1_INTEGER) != 0 ||
        p + *s_len != end || *r_len == 0 || *s_len == 0 || ((*r)[0] & 0x80) || (p[0] & 0x80)) {
        return CC_E_SIG;
    }
    *s = p;
    return CC_OK;
}

/* ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } */
static int write_ecdsa_sig(unsigned char **p, const unsigned char *start,
                           const unsigned char *r, size_t r_len,
                           const unsigned char *s, size_t s_len)
{
    size_t len = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(len, cc_der_write_uint(p, start, s, s_len));
    MBEDTLS_ASN1_CHK_ADD(len, cc_der_write_uint(p, start, r, r_len));
    MBEDTLS_ASN1_CHK_ADD(len, cc_der_header(p, start, len, CC_DER_SEQ));
    return (int) len;
}

/* The signature as a certificate carries it: ECDSA as minimal DER whichever form came
 * in, RSA as is. Sizes are checked against the key. out holds MBEDTLS_PK_SIGNATURE_MAX_SIZE. */
static int shape_signature(const mbedtls_pk_context *pk, const uint8_t *sig, size_t sig_len,
                           int format, unsigned char *out, size_t *out_len)
{
    const unsigned char *r, *s;
    unsigned char *p = out + MBEDTLS_PK_SIGNATURE_MAX_SIZE;
    size_t r_len, s_len, n;
    int ret;

    if (format != CC_SIGFMT_DER && format != CC_SIGFMT_RAW) {
        return CC_E_ARG;
    }
    if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA) {
        if (sig_len != mbedtls_pk_get_len(pk) || sig_len > MBEDTLS_PK_SIGNATURE_MAX_SIZE) {
            return CC_E_SIG;
        }
        memcpy(out, sig, sig_len);
        *out_len = sig_len;
        return CC_OK;
    }
    n = (mbedtls_pk_get_bitlen(pk) + 7) / 8;
    if (format == CC_SIGFMT_RAW) {
        if (sig_len != 2 * n) {
            return CC_E_SIG;
        }
        r = sig, r_len = n;
        s = sig + n, s_len = n;
    } else if (read_ecdsa_der(sig, sig_len, &r, &r_len, &s, &s_len) != CC_OK) {
        return CC_E_SIG;
    }
    cc_der_strip_zeros(&r, &r_len);
    cc_der_strip_zeros(&s, &s_len);
    if (r_len > n || s_len > n || (r_len == 1 && r[0] == 0) || (s_len == 1 && s[0] == 0)) {
        return CC_E_SIG;
    }
    if ((ret = write_ecdsa_sig(&p, out, r, r_len, s, s_len)) < 0) {
        return CC_E_INTERNAL;
    }
    memmove(out, p, (size_t) ret);
    *out_len = (size_t) ret;
    return CC_OK;
}

/* Assembly ------------------------------------------------------------------------------- */

static int write_signed(unsigned char **p, const unsigned char *start,
                        const uint8_t *tbs, size_t tbs_len,
                        const unsigned char *alg, size_t alg_len,
                        const unsigned char *sig, size_t sig_len)
{
    size_t len = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_bitstring(p, start, sig, sig_len * 8));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, alg, alg_len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, tbs, tbs_len));
    MBEDTLS_ASN1_CHK_ADD(len, cc_der_header(p, start, len, CC_DER_SEQ));
    return (int) len;
}

/* Checks the key store's signature over tbs, then writes SEQUENCE { tbs, alg, signature }:
 * a key store that returns a wrong signature must not produce a broken certificate. */
static int finish_signed(mbedtls_pk_context *pk, mbedtls_md_type_t md,
                         const uint8_t *tbs, size_t tbs_len,
                         const unsigned char *alg, size_t alg_len,
                         const uint8_t *sig, size_t sig_len, int format, cc_buf *der)
{
    unsigned char shaped[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    unsigned char *buf, *p;
    size_t shaped_len = 0, size;
    int ret, n;

    if ((ret = shape_signature(pk, sig, sig_len, format, shaped, &shaped_len)) != CC_OK) {
        return ret;
    }
    if (mbedtls_md(info, tbs, tbs_len, hash) != 0) {
        return CC_E_INTERNAL;
    }
    if (mbedtls_pk_verify(pk, md, hash, mbedtls_md_get_size(info), shaped, shaped_len) != 0) {
        return CC_E_SIG;
    }
    /* Room for the three elements and two headers of at most 6 bytes each. */
    size = tbs_len + alg_len + shaped_len + 16;
    if ((buf = cc_alloc(size)) == NULL) {
        return CC_E_NOMEM;
    }
    p = buf + size;
    n = write_signed(&p, buf, tbs, tbs_len, alg, alg_len, shaped, shaped_len);
    ret = n < 0 ? cc_status_from_mbedtls(n) : cc_buf_set(der, p, (size_t) n);
    cc_free(buf);
    return ret;
}

int cc_x509_crt_assemble(const uint8_t *tbs, size_t tbs_len,
                         const uint8_t *sig, size_t sig_len, int sig_format,
                         cc_buf *der)
{
    mbedtls_pk_context pk;
    mbedtls_md_type_t md = MBEDTLS_MD_NONE;
    const unsigned char *alg = NULL, *spki = NULL;
    size_t alg_len = 0, spki_len = 0;
    int ret;

    mbedtls_pk_init(&pk);
    if ((ret = split_crt_tbs(tbs, tbs_len, &alg, &alg_len, &spki, &spki_len)) == CC_OK &&
        (ret = cc_x509sign_load_key(&pk, spki, spki_len)) == CC_OK &&
        (ret = tbs_digest(alg, alg_len, &pk, &md)) == CC_OK) {
        ret = finish_signed(&pk, md, tbs, tbs_len, alg, alg_len, sig, sig_len, sig_format, der);
    }
    mbedtls_pk_free(&pk);
    return ret;
}

int cc_x509_csr_assemble(const uint8_t *cri, size_t cri_len,
                         const uint8_t *sig, size_t sig_len, int sig_format,
                         cc_buf *der)
{
    unsigned char alg[ALG_DER_MAX];
    unsigned char *p = alg + sizeof(alg);
    mbedtls_pk_context pk;
    mbedtls_md_type_t md = MBEDTLS_MD_NONE;
    const unsigned char *spki = NULL;
    size_t spki_len = 0;
    int ret;

    mbedtls_pk_init(&pk);
    if ((ret = split_cri(cri, cri_len, &spki, &spki_len)) == CC_OK &&
        (ret = cc_x509sign_load_key(&pk, spki, spki_len)) == CC_OK &&
        (ret = cc_x509sign_key_digest(&pk, &md)) == CC_OK) {
        ret = cc_x509sign_write_alg(&p, alg, &pk, md);
        ret = ret < 0 ? cc_status_from_mbedtls(ret)
                      : finish_signed(&pk, md, cri, cri_len, p, (size_t) ret, sig, sig_len,
                                      sig_format, der);
    }
    mbedtls_pk_free(&pk);
    return ret;
}
