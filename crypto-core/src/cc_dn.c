/* Distinguished names, RFC 4514 text <-> Name DER: see cc_dn.h.
 *
 * Subjects are parsed here rather than by mbedtls_x509_string_to_names, which in 3.6 merges
 * repeated attribute types (OU=a,OU=b), has no multi-valued RDNs, mis-reads "\\," and checks
 * neither UTF-8 nor string types. The printer needs to know where a multi-valued RDN
 * continues, which mbedTLS keeps in a private field without a getter. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS

#include <string.h>

#include "cc_der.h"
#include "cc_dn.h"
#include "cc_text.h"
#include "mbedtls/asn1write.h"
#include "mbedtls/platform.h"

#define VALUE_MAX MBEDTLS_X509_MAX_DN_NAME_SIZE /* bytes of one value, as mbedTLS reads them */
#define ATTR_OID_MAX 32                         /* DER bytes of a dotted attribute type */

/* Attribute types ---------------------------------------------------------------------- */

typedef struct {
    const char *name;       /* read case-insensitively; printed when printed is set */
    const char *long_name;  /* also read; NULL for none */
    const char *oid;
    size_t oid_len;
    int tag;                /* the string type a text value is written as */
    size_t min, max;        /* value size in characters: X.520 / RFC 5280 upper bounds */
    int printed;            /* printed by name (the list of cc_x509.h); the other types are
                             * printed as dotted OID and "#hex", which parses back alike */
} dn_attr;

/* String types, short for the table. */
#define UTF8 MBEDTLS_ASN1_UTF8_STRING
#define PRINTABLE MBEDTLS_ASN1_PRINTABLE_STRING
#define IA5 MBEDTLS_ASN1_IA5_STRING

static const dn_attr dn_attrs[] = {
    { "CN", "commonName", CC_OID_ARG(MBEDTLS_OID_AT_CN), UTF8, 1, 64, 1 },
    { "C", "countryName", CC_OID_ARG(MBEDTLS_OID_AT_COUNTRY), PRINTABLE, 2, 2, 1 },
    { "ST", "stateOrProvinceName", CC_OID_ARG(MBEDTLS_OID_AT_STATE), UTF8, 1, 128, 1 },
    { "L", "localityName", CC_OID_ARG(MBEDTLS_OID_AT_LOCALITY), UTF8, 1, 128, 1 },
    { "O", "organizationName", CC_OID_ARG(MBEDTLS_OID_AT_ORGANIZATION), UTF8, 1, 64, 1 },
    { "OU", "organizationalUnitName", CC_OID_ARG(MBEDTLS_OID_AT_ORG_UNIT), UTF8, 1, 64, 1 },
    { "street", "streetAddress", CC_OID_ARG(CC_OID_AT_STREET), UTF8, 1, 128, 1 },
    { "emailAddress", NULL, CC_OID_ARG(MBEDTLS_OID_PKCS9_EMAIL), IA5, 1, 255, 1 },
    /* X.520 makes serialNumber and dnQualifier PrintableString, RFC 4519 DC IA5String. */
    { "serialNumber", NULL, CC_OID_ARG(MBEDTLS_OID_AT_SERIAL_NUMBER), PRINTABLE, 1, 64, 1 },
    { "DC", "domainComponent", CC_OID_ARG(MBEDTLS_OID_DOMAIN_COMPONENT), IA5, 1, VALUE_MAX, 1 },
    { "UID", "userId", CC_OID_ARG(MBEDTLS_OID_UID), UTF8, 1, VALUE_MAX, 1 },
    { "title", NULL, CC_OID_ARG(MBEDTLS_OID_AT_TITLE), UTF8, 1, 64, 0 },
    { "SN", "surname", CC_OID_ARG(MBEDTLS_OID_AT_SUR_NAME), UTF8, 1, VALUE_MAX, 0 },
    { "GN", "givenName", CC_OID_ARG(MBEDTLS_OID_AT_GIVEN_NAME), UTF8, 1, VALUE_MAX, 0 },
    { "initials", NULL, CC_OID_ARG(MBEDTLS_OID_AT_INITIALS), UTF8, 1, VALUE_MAX, 0 },
    { "generationQualifier", NULL, CC_OID_ARG(MBEDTLS_OID_AT_GENERATION_QUALIFIER), UTF8, 1,
      VALUE_MAX, 0 },
    { "pseudonym", NULL, CC_OID_ARG(MBEDTLS_OID_AT_PSEUDONYM), UTF8, 1, 128, 0 },
    { "postalCode", NULL, CC_OID_ARG(MBEDTLS_OID_AT_POSTAL_CODE), UTF8, 1, 40, 0 },
    { "dnQualifier", NULL, CC_OID_ARG(MBEDTLS_OID_AT_DN_QUALIFIER), PRINTABLE, 1, VALUE_MAX, 0 },
};

#undef UTF8
#undef PRINTABLE
#undef IA5

#define DN_ATTRS_COUNT (sizeof(dn_attrs) / sizeof(dn_attrs[0]))

static const dn_attr *attr_by_oid(const unsigned char *oid, size_t oid_len)
{
    size_t k;

    for (k = 0; k < DN_ATTRS_COUNT; k++) {
        if (dn_attrs[k].oid_len == oid_len && memcmp(dn_attrs[k].oid, oid, oid_len) == 0) {
            return &dn_attrs[k];
        }
    }
    return NULL;
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

static const dn_attr *attr_by_name(const char *s, size_t n)
{
    size_t k;

    for (k = 0; k < DN_ATTRS_COUNT; k++) {
        if (same_name(s, n, dn_attrs[k].name) || same_name(s, n, dn_attrs[k].long_name)) {
            return &dn_attrs[k];
        }
    }
    return NULL;
}

/* Parsing ------------------------------------------------------------------------------- */

/* An attribute type as read from the subject text. */
typedef struct {
    unsigned char oid[ATTR_OID_MAX];
    size_t oid_len;
    int tag;
    size_t min, max;
} attr_type;

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
        } else if (cc_text_is_digit(s[i]) && !(digits == 1 && s[i - 1] == '0')) {
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
    size_t i = *pos, start = i, n;
    const dn_attr *a;

    while (i < len && (cc_text_is_alnum(s[i]) || s[i] == '-' || s[i] == '.')) {
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

    if (cc_text_is_digit(s[start])) {
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
        a = attr_by_oid(type->oid, type->oid_len);
        type->tag = a != NULL ? a->tag : MBEDTLS_ASN1_UTF8_STRING;
        type->min = a != NULL ? a->min : 1;
        type->max = a != NULL ? a->max : VALUE_MAX;
        return CC_OK;
    }
    if ((a = attr_by_name(s + start, n)) == NULL) {
        return CC_E_SUBJECT;
    }
    memcpy(type->oid, a->oid, a->oid_len);
    type->oid_len = a->oid_len;
    type->tag = a->tag;
    type->min = a->min;
    type->max = a->max;
    return CC_OK;
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
            } else if (i + 2 < len && cc_text_hex_digit(s[i + 1]) >= 0 &&
                       cc_text_hex_digit(s[i + 2]) >= 0) {
                c = (unsigned char) (cc_text_hex_digit(s[i + 1]) << 4 |
                                     cc_text_hex_digit(s[i + 2]));
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

    while (i + 1 < len && cc_text_hex_digit(s[i]) >= 0 && cc_text_hex_digit(s[i + 1]) >= 0) {
        if (n == sizeof(der)) {
            return CC_E_SUBJECT;
        }
        der[n++] = (unsigned char) (cc_text_hex_digit(s[i]) << 4 | cc_text_hex_digit(s[i + 1]));
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

/* Strict UTF-8 without NUL; counts the characters. */
static int utf8_chars(const unsigned char *s, size_t len, size_t *chars)
{
    size_t i = 0, n = 0, k;
    uint32_t cp;

    while (i < len) {
        if (s[i] == 0 || (k = cc_text_utf8_next(s + i, len - i, &cp)) == 0) {
            return 0;
        }
        i += k;
        n++;
    }
    *chars = n;
    return 1;
}

static int printable(unsigned char c)
{
    return cc_text_is_alnum((char) c) || (c != 0 && strchr(" '()+,-./:=?", c) != NULL);
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

static int encode_atv(cc_dn_atv *atv, const attr_type *type, int tag, const unsigned char *v,
                      size_t v_len)
{
    unsigned char *p = atv->der + sizeof(atv->der);
    size_t len = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tagged_string(&p, atv->der, tag,
                                                               (const char *) v, v_len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(&p, atv->der, (const char *) type->oid,
                                                     type->oid_len));
    MBEDTLS_ASN1_CHK_ADD(len, cc_der_header(&p, atv->der, len, CC_DER_SEQ));
    memmove(atv->der, p, len);
    atv->len = len;
    return CC_OK;
}

int cc_dn_parse(const uint8_t *in, size_t len, cc_dn_name *name)
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
        if (ret != CC_OK || name->count == CC_DN_ATVS_MAX ||
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

/* Writing ------------------------------------------------------------------------------- */

/* DER orders a SET OF by the encodings, the shorter padded with zero octets (X.690 11.6). */
static int set_order(const cc_dn_atv *a, const cc_dn_atv *b)
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

int cc_dn_write(unsigned char **p, const unsigned char *start, const cc_dn_name *name)
{
    const cc_dn_atv *set[CC_DN_ATVS_MAX];
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
        MBEDTLS_ASN1_CHK_ADD(set_len, cc_der_header(p, start, set_len, CC_DER_SET));
        len += set_len;
    }
    MBEDTLS_ASN1_CHK_ADD(len, cc_der_header(p, start, len, CC_DER_SEQ));
    return (int) len;
}

size_t cc_dn_der_max(const cc_dn_name *name)
{
    size_t n = 0, i;

    /* Each attribute at most in an RDN of its own: a SET header of up to 4 bytes. */
    for (i = 0; i < name->count; i++) {
        n += name->atv[i].len + 4;
    }
    return n;
}

/* Printing ------------------------------------------------------------------------------ */

/* The units as an RFC 4514 string value (section 2.4), with control characters and octets
 * that were not UTF-8 as \XX. */
static void put_escaped(cc_json *b, const int32_t *u, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (u[i] < 0x20 || u[i] == 0x7F) {
            unsigned char octet = u[i] < 0 ? CC_TEXT_OCTET(u[i]) : (unsigned char) u[i];
            cc_text_put(b, "\\", 1);
            cc_json_hex_raw(b, &octet, 1, 0);
            continue;
        }
        if ((u[i] < 0x80 && strchr(",+\"\\<>;", (int) u[i]) != NULL) ||
            (i == 0 && (u[i] == '#' || u[i] == ' ')) || (i == n - 1 && u[i] == ' ')) {
            cc_text_put(b, "\\", 1);
        }
        cc_text_put_utf8(b, (uint32_t) u[i]);
    }
}

/* "#" and the hex of a value's DER: its tag, length and content (RFC 4514 section 2.4). */
static void put_der_hex(cc_json *b, const mbedtls_x509_buf *val)
{
    unsigned char head[2 + sizeof(size_t)];
    unsigned char *p = head + sizeof(head);
    int h = cc_der_header(&p, head, val->len, (unsigned char) val->tag);

    if (h < 0) {
        b->failed = 1;   /* a length mbedTLS cannot have read */
        return;
    }
    cc_text_put(b, "#", 1);
    cc_json_hex_raw(b, p, (size_t) h, 0);
    cc_json_hex_raw(b, val->p, val->len, 0);
}

/* Writes a Name as RFC 4514 text into text (RDNs in DER order, "," between RDNs and "+"
 * inside one) and, when attrs is not NULL, as a JSON array of its attributes. */
static int name_write(const mbedtls_x509_name *name, cc_json *text, cc_json *attrs)
{
    const mbedtls_x509_name *n, *prev = NULL;
    char dotted[CC_OID_TEXT_MAX];
    cc_json value;
    int ret = CC_OK;

    if (attrs != NULL) {
        cc_json_raw(attrs, "[");
    }
    /* An empty Name is one node without an OID. */
    for (n = name; n != NULL && n->oid.p != NULL && ret == CC_OK; prev = n, n = n->next) {
        const dn_attr *a = attr_by_oid(n->oid.p, n->oid.len);
        const char *short_name = a != NULL && a->printed ? a->name : NULL;
        int32_t *units = cc_alloc(n->val.len * sizeof(int32_t));
        long count;

        if (units == NULL) {
            return CC_E_NOMEM;
        }
        if ((ret = cc_der_oid_text(&n->oid, dotted)) != CC_OK) {
            cc_free(units);
            return ret;
        }
        count = cc_text_decode(n->val.tag, n->val.p, n->val.len, units);

        if (prev != NULL) {
            cc_json_raw(text, prev->next_merged ? "+" : ",");
        }
        cc_json_raw(text, short_name != NULL ? short_name : dotted);
        cc_json_raw(text, "=");
        if (short_name != NULL && count >= 0) {
            put_escaped(text, units, (size_t) count);
        } else {
            put_der_hex(text, &n->val);
        }

        if (attrs != NULL) {
            cc_json_init(&value);
            if (count >= 0) {
                cc_text_put_units(&value, units, (size_t) count);
            } else {
                put_der_hex(&value, &n->val);
            }
            cc_json_raw(attrs, prev != NULL ? ",{" : "{");
            cc_json_key(attrs, "type");
            cc_json_cstr(attrs, short_name != NULL ? short_name : dotted);
            cc_json_key(attrs, "oid");
            cc_json_cstr(attrs, dotted);
            cc_json_key(attrs, "value");
            cc_json_str(attrs, value.p, value.len);
            cc_json_raw(attrs, "}");
            ret = value.failed ? CC_E_NOMEM : CC_OK;
            cc_json_free(&value);
        }
        cc_free(units);
    }
    if (attrs != NULL) {
        cc_json_raw(attrs, "]");
    }
    return ret;
}

int cc_dn_json(cc_json *j, const mbedtls_x509_name *name, const char *key,
               const char *attrs_key)
{
    cc_json text, attrs;
    int ret;

    cc_json_init(&text);
    cc_json_init(&attrs);
    ret = name_write(name, &text, attrs_key != NULL ? &attrs : NULL);
    if (ret == CC_OK && (text.failed || attrs.failed)) {
        ret = CC_E_NOMEM;
    }
    if (ret == CC_OK) {
        cc_json_key(j, key);
        cc_json_str(j, text.p, text.len);
        if (attrs_key != NULL) {
            cc_json_key(j, attrs_key);
            cc_json_raw(j, attrs.p);
        }
    }
    cc_json_free(&text);
    cc_json_free(&attrs);
    return ret;
}
