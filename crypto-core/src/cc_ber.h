/* A BER reader for the formats some writers do not give as DER (PKCS#12 from Java's Bouncy
 * Castle and some Windows exports): definite and indefinite lengths, constructed (chunked)
 * OCTET STRINGs joined. mbedTLS's asn1 reader takes DER only. Not exported.
 *
 * Statuses: CC_OK, CC_E_DER for input that is not BER or breaks a limit, CC_E_NOMEM. */
#ifndef CC_BER_H
#define CC_BER_H

#include "cc_internal.h"

/* Most elements of indefinite length, or constructed OCTET STRING segments, nested in one
 * another: a hostile file could otherwise exhaust the stack. */
#define CC_BER_MAX_DEPTH 32

/* One BER element. */
typedef struct cc_ber {
    uint8_t tag;          /* identifier octet (of a high tag number: its first octet) */
    const uint8_t *start; /* the identifier octet */
    const uint8_t *p;     /* contents */
    size_t len;           /* contents length, end-of-contents octets excluded */
    const uint8_t *next;  /* just past the element */
} cc_ber;

/* Reads the element at p, of definite or indefinite length, within [p, end). */
int cc_ber_read(const uint8_t *p, const uint8_t *end, cc_ber *e);

/* Reads the element at *p, which must have the given tag, and moves *p past it. */
int cc_ber_get(const uint8_t **p, const uint8_t *end, uint8_t tag, cc_ber *e);

/* Reads an OCTET STRING, or an implicitly tagged one (tag: its primitive form), at *p and
 * moves *p past it. A primitive one gives its contents; a constructed one its segments
 * joined in *owned, which the caller wipes and frees (*len bytes). *owned is NULL and *len
 * 0 on failure. */
int cc_ber_get_octets(const uint8_t **p, const uint8_t *end, uint8_t tag,
                      const uint8_t **val, size_t *len, uint8_t **owned);

/* 1 if e is an OBJECT IDENTIFIER with the given contents (an MBEDTLS_OID_* string), else 0. */
int cc_ber_is_oid(const cc_ber *e, const char *oid, size_t oid_len);

#endif /* CC_BER_H */
