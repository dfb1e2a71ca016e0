/* DER helpers shared by the X.509 writers and readers (names, SANs, TBS, signatures,
 * descriptions). Not exported. */
#ifndef CC_DER_H
#define CC_DER_H

#include "cc_internal.h"
#include "mbedtls/asn1.h"
#include "mbedtls/oid.h"

#define CC_DER_SEQ    (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)
#define CC_DER_SET    (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET)
#define CC_DER_CTX(n) (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | (n))

/* An mbedTLS OID macro as the (oid, oid_len) pair its functions take. */
#define CC_OID_ARG(s) s, sizeof(s) - 1
/* id-at-streetAddress (2.5.4.9): mbedTLS has no macro for it. */
#define CC_OID_AT_STREET MBEDTLS_OID_AT "\x09"

#define CC_OID_TEXT_MAX 128   /* a dotted OID; longer ones are refused as malformed */

/* Writes (backwards, as mbedtls_asn1_write_*) the tag and length in front of len bytes of
 * content already written; returns the header size or an mbedTLS error. */
int cc_der_header(unsigned char **p, const unsigned char *start, size_t len, unsigned char tag);

/* Writes a positive INTEGER from big-endian bytes, minimal as DER wants. */
int cc_der_write_uint(unsigned char **p, const unsigned char *start, const unsigned char *v,
                      size_t n);

/* Skips leading zero octets of a big-endian number, keeping at least one. */
void cc_der_strip_zeros(const unsigned char **v, size_t *n);

/* The dotted form of an OID; CC_E_CERT for one mbedTLS cannot print (malformed, too long). */
int cc_der_oid_text(const mbedtls_asn1_buf *oid, char out[CC_OID_TEXT_MAX]);

#endif /* CC_DER_H */
