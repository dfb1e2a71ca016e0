/* PEM-or-DER input handling shared by the parsers. */
#include <string.h>

#include "cc_internal.h"
#include "mbedtls/pem.h"

static int looks_like_pem(const uint8_t *in, size_t len)
{
    static const char marker[] = "-----BEGIN ";
    size_t i;

    for (i = 0; i + sizeof(marker) - 1 <= len; i++) {
        if (memcmp(in + i, marker, sizeof(marker) - 1) == 0) {
            return 1;
        }
    }
    return 0;
}

int cc_pem_or_der(const uint8_t *in, size_t in_len, const char *label,
                  const uint8_t **der, size_t *der_len, uint8_t **owned)
{
    char header[64], footer[64];
    mbedtls_pem_context pem;
    size_t used = 0;
    uint8_t *text = NULL;
    int ret;

    *owned = NULL;
    if (!looks_like_pem(in, in_len)) {
        *der = in;
        *der_len = in_len;
        return CC_OK;
    }
    if (strlen(label) > 40) {
        return CC_E_ARG;
    }
    strcpy(header, "-----BEGIN ");
    strcat(header, label);
    strcat(header, "-----");
    strcpy(footer, "-----END ");
    strcat(footer, label);
    strcat(footer, "-----");

    /* mbedtls_pem_read_buffer wants NUL-terminated text. */
    text = cc_alloc(in_len + 1);
    if (text == NULL) {
        return CC_E_NOMEM;
    }
    memcpy(text, in, in_len);

    mbedtls_pem_init(&pem);
    ret = mbedtls_pem_read_buffer(&pem, header, footer, text, NULL, 0, &used);
    if (ret != 0) {
        ret = ret == MBEDTLS_ERR_PEM_NO_HEADER_FOOTER_PRESENT ? CC_E_PEM
                                                              : cc_status_from_mbedtls(ret);
        goto cleanup;
    }
    {
        size_t n = 0;
        const unsigned char *buf = mbedtls_pem_get_buffer(&pem, &n);
        *owned = cc_alloc(n);
        if (*owned == NULL) {
            ret = CC_E_NOMEM;
            goto cleanup;
        }
        memcpy(*owned, buf, n);
        *der = *owned;
        *der_len = n;
    }
    ret = CC_OK;

cleanup:
    mbedtls_pem_free(&pem);
    cc_wipe_free(text, in_len + 1);
    return ret;
}
