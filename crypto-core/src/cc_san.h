/* Subject alternative names: "DNS:<name>" and "IP:<IPv4 or IPv6>" lines to GeneralNames DER
 * (cc_x509write.h), and a certificate's GeneralNames to JSON (cc_x509.h). Not exported. */
#ifndef CC_SAN_H
#define CC_SAN_H

#include "cc_internal.h"
#include "mbedtls/x509_crt.h"

typedef struct {
    unsigned char tag;      /* GeneralName dNSName [2] or iPAddress [7] */
    size_t len;
    const char *dns;        /* dNSName: into the input text */
    unsigned char ip[16];   /* iPAddress: 4 or 16 octets */
} cc_san_entry;

/* Parsed entries; all zero is an empty list. */
typedef struct {
    size_t count;
    cc_san_entry *e;
} cc_san_list;

/* Parses newline-separated entries (none when the text is empty): LDH host names (a '*'
 * leftmost label allowed), dotted IPv4 without leading zeros, IPv6 of RFC 4291 2.2.
 * CC_E_SAN for an entry that does not parse. The list points into in: keep it alive. */
int cc_san_parse(const uint8_t *in, size_t len, cc_san_list *sans);
void cc_san_free(cc_san_list *sans);

/* Writes the GeneralNames SEQUENCE backwards, as mbedtls_asn1_write_*; returns its size or
 * an mbedTLS error. */
int cc_san_write(unsigned char **p, const unsigned char *start, const cc_san_list *sans);

/* An upper bound of the size cc_san_write needs, but for the SEQUENCE header. */
size_t cc_san_der_max(const cc_san_list *sans);

/* Appends "subject_alt_names":[{"type":"DNS"|"IP"|"email"|"URI","value":"..."}] of a
 * certificate; other name forms are left out. Sets j->failed when out of memory. */
void cc_san_json(cc_json *j, const mbedtls_x509_crt *crt);

#endif /* CC_SAN_H */
