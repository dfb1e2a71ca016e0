/* X.509 chain verification at a "now" the caller gives (the core has no clock): mbedTLS
 * builds the path and checks it, this adds the time checks and the result as JSON
 * (cc_x509.h). */
#include <string.h>

#include "cc_crt_list.h"
#include "cc_dn.h"
#include "cc_time.h"
#include "cc_x509.h"
#include "mbedtls/sha256.h"

/* Verification flags of our own, above mbedTLS's BADCERT and BADCRL bits. */
#define FLAG_UNSUPPORTED_CRITICAL 0x40000000u
#define FLAG_PATH_TOO_LONG        0x80000000u

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
    cc_crt_node *path[MBEDTLS_X509_MAX_VERIFY_CHAIN_SIZE];
    uint32_t flags[MBEDTLS_X509_MAX_VERIFY_CHAIN_SIZE];
} verify_ctx;

static uint32_t time_flags(const cc_crt_node *node, long long now)
{
    return (now < node->not_before ? MBEDTLS_X509_BADCERT_FUTURE : 0) |
           (now > node->not_after ? MBEDTLS_X509_BADCERT_EXPIRED : 0);
}

/* Called by mbedTLS for each certificate of the path it built, the top first: adds what
 * mbedTLS cannot check here (time, extensions it ignored) and records the path. */
static int on_verify(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    verify_ctx *v = ctx;
    cc_crt_node *node = (cc_crt_node *) crt;

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
static mbedtls_x509_crt *list_link(cc_crt_list *list, long long now, int valid_first)
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
        if ((ret = cc_dn_json(&j, &crt->subject, "subject", NULL)) != CC_OK) {
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

/* Reads "YYYYMMDDhhmmss" (UTC) as seconds since the epoch. */
static int parse_now(const uint8_t *s, size_t len, long long *now)
{
    mbedtls_x509_time t;
    int ret;

    if ((ret = cc_time_parse(s, len, &t)) != CC_OK) {
        return ret;
    }
    *now = cc_time_unix(&t);
    return CC_OK;
}

int cc_x509_verify_chain(const uint8_t *chain, size_t chain_len,
                         const uint8_t *anchors, size_t anchors_len,
                         const uint8_t *now, size_t now_len, cc_buf *json)
{
    cc_crt_list path_certs, anchor_certs;
    verify_ctx v;
    uint32_t flags = 0;
    size_t i;
    int ret;

    cc_crt_list_init(&path_certs);
    cc_crt_list_init(&anchor_certs);
    memset(&v, 0, sizeof(v));
    v.depth = -1;
    if ((ret = parse_now(now, now_len, &v.now)) != CC_OK ||
        (ret = cc_crt_list_read(&path_certs, CC_X509_MAX_CERTS, chain, chain_len)) != CC_OK ||
        (anchors_len > 0 &&
         (ret = cc_crt_list_read(&anchor_certs, CC_X509_MAX_ANCHORS, anchors,
                                 anchors_len)) != CC_OK)) {
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
    cc_crt_list_free(&path_certs);
    cc_crt_list_free(&anchor_certs);
    return ret;
}
