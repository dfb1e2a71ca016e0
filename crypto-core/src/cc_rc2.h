/* RC2-CBC decryption (RFC 2268), for PKCS#12 certificate bags (internal). */
#ifndef CC_RC2_H
#define CC_RC2_H

#include "cc.h"

/* Decrypts in (a multiple of 8 bytes) with PKCS#7 padding removed; *out_len is the
 * plaintext length. A bad padding gives CC_E_PASS_WRONG. */
int cc_rc2_cbc_decrypt(const uint8_t *key, size_t key_len, int effective_bits,
                       const uint8_t iv[8], const uint8_t *in, size_t in_len,
                       uint8_t *out, size_t *out_len);

#endif /* CC_RC2_H */
