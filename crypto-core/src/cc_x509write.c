/* X.509 certificates and PKCS#10 requests signed elsewhere: the core builds the
 * to-be-signed DER and its digest, a key store signs the digest, and the core checks that
 * signature before it assembles.
 *
 * Subjects are parsed here rather than by mbedtls_x509_string_to_names, which in 3.6 merges
 * repeated attribute types (OU=a,OU=b), has no multi-valued RDNs, mis-reads "\\," and checks
 * neither UTF-8 nor string types. */
#include <string.h>

#include "cc_internal.h"
#include "cc_x509write.h"
#include "mbedtls/asn1.h"
#include "mbedtls/asn1write.h"
#include "mbedtls/ecp.h"
#include "mbedtls/md.h"
#include "mbedtls/oid.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform.h"
#include "mbedtls/sha1.h"
#include "mbedtls/x509.h"

#define OID_ARG(s) s, sizeof(s) - 1
#define OID_AT_STREET MBEDTLS_OID_AT "\x09" /* id-at-streetAddress: no mbedTLS macro */

#define SEQ (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)
#define SET (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET)
#define CTX(n) (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | (n))
#define GN_DNS (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) /* GeneralName dNSName [2] IA5String */
#define GN_IP (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7)  /* GeneralName iPAddress [7] OCTET STRING */

#define VALUE_MAX MBEDTLS_X509_MAX_DN_NAME_SIZE /* bytes of one value, as mbedTLS reads them */
#define ATVS_MAX 32                             /* attributes in one subject */
#define ATTR_OID_MAX 32                         /* DER bytes of a dotted attribute type */
#define ATV_DER_MAX 320                         /* SEQUENCE { type, value } within those */
#define SERIAL_LEN 16
#define KEY_ID_LEN 20
#define TIME_LEN 14                             /* YYYYMMDDhhmmss */
#define FIXED_DER_MAX 512                       /* a TBS but for its names, SPKI and SANs */
#define ALG_DER_MAX 32

/* Subjects -------------------------------------------------------------------------- */

/* Attribute types by name. Sizes are X.520 / RFC 5280 upper bounds, in characters. */
typedef struct {
    const char *name;
    const char *long_name;
    const char *oid;
    size_t oid_len;
    int tag;
    size_t min, max;
} attr_name;

static const attr_name attr_names[] = {
    { "CN", "commonName", OID_ARG(MBEDTLS_OID_AT_CN), MBEDTLS_ASN1_UTF8_STRING, 1, 64 },
    { "C", "countryName", OID_ARG(MBEDTLS_OID_AT_COUNTRY), MBEDTLS_ASN1_PRINTABLE_STRING, 2, 2 },
    { "ST", "stateOrProvinceName", OID_ARG(MBEDTLS_OID_AT_STATE), MBEDTLS_ASN1_UTF8_STRING, 1, 128 },
    { "L", "localityName", OID_ARG(MBEDTLS_OID_AT_LOCALITY), MBEDTLS_ASN1_UTF8_STRING, 1, 128 },
    { "O", "organizationName", OID_ARG(MBEDTLS_OID_AT_ORGANIZATION), MBEDTLS_ASN1_UTF8_STRING, 1, 64 },
    { "OU", "organizationalUnitName", OID_ARG(MBEDTLS_OID_AT_ORG_UNIT), MBEDTLS_ASN1_UTF8_STRING, 1, 64 },
    { "street", "streetAddress", OID_ARG(OID_AT_STREET), MBEDTLS_ASN1_UTF8_STRING, 1, 128 },
    { "emailAddress", NULL, OID_ARG(MBEDTLS_OID_PKCS9_EMAIL), MBEDTLS_ASN1_IA5_STRING, 1, 255 },
    /* X.520 makes serialNumber and dnQualifier PrintableString, RFC 4519 DC IA5String. */
    { "serialNumber", NULL, OID_ARG(MBEDTLS_OID_AT_SERIAL_NUMBER), MBEDTLS_ASN1_PRINTABLE_STRING, 1, 64 },
    { "DC", "domainComponent", OID_ARG(MBEDTLS_OID_DOMAIN_COMPONENT), MBEDTLS_ASN1_IA5_STRING, 1, VALUE_MAX },
    { "UID", "userId", OID_ARG(MBEDTLS_OID_UID), MBEDTLS_ASN1_UTF8_STRING, 1, VALUE_MAX },
    { "title", NULL, OID_ARG(MBEDTLS_OID_AT_TITLE), MBEDTLS_ASN1_UTF8_STRING, 1, 64 },
    { "SN", "surname", OID_ARG(MBEDTLS_OID_AT_SUR_NAME), MBEDTLS_ASN1_UTF8_STRING, 1, VALUE_MAX },
    { "GN", "givenName", OID_ARG(MBEDTLS_OID_AT_GIVEN_NAME), MBEDTLS_ASN1_UTF8_STRING, 1, VALUE_MAX },
    { "initials", NULL, OID_ARG(MBEDTLS_OID_AT_INITIALS), MBEDTLS_ASN1_UTF8_STRING, 1, VALUE_MAX },
    { "generationQualifier", NULL, OID_ARG(MBEDTLS_OID_AT_GENERATION_QUALIFIER),
      MBEDTLS_ASN1_UTF8_STRING, 1, VALUE_MAX },
    { "pseudonym", NULL, OID_ARG(MBEDTLS_OID_AT_PSEUDONYM), MBEDTLS_ASN1_UTF8_STRING, 1, 128 },
    { "postalCode", NULL, OID_ARG(MBEDTLS_OID_AT_POSTAL_CODE), MBEDTLS_ASN1_UTF8_STRING, 1, 40 },
    { "dnQualifier", NULL, OID_ARG(MBEDTLS_OID_AT_DN_QUALIFIER), MBEDTLS_ASN1_PRINTABLE_STRING, 1, VALUE_MAX },
};

/* An attribute type as read from the subject text. */
typedef struct {
    unsigned char oid[ATTR_OID_MAX];
    size_t oid_len;
    int tag;
    size_t min, max;
} attr_type;

/* One AttributeTypeAndValue, encoded, and the RDN it belongs to. */
typedef struct {
    size_t rdn;
    size_t len;
    unsigned char der[ATV_DER_MAX];
} name_atv;

typedef struct {
    size_t count;
    name_atv atv[ATVS_MAX];
} name_list;

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hex_digit(char c)
{
    return is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* Attribute type names compare case-insensitively (RFC 4512 section 2.5). */
static int same_name(const char *s, size_t n, const char *name)
{
    size_t i;

    if (name == NULL || strlen(name) != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char a = s[i], b = name[i];
        a = (a >= 'A' && a <= 'Z') ? (char) (a - 'A' + 'a') : a;
        b = (b >= 'A' && b <= 'Z') ? (char) (b - 'A' + 'a') : b;
        if (a != b) {
            return 0;
        }
    }
    return 1;
}

/* A numericoid of RFC 4512: numbers without leading zeros, separated by single dots. */
static int numeric_oid_ok(const char *s, size_t n)
{
    size_t i, digits = 0, dots = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (digits == 0) {
                return 0;
            }
            digits = 0;
            dots++;
        } else if (is_digit(s[i]) && !(digits == 1 && s[i - 1] == '0')) {
            digits++;
        } else {
            return 0;
        }
    }
    return digits > 0 && dots > 0;
}

/* Reads an attribute type and its '=': a name of the table or a dotted OID. */
static int read_type(const char *s, size_t len, size_t *pos, attr_type *type)
{
    size_t i = *pos, start = i, n, k;

    while (i < len && (is_alnum(s[i]) || s[i] == '-' || s[i] == '.')) {
        i++;
    }
    n = i - start;
    while (i < len && s[i] == ' ') {
        i++;
    }
    if (n == 0 || i == len || s[i] != '=') {
        return CC_E_SUBJECT;
    }
    *pos = i + 1;

    if (is_digit(s[start])) {
        mbedtls_asn1_buf oid = { 0, 0, NULL };
        if (!numeric_oid_ok(s + start, n) ||
            mbedtls_oid_from_numeric_string(&oid, s + start, n) != 0) {
            return CC_E_SUBJECT;
        }
        if (oid.len > ATTR_OID_MAX) {
            mbedtls_free(oid.p);
            return CC_E_SUBJECT;
        }
        memcpy(type->oid, oid.p, oid.len);
        type->oid_len = oid.len;
        mbedtls_free(oid.p);
        /* A known type by number keeps its string type and bounds. */
        type->tag = MBEDTLS_ASN1_UTF8_STRING;
        type->min = 1;
        type->max = VALUE_MAX;
        for (k = 0; k < sizeof(attr_names) / sizeof(attr_names[0]); k++) {
            const attr_name *a = &attr_names[k];
            if (a->oid_len == type->oid_len && memcmp(a->oid, type->oid, a->oid_len) == 0) {
                type->tag = a->tag;
                type->min = a->min;
                type->max = a->max;
            }
        }
        return CC_OK;
    }
    for (k = 0; k < sizeof(attr_names) / sizeof(attr_names[0]); k++) {
        const attr_name *a = &attr_names[k];
        if (same_name(s + start, n, a->name) || same_name(s + start, n, a->long_name)) {
            memcpy(type->oid, a->oid, a->oid_len);
            type->oid_len = a->oid_len;
            type->tag = a->tag;
            type->min = a->min;
            type->max = a->max;
            return CC_OK;
        }
    }
    return CC_E_SUBJECT;
}

/* Characters that may follow a backslash (RFC 4514 section 2.4). */
static const char escapable[] = "\"+,;<>\\ #=";

/* Reads a string value up to an unescaped ',' or '+' or the end. Leading spaces were
 * skipped by the caller; unescaped trailing spaces are formatting, not data. */
static int read_string(const char *s, size_t len, size_t *pos, unsigned char *out,
                       size_t *out_len)
{
    size_t i = *pos, n = 0, keep = 0;

    while (i < len && s[i] != ',' && s[i] != '+') {
        unsigned char c = (unsigned char) s[i];
        int escaped = 0;

        if (c == '\\') {
            if (i + 1 < len && s[i + 1] != '\0' && strchr(escapable, s[i + 1]) != NULL) {
                c = (unsigned char) s[i + 1];
                i += 2;
            } else if (i + 2 < len && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
                c = (unsigned char) (hex_digit(s[i + 1]) << 4 | hex_digit(s[i + 2]));
                i += 3;
            } else {
                return CC_E_SUBJECT;
            }
            escaped = 1;
        } else if (c == '\0' || strchr("\";<>", c) != NULL) {
            /* RFC 4514 wants these escaped; ';' was a separator in RFC 2253. */
            return CC_E_SUBJECT;
        } else {
            i++;
        }
        if (n == VALUE_MAX) {
            return CC_E_SUBJECT;
        }
        out[n++] = c;
        if (escaped || c != ' ') {
            keep = n;
        }
    }
    *pos = i;
    *out_len = keep;
    return CC_OK;
}

/* Reads a "#hex" value: the DER of one value, its tag included (RFC 4514 section 2.4). */
static int read_hex(const char *s, size_t len, size_t *pos, int *tag, unsigned char *out,
                    size_t *out_len)
{
    unsigned char der[VALUE_MAX + 4];
    unsigned char *p;
    size_t i = *pos + 1, n = 0, value_len;

    while (i + 1 < len && hex_digit(s[i]) >= 0 && hex_digit(s[i + 1]) >= 0) {
        if (n == sizeof(der)) {
            return CC_E_SUBJECT;
        }
        der[n++] = (unsigned char) (hex_digit(s[i]) << 4 | hex_digit(s[i + 1]));
        i += 2;
    }
    while (i < len && s[i] == ' ') {
        i++;
    }
    if ((i < len && s[i] != ',' && s[i] != '+') || n < 2) {
        return CC_E_SUBJECT;
    }
    p = der + 1;
    if (mbedtls_asn1_get_len(&p, der + n, &value_len) != 0 || p + value_len != der + n ||
        value_len > VALUE_MAX) {
        return CC_E_SUBJECT;
    }
    *tag = der[0];
    memcpy(out, p, value_len);
    *out_len = value_len;
    *pos = i;
    return CC_OK;
}

/* Strict UTF-8 (no overlong forms, surrogates or NUL); counts the characters. */
static int utf8_chars(const unsigned char *s, size_t len, size_t *chars)
{
    size_t i = 0, n = 0, k, j;
    uint32_t cp, min;

    while (i < len) {
        unsigned char c = s[i];
        if (c == 0) {
            return 0;
        } else if (c < 0x80) {
            k = 0, cp = c, min = 0;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (len - i <= k) {
            return 0;
        }
        for (j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        i += k + 1;
        n++;
    }
    *chars = n;
    return 1;
}

static int printable(unsigned char c)
{
    return is_alnum((char) c) || (c != 0 && strchr(" '()+,-./:=?", c) != NULL);
}

/* Checks a value against its string type and the type's size bounds. The tags are those
 * mbedTLS reads in a Name, so that what is written here parses back. */
static int value_ok(int tag, const unsigned char *v, size_t len, size_t min, size_t max)
{
    size_t i, chars = len;

    switch (tag) {
        case MBEDTLS_ASN1_UTF8_STRING:
            if (!utf8_chars(v, len, &chars)) {
                return 0;
            }
            break;
        case MBEDTLS_ASN1_PRINTABLE_STRING:
            for (i = 0; i < len; i++) {
                if (!printable(v[i])) {
                    return 0;
                }
            }
            break;
        case MBEDTLS_ASN1_IA5_STRING:
        case MBEDTLS_ASN1_T61_STRING:
            for (i = 0; i < len; i++) {
                if (v[i] == 0 || (tag == MBEDTLS_ASN1_IA5_STRING && v[i] > 0x7F)) {
                    return 0;
                }
            }
            break;
        case MBEDTLS_ASN1_BMP_STRING:
            chars = len / 2;
            if (len % 2 != 0) {
                return 0;
            }
            break;
        case MBEDTLS_ASN1_UNIVERSAL_STRING:
            chars = len / 4;
            if (len % 4 != 0) {
                return 0;
            }
            break;
        case MBEDTLS_ASN1_BIT_STRING:
            /* x500UniqueIdentifier: the unused-bits octet, then the bits. */
            return len >= 1 && v[0] <= 7 && (len > 1 || v[0] == 0);
        default:
            return 0;
    }
    return chars >= min && chars <= max;
}

/* Writes the tag and length in front of len bytes of content; returns the header size. */
static int header(unsigned char **p, const unsigned char *start, size_t len, unsigned char tag)
{
    size_t n = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_len(p, start, len));
    MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_tag(p, start, tag));
    return (int) n;
}

static int encode_atv(name_atv *atv, const attr_type *type, int tag, const unsigned char *v,
                      size_t v_len)
{
    unsigned char *p = atv->der + sizeof(atv->der);
    size_t len = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tagged_string(&p, atv->der, tag,
                                                               (const char *) v, v_len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(&p, atv->der, (const char *) type->oid,
                                                     type->oid_len));
    MBEDTLS_ASN1_CHK_ADD(len, header(&p, atv->der, len, SEQ));
    memmove(atv->der, p, len);
    atv->len = len;
    return CC_OK;
}

/* Parses an RFC 4514 subject listed most significant RDN first (DER order). */
static int parse_name(const uint8_t *in, size_t len, name_list *name)
{
    const char *s = (const char *) in;
    unsigned char value[VALUE_MAX];
    size_t i = 0, rdn = 0, value_len = 0;

    name->count = 0;
    while (i < len && s[i] == ' ') {
        i++;
    }
    if (i == len) {
        return CC_OK;
    }
    for (;;) {
        attr_type type;
        int tag = 0, ret;

        while (i < len && s[i] == ' ') {
            i++;
        }
        if ((ret = read_type(s, len, &i, &type)) != CC_OK) {
            return ret;
        }
        while (i < len && s[i] == ' ') {
            i++;
        }
        if (i < len && s[i] == '#') {
            ret = read_hex(s, len, &i, &tag, value, &value_len);
        } else {
            tag = type.tag;
            ret = read_string(s, len, &i, value, &value_len);
        }
        if (ret != CC_OK || name->count == ATVS_MAX ||
            !value_ok(tag, value, value_len, type.min, type.max) ||
            encode_atv(&name->atv[name->count], &type, tag, value, value_len) != CC_OK) {
            return CC_E_SUBJECT;
        }
        name->atv[name->count++].rdn = rdn;
        if (i == len) {
            return CC_OK;
        }
        rdn += s[i] == ',';
        i++;
    }
}

/* DER orders a SET OF by the encodings, the shorter padded with zero octets (X.690 11.6). */
static int set_order(const name_atv *a, const name_atv *b)
{
    size_t n = a->len < b->len ? a->len : b->len, i;
    int c = memcmp(a->der, b->der, n);

    for (i = n; c == 0 && i < a->len; i++) {
        c = a->der[i] != 0;
    }
    for (i = n; c == 0 && i < b->len; i++) {
        c = -(b->der[i] != 0);
    }
    return c;
}

static int write_name(unsigned char **p, const unsigned char *start, const name_list *name)
{
    const name_atv *set[ATVS_MAX];
    size_t len = 0, rdn = name->count ? name->atv[name->count - 1].rdn + 1 : 0, i, j, n;
    int ret;

    while (rdn-- > 0) {
        size_t set_len = 0;
        for (i = 0, n = 0; i < name->count; i++) {
            if (name->atv[i].rdn != rdn) {
                continue;
            }
            for (j = n++; j > 0 && set_order(set[j - 1], &name->atv[i]) > 0; j--) {
                set[j] = set[j - 1];
            }
            set[j] = &name->atv[i];
        }
        while (n-- > 0) {
            MBEDTLS_ASN1_CHK_ADD(set_len, mbedtls_asn1_write_raw_buffer(p, start, set[n]->der,
                                                                        set[n]->len));
        }
        MBEDTLS_ASN1_CHK_ADD(set_len, header(p, start, set_len, SET));
        len += set_len;
    }
    MBEDTLS_ASN1_CHK_ADD(len, header(p, start, len, SEQ));
    return (int) len;
}

/* Subject alternative names ----------------------------------------------------------- */

typedef struct {
    unsigned char tag;
    size_t len;
    const char *dns;        /* GN_DNS: into the input */
    unsigned char ip[16];   /* GN_IP */
} san_entry;

typedef struct {
    size_t count;
    san_entry *e;
} san_list;

/* A host name: LDH labels (and '_', seen on internal names), a '*' leftmost label for a
 * wildcard, at most 253 characters. ASCII only: IDNs go as A-labels (RFC 5280 7.2). */
static int dns_name_ok(const char *s, size_t n)
{
    size_t i, label = 0;

    if (n > 253) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (label == 0) {
                return 0;
            }
            label = 0;
            continue;
        }
        if (s[i] == '*' ? (i != 0 || n < 3 || s[1] != '.')
                        : !(is_alnum(s[i]) || s[i] == '-' || s[i] == '_')) {
            return 0;
        }
        if (++label > 63) {
            return 0;
        }
    }
    return label > 0;
}

/* Dotted-decimal IPv4, no leading zeros (they read as octal elsewhere). */
static int parse_ipv4(const char *s, size_t n, unsigned char out[4])
{
    size_t i = 0, part, digits;

    for (part = 0; part < 4; part++) {
        unsigned v = 0;
        if (part > 0 && (i == n || s[i++] != '.')) {
            return 0;
        }
        for (digits = 0; i < n && is_digit(s[i]) && digits < 4; digits++) {
            v = v * 10 + (unsigned) (s[i++] - '0');
        }
        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0')) {
            return 0;
        }
        out[part] = (unsigned char) v;
    }
    return i == n;
}

/* IPv6 text of RFC 4291 2.2: groups of 1-4 hex digits, one "::", an IPv4 tail. */
static int parse_ipv6(const char *s, size_t n, unsigned char out[16])
{
    unsigned char b[16];
    size_t i = 0, len = 0, gap = SIZE_MAX;

    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    }
    while (i < n) {
        size_t end = i, digits;
        unsigned v = 0;
        while (end < n && s[end] != ':') {
            end++;
        }
        if (memchr(s + i, '.', end - i) != NULL) {
            if (end != n || len > 12 || !parse_ipv4(s + i, n - i, b + len)) {
                return 0;
            }
            len += 4;
            break;
        }
        for (digits = 0; i < end; i++, digits++) {
            if (hex_digit(s[i]) < 0 || digits == 4) {
                return 0;
            }
            v = v << 4 | (unsigned) hex_digit(s[i]);
        }
        if (digits == 0 || len == 16) {
            return 0;
        }
        b[len++] = (unsigned char) (v >> 8);
        b[len++] = (unsigned char) v;
        if (i == n) {
            break;
        }
        if (++i == n) {
            return 0;   /* a trailing single ':' */
        }
        if (s[i] == ':') {
            if (gap != SIZE_MAX) {
                return 0;
            }
            gap = len;
            i++;
        }
    }
    if (gap == SIZE_MAX ? len != 16 : len > 14) {
        return 0;
    }
    /* "::" stands for as many zero groups as are missing. */
    memset(out, 0, 16);
    if (gap == SIZE_MAX) {
        gap = len;
    }
    memcpy(out, b, gap);
    memcpy(out + 16 - (len - gap), b + gap, len - gap);
    return 1;
}

static int parse_san(const char *s, size_t n, san_entry *e)
{
    if (n > 4 && memcmp(s, "DNS:", 4) == 0 && dns_name_ok(s + 4, n - 4)) {
        e->tag = GN_DNS;
        e->dns = s + 4;
        e->len = n - 4;
        return CC_OK;
    }
    if (n > 3 && memcmp(s, "IP:", 3) == 0) {
        e->tag = GN_IP;
        if (parse_ipv4(s + 3, n - 3, e->ip)) {
            e->len = 4;
            return CC_OK;
        }
        if (parse_ipv6(s + 3, n - 3, e->ip)) {
            e->len = 16;
            return CC_OK;
        }
    }
    return CC_E_SAN;
}

static void san_list_free(san_list *sans)
{
    cc_free(sans->e);
    sans->e = NULL;
    sans->count = 0;
}

/* Parses newline-separated entries; none when the text is empty. */
static int parse_sans(const uint8_t *in, size_t len, san_list *sans)
{
    const char *s = (const char *) in;
    size_t lines = 1, i, begin = 0;

    if (len == 0) {
        return CC_OK;
    }
    for (i = 0; i < len; i++) {
        lines += s[i] == '\n';
    }
    if ((sans->e = cc_alloc(lines * sizeof(*sans->e))) == NULL) {
        return CC_E_NOMEM;
    }
    for (i = 0; i <= len; i++) {
        if (i < len && s[i] != '\n') {
            continue;
        }
        if (parse_san(s + begin, i - begin, &sans->e[sans->count]) != CC_OK) {
            return CC_E_SAN;
        }
        sans->count++;
        begin = i + 1;
    }
    return CC_OK;
}

static int write_general_names(unsigned char **p, const unsigned char *start,
                               const san_list *sans)
{
    size_t len = 0, i = sans->count;
    int ret;

    while (i-- > 0) {
        const san_entry *e = &sans->e[i];
        const char *v = e->tag == GN_DNS ? e->dns : (const char *) e->ip;
        MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tagged_string(p, start, e->tag, v, e->len));
    }
    MBEDTLS_ASN1_CHK_ADD(len, header(p, start, len, SEQ));
    return (int) len;
}

/* Validity ----------------------------------------------------------------------------- */

/* Reads "YYYYMMDDhhmmss" (UTC); returns the year, or CC_E_TIME. */
static int parse_time(const uint8_t *t, size_t len)
{
    static const unsigned char mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int v[6] = { 0 }, k, leap;
    size_t i;

    if (len != TIME_LEN) {
        return CC_E_TIME;
    }
    for (i = 0; i < TIME_LEN; i++) {
        if (!is_digit((char) t[i])) {
            return CC_E_TIME;
        }
        k = i < 4 ? 0 : (int) (i - 2) / 2;
        v[k] = v[k] * 10 + (t[i] - '0');
    }
    leap = (v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0;
    if (v[0] < 1 || v[1] < 1 || v[1] > 12 || v[2] < 1 ||
        v[2] > mdays[v[1] - 1] + (v[1] == 2 && leap) || v[3] > 23 || v[4] > 59 || v[5] > 59) {
        return CC_E_TIME;
    }
    return v[0];
}

/* RFC 5280 4.1.2.5: UTCTime for 1950 through 2049, GeneralizedTime otherwise. */
static int write_time(unsigned char **p, const unsigned char *start, const uint8_t *t, int year)
{
    char text[TIME_LEN + 1];
    int utc = year >= 1950 && year <= 2049;
    size_t n = utc ? TIME_LEN - 2 : TIME_LEN;

    memcpy(text, utc ? t + 2 : t, n);
    text[n] = 'Z';
    return mbedtls_asn1_write_tagged_string(p, start, utc ? MBEDTLS_ASN1_UTC_TIME
                                                          : MBEDTLS_ASN1_GENERALIZED_TIME,
                                            text, n + 1);
}

/* Keys and algorithms ---------------------------------------------------------------- */

/* Reads an SPKI that is exactly one DER element. */
static int load_key(mbedtls_pk_context *pk, const uint8_t *der, size_t der_len)
{
    unsigned char *p = (unsigned char *) der;
    size_t len;

    if (mbedtls_asn1_get_tag(&p, der + der_len, &len, SEQ) != 0 || p + len != der + der_len ||
        mbedtls_pk_parse_public_key(pk, der, der_len) != 0) {
        return CC_E_KEY;
    }
    return CC_OK;
}

/* The digest signatures by this key use: the curve's own size for EC, SHA-256 for RSA. */
static int key_digest(const mbedtls_pk_context *pk, mbedtls_md_type_t *md)
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

static int write_sig_alg(unsigned char **p, const unsigned char *start,
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

/* Writes a positive INTEGER from big-endian bytes, minimal as DER wants. */
static int write_uint(unsigned char **p, const unsigned char *start, const unsigned char *v,
                      size_t n)
{
    static const unsigned char zero = 0;
    size_t len = 0;
    int ret;

    while (n > 1 && v[0] == 0) {
        v++;
        n--;
    }
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, v, n));
    if (v[0] & 0x80) {
        MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, &zero, 1));
    }
    MBEDTLS_ASN1_CHK_ADD(len, header(p, start, len, MBEDTLS_ASN1_INTEGER));
    return (int) len;
}

/* To-be-signed structures ------------------------------------------------------------- */

/* Everything a TBS is made of, read and checked before anything is written. */
typedef struct {
    mbedtls_pk_context pk;
    mbedtls_md_type_t md;
    const uint8_t *spki;        /* DER: into the input or into owned */
    size_t spki_len;
    uint8_t *owned;             /* the SPKI decoded from PEM */
    name_list *name;
    san_list sans;
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
    san_list_free(&t->sans);
}

static int parts_read(tbs_parts *t, const uint8_t *spki, size_t spki_len,
                      const uint8_t *subject, size_t subject_len,
                      const uint8_t *sans, size_t sans_len)
{
    int ret;

    if ((ret = cc_pem_or_der(spki, spki_len, "PUBLIC KEY", &t->spki, &t->spki_len,
                             &t->owned)) != CC_OK ||
        (ret = load_key(&t->pk, t->spki, t->spki_len)) != CC_OK ||
        (ret = key_digest(&t->pk, &t->md)) != CC_OK) {
        return ret;
    }
    if ((t->name = cc_alloc(sizeof(*t->name))) == NULL) {
        return CC_E_NOMEM;
    }
    if ((ret = parse_name(subject, subject_len, t->name)) != CC_OK) {
        return ret;
    }
    return parse_sans(sans, sans_len, &t->sans);
}

/* An upper bound of the TBS size: names twice (a certificate's issuer and subject). */
static size_t parts_der_max(const tbs_parts *t)
{
    size_t n = FIXED_DER_MAX + t->spki_len, i;

    for (i = 0; i < t->name->count; i++) {
        n += 2 * (t->name->atv[i].len + 4);
    }
    for (i = 0; i < t->sans.count; i++) {
        n += t->sans.e[i].len + 4;
    }
    return n;
}

/* RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's value. */
static int make_key_id(tbs_parts *t)
{
    unsigned char *p = (unsigned char *) t->spki, *end = p + t->spki_len;
    size_t len;

    if (mbedtls_asn1_get_tag(&p, end, &len, SEQ) != 0 ||
        mbedtls_asn1_get_tag(&p, end, &len, SEQ) != 0) {
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

    MBEDTLS_ASN1_CHK_ADD(len, header(p, start, value_len, MBEDTLS_ASN1_OCTET_STRING));
    if (critical) {
        MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_bool(p, start, 1));
    }
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start, oid, oid_len));
    MBEDTLS_ASN1_CHK_ADD(len, header(p, start, len, SEQ));
    return (int) len;
}

static int write_san_extension(unsigned char **p, const unsigned char *start,
                               const san_list *sans, int critical)
{
    size_t v = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(v, write_general_names(p, start, sans));
    return write_extension(p, start, OID_ARG(MBEDTLS_OID_SUBJECT_ALT_NAME), critical, v);
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
    MBEDTLS_ASN1_CHK_ADD(v, header(p, start, v, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0));
    MBEDTLS_ASN1_CHK_ADD(v, header(p, start, v, SEQ));
    MBEDTLS_ASN1_CHK_ADD(len, write_extension(p, start,
                                              OID_ARG(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER), 0, v));
    v = 0;
    MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_octet_string(p, start, t->key_id, KEY_ID_LEN));
    MBEDTLS_ASN1_CHK_ADD(len, write_extension(p, start,
                                              OID_ARG(MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER), 0, v));
    /* HTTPS server, and client for HTTPS and IEEE 802.1X (EAP-TLS). */
    v = 0;
    MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_oid(p, start, OID_ARG(MBEDTLS_OID_CLIENT_AUTH)));
    MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_oid(p, start, OID_ARG(MBEDTLS_OID_SERVER_AUTH)));
    MBEDTLS_ASN1_CHK_ADD(v, header(p, start, v, SEQ));
    MBEDTLS_ASN1_CHK_ADD(len, write_extension(p, start,
                                              OID_ARG(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, v));
    /* Signing, plus what the key type does in TLS key exchange. */
    usage |= mbedtls_pk_get_type(&t->pk) == MBEDTLS_PK_RSA ? MBEDTLS_X509_KU_KEY_ENCIPHERMENT
                                                           : MBEDTLS_X509_KU_KEY_AGREEMENT;
    v = 0;
    MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_named_bitstring(p, start, &usage, 8));
    MBEDTLS_ASN1_CHK_ADD(len, write_extension(p, start, OID_ARG(MBEDTLS_OID_KEY_USAGE), 1, v));
    /* cA FALSE is the DEFAULT, so the SEQUENCE is empty. */
    v = 0;
    MBEDTLS_ASN1_CHK_ADD(v, header(p, start, 0, SEQ));
    MBEDTLS_ASN1_CHK_ADD(len, write_extension(p, start,
                                              OID_ARG(MBEDTLS_OID_BASIC_CONSTRAINTS), 1, v));

    MBEDTLS_ASN1_CHK_ADD(len, header(p, start, len, SEQ));
    MBEDTLS_ASN1_CHK_ADD(len, header(p, start, len, CTX(3)));
    return (int) len;
}

static int write_crt_tbs(unsigned char **p, const unsigned char *start, const tbs_parts *t)
{
    size_t len = 0, v = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(len, write_crt_extensions(p, start, t));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, t->spki, t->spki_len));
    MBEDTLS_ASN1_CHK_ADD(len, write_name(p, start, t->name));
    MBEDTLS_ASN1_CHK_ADD(v, write_time(p, start, t->not_after, t->na_year));
    MBEDTLS_ASN1_CHK_ADD(v, write_time(p, start, t->not_before, t->nb_year));
    MBEDTLS_ASN1_CHK_ADD(v, header(p, start, v, SEQ));
    len += v;
    MBEDTLS_ASN1_CHK_ADD(len, write_name(p, start, t->name)); /* issuer: self-signed */
    MBEDTLS_ASN1_CHK_ADD(len, write_sig_alg(p, start, &t->pk, t->md));
    MBEDTLS_ASN1_CHK_ADD(len, write_uint(p, start, t->serial, SERIAL_LEN));
    v = 0;
    MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_int(p, start, 2)); /* v3 */
    MBEDTLS_ASN1_CHK_ADD(v, header(p, start, v, CTX(0)));
    len += v;
    MBEDTLS_ASN1_CHK_ADD(len, header(p, start, len, SEQ));
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
        MBEDTLS_ASN1_CHK_ADD(v, header(p, start, v, SEQ));
        MBEDTLS_ASN1_CHK_ADD(v, header(p, start, v, SET));
        MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_oid(p, start,
                                                       OID_ARG(MBEDTLS_OID_PKCS9_CSR_EXT_REQ)));
        MBEDTLS_ASN1_CHK_ADD(v, header(p, start, v, SEQ));
    }
    MBEDTLS_ASN1_CHK_ADD(v, header(p, start, v, CTX(0))); /* attributes, maybe empty */
    len += v;
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, t->spki, t->spki_len));
    MBEDTLS_ASN1_CHK_ADD(len, write_name(p, start, t->name));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_int(p, start, 0)); /* v1 */
    MBEDTLS_ASN1_CHK_ADD(len, header(p, start, len, SEQ));
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
    if ((t.nb_year = parse_time(not_before, nb_len)) < 0 ||
        (t.na_year = parse_time(not_after, na_len)) < 0 ||
        memcmp(not_after, not_before, TIME_LEN) <= 0) {
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

/* Assembly ------------------------------------------------------------------------------ */

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

/* Enters the outer SEQUENCE, which must span all of the input. */
static int enter(const uint8_t *der, size_t der_len, unsigned char **p)
{
    size_t len;

    *p = (unsigned char *) der;
    if (mbedtls_asn1_get_tag(p, der + der_len, &len, SEQ) != 0 || *p + len != der + der_len) {
        return CC_E_DER;
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
        (p < end && *p == CTX(0) && skip(&p, end, CTX(0), NULL, NULL) != CC_OK) ||
        skip(&p, end, MBEDTLS_ASN1_INTEGER, NULL, NULL) != CC_OK ||  /* serialNumber */
        skip(&p, end, SEQ, alg, alg_len) != CC_OK ||
        skip(&p, end, SEQ, NULL, NULL) != CC_OK ||                   /* issuer */
        skip(&p, end, SEQ, NULL, NULL) != CC_OK ||                   /* validity */
        skip(&p, end, SEQ, NULL, NULL) != CC_OK ||                   /* subject */
        skip(&p, end, SEQ, spki, spki_len) != CC_OK) {
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
        skip(&p, end, SEQ, NULL, NULL) != CC_OK ||                   /* subject */
        skip(&p, end, SEQ, spki, spki_len) != CC_OK) {
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

static void strip_zeros(const unsigned char **v, size_t *n)
{
    while (*n > 1 && (*v)[0] == 0) {
        (*v)++;
        (*n)--;
    }
}

/* ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } */
static int write_ecdsa_sig(unsigned char **p, const unsigned char *start,
                           const unsigned char *r, size_t r_len,
                           const unsigned char *s, size_t s_len)
{
    size_t len = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(len, write_uint(p, start, s, s_len));
    MBEDTLS_ASN1_CHK_ADD(len, write_uint(p, start, r, r_len));
    MBEDTLS_ASN1_CHK_ADD(len, header(p, start, len, SEQ));
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
    strip_zeros(&r, &r_len);
    strip_zeros(&s, &s_len);
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
    MBEDTLS_ASN1_CHK_ADD(len, header(p, start, len, SEQ));
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
        (ret = load_key(&pk, spki, spki_len)) == CC_OK &&
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
        (ret = load_key(&pk, spki, spki_len)) == CC_OK &&
        (ret = key_digest(&pk, &md)) == CC_OK) {
        ret = write_sig_alg(&p, alg, &pk, md);
        ret = ret < 0 ? cc_status_from_mbedtls(ret)
                      : finish_signed(&pk, md, cri, cri_len, p, (size_t) ret, sig, sig_len,
                                      sig_format, der);
    }
    mbedtls_pk_free(&pk);
    return ret;
}
