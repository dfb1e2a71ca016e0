/* Lifecycle, memory, the random generator and the mbedTLS status map. */
#include <stdlib.h>
#include <string.h>

#include "cc_internal.h"
#include "mbedtls/asn1.h"
#include "mbedtls/base64.h"
#include "mbedtls/bignum.h"
#include "mbedtls/cipher.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/ecp.h"
#include "mbedtls/entropy.h"
#include "mbedtls/pem.h"
#include "mbedtls/pk.h"
#include "mbedtls/pkcs12.h"
#include "mbedtls/pkcs5.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/rsa.h"
#include "mbedtls/x509.h"

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static int seeded;

int cc_core_init(void)
{
    static const unsigned char personalization[] = "certd crypto core";
    int ret;

    if (seeded) {
        return CC_OK;
    }
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                personalization, sizeof(personalization) - 1);
    if (ret != 0) {
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
        return CC_E_RNG;
    }
    /* Reseed from random_get now and then, not only at start-up. */
    mbedtls_ctr_drbg_set_reseed_interval(&drbg, 1000);
    seeded = 1;
    return CC_OK;
}

int cc_rng(void *ctx, unsigned char *out, size_t len)
{
    if (!seeded) {
        return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
    }
    return mbedtls_ctr_drbg_random(ctx, out, len);
}

void *cc_rng_ctx(void)
{
    return &drbg;
}

void *cc_alloc(size_t len)
{
    return calloc(1, len ? len : 1);
}

void cc_free(void *p)
{
    free(p);
}

void cc_wipe_free(void *p, size_t len)
{
    if (p != NULL) {
        mbedtls_platform_zeroize(p, len);
        free(p);
    }
}

int cc_buf_set(cc_buf *out, const void *p, size_t len)
{
    out->p = cc_alloc(len);
    if (out->p == NULL) {
        out->len = 0;
        return CC_E_NOMEM;
    }
    memcpy(out->p, p, len);
    out->len = len;
    return CC_OK;
}

void cc_buf_clear(cc_buf *out)
{
    cc_wipe_free(out->p, out->len);
    out->p = NULL;
    out->len = 0;
}

/* mbedTLS errors combine a high-level (module) and a low-level part; either may name the
 * cause, so both are looked at. This is the only place mbedTLS codes become statuses. */
int cc_status_from_mbedtls(int ret)
{
    int high, low;

    if (ret >= 0) {
        return ret;
    }
    high = -((-ret) & 0xFF80);
    low = -((-ret) & 0x007F);

    switch (high) {
        case MBEDTLS_ERR_PK_PASSWORD_REQUIRED:
        case MBEDTLS_ERR_PEM_PASSWORD_REQUIRED:
            return CC_E_PASS_REQUIRED;
        case MBEDTLS_ERR_PK_PASSWORD_MISMATCH:
        case MBEDTLS_ERR_PEM_PASSWORD_MISMATCH:
        case MBEDTLS_ERR_PKCS12_PASSWORD_MISMATCH:
        case MBEDTLS_ERR_PKCS5_PASSWORD_MISMATCH:
            return CC_E_PASS_WRONG;
        case MBEDTLS_ERR_PK_ALLOC_FAILED:
        case MBEDTLS_ERR_X509_ALLOC_FAILED:
        case MBEDTLS_ERR_PEM_ALLOC_FAILED:
            return CC_E_NOMEM;
        case MBEDTLS_ERR_PK_UNKNOWN_PK_ALG:
        case MBEDTLS_ERR_PK_UNKNOWN_NAMED_CURVE:
        case MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE:
        case MBEDTLS_ERR_X509_UNKNOWN_SIG_ALG:
        case MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE:
            return CC_E_KEY_TYPE;
        case MBEDTLS_ERR_PEM_UNKNOWN_ENC_ALG:
        case MBEDTLS_ERR_PEM_FEATURE_UNAVAILABLE:
        case MBEDTLS_ERR_PKCS12_FEATURE_UNAVAILABLE:
        case MBEDTLS_ERR_PKCS5_FEATURE_UNAVAILABLE:
        case MBEDTLS_ERR_X509_UNKNOWN_OID:
            return CC_E_ALG;
        case MBEDTLS_ERR_PEM_INVALID_DATA:
        case MBEDTLS_ERR_PEM_INVALID_ENC_IV:
        case MBEDTLS_ERR_PEM_NO_HEADER_FOOTER_PRESENT:
            return CC_E_PEM;
        case MBEDTLS_ERR_PK_KEY_INVALID_FORMAT:
        case MBEDTLS_ERR_PK_KEY_INVALID_VERSION:
        case MBEDTLS_ERR_PK_INVALID_PUBKEY:
        case MBEDTLS_ERR_PK_INVALID_ALG:
        case MBEDTLS_ERR_PK_TYPE_MISMATCH:
            return CC_E_KEY;
        case MBEDTLS_ERR_PK_SIG_LEN_MISMATCH:
            return CC_E_SIG;
        case MBEDTLS_ERR_X509_INVALID_FORMAT:
        case MBEDTLS_ERR_X509_INVALID_VERSION:
        case MBEDTLS_ERR_X509_INVALID_SERIAL:
        case MBEDTLS_ERR_X509_INVALID_ALG:
        case MBEDTLS_ERR_X509_INVALID_NAME:
        case MBEDTLS_ERR_X509_INVALID_DATE:
        case MBEDTLS_ERR_X509_INVALID_SIGNATURE:
        case MBEDTLS_ERR_X509_INVALID_EXTENSIONS:
        case MBEDTLS_ERR_X509_SIG_MISMATCH:
            return CC_E_CERT;
        case MBEDTLS_ERR_X509_BAD_INPUT_DATA:
            return CC_E_ARG;
        default:
            break;
    }
    switch (low) {
        case MBEDTLS_ERR_ASN1_OUT_OF_DATA:
        case MBEDTLS_ERR_ASN1_UNEXPECTED_TAG:
        case MBEDTLS_ERR_ASN1_INVALID_LENGTH:
        case MBEDTLS_ERR_ASN1_LENGTH_MISMATCH:
        case MBEDTLS_ERR_ASN1_INVALID_DATA:
            return CC_E_DER;
        case MBEDTLS_ERR_ASN1_ALLOC_FAILED:
        case MBEDTLS_ERR_MPI_ALLOC_FAILED:
            return CC_E_NOMEM;
        case MBEDTLS_ERR_BASE64_INVALID_CHARACTER:
        case MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL:
            return CC_E_PEM;
        case MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE:
            return CC_E_KEY_TYPE;
        case MBEDTLS_ERR_ECP_VERIFY_FAILED:
        case MBEDTLS_ERR_RSA_VERIFY_FAILED:
        case MBEDTLS_ERR_ECP_SIG_LEN_MISMATCH:
            return CC_E_SIG;
        case MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED:
        case MBEDTLS_ERR_ECP_RANDOM_FAILED:
            return CC_E_RNG;
        default:
            break;
    }
    if (high == MBEDTLS_ERR_PK_KEY_INVALID_FORMAT || high == MBEDTLS_ERR_X509_INVALID_FORMAT) {
        return CC_E_DER;
    }
    return CC_E_INTERNAL;
}
