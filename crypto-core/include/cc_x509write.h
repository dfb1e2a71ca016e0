/* X.509 writing with the signature made elsewhere (cc_x509write.c, cc_x509sign.c).
 * Conventions: see cc.h.
 *
 * Keys may live in a TPM or a secure element, so the core never signs here: a *_tbs function
 * builds the to-be-signed bytes and their digest, a key store signs the digest, and the
 * matching *_assemble function checks that signature and wraps it with the TBS.
 *
 * Inputs shared by the *_tbs functions:
 *  - spki: SubjectPublicKeyInfo, DER or PEM; EC P-256/384/521 or RSA;
 *  - subject: RFC 4514 syntax (escapes, "#hex" values, "+" for multi-valued RDNs; types CN,
 *    C, ST, L, O, OU, street, emailAddress, serialNumber, DC, UID, title, SN, GN, initials,
 *    generationQualifier, pseudonym, postalCode, dnQualifier, case-insensitive, or dotted
 *    OIDs), but listed in DER order, most significant RDN first: "C=SE,O=Axis,CN=cam1";
 *  - sans: newline-separated "DNS:<name>" and "IP:<IPv4 or IPv6>" entries; empty for none.
 * Outputs of the *_tbs functions: the TBS DER, its digest, and as JSON the signature the key
 * store must make: {"scheme":"ECDSA","digest":"SHA-384"} or
 * {"scheme":"RSA-PKCS1-V1_5","digest":"SHA-256"} (EC P-256/384/521: SHA-256/384/512; RSA:
 * SHA-256).
 *
 * Signature formats of the *_assemble functions. For RSA both mean the raw signature, which
 * must be as long as the modulus.
 */
#ifndef CC_X509WRITE_H
#define CC_X509WRITE_H

#include "cc.h"

#define CC_SIGFMT_DER 0   /* ECDSA: ECDSA-Sig-Value DER, as OpenSSL and mbedTLS make */
#define CC_SIGFMT_RAW 1   /* ECDSA: r || s, each as long as the curve's order, as PKCS#11 makes */

/* TBSCertificate of a self-signed X.509 v3 end-entity certificate: random 16-byte positive
 * serial, issuer = subject (not empty), validity from "YYYYMMDDhhmmss" UTC (UTCTime through
 * 2049, GeneralizedTime otherwise; not_after must be later than not_before), extensions
 * basicConstraints CA:FALSE and keyUsage (both critical), extendedKeyUsage serverAuth and
 * clientAuth, subject and authority key identifiers (SHA-1 of the public key), and
 * subjectAltName when sans are given. */
int cc_x509_crt_tbs(const uint8_t *spki, size_t spki_len,
                    const uint8_t *subject, size_t subject_len,
                    const uint8_t *sans, size_t sans_len,
                    const uint8_t *not_before, size_t nb_len,
                    const uint8_t *not_after, size_t na_len,
                    cc_buf *tbs, cc_buf *digest, cc_buf *alg_json);

/* Certificate DER from a TBSCertificate and a signature over its digest. The signature
 * algorithm is the one the TBS names; a signature that does not verify with the TBS's
 * public key is refused with CC_E_SIG. */
int cc_x509_crt_assemble(const uint8_t *tbs, size_t tbs_len,
                         const uint8_t *sig, size_t sig_len, int sig_format,
                         cc_buf *der);

/* PKCS#10 CertificationRequestInfo: version 0, subject (may be empty), SPKI, and an
 * extensionRequest attribute with subjectAltName when sans are given (critical when the
 * subject is empty, as RFC 5280 asks). */
int cc_x509_csr_tbs(const uint8_t *spki, size_t spki_len,
                    const uint8_t *subject, size_t subject_len,
                    const uint8_t *sans, size_t sans_len,
                    cc_buf *cri, cc_buf *digest, cc_buf *alg_json);

/* CertificationRequest DER from a CertificationRequestInfo and a signature over its
 * digest; the algorithm follows the key in the CRI. Checked as cc_x509_crt_assemble. */
int cc_x509_csr_assemble(const uint8_t *cri, size_t cri_len,
                         const uint8_t *sig, size_t sig_len, int sig_format,
                         cc_buf *der);

#endif /* CC_X509WRITE_H */
