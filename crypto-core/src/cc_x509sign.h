/* The signature side of X.509 writing, shared by the TBS builders (cc_x509write.c) and the
 * assembly of signed certificates and requests (cc_x509sign.c). Not exported. */
#ifndef CC_X509SIGN_H
#define CC_X509SIGN_H

#include "cc_internal.h"
#include "mbedtls/md.h"
#include "mbedtls/pk.h"

/* Reads an SPKI that is exactly one DER element; CC_E_KEY otherwise. */
int cc_x509sign_load_key(mbedtls_pk_context *pk, const uint8_t *der, size_t der_len);

/* The digest signatures by this key use: the curve's own size for EC P-256/384/521,
 * SHA-256 for RSA; CC_E_KEY_TYPE for any other key. */
int cc_x509sign_key_digest(const mbedtls_pk_context *pk, mbedtls_md_type_t *md);

/* Writes the signature AlgorithmIdentifier for this key and digest backwards, as
 * mbedtls_asn1_write_*; returns its size or an mbedTLS error. */
int cc_x509sign_write_alg(unsigned char **p, const unsigned char *start,
                          const mbedtls_pk_context *pk, mbedtls_md_type_t md);

#endif /* CC_X509SIGN_H */
