/* PKCS#12 (PFX) files (cc_pkcs12.c). Conventions: see cc.h. */
#ifndef CC_PKCS12_H
#define CC_PKCS12_H

#include "cc.h"

/* Decodes a PKCS#12 file, DER or BER (indefinite lengths, chunked OCTET STRINGs), with a
 * UTF-8 passphrase (empty for none). The MAC, when the file has one, is checked first.
 * Reads the first private key of the file; other keys are ignored.
 * Out: key = private key DER (RSAPrivateKey or ECPrivateKey, as cc_pk_parse), spki = its
 * SubjectPublicKeyInfo, cert = the DER of the first certificate holding that public key,
 * chain = every other certificate as PEM, in file order (empty if none).
 * Errors: CC_E_P12 (malformed), CC_E_PASS_WRONG (wrong passphrase, MAC mismatch),
 * CC_E_P12_NO_KEY, CC_E_P12_NO_CERT, CC_E_ALG (an algorithm not supported), CC_E_ITER
 * (a KDF run over the per-run cap, or the file's runs together over five times it:
 * refused before that run derives anything), CC_E_KEY_TYPE. */
int cc_pkcs12_decode(const uint8_t *pfx, size_t pfx_len, const uint8_t *pass, size_t pass_len,
                     cc_buf *key, cc_buf *spki, cc_buf *cert, cc_buf *chain);

#endif /* CC_PKCS12_H */
