/* Distinguished names: RFC 4514 text to Name DER (subjects of cc_x509write.h) and Name to
 * RFC 4514 text (descriptions of cc_x509.h), both with RDNs in DER order, most significant
 * first. One table of attribute types serves both, so that a subject printed from a
 * certificate parses back into the same DER. Not exported. */
#ifndef CC_DN_H
#define CC_DN_H

#include "cc_internal.h"
#include "mbedtls/x509.h"

#define CC_DN_ATVS_MAX    32    /* attributes in one subject */
#define CC_DN_ATV_DER_MAX 320   /* DER of one SEQUENCE { type, value }: a value of at most
                                 * MBEDTLS_X509_MAX_DN_NAME_SIZE bytes and its type */

/* One AttributeTypeAndValue, encoded, and the RDN it belongs to. */
typedef struct {
    size_t rdn;
    size_t len;
    unsigned char der[CC_DN_ATV_DER_MAX];
} cc_dn_atv;

/* A parsed subject, in text order; count 0 for an empty one. */
typedef struct {
    size_t count;
    cc_dn_atv atv[CC_DN_ATVS_MAX];
} cc_dn_name;

/* Parses RFC 4514 text listed most significant RDN first: escapes, "#hex" values, "+" for
 * multi-valued RDNs, types by name (case-insensitive) or dotted OID, each value checked
 * against its string type and size bounds. CC_E_SUBJECT for text that does not parse. */
int cc_dn_parse(const uint8_t *in, size_t len, cc_dn_name *name);

/* Writes the Name DER (each RDN's SET OF in DER order) backwards, as mbedtls_asn1_write_*;
 * returns its size or an mbedTLS error. */
int cc_dn_write(unsigned char **p, const unsigned char *start, const cc_dn_name *name);

/* An upper bound of the size cc_dn_write needs. */
size_t cc_dn_der_max(const cc_dn_name *name);

/* Appends "key":"<RFC 4514 text>" of a parsed Name and, when attrs_key is not NULL,
 * "attrs_key":[{"type":...,"oid":...,"value":...}] (the formats of cc_x509.h). */
int cc_dn_json(cc_json *j, const mbedtls_x509_name *name, const char *key,
               const char *attrs_key);

#endif /* CC_DN_H */
