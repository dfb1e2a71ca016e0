/* Subject alternative names, text <-> GeneralNames: see cc_san.h. */
#include <stdio.h>
#include <string.h>

#include "cc_der.h"
#include "cc_san.h"
#include "cc_text.h"
#include "mbedtls/asn1write.h"

#define GN_DNS (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)   /* IA5String */
#define GN_IP  (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS) /* OCTET STRING */
#define GN_EMAIL (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_RFC822_NAME)
#define GN_URI (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER)

#define IP_TEXT_MAX 48   /* the longest IPv6 text, and its NUL */

/* Parsing ------------------------------------------------------------------------------- */

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
                        : !(cc_text_is_alnum(s[i]) || s[i] == '-' || s[i] == '_')) {
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
        for (digits = 0; i < n && cc_text_is_digit(s[i]) && digits < 4; digits++) {
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
            if (cc_text_hex_digit(s[i]) < 0 || digits == 4) {
                return 0;
            }
            v = v << 4 | (unsigned) cc_text_hex_digit(s[i]);
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

static int parse_entry(const char *s, size_t n, cc_san_entry *e)
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

int cc_san_parse(const uint8_t *in, size_t len, cc_san_list *sans)
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
        if (parse_entry(s + begin, i - begin, &sans->e[sans->count]) != CC_OK) {
            return CC_E_SAN;
        }
        sans->count++;
        begin = i + 1;
    }
    return CC_OK;
}

void cc_san_free(cc_san_list *sans)
{
    cc_free(sans->e);
    sans->e = NULL;
    sans->count = 0;
}

/* Writing ------------------------------------------------------------------------------- */

int cc_san_write(unsigned char **p, const unsigned char *start, const cc_san_list *sans)
{
    size_t len = 0, i = sans->count;
    int ret;

    while (i-- > 0) {
        const cc_san_entry *e = &sans->e[i];
        const char *v = e->tag == GN_DNS ? e->dns : (const char *) e->ip;
        MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tagged_string(p, start, e->tag, v, e->len));
    }
    MBEDTLS_ASN1_CHK_ADD(len, cc_der_header(p, start, len, CC_DER_SEQ));
    return (int) len;
}

size_t cc_san_der_max(const cc_san_list *sans)
{
    size_t n = 0, i;

    for (i = 0; i < sans->count; i++) {
        n += sans->e[i].len + 4;
    }
    return n;
}

/* Printing ------------------------------------------------------------------------------ */

static void ipv4_text(const unsigned char *a, char *out, size_t size)
{
    snprintf(out, size, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

/* RFC 5952: lowercase, no leading zeros, the longest run (the first of equals) of two or
 * more zero groups as "::", and IPv4-mapped addresses with the IPv4 part dotted. */
static void ipv6_text(const unsigned char *a, char out[IP_TEXT_MAX])
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
        p += sprintf(p, "::ffff:");
        ipv4_text(a + 12, p, IP_TEXT_MAX - (size_t) (p - out));
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

/* An IA5String value as UTF-8, U+FFFD for any octet that is not. */
static void ia5_json(cc_json *j, const mbedtls_x509_buf *v)
{
    int32_t *units = cc_alloc(v->len * sizeof(int32_t));
    cc_json text;

    cc_json_init(&text);
    if (units == NULL) {
        j->failed = 1;
    } else {
        cc_text_put_units(&text, units,
                          (size_t) cc_text_decode(MBEDTLS_ASN1_UTF8_STRING, v->p, v->len, units));
        j->failed |= text.failed;
        cc_json_str(j, text.p, text.len);
    }
    cc_json_free(&text);
    cc_free(units);
}

void cc_san_json(cc_json *j, const mbedtls_x509_crt *crt)
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
        char ip[IP_TEXT_MAX];

        switch (gn->tag) {
            case GN_DNS: type = "DNS"; break;
            case GN_EMAIL: type = "email"; break;
            case GN_URI: type = "URI"; break;
            case GN_IP:
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
        if (gn->tag == GN_IP) {
            if (gn->len == 4) {
                ipv4_text(gn->p, ip, sizeof(ip));
            } else {
                ipv6_text(gn->p, ip);
            }
            cc_json_cstr(j, ip);
        } else {
            ia5_json(j, gn);
        }
        cc_json_raw(j, "}");
    }
    cc_json_raw(j, "]");
}
