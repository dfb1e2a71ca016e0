/* X.509 certificates: a JSON description of each, and chain verification at a "now" the
 * caller gives (the core has no clock).
 *
 * mbedTLS keeps some of what this needs (key usage bits, basic constraints, the signature's
 * algorithms, the links of multi-valued RDNs) in private fields without getters, so private
 * access is enabled for this file. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS

#include <stdio.h>
#include <string.h>

#include "cc_internal.h"
#include "cc_pk.h"
#include "cc_x509.h"
#include "mbedtls/md.h"
#include "mbedtls/oid.h"
#include "mbedtls/pem.h"
#include "mbedtls/pk.h"
#include "mbedtls/sha1.h"
#include "mbedtls/sha256.h"
#include "mbedtls/x509_crt.h"

#define PEM_HEADER "-----BEGIN CERTIFICATE-----"
#define PEM_FOOTER "-----END CERTIFICATE-----"
#define OID_TEXT_MAX 128      /* a dotted OID; longer ones are refused as malformed */
#define UNSUPPORTED_MAX 8     /* unsupported critical extensions one certificate may have */
#define OID_AT_STREET MBEDTLS_OID_AT "\x09"   /* id-at-streetAddress: no mbedTLS macro */

/* Verification flags of our own, above mbedTLS's BADCERT and BADCRL bits. */
#define FLAG_UNSUPPORTED_CRITICAL 0x40000000u
#define FLAG_PATH_TOO_LONG        0x80000000u

/* Names ------------------------------------------------------------------------------- */

typedef struct {
    const char *oid;
    size_t oid_len;
    const char *name;
} oid_name;

#define OID_NAME(oid, name) { oid, sizeof(oid) - 1, name }

/* The attribute types written by name; any other is written as its dotted OID. */
static const oid_name attr_names[] = {
    OID_NAME(MBEDTLS_OID_AT_CN, "CN"),
    OID_NAME(MBEDTLS_OID_AT_COUNTRY, "C"),
    OID_NAME(MBEDTLS_OID_AT_STATE, "ST"),
    OID_NAME(MBEDTLS_OID_AT_LOCALITY, "L"),
    OID_NAME(MBEDTLS_OID_AT_ORGANIZATION, "O"),
    OID_NAME(MBEDTLS_OID_AT_ORG_UNIT, "OU"),
    OID_NAME(MBEDTLS_OID_PKCS9_EMAIL, "emailAddress"),
    OID_NAME(MBEDTLS_OID_AT_SERIAL_NUMBER, "serialNumber"),
    OID_NAME(MBEDTLS_OID_DOMAIN_COMPONENT, "DC"),
    OID_NAME(MBEDTLS_OID_UID, "UID"),
    OID_NAME(OID_AT_STREET, "street"),
};

static const oid_name eku_names[] = {
    OID_NAME(MBEDTLS_OID_SERVER_AUTH, "serverAuth"),
    OID_NAME(MBEDTLS_OID_CLIENT_AUTH, "clientAuth"),
    OID_NAME(MBEDTLS_OID_CODE_SIGNING, "codeSigning"),
    OID_NAME(MBEDTLS_OID_EMAIL_PROTECTION, "emailProtection"),
    OID_NAME(MBEDTLS_OID_TIME_STAMPING, "timeStamping"),
    OID_NAME(MBEDTLS_OID_OCSP_SIGNING, "OCSPSigning"),
};

static const oid_name sig_names[] = {
    OID_NAME(MBEDTLS_OID_ECDSA_SHA1, "ecdsa-with-SHA1"),
    OID_NAME(MBEDTLS_OID_ECDSA_SHA224, "ecdsa-with-SHA224"),
    OID_NAME(MBEDTLS_OID_ECDSA_SHA256, "ecdsa-with-SHA256"),
    OID_NAME(MBEDTLS_OID_ECDSA_SHA384, "ecdsa-with-SHA384"),
    OID_NAME(MBEDTLS_OID_ECDSA_SHA512, "ecdsa-with-SHA512"),
    OID_NAME(MBEDTLS_OID_PKCS1_MD5, "md5WithRSAEncryption"),
    OID_NAME(MBEDTLS_OID_PKCS1_SHA1, "sha1WithRSAEncryption"),
    OID_NAME(MBEDTLS_OID_PKCS1_SHA224, "sha224WithRSAEncryption"),
    OID_NAME(MBEDTLS_OID_PKCS1_SHA256, "sha256WithRSAEncryption"),
    OID_NAME(MBEDTLS_OID_PKCS1_SHA384, "sha384WithRSAEncryption"),
    OID_NAME(MBEDTLS_OID_PKCS1_SHA512, "sha512WithRSAEncryption"),
    OID_NAME(MBEDTLS_OID_RSASSA_PSS, "rsassaPss"),
};

static const struct {
    unsigned int bit;
    const char *name;
} key_usages[] = {
    { MBEDTLS_X509_KU_DIGITAL_SIGNATURE, "digitalSignature" },
    { MBEDTLS_X509_KU_NON_REPUDIATION, "nonRepudiation" },
    { MBEDTLS_X509_KU_KEY_ENCIPHERMENT, "keyEncipherment" },
    { MBEDTLS_X509_KU_DATA_ENCIPHERMENT, "dataEncipherment" },
    { MBEDTLS_X509_KU_KEY_AGREEMENT, "keyAgreement" },
    { MBEDTLS_X509_KU_KEY_CERT_SIGN, "keyCertSign" },
    { MBEDTLS_X509_KU_CRL_SIGN, "cRLSign" },
    { MBEDTLS_X509_KU_ENCIPHER_ONLY, "encipherOnly" },
    { MBEDTLS_X509_KU_DECIPHER_ONLY, "decipherOnly" },
};

static const struct {
    uint32_t mask;
    const char *name;
} flag_names[] = {
    { MBEDTLS_X509_BADCERT_EXPIRED, "EXPIRED" },
    { MBEDTLS_X509_BADCERT_FUTURE, "NOT_YET_VALID" },
    { MBEDTLS_X509_BADCERT_NOT_TRUSTED, "NOT_TRUSTED" },
    { MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK, "BAD_SIGNATURE_ALG" },
    { MBEDTLS_X509_BADCERT_BAD_KEY, "BAD_KEY" },
    { FLAG_UNSUPPORTED_CRITICAL, "UNSUPPORTED_CRITICAL_EXTENSION" },
    { FLAG_PATH_TOO_LONG, "PATH_TOO_LONG" },
};

static const char *oid_lookup(const oid_name *table, size_t n, const mbedtls_x509_buf *oid)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (table[i].oid_len == oid->len && memcmp(table[i].oid, oid->p, oid->len) == 0) {
            return table[i].name;
        }
    }
    return NULL;
}

/* The dotted form of an OID; CC_E_CERT for one mbedTLS cannot print (malformed, too long). */
static int oid_text(const mbedtls_x509_buf *oid, char out[OID_TEXT_MAX])
{
    return mbedtls_oid_get_numeric_string(out, OID_TEXT_MAX, oid) > 0 ? CC_OK : CC_E_CERT;
}

/* Text ---------------------------------------------------------------------------------- */

/* A decoded string value: code points, and RAW(b) for an octet that is not UTF-8. */
#define RAW(b) (-1 - (int32_t) (b))

/* Length of the UTF-8 sequence at p, its code point in *cp; 0 if the octets there are not
 * UTF-8 (overlong forms, surrogates and values past U+10FFFF are not). */
static size_t utf8_next(const unsigned char *p, size_t len, uint32_t *cp)
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

/* Decodes a string value into units (room for len entries): UTF8String and the ASCII types
 * as UTF-8, TeletexString as Latin-1, BMPString as UTF-16 and UniversalString as UCS-4,
 * both big-endian. Returns the number of units, or -1 for a value that is not a string or
 * not well-formed UTF-16 or UCS-4. */
static long decode_string(int tag, const unsigned char *p, size_t len, int32_t *units)
{
    size_t i = 0, n = 0, k;
    uint32_t cp;

    switch (tag) {
        case MBEDTLS_ASN1_UTF8_STRING:
        case MBEDTLS_ASN1_PRINTABLE_STRING:
        case MBEDTLS_ASN1_IA5_STRING:
            while (i < len) {
                k = utf8_next(p + i, len - i, &cp);
                units[n++] = k ? (int32_t) cp : RAW(p[i]);
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

/* Appends bytes to a text buffer. cc_json_raw takes C strings, so a NUL (U+0000 in a
 * value) goes in as a placeholder that is then overwritten. */
static void put(cc_json *b, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char one[2] = { s[i] != '\0' ? s[i] : ' ', '\0' };
        cc_json_raw(b, one);
        if (s[i] == '\0' && !b->failed) {
            b->p[b->len - 1] = '\0';
        }
    }
}

static void put_utf8(cc_json *b, uint32_t cp)
{
    char s[4];

    if (cp < 0x80) {
        s[0] = (char) cp;
        put(b, s, 1);
    } else if (cp < 0x800) {
        s[0] = (char) (0xC0 | cp >> 6);
        s[1] = (char) (0x80 | (cp & 0x3F));
        put(b, s, 2);
    } else if (cp < 0x10000) {
        s[0] = (char) (0xE0 | cp >> 12);
        s[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        s[2] = (char) (0x80 | (cp & 0x3F));
        put(b, s, 3);
    } else {
        s[0] = (char) (0xF0 | cp >> 18);
        s[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
        s[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
        s[3] = (char) (0x80 | (cp & 0x3F));
        put(b, s, 4);
    }
}

static void put_hex(cc_json *b, const unsigned char *p, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < len; i++) {
        char two[2] = { hex[p[i] >> 4], hex[p[i] & 15] };
        put(b, two, 2);
    }
}

/* The units as plain UTF-8, U+FFFD for octets that were not UTF-8. */
static void put_text(cc_json *b, const int32_t *u, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        put_utf8(b, u[i] < 0 ? 0xFFFD : (uint32_t) u[i]);
    }
}

/* The units as an RFC 4514 string value (section 2.4), with control characters and octets
 * that were not UTF-8 as \XX. */
static void put_escaped(cc_json *b, const int32_t *u, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (u[i] < 0x20 || u[i] == 0x7F) {
            unsigned char octet = (unsigned char) (u[i] < 0 ? -1 - u[i] : u[i]);
            put(b, "\\", 1);
            put_hex(b, &octet, 1);
            continue;
        }
        if ((u[i] < 0x80 && strchr(",+\"\\<>;", (int) u[i]) != NULL) ||
            (i == 0 && (u[i] == '#' || u[i] == ' ')) || (i == n - 1 && u[i] == ' ')) {
            put(b, "\\", 1);
        }
        put_utf8(b, (uint32_t) u[i]);
    }
}

/* "#" and the hex of a value's DER: its tag, length and content (RFC 4514 section 2.4). */
static void put_der_hex(cc_json *b, const mbedtls_x509_buf *val)
{
    unsigned char head[2 + sizeof(size_t)];
    size_t h = 0, n, k = 0;

    head[h++] = (unsigned char) val->tag;
    if (val->len < 0x80) {
        head[h++] = (unsigned char) val->len;
    } else {
        for (n = val->len; n > 0; n >>= 8) {
            k++;
        }
        head[h++] = (unsigned char) (0x80 | k);
        while (k-- > 0) {
            head[h++] = (unsigned char) (val->len >> (8 * k));
        }
    }
    put(b, "#", 1);
    put_hex(b, head, h);
    put_hex(b, val->p, val->len);
}

/* Writes a Name as RFC 4514 text into text (RDNs in DER order, "," between RDNs and "+"
 * inside one) and, when attrs is not NULL, as a JSON array of its attributes. */
static int name_write(const mbedtls_x509_name *name, cc_json *text, cc_json *attrs)
{
    const mbedtls_x509_name *n, *prev = NULL;
    char dotted[OID_TEXT_MAX];
    cc_json value;
    int ret = CC_OK;

    if (attrs != NULL) {
        cc_json_raw(attrs, "[");
    }
    /* An empty Name is one node without an OID. */
    for (n = name; n != NULL && n->oid.p != NULL && ret == CC_OK; prev = n, n = n->next) {
        const char *short_name = oid_lookup(attr_names, sizeof(attr_names) / sizeof(attr_names[0]),
                                            &n->oid);
        int32_t *units = cc_alloc(n->val.len * sizeof(int32_t));
        long count;

        if (units == NULL) {
            return CC_E_NOMEM;
        }
        if ((ret = oid_text(&n->oid, dotted)) != CC_OK) {
            cc_free(units);
            return ret;
        }
        count = decode_string(n->val.tag, n->val.p, n->val.len, units);

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
                put_text(&value, units, (size_t) count);
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

/* "key":"<text>" from a Name, and "attrs_key":[...] when attrs_key is not NULL. */
static int name_json(cc_json *j, const mbedtls_x509_name *name, const char *key,
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

/* Times ----------------------------------------------------------------------------------- */

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long long days_from_civil(long long y, int m, int d)
{
    long long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Seconds since the epoch of a time mbedTLS has checked (year 0-9999, a real date). */
static long long unix_time(const mbedtls_x509_time *t)
{
    return days_from_civil(t->year, t->mon, t->day) * 86400 +
           t->hour * 3600 + t->min * 60 + t->sec;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return days[m - 1] + (m == 2 && leap);
}

/* Reads "YYYYMMDDhhmmss" (UTC). */
static int parse_now(const uint8_t *s, size_t len, long long *now)
{
    static const int widths[6] = { 4, 2, 2, 2, 2, 2 };
    int v[6] = { 0 }, f, i;
    size_t pos = 0;
    mbedtls_x509_time t;

    if (len != 14) {
        return CC_E_TIME;
    }
    for (f = 0; f < 6; f++) {
        for (i = 0; i < widths[f]; i++, pos++) {
            if (s[pos] < '0' || s[pos] > '9') {
                return CC_E_TIME;
            }
            v[f] = v[f] * 10 + (s[pos] - '0');
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > days_in_month(v[0], v[1]) ||
        v[3] > 23 || v[4] > 59 || v[5] > 59) {
        return CC_E_TIME;
    }
    t.year = v[0], t.mon = v[1], t.day = v[2], t.hour = v[3], t.min = v[4], t.sec = v[5];
    *now = unix_time(&t);
    return CC_OK;
}

static void time_json(cc_json *j, const char *key, const char *unix_key,
                      const mbedtls_x509_time *t)
{
    char iso[32];

    snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02dZ",
             t->year, t->mon, t->day, t->hour, t->min, t->sec);
    cc_json_key(j, key);
    cc_json_cstr(j, iso);
    cc_json_key(j, unix_key);
    cc_json_int(j, unix_time(t));
}

/* Reading certificates ---------------------------------------------------------------------- */

/* One parsed certificate. crt comes first: mbedTLS hands back crt pointers, which are then
 * node pointers. */
typedef struct {
    mbedtls_x509_crt crt;
    int is_anchor;
    long long not_before, not_after;
    size_t unsupported_count;
    mbedtls_x509_buf unsupported[UNSUPPORTED_MAX];  /* OIDs, pointing into crt.raw */
} cert_node;

typedef struct {
    size_t count;
    cert_node *node[CC_X509_MAX_ANCHORS];
} cert_list;

static void list_init(cert_list *list)
{
    list->count = 0;
}

static void list_free(cert_list *list)
{
    size_t i;

    for (i = 0; i < list->count; i++) {
        /* The nodes were linked by list_link, not by mbedTLS: unlink before freeing. */
        list->node[i]->crt.next = NULL;
        mbedtls_x509_crt_free(&list->node[i]->crt);
        cc_free(list->node[i]);
    }
    list->count = 0;
}

/* mbedTLS calls this for extensions it does not know, and for certificate policies it does
 * not enforce: they are accepted, and the critical ones remembered. */
static int on_extension(void *ctx, mbedtls_x509_crt const *crt, mbedtls_x509_buf const *oid,
                        int critical, const unsigned char *p, const unsigned char *end)
{
    cert_node *node = ctx;

    if (!critical) {
        return 0;
    }
    if (node->unsupported_count == UNSUPPORTED_MAX) {
        return MBEDTLS_ERR_X509_INVALID_EXTENSIONS;
    }
    node->unsupported[node->unsupported_count++] = *oid;
    return 0;
}

/* A certificate that does not parse is CC_E_CERT, unless what failed is an algorithm the
 * core does not have, or memory. */
static int cert_status(int ret)
{
    int status = cc_status_from_mbedtls(ret);

    return (status == CC_E_KEY_TYPE || status == CC_E_ALG || status == CC_E_NOMEM) ? status
                                                                                  : CC_E_CERT;
}

static int list_add(cert_list *list, size_t max, const unsigned char *der, size_t len)
{
    cert_node *node;
    int ret;

    if (list->count == max) {
        return CC_E_ARG;
    }
    if ((node = cc_alloc(sizeof(*node))) == NULL) {
        return CC_E_NOMEM;
    }
    mbedtls_x509_crt_init(&node->crt);
    list->node[list->count++] = node;
    ret = mbedtls_x509_crt_parse_der_with_ext_cb(&node->crt, der, len, 1, on_extension, node);
    if (ret != 0) {
        return cert_status(ret);
    }
    /* mbedTLS stops at the end of the certificate; anything after it is not one. */
    if (node->crt.raw.len != len) {
        return CC_E_CERT;
    }
    node->not_before = unix_time(&node->crt.valid_from);
    node->not_after = unix_time(&node->crt.valid_to);
    return CC_OK;
}

static int list_read_pem(cert_list *list, size_t max, const uint8_t *in, size_t len)
{
    mbedtls_pem_context pem;
    const char *pos;
    char *text;
    size_t used = 0, der_len = 0;
    int ret;

    /* mbedTLS reads PEM as a C string: a NUL would hide what follows it. */
    if (memchr(in, 0, len) != NULL) {
        return CC_E_PEM;
    }
    if ((text = cc_alloc(len + 1)) == NULL) {
        return CC_E_NOMEM;
    }
    memcpy(text, in, len);
    pos = text;
    mbedtls_pem_init(&pem);
    for (;;) {
        ret = mbedtls_pem_read_buffer(&pem, PEM_HEADER, PEM_FOOTER, (const unsigned char *) pos,
                                      NULL, 0, &used);
        if (ret == MBEDTLS_ERR_PEM_NO_HEADER_FOOTER_PRESENT) {
            /* The end, unless a header is left that has no proper armor. */
            ret = (list->count == 0 || strstr(pos, PEM_HEADER) != NULL) ? CC_E_PEM : CC_OK;
            break;
        }
        if (ret != 0) {
            ret = ret == MBEDTLS_ERR_PEM_ALLOC_FAILED ? CC_E_NOMEM : CC_E_PEM;
            break;
        }
        ret = list_add(list, max, mbedtls_pem_get_buffer(&pem, &der_len), der_len);
        mbedtls_pem_free(&pem);
        mbedtls_pem_init(&pem);
        if (ret != CC_OK) {
            break;
        }
        pos += used;
    }
    mbedtls_pem_free(&pem);
    cc_free(text);
    return ret;
}

static int list_read(cert_list *list, size_t max, const uint8_t *in, size_t len)
{
    size_t i;

    if (len == 0) {
        return CC_E_CERT;
    }
    if (in[0] == (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) {
        return list_add(list, max, in, len);
    }
    for (i = 0; i + 11 <= len; i++) {
        if (memcmp(in + i, "-----BEGIN ", 11) == 0) {
            return list_read_pem(list, max, in, len);
        }
    }
    return CC_E_CERT;
}

/* Descriptions ---------------------------------------------------------------------------- */

/* RFC 5952: lowercase, no leading zeros, the longest run (the first of equals) of two or
 * more zero groups as "::", and IPv4-mapped addresses with the IPv4 part dotted. */
static void ipv6_text(const unsigned char *a, char out[48])
{
    unsigned int w[8];
    int i, best = -1, best_len = 0, run = 0;
    char *p = out;

    for (i = 0; i < 8; i++) {
        w[i] = (unsigned int) a[2 * i] << 8 | a[2 * i + 1];
        run = w[i] == 0 ? run + 1 : 0;
        if (run >= 2 && run > best_len) {
            best = i - run + 1;
            best_len = run;
        }
    }
    if (best == 0 && best_len == 5 && w[5] == 0xFFFF) {
        sprintf(out, "::ffff:%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
        return;
    }
    for (i = 0; i < 8; i++) {
        if (i == best) {
            p += sprintf(p, "::");
            i += best_len - 1;
            continue;
        }
        if (i > 0 && i != best + best_len) {
            *p++ = ':';
        }
        p += sprintf(p, "%x", w[i]);
    }
    *p = '\0';
}

static void san_json(cc_json *j, const mbedtls_x509_crt *crt)
{
    const mbedtls_x509_sequence *cur;
    size_t n = 0;

    cc_json_key(j, "subject_alt_names");
    cc_json_raw(j, "[");
    if (!mbedtls_x509_crt_has_ext_type(crt, MBEDTLS_X509_EXT_SUBJECT_ALT_NAME)) {
        cc_json_raw(j, "]");
        return;
    }
    for (cur = &crt->subject_alt_names; cur != NULL; cur = cur->next) {
        const mbedtls_x509_buf *gn = &cur->buf;
        const char *type;
        char ip[48];

        switch (gn->tag) {
            case MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME: type = "DNS"; break;
            case MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_RFC822_NAME: type = "email"; break;
            case MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER:
                type = "URI";
                break;
            case MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS:
                if (gn->len != 4 && gn->len != 16) {
                    continue;  /* mbedTLS refuses these already */
                }
                type = "IP";
                break;
            default: continue;  /* otherName, directoryName... */
        }
        cc_json_raw(j, n++ ? ",{" : "{");
        cc_json_key(j, "type");
        cc_json_cstr(j, type);
        cc_json_key(j, "value");
        if (type[0] == 'I' && gn->len == 4) {
            snprintf(ip, sizeof(ip), "%u.%u.%u.%u", gn->p[0], gn->p[1], gn->p[2], gn->p[3]);
            cc_json_cstr(j, ip);
        } else if (type[0] == 'I') {
            ipv6_text(gn->p, ip);
            cc_json_cstr(j, ip);
        } else {
            /* IA5String: shown as UTF-8, U+FFFD for any octet that is not. */
            int32_t *units = cc_alloc(gn->len * sizeof(int32_t));
            cc_json text;
            cc_json_init(&text);
            if (units == NULL) {
                j->failed = 1;
            } else {
                put_text(&text, units, (size_t) decode_string(MBEDTLS_ASN1_UTF8_STRING, gn->p,
                                                              gn->len, units));
                j->failed |= text.failed;
                cc_json_str(j, text.p, text.len);
            }
            cc_json_free(&text);
            cc_free(units);
        }
        cc_json_raw(j, "}");
    }
    cc_json_raw(j, "]");
}

static int key_json(cc_json *j, const mbedtls_x509_crt *crt)
{
    cc_buf desc = { NULL, 0 };
    char *text;
    int ret;

    /* The same description as cc_pk_describe gives, from the certificate's SPKI. */
    if ((ret = cc_pk_describe(crt->pk_raw.p, crt->pk_raw.len, &desc)) < 0) {
        return ret;
    }
    if ((text = cc_alloc(desc.len + 1)) == NULL) {
        ret = CC_E_NOMEM;
    } else {
        memcpy(text, desc.p, desc.len);
        cc_json_key(j, "key");
        cc_json_raw(j, text);
        ret = CC_OK;
    }
    cc_free(text);
    cc_buf_clear(&desc);
    return ret;
}

static int is_self_signed(mbedtls_x509_crt *crt)
{
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(crt->sig_md);

    if (crt->subject_raw.len != crt->issuer_raw.len ||
        memcmp(crt->subject_raw.p, crt->issuer_raw.p, crt->subject_raw.len) != 0 ||
        md == NULL || mbedtls_md(md, crt->tbs.p, crt->tbs.len, hash) != 0) {
        return 0;
    }
    return mbedtls_pk_verify_ext(crt->sig_pk, crt->sig_opts, &crt->pk, crt->sig_md, hash,
                                 mbedtls_md_get_size(md), crt->sig.p, crt->sig.len) == 0;
}

static int usage_json(cc_json *j, const mbedtls_x509_crt *crt)
{
    const mbedtls_x509_sequence *eku;
    char dotted[OID_TEXT_MAX];
    size_t i, n = 0;
    int ret;

    cc_json_key(j, "key_usage");
    cc_json_raw(j, "[");
    if (mbedtls_x509_crt_has_ext_type(crt, MBEDTLS_X509_EXT_KEY_USAGE)) {
        for (i = 0; i < sizeof(key_usages) / sizeof(key_usages[0]); i++) {
            if (crt->key_usage & key_usages[i].bit) {
                cc_json_raw(j, n++ ? "," : "");
                cc_json_cstr(j, key_usages[i].name);
            }
        }
    }
    cc_json_raw(j, "]");

    cc_json_key(j, "extended_key_usage");
    cc_json_raw(j, "[");
    n = 0;
    if (mbedtls_x509_crt_has_ext_type(crt, MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE)) {
        for (eku = &crt->ext_key_usage; eku != NULL; eku = eku->next) {
            const char *name = oid_lookup(eku_names, sizeof(eku_names) / sizeof(eku_names[0]),
                                          &eku->buf);
            if (name == NULL && (ret = oid_text(&eku->buf, dotted)) != CC_OK) {
                return ret;
            }
            cc_json_raw(j, n++ ? "," : "");
            cc_json_cstr(j, name != NULL ? name : dotted);
        }
    }
    cc_json_raw(j, "]");

    cc_json_key(j, "basic_constraints");
    if (mbedtls_x509_crt_has_ext_type(crt, MBEDTLS_X509_EXT_BASIC_CONSTRAINTS)) {
        cc_json_raw(j, crt->ca_istrue ? "{\"ca\":true" : "{\"ca\":false");
        cc_json_key(j, "path_len");
        /* mbedTLS keeps pathLenConstraint + 1, and 0 for none. */
        if (crt->max_pathlen > 0) {
            cc_json_int(j, crt->max_pathlen - 1);
        } else {
            cc_json_raw(j, "null");
        }
        cc_json_raw(j, "}");
    } else {
        cc_json_raw(j, "null");
    }
    return CC_OK;
}

static int cert_json(cc_json *j, cert_node *node)
{
    mbedtls_x509_crt *crt = &node->crt;
    const unsigned char *serial = crt->serial.p;
    size_t serial_len = crt->serial.len, i;
    unsigned char sha1[20], sha256[32];
    char dotted[OID_TEXT_MAX];
    const char *sig;
    int ret;

    cc_json_raw(j, "{");
    if ((ret = name_json(j, &crt->subject, "subject", "subject_attrs")) != CC_OK ||
        (ret = name_json(j, &crt->issuer, "issuer", "issuer_attrs")) != CC_OK) {
        return ret;
    }
    while (serial_len > 1 && serial[0] == 0) {
        serial++, serial_len--;
    }
    cc_json_key(j, "serial");
    cc_json_hex(j, serial, serial_len, 0);
    cc_json_key(j, "version");
    cc_json_int(j, crt->version);
    time_json(j, "not_before", "not_before_unix", &crt->valid_from);
    time_json(j, "not_after", "not_after_unix", &crt->valid_to);
    san_json(j, crt);
    if ((ret = usage_json(j, crt)) != CC_OK) {
        return ret;
    }

    cc_json_key(j, "unsupported_critical_extensions");
    cc_json_raw(j, "[");
    for (i = 0; i < node->unsupported_count; i++) {
        if ((ret = oid_text(&node->unsupported[i], dotted)) != CC_OK) {
            return ret;
        }
        cc_json_raw(j, i ? "," : "");
        cc_json_cstr(j, dotted);
    }
    cc_json_raw(j, "]");

    sig = oid_lookup(sig_names, sizeof(sig_names) / sizeof(sig_names[0]), &crt->sig_oid);
    if (sig == NULL && (ret = oid_text(&crt->sig_oid, dotted)) != CC_OK) {
        return ret;
    }
    cc_json_key(j, "signature_algorithm");
    cc_json_cstr(j, sig != NULL ? sig : dotted);
    if ((ret = key_json(j, crt)) != CC_OK) {
        return ret;
    }
    cc_json_key(j, "spki");
    cc_json_b64(j, crt->pk_raw.p, crt->pk_raw.len);

    if (mbedtls_sha1(crt->raw.p, crt->raw.len, sha1) != 0 ||
        mbedtls_sha256(crt->raw.p, crt->raw.len, sha256, 0) != 0) {
        return CC_E_INTERNAL;
    }
    cc_json_key(j, "sha1");
    cc_json_hex(j, sha1, sizeof(sha1), ':');
    cc_json_key(j, "sha256");
    cc_json_hex(j, sha256, sizeof(sha256), ':');
    cc_json_key(j, "self_signed");
    cc_json_raw(j, is_self_signed(crt) ? "true" : "false");
    cc_json_key(j, "der");
    cc_json_b64(j, crt->raw.p, crt->raw.len);
    cc_json_raw(j, "}");
    return CC_OK;
}

int cc_x509_parse(const uint8_t *in, size_t len, cc_buf *json)
{
    cert_list list;
    cc_json j;
    size_t i;
    int ret;

    list_init(&list);
    cc_json_init(&j);
    if ((ret = list_read(&list, CC_X509_MAX_CERTS, in, len)) != CC_OK) {
        goto cleanup;
    }
    cc_json_raw(&j, "[");
    for (i = 0; i < list.count; i++) {
        cc_json_raw(&j, i ? "," : "");
        if ((ret = cert_json(&j, list.node[i])) != CC_OK) {
            goto cleanup;
        }
    }
    cc_json_raw(&j, "]");
    ret = cc_json_finish(&j, json);

cleanup:
    cc_json_free(&j);
    list_free(&list);
    return ret;
}

/* Chains ------------------------------------------------------------------------------------ */

/* Signatures with SHA-256/384/512, RSA keys of 2048 bits or more, and every curve the core
 * has: anything weaker is flagged (BAD_SIGNATURE_ALG, BAD_KEY). */
static const mbedtls_x509_crt_profile profile = {
    MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA256) | MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA384) |
    MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA512),
    MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_RSA) | MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECKEY) |
    MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECDSA) | MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_RSASSA_PSS),
    MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP256R1) | MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP384R1) |
    MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP521R1),
    2048,
};

typedef struct {
    long long now;
    int depth;                                           /* the top of the path, -1 before */
    cert_node *path[MBEDTLS_X509_MAX_VERIFY_CHAIN_SIZE];
    uint32_t flags[MBEDTLS_X509_MAX_VERIFY_CHAIN_SIZE];
} verify_ctx;

static uint32_t time_flags(const cert_node *node, long long now)
{
    return (now < node->not_before ? MBEDTLS_X509_BADCERT_FUTURE : 0) |
           (now > node->not_after ? MBEDTLS_X509_BADCERT_EXPIRED : 0);
}

/* Called by mbedTLS for each certificate of the path it built, the top first: adds what
 * mbedTLS cannot check here (time, extensions it ignored) and records the path. */
static int on_verify(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    verify_ctx *v = ctx;
    cert_node *node = (cert_node *) crt;

    *flags |= time_flags(node, v->now);
    if (node->unsupported_count > 0 && !node->is_anchor) {
        *flags |= FLAG_UNSUPPORTED_CRITICAL;
    }
    if (depth >= 0 && depth < MBEDTLS_X509_MAX_VERIFY_CHAIN_SIZE) {
        v->path[depth] = node;
        v->flags[depth] = *flags;
        if (depth > v->depth) {
            v->depth = depth;
        }
    }
    return 0;
}

/* Links a list for mbedTLS in input order or, for anchors, those valid at now first: with
 * no clock mbedTLS takes the first issuer that fits, with one it would prefer a valid one
 * (e.g. a renewed root beside its expired predecessor). Returns the head, or NULL. */
static mbedtls_x509_crt *list_link(cert_list *list, long long now, int valid_first)
{
    mbedtls_x509_crt *head = NULL, **tail = &head;
    int pass;
    size_t i;

    for (pass = valid_first ? 0 : 1; pass < 2; pass++) {
        for (i = 0; i < list->count; i++) {
            int valid = time_flags(list->node[i], now) == 0;
            if (pass == 1 && valid_first && valid) {
                continue;
            }
            if (pass == 0 && !valid) {
                continue;
            }
            *tail = &list->node[i]->crt;
            tail = &list->node[i]->crt.next;
        }
    }
    *tail = NULL;
    return head;
}

static void flags_json(cc_json *j, uint32_t flags)
{
    uint32_t known = 0;
    size_t i, n = 0;

    cc_json_raw(j, "[");
    for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
        known |= flag_names[i].mask;
        if (flags & flag_names[i].mask) {
            cc_json_raw(j, n++ ? "," : "");
            cc_json_cstr(j, flag_names[i].name);
        }
    }
    if (flags & ~known) {
        cc_json_raw(j, n ? "," : "");
        cc_json_cstr(j, "OTHER");
    }
    cc_json_raw(j, "]");
}

static int verify_json(const verify_ctx *v, uint32_t flags, cc_buf *out)
{
    unsigned char sha256[32];
    cc_json j;
    int i, ret = CC_OK;

    cc_json_init(&j);
    cc_json_raw(&j, flags == 0 ? "{\"trusted\":true" : "{\"trusted\":false");
    cc_json_key(&j, "flags");
    flags_json(&j, flags);
    cc_json_key(&j, "depth");
    cc_json_int(&j, v->depth);
    cc_json_key(&j, "path");
    cc_json_raw(&j, "[");
    for (i = 0; i <= v->depth; i++) {
        const mbedtls_x509_crt *crt = &v->path[i]->crt;
        cc_json_raw(&j, i ? ",{" : "{");
        if ((ret = name_json(&j, &crt->subject, "subject", NULL)) != CC_OK) {
            break;
        }
        if (mbedtls_sha256(crt->raw.p, crt->raw.len, sha256, 0) != 0) {
            ret = CC_E_INTERNAL;
            break;
        }
        cc_json_key(&j, "sha256");
        cc_json_hex(&j, sha256, sizeof(sha256), ':');
        cc_json_key(&j, "flags");
        flags_json(&j, v->flags[i]);
        cc_json_raw(&j, "}");
    }
    cc_json_raw(&j, "]}");
    if (ret == CC_OK) {
        ret = cc_json_finish(&j, out);
    }
    cc_json_free(&j);
    return ret;
}

int cc_x509_verify_chain(const uint8_t *chain, size_t chain_len,
                         const uint8_t *anchors, size_t anchors_len,
                         const uint8_t *now, size_t now_len, cc_buf *json)
{
    cert_list path_certs, anchor_certs;
    verify_ctx v;
    uint32_t flags = 0;
    size_t i;
    int ret;

    list_init(&path_certs);
    list_init(&anchor_certs);
    memset(&v, 0, sizeof(v));
    v.depth = -1;
    if ((ret = parse_now(now, now_len, &v.now)) != CC_OK ||
        (ret = list_read(&path_certs, CC_X509_MAX_CERTS, chain, chain_len)) != CC_OK ||
        (anchors_len > 0 &&
         (ret = list_read(&anchor_certs, CC_X509_MAX_ANCHORS, anchors, anchors_len)) != CC_OK)) {
        goto cleanup;
    }
    for (i = 0; i < anchor_certs.count; i++) {
        anchor_certs.node[i]->is_anchor = 1;
    }
    ret = mbedtls_x509_crt_verify_with_profile(list_link(&path_certs, v.now, 0),
                                               list_link(&anchor_certs, v.now, 1), NULL,
                                               &profile, NULL, &flags, on_verify, &v);
    if (ret == MBEDTLS_ERR_X509_FATAL_ERROR) {
        /* The only fatal error here: more than MBEDTLS_X509_MAX_INTERMEDIATE_CA
         * intermediates. mbedTLS then reports no path; the leaf stands for it. */
        flags = MBEDTLS_X509_BADCERT_NOT_TRUSTED | FLAG_PATH_TOO_LONG;
        on_verify(&v, &path_certs.node[0]->crt, 0, &flags);
    } else if (ret != 0 && ret != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        ret = cc_status_from_mbedtls(ret);
        goto cleanup;
    }
    ret = verify_json(&v, flags, json);

cleanup:
    list_free(&path_certs);
    list_free(&anchor_certs);
    return ret;
}
