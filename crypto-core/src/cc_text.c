/* Text helpers of the name and subjectAltName code: see cc_text.h. */
#include <string.h>

#include "cc_text.h"
#include "mbedtls/asn1.h"

size_t cc_text_utf8_next(const unsigned char *p, size_t len, uint32_t *cp)
{
    size_t k, i;
    uint32_t min;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    } else if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        k = 1, *cp = p[0] & 0x1F, min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        k = 2, *cp = p[0] & 0x0F, min = 0x800;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        k = 3, *cp = p[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len <= k) {
        return 0;
    }
    for (i = 1; i <= k; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        *cp = (*cp << 6) | (p[i] & 0x3F);
    }
    if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
        return 0;
    }
    return k + 1;
}

static int unicode_ok(uint32_t cp)
{
    return cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
}

long cc_text_decode(int tag, const unsigned char *p, size_t len, int32_t *units)
{
    size_t i = 0, n = 0, k;
    uint32_t cp;

    switch (tag) {
        case MBEDTLS_ASN1_UTF8_STRING:
        case MBEDTLS_ASN1_PRINTABLE_STRING:
        case MBEDTLS_ASN1_IA5_STRING:
            while (i < len) {
                k = cc_text_utf8_next(p + i, len - i, &cp);
                units[n++] = k ? (int32_t) cp : CC_TEXT_RAW(p[i]);
                i += k ? k : 1;
            }
            return (long) n;
        case MBEDTLS_ASN1_T61_STRING:
            for (i = 0; i < len; i++) {
                units[n++] = p[i];
            }
            return (long) n;
        case MBEDTLS_ASN1_BMP_STRING:
            if (len % 2 != 0) {
                return -1;
            }
            while (i < len) {
                cp = (uint32_t) p[i] << 8 | p[i + 1];
                i += 2;
                if (cp >= 0xD800 && cp <= 0xDBFF && i < len) {
                    uint32_t lo = (uint32_t) p[i] << 8 | p[i + 1];
                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        i += 2;
                    }
                }
                if (!unicode_ok(cp)) {
                    return -1;
                }
                units[n++] = (int32_t) cp;
            }
            return (long) n;
        case MBEDTLS_ASN1_UNIVERSAL_STRING:
            if (len % 4 != 0) {
                return -1;
            }
            for (i = 0; i < len; i += 4) {
                cp = (uint32_t) p[i] << 24 | (uint32_t) p[i + 1] << 16 | (uint32_t) p[i + 2] << 8 | p[i + 3];
                if (!unicode_ok(cp)) {
                    return -1;
                }
                units[n++] = (int32_t) cp;
            }
            return (long) n;
        default:
            return -1;
    }
}

void cc_text_put(cc_json *b, const char *s, size_t n)
{
    size_t i;

    /* A NUL (U+0000 in a value) goes in as a placeholder that is then overwritten. */
    for (i = 0; i < n; i++) {
        char one[2] = { s[i] != '\0' ? s[i] : ' ', '\0' };
        cc_json_raw(b, one);
        if (s[i] == '\0' && !b->failed) {
            b->p[b->len - 1] = '\0';
        }
    }
}

void cc_text_put_utf8(cc_json *b, uint32_t cp)
{
    char s[4];

    if (cp < 0x80) {
        s[0] = (char) cp;
        cc_text_put(b, s, 1);
    } else if (cp < 0x800) {
        s[0] = (char) (0xC0 | cp >> 6);
        s[1] = (char) (0x80 | (cp & 0x3F));
        cc_text_put(b, s, 2);
    } else if (cp < 0x10000) {
        s[0] = (char) (0xE0 | cp >> 12);
        s[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        s[2] = (char) (0x80 | (cp & 0x3F));
        cc_text_put(b, s, 3);
    } else {
        s[0] = (char) (0xF0 | cp >> 18);
        s[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
        s[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
        s[3] = (char) (0x80 | (cp & 0x3F));
        cc_text_put(b, s, 4);
    }
}

void cc_text_put_units(cc_json *b, const int32_t *u, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        cc_text_put_utf8(b, u[i] < 0 ? 0xFFFD : (uint32_t) u[i]);
    }
}
