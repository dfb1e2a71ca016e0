/* DER helpers shared by the X.509 code: see cc_der.h. */
#include "cc_der.h"
#include "mbedtls/asn1write.h"

int cc_der_header(unsigned char **p, const unsigned char *start, size_t len, unsigned char tag)
{
    size_t n = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_len(p, start, len));
    MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_tag(p, start, tag));
    return (int) n;
}

int cc_der_write_uint(unsigned char **p, const unsigned char *start, const unsigned char *v,
                      size_t n)
{
    static const unsigned char zero = 0;
    size_t len = 0;
    int ret;

    cc_der_strip_zeros(&v, &n);
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, v, n));
    if (v[0] & 0x80) {
        MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, &zero, 1));
    }
    MBEDTLS_ASN1_CHK_ADD(len, cc_der_header(p, start, len, MBEDTLS_ASN1_INTEGER));
    return (int) len;
}

void cc_der_strip_zeros(const unsigned char **v, size_t *n)
{
    while (*n > 1 && (*v)[0] == 0) {
        (*v)++;
        (*n)--;
    }
}

int cc_der_oid_text(const mbedtls_asn1_buf *oid, char out[CC_OID_TEXT_MAX])
{
    return mbedtls_oid_get_numeric_string(out, CC_OID_TEXT_MAX, oid) > 0 ? CC_OK : CC_E_CERT;
}
