/* The BER reader of the PKCS#12 code: see cc_ber.h. */
#include <string.h>

#include "cc_ber.h"
#include "mbedtls/asn1.h"

/* cc_ber_read at a nesting depth: an element of indefinite length is only delimited by
 * reading every element inside it, each one level deeper. */
static int read_at(const uint8_t *p, const uint8_t *end, int depth, cc_ber *e)
{
    size_t len = 0, n, i;

    if (depth > CC_BER_MAX_DEPTH || end - p < 2) {
        return CC_E_DER;
    }
    e->start = p;
    e->tag = *p++;
    if ((e->tag & 0x1F) == 0x1F) {
        /* A high tag number (none that we read has one): skip its octets. */
        for (i = 0; i < 4 && p < end && (*p & 0x80); i++) {
            p++;
        }
        if (i == 4 || p == end) {
            return CC_E_DER;
        }
        p++;
    }
    if (p == end) {
        return CC_E_DER;
    }
    n = *p++;
    if (n == 0x80) {
        /* Indefinite length: the contents run to the end-of-contents octets 00 00, found
         * by reading the elements inside. Only a constructed element may have it. */
        if (!(e->tag & MBEDTLS_ASN1_CONSTRUCTED)) {
            return CC_E_DER;
        }
        e->p = p;
        while (end - p < 2 || p[0] != 0 || p[1] != 0) {
            cc_ber child;
            if (read_at(p, end, depth + 1, &child) != CC_OK) {
                return CC_E_DER;
            }
            p = child.next;
        }
        e->len = (size_t) (p - e->p);
        e->next = p + 2;
        return CC_OK;
    }
    if (n & 0x80) {
        /* Long form; more than 4 length octets would not fit a 32-bit size_t (wasm32). */
        n &= 0x7F;
        if (n > 4 || (size_t) (end - p) < n) {
            return CC_E_DER;
        }
        for (i = 0; i < n; i++) {
            len = (len << 8) | *p++;
        }
    } else {
        len = n;
    }
    if (len > (size_t) (end - p)) {
        return CC_E_DER;
    }
    e->p = p;
    e->len = len;
    e->next = p + len;
    return CC_OK;
}

int cc_ber_read(const uint8_t *p, const uint8_t *end, cc_ber *e)
{
    return read_at(p, end, 0, e);
}

int cc_ber_get(const uint8_t **p, const uint8_t *end, uint8_t tag, cc_ber *e)
{
    if (read_at(*p, end, 0, e) != CC_OK || e->tag != tag) {
        return CC_E_DER;
    }
    *p = e->next;
    return CC_OK;
}

/* Joins the segments of a constructed OCTET STRING into out; with out NULL, counts them.
 * Segments may themselves be constructed, to the same depth limit. */
static int gather(const uint8_t *p, const uint8_t *end, int depth, uint8_t *out, size_t *n)
{
    cc_ber seg;

    while (p < end) {
        if (depth > CC_BER_MAX_DEPTH || read_at(p, end, 0, &seg) != CC_OK) {
            return CC_E_DER;
        }
        if (seg.tag == MBEDTLS_ASN1_OCTET_STRING) {
            if (out != NULL) {
                memcpy(out + *n, seg.p, seg.len);
            }
            *n += seg.len;
        } else if (seg.tag != (MBEDTLS_ASN1_OCTET_STRING | MBEDTLS_ASN1_CONSTRUCTED) ||
                   gather(seg.p, seg.p + seg.len, depth + 1, out, n) != CC_OK) {
            return CC_E_DER;
        }
        p = seg.next;
    }
    return CC_OK;
}

int cc_ber_get_octets(const uint8_t **p, const uint8_t *end, uint8_t tag,
                      const uint8_t **val, size_t *len, uint8_t **owned)
{
    cc_ber e;
    size_t n = 0;

    *owned = NULL;
    *len = 0;
    if (read_at(*p, end, 0, &e) != CC_OK) {
        return CC_E_DER;
    }
    if (e.tag == tag) {
        *val = e.p;
        *len = e.len;
    } else if (e.tag == (tag | MBEDTLS_ASN1_CONSTRUCTED)) {
        /* Two passes, counting then copying, so the joined value is one allocation of
         * its exact size (it may be a secret the caller has to wipe). */
        if (gather(e.p, e.p + e.len, 0, NULL, &n) != CC_OK) {
            return CC_E_DER;
        }
        if ((*owned = cc_alloc(n)) == NULL) {
            return CC_E_NOMEM;
        }
        /* The counting pass read the same segments: this one cannot fail. */
        (void) gather(e.p, e.p + e.len, 0, *owned, len);
        *val = *owned;
    } else {
        return CC_E_DER;
    }
    *p = e.next;
    return CC_OK;
}

int cc_ber_is_oid(const cc_ber *e, const char *oid, size_t oid_len)
{
    return e->tag == MBEDTLS_ASN1_OID && e->len == oid_len && memcmp(e->p, oid, oid_len) == 0;
}
