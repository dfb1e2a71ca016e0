/* X.509 certificates: reading them (cc_x509.c), and verifying chains (cc_x509_chain.c).
 * Conventions: see cc.h.
 *
 * Input of both functions: one DER certificate (it starts with a SEQUENCE, 0x30, and must
 * end where the certificate ends) or PEM text with CERTIFICATE blocks (text around and
 * between them is ignored; other PEM blocks are skipped).
 * Statuses for input that is not readable, the same in both functions:
 *  - CC_E_CERT: empty input, input neither DER nor PEM, or a certificate that does not
 *    parse (truncated or malformed DER, bytes after a DER certificate);
 *  - CC_E_PEM: PEM text without a CERTIFICATE block, or a block whose armor or base64 is
 *    broken, or text with a NUL byte;
 *  - CC_E_KEY_TYPE, CC_E_ALG: a well-formed certificate with a key or signature algorithm
 *    the core does not read (e.g. Ed25519, brainpool curves);
 *  - CC_E_ARG: more certificates than the limit below.
 * Certificates with critical extensions the core does not know are read (and listed), not
 * refused: the verifier flags them instead.
 */
#ifndef CC_X509_H
#define CC_X509_H

#include "cc.h"

#define CC_X509_MAX_CERTS    16   /* per input of cc_x509_parse, and per chain */
#define CC_X509_MAX_ANCHORS 256   /* trust anchors of one cc_x509_verify_chain call */

/* Describes each certificate of the input, in input order, as a JSON array of objects:
 *   subject, issuer: RFC 4514 escaping, RDNs in DER order (most significant first) joined
 *     with "," and no spaces, "+" inside a multi-valued RDN: "C=SE,O=Axis,CN=cam1" (the
 *     subject syntax of cc_x509write.h). Types CN C ST L O OU emailAddress serialNumber DC
 *     UID street; any other type as its dotted OID with "#" + hex of the value's DER.
 *     Control characters and bytes that are not UTF-8 as \XX. BMPString and
 *     UniversalString are decoded to UTF-8, TeletexString is read as Latin-1;
 *   subject_attrs, issuer_attrs: [{"type":"CN","oid":"2.5.4.3","value":"..."}] in DER order;
 *     value is the unescaped text (U+FFFD for bytes that are not UTF-8), or "#" + hex of the
 *     DER for a value that is not a string;
 *   serial: uppercase hex without leading zero octets; version: 1, 2 or 3;
 *   not_before, not_after: "2026-11-24T16:00:00Z"; not_before_unix, not_after_unix: seconds;
 *   subject_alt_names: [{"type":"DNS"|"IP"|"email"|"URI","value":"..."}] (IPv6 in RFC 5952
 *     form); other name forms (otherName, directoryName...) are not listed;
 *   key_usage: names as in RFC 5280 (digitalSignature ... decipherOnly), [] when absent;
 *   extended_key_usage: serverAuth clientAuth codeSigning emailProtection timeStamping
 *     OCSPSigning, else dotted OIDs, [] when absent;
 *   basic_constraints: {"ca":bool,"path_len":int|null}, or null when absent;
 *   unsupported_critical_extensions: dotted OIDs of critical extensions the core ignores;
 *   signature_algorithm: e.g. "ecdsa-with-SHA256", "sha256WithRSAEncryption", "rsassaPss";
 *   key: as cc_pk_describe; spki, der: base64 of the SubjectPublicKeyInfo and certificate;
 *   sha1, sha256: fingerprints of the DER, uppercase hex with colons;
 *   self_signed: issuer and subject are the same octets and the signature verifies with
 *     the certificate's own key.
 * At most CC_X509_MAX_CERTS certificates. */
int cc_x509_parse(const uint8_t *in, size_t len, cc_buf *json);

/* Verifies chain (the leaf first, then intermediates, each after the certificate it issued,
 * as TLS sends them; mbedTLS looks for an issuer only further down the chain; a root in it
 * is not trusted for being there) against anchors (any number up to CC_X509_MAX_ANCHORS, none
 * allowed) at now ("YYYYMMDDhhmmss" UTC, else CC_E_TIME). mbedTLS builds the path and
 * checks names, signatures, basicConstraints, keyUsage keyCertSign and path lengths; the
 * core checks every certificate of the path against now, leaf and anchor included
 * (notBefore <= now <= notAfter), and prefers candidate issuers valid at now.
 * Profile: SHA-256/384/512 signatures, RSA keys of 2048 bits or more, EC P-256/384/521.
 * A failed check is an answer, not an error:
 *   {"trusted":bool,"flags":[...],"depth":n,
 *    "path":[{"subject":"...","sha256":"...","flags":[...]}]}
 * path is the leaf first up to the certificate at depth n (the anchor when trusted);
 * flags are the union of the path's. Flags:
 *   EXPIRED, NOT_YET_VALID: outside its validity at now;
 *   NOT_TRUSTED: no issuer found (missing intermediate, unknown anchor), or one whose
 *     signature, CA bit, key usage or path length does not allow it;
 *   BAD_SIGNATURE_ALG: signed with a hash outside the profile (SHA-1, MD5, SHA-224);
 *   BAD_KEY: a key outside the profile (RSA under 2048 bits), leaf or issuer;
 *   UNSUPPORTED_CRITICAL_EXTENSION: a certificate of the chain (not an anchor) with a
 *     critical extension the core does not enforce (e.g. nameConstraints);
 *   PATH_TOO_LONG: more than 10 intermediates; path then holds the leaf only;
 *   OTHER: any other mbedTLS verification flag.
 * trusted is true exactly when flags is empty. */
int cc_x509_verify_chain(const uint8_t *chain, size_t chain_len,
                         const uint8_t *anchors, size_t anchors_len,
                         const uint8_t *now, size_t now_len, cc_buf *json);

#endif /* CC_X509_H */
