/* A small JSON text writer for the core's structured (public) results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"
#include "mbedtls/base64.h"

void cc_json_init(cc_json *j)
{
    memset(j, 0, sizeof(*j));
}

void cc_json_free(cc_json *j)
{
    free(j->p);
    cc_json_init(j);
}

static int reserve(cc_json *j, size_t more)
{
    size_t cap;
    char *p;

    if (j->failed) {
        return -1;
    }
    if (j->len + more + 1 <= j->cap) {
        return 0;
    }
    cap = j->cap ? j->cap : 256;
    while (cap < j->len + more + 1) {
        cap *= 2;
    }
    p = realloc(j->p, cap);
    if (p == NULL) {
        j->failed = 1;
        return -1;
    }
    j->p = p;
    j->cap = cap;
    return 0;
}

static void append(cc_json *j, const char *s, size_t n)
{
    if (reserve(j, n) != 0) {
        return;
    }
    memcpy(j->p + j->len, s, n);
    j->len += n;
    j->p[j->len] = '\0';
}

void cc_json_raw(cc_json *j, const char *s)
{
    append(j, s, strlen(s));
}

void cc_json_str(cc_json *j, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    append(j, "\"", 1);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
        if (c == '"' || c == '\\') {
            esc[1] = (char) c;
            append(j, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            append(j, esc, 6);
        } else {
            append(j, (const char *) &s[i], 1);
        }
    }
    append(j, "\"", 1);
}

void cc_json_cstr(cc_json *j, const char *s)
{
    cc_json_str(j, s, strlen(s));
}

void cc_json_int(cc_json *j, long long v)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%lld", v);
    cc_json_raw(j, tmp);
}

void cc_json_hex_raw(cc_json *j, const uint8_t *p, size_t len, char sep)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < len; i++) {
        char two[3] = { hex[p[i] >> 4], hex[p[i] & 15], sep };
        append(j, two, (sep && i + 1 < len) ? 3 : 2);
    }
}

void cc_json_hex(cc_json *j, const uint8_t *p, size_t len, char sep)
{
    append(j, "\"", 1);
    cc_json_hex_raw(j, p, len, sep);
    append(j, "\"", 1);
}

void cc_json_b64(cc_json *j, const uint8_t *p, size_t len)
{
    size_t olen = 0;

    mbedtls_base64_encode(NULL, 0, &olen, p, len);
    append(j, "\"", 1);
    if (reserve(j, olen) == 0 &&
        mbedtls_base64_encode((unsigned char *) j->p + j->len, olen + 1, &olen, p, len) == 0) {
        j->len += olen;
    } else {
        j->failed = 1;
    }
    append(j, "\"", 1);
}

void cc_json_key(cc_json *j, const char *key)
{
    if (j->len > 0 && j->p[j->len - 1] != '{' && j->p[j->len - 1] != '[') {
        append(j, ",", 1);
    }
    cc_json_cstr(j, key);
    append(j, ":", 1);
}

int cc_json_finish(cc_json *j, cc_buf *out)
{
    int ret = j->failed ? CC_E_NOMEM : cc_buf_set(out, j->p, j->len);
    cc_json_free(j);
    return ret;
}
