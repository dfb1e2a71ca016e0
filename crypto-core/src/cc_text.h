/* Text helpers of the name and subjectAltName parsers and printers (cc_dn.c, cc_san.c) and
 * of the PKCS#12 passphrase (cc_pbe.c): ASCII classes, hex digits, UTF-8, ASN.1 string
 * values decoded to code points, and text appended to a cc_json buffer. Not exported. */
#ifndef CC_TEXT_H
#define CC_TEXT_H

#include "cc_internal.h"

/* Locale-free, and safe for any char value (unlike <ctype.h> with a negative char). */
static inline int cc_text_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline int cc_text_is_alnum(char c)
{
    return cc_text_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The value of a hex digit (either case), or -1. */
static inline int cc_text_hex_digit(char c)
{
    return cc_text_is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                         : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* A decoded string value is an array of units: code points, and CC_TEXT_RAW(b) (negative)
 * for an octet b that is not UTF-8; CC_TEXT_OCTET(u) gives b back. */
#define CC_TEXT_RAW(b)   (-1 - (int32_t) (b))
#define CC_TEXT_OCTET(u) ((unsigned char) (-1 - (u)))

/* Length of the UTF-8 sequence at p (len > 0), its code point in *cp; 0 if the octets there
 * are not UTF-8 (overlong forms, surrogates and values past U+10FFFF are not). U+0000 is. */
size_t cc_text_utf8_next(const unsigned char *p, size_t len, uint32_t *cp);

/* Decodes a string value into units (room for len entries): UTF8String and the ASCII types
 * as UTF-8, TeletexString as Latin-1, BMPString as UTF-16 and UniversalString as UCS-4,
 * both big-endian. Returns the number of units, or -1 for a value that is not a string or
 * not well-formed UTF-16 or UCS-4. */
long cc_text_decode(int tag, const unsigned char *p, size_t len, int32_t *units);

/* Appends n bytes, NUL included (cc_json_raw takes C strings). */
void cc_text_put(cc_json *b, const char *s, size_t n);
/* Appends a code point as UTF-8. */
void cc_text_put_utf8(cc_json *b, uint32_t cp);
/* Appends units as plain UTF-8, U+FFFD for octets that were not UTF-8. */
void cc_text_put_units(cc_json *b, const int32_t *u, size_t n);

#endif /* CC_TEXT_H */
