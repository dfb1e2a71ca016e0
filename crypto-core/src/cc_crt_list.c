/* Certificates read from DER or PEM input: see cc_crt_list.h. */
#include <string.h>

#include "cc_crt_list.h"
#include "cc_der.h"
#include "cc_time.h"
#include "mbedtls/pem.h"

#define PEM_HEADER "-----BEGIN CERTIFICATE-----"
#define PEM_FOOTER "-----END CERTIFICATE-----"

void cc_crt_list_init(cc_crt_list *list)
{
    list->count = 0;
}

void cc_crt_list_free(cc_crt_list *list)
{
    size_t i;

    for (i = 0; i < list->count; i++) {
        /* The nodes may have been linked by the verifier, not by mbedTLS: unlink first. */
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
    cc_crt_node *node = ctx;

    if (!critical) {
        return 0;
    }
    if (node->unsupported_count == CC_CRT_UNSUPPORTED_MAX) {
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

static int list_add(cc_crt_list *list, size_t max, const unsigned char *der, size_t len)
{
    cc_crt_node *node;
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
    node->not_before = cc_time_unix(&node->crt.valid_from);
    node->not_after = cc_time_unix(&node->crt.valid_to);
    return CC_OK;
}

static int list_read_pem(cc_crt_list *list, size_t max, const uint8_t *in, size_t len)
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

int cc_crt_list_read(cc_crt_list *list, size_t max, const uint8_t *in, size_t len)
{
    size_t i;

    if (len == 0) {
        return CC_E_CERT;
    }
    if (in[0] == CC_DER_SEQ) {
        return list_add(list, max, in, len);
    }
    for (i = 0; i + 11 <= len; i++) {
        if (memcmp(in + i, "-----BEGIN ", 11) == 0) {
            return list_read_pem(list, max, in, len);
        }
    }
    return CC_E_CERT;
}
