/* PKCS#12 (RFC 7292) decoding: PFX -> AuthenticatedSafe -> SafeContents -> SafeBags.
 * mbedTLS has no PFX parser. This one reads BER, not only DER (cc_ber): Java (Bouncy
 * Castle) and some Windows exports write indefinite lengths and chunked OCTET STRINGs.
 * Decryption is cc_pbe's; key parsing and writing is mbedTLS's through cc_pk_export. */
#include <string.h>

#include "cc_ber.h"
#include "cc_internal.h"
#include "cc_pbe.h"
#include "cc_pkcs12.h"
#include "mbedtls/constant_time.h"
#include "mbedtls/md.h"
#include "mbedtls/oid.h"
#include "mbedtls/pem.h"
#include "mbedtls/pk.h"
#include "mbedtls/pkcs12.h"
#include "mbedtls/platform_util.h"

/* Limits against hostile files. */
#define P12_MAX_LEN       (4u << 20) /* bytes of a whole file */
#define P12_MAX_NESTING   8          /* SafeContents within safeContentsBags */
#define P12_MAX_CERTS     64
#define P12_MAX_ENCRYPTED 4          /* encrypted safes: each costs KDF runs */
/* KDF iterations one file may cost in all (MAC, encrypted safes, key): five runs at the
 * per-run cap (a legacy file at the cap spends five: its PBEs derive key and IV apart), so
 * that a file of many runs cannot multiply the cap. */
#define P12_MAX_KDF_ITERATIONS (5 * CC_PBE_MAX_ITERATIONS)
#define SPKI_DER_MAX      1100       /* as in cc_pk.c */

#define TAG_INTEGER      0x02
#define TAG_OCTET_STRING 0x04
#define TAG_OID          0x06
#define TAG_SEQUENCE     0x30
#define TAG_CTX0_PRIM    0x80 /* [0] IMPLICIT OCTET STRING */
#define TAG_CTX0         0xA0 /* [0] EXPLICIT */

#define OID_DATA           MBEDTLS_OID_PKCS7_DATA
#define OID_ENCRYPTED_DATA MBEDTLS_OID_PKCS7_ENCRYPTED_DATA
#define OID_KEY_BAG        MBEDTLS_OID_PKCS12 "\x0a\x01\x01"
#define OID_SHROUDED_BAG   MBEDTLS_OID_PKCS12 "\x0a\x01\x02"
#define OID_CERT_BAG       MBEDTLS_OID_PKCS12 "\x0a\x01\x03"
#define OID_CONTENTS_BAG   MBEDTLS_OID_PKCS12 "\x0a\x01\x06"
#define OID_X509_CERT      MBEDTLS_OID_PKCS9 "\x16\x01"
#define OID_IS(e, oid)     cc_ber_is_oid((e), (oid), sizeof(oid) - 1)

static const char PEM_BEGIN[] = "-----BEGIN CERTIFICATE-----\n";
static const char PEM_END[] = "-----END CERTIFICATE-----\n";

/* What the walk through the file found. */
typedef struct p12 {
    const uint8_t *pass;
    size_t pass_len;
    int mac_checked;  /* the MAC vouched for the passphrase */
    int unreadable;   /* content of a type not supported was skipped: it may hold the key */
    int encrypted;    /* encrypted safes read so far */
    int have_key;
    long kdf_left;    /* iterations the file may still spend (P12_MAX_KDF_ITERATIONS) */
    mbedtls_pk_context pk;
    cc_buf certs[P12_MAX_CERTS];
    size_t n_certs;
} p12;

/* cc_ber_get_octets, with a value that does not parse as the file's fault. */
static int get_octets(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **val,
                      size_t *len, uint8_t **owned)
{
    int ret = cc_ber_get_octets(p, end, tag, val, len, owned);

    return ret == CC_E_DER ? CC_E_P12 : ret;
}

/* Takes a KDF's iterations from the file's budget, before it runs. */
static int spend(p12 *c, long iterations)
{
    if (iterations > CC_PBE_MAX_ITERATIONS || iterations > c->kdf_left) {
        return CC_E_ITER;
    }
    c->kdf_left -= iterations;
    return CC_OK;
}

/* Decrypts under an AlgorithmIdentifier; cc_pbe's statuses become the file's. */
static int decrypt(p12 *c, const cc_ber *alg, const uint8_t *data, size_t len, cc_buf *out)
{
    size_t alg_len = (size_t) (alg->next - alg->start);
    int iterations = 0, runs = 0;
    int ret = cc_pbe_cost(alg->start, alg_len, &iterations, &runs);

    if (ret == CC_OK && (ret = spend(c, iterations)) == CC_OK && runs > 1) {
        ret = spend(c, iterations);
    }
    if (ret == CC_OK) {
        ret = cc_pbe_decrypt(alg->start, alg_len, c->pass, c->pass_len, data, len, out);
    }

    if (ret == CC_E_DER) {
        return CC_E_P12;
    }
    /* mbedTLS refused the parameters: a salt or a BMPString passphrase over 64 bytes. */
    if (ret == CC_E_INTERNAL) {
        return CC_E_ALG;
    }
    return ret;
}

/* Takes a PrivateKeyInfo as the file's key. Decrypted bytes that do not parse, when no MAC
 * vouched for the passphrase, are what a wrong one gives if the padding happens to check. */
static int take_key(p12 *c, const uint8_t *der, size_t len, int decrypted)
{
    int ret = mbedtls_pk_parse_key(&c->pk, der, len, NULL, 0, cc_rng, cc_rng_ctx());

    /* mbedTLS does not check a parsed private half against the public one; without a MAC
     * a damaged key would come out whole, matching its certificate and signing wrong. */
    if (ret == 0) {
        ret = mbedtls_pk_check_pair(&c->pk, &c->pk, cc_rng, cc_rng_ctx()) == 0 ? CC_OK : CC_E_KEY;
    } else {
        ret = cc_status_from_mbedtls(ret);
    }
    if (ret == CC_OK) {
        c->have_key = 1;
        return CC_OK;
    }
    if (ret == CC_E_KEY_TYPE || ret == CC_E_NOMEM) {
        return ret;
    }
    return decrypted && !c->mac_checked ? CC_E_PASS_WRONG : CC_E_P12;
}

/* keyBag: PrivateKeyInfo. pkcs8ShroudedKeyBag: EncryptedPrivateKeyInfo ::=
 * SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING } */
static int read_key_bag(p12 *c, const cc_ber *value, int shrouded)
{
    const uint8_t *p = value->p, *end = value->p + value->len, *data;
    cc_ber info, alg;
    cc_buf plain = { NULL, 0 };
    uint8_t *owned = NULL;
    size_t data_len = 0;
    int ret;

    if (c->have_key) {
        return CC_OK;
    }
    if (cc_ber_get(&p, end, TAG_SEQUENCE, &info) != CC_OK || p != end) {
        return CC_E_P12;
    }
    if (!shrouded) {
        return take_key(c, info.start, (size_t) (info.next - info.start), 0);
    }
    p = info.p;
    end = info.p + info.len;
    if (cc_ber_get(&p, end, TAG_SEQUENCE, &alg) != CC_OK) {
        return CC_E_P12;
    }
    ret = get_octets(&p, end, TAG_OCTET_STRING, &data, &data_len, &owned);
    if (ret == CC_OK) {
        ret = decrypt(c, &alg, data, data_len, &plain);
    }
    if (ret == CC_OK) {
        ret = take_key(c, plain.p, plain.len, 1);
    }
    cc_buf_clear(&plain);
    cc_wipe_free(owned, data_len);
    return ret;
}

/* CertBag ::= SEQUENCE { certId OID, certValue [0] EXPLICIT OCTET STRING } */
static int read_cert_bag(p12 *c, const cc_ber *value)
{
    const uint8_t *p = value->p, *end = value->p + value->len, *der;
    cc_ber bag, id, val;
    uint8_t *owned = NULL;
    size_t len = 0;
    int ret;

    if (cc_ber_get(&p, end, TAG_SEQUENCE, &bag) != CC_OK) {
        return CC_E_P12;
    }
    p = bag.p;
    end = bag.p + bag.len;
    if (cc_ber_get(&p, end, TAG_OID, &id) != CC_OK ||
        cc_ber_get(&p, end, TAG_CTX0, &val) != CC_OK) {
        return CC_E_P12;
    }
    if (!OID_IS(&id, OID_X509_CERT)) {
        return CC_OK; /* SDSI certificates */
    }
    if (c->n_certs == P12_MAX_CERTS) {
        return CC_E_P12;
    }
    p = val.p;
    ret = get_octets(&p, val.p + val.len, TAG_OCTET_STRING, &der, &len, &owned);
    if (ret == CC_OK) {
        ret = cc_buf_set(&c->certs[c->n_certs], der, len);
    }
    if (ret == CC_OK) {
        c->n_certs++;
    }
    cc_wipe_free(owned, len);
    return ret;
}

/* SafeContents ::= SEQUENCE OF SafeBag
 * SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY, bagAttributes SET OPTIONAL }
 * Attributes and bags of other types (CRL, secret) are ignored. */
static int read_safe_contents(p12 *c, const uint8_t *p, size_t len, int nesting)
{
    const uint8_t *end = p + len, *q;
    cc_ber seq, bag, id, value;
    int ret = CC_OK;

    if (nesting > P12_MAX_NESTING || cc_ber_get(&p, end, TAG_SEQUENCE, &seq) != CC_OK ||
        p != end) {
        return CC_E_P12;
    }
    p = seq.p;
    end = seq.p + seq.len;
    while (ret == CC_OK && p < end) {
        if (cc_ber_get(&p, end, TAG_SEQUENCE, &bag) != CC_OK) {
            return CC_E_P12;
        }
        q = bag.p;
        if (cc_ber_get(&q, bag.p + bag.len, TAG_OID, &id) != CC_OK ||
            cc_ber_get(&q, bag.p + bag.len, TAG_CTX0, &value) != CC_OK) {
            return CC_E_P12;
        }
        if (OID_IS(&id, OID_KEY_BAG)) {
            ret = read_key_bag(c, &value, 0);
        } else if (OID_IS(&id, OID_SHROUDED_BAG)) {
            ret = read_key_bag(c, &value, 1);
        } else if (OID_IS(&id, OID_CERT_BAG)) {
            ret = read_cert_bag(c, &value);
        } else if (OID_IS(&id, OID_CONTENTS_BAG)) {
            ret = read_safe_contents(c, value.p, value.len, nesting + 1);
        }
    }
    return ret;
}

/* EncryptedData ::= SEQUENCE { version INTEGER, EncryptedContentInfo, ... }
 * EncryptedContentInfo ::= SEQUENCE { contentType OID, AlgorithmIdentifier,
 *                                     encryptedContent [0] IMPLICIT OCTET STRING OPTIONAL } */
static int read_encrypted(p12 *c, const cc_ber *content)
{
    const uint8_t *p = content->p, *end = content->p + content->len, *data;
    cc_ber ed, version, eci, type, alg;
    cc_buf plain = { NULL, 0 };
    uint8_t *owned = NULL;
    size_t len = 0;
    int ret;

    if (cc_ber_get(&p, end, TAG_SEQUENCE, &ed) != CC_OK) {
        return CC_E_P12;
    }
    p = ed.p;
    end = ed.p + ed.len;
    if (cc_ber_get(&p, end, TAG_INTEGER, &version) != CC_OK ||
        cc_ber_get(&p, end, TAG_SEQUENCE, &eci) != CC_OK) {
        return CC_E_P12;
    }
    p = eci.p;
    end = eci.p + eci.len;
    if (cc_ber_get(&p, end, TAG_OID, &type) != CC_OK || !OID_IS(&type, OID_DATA) ||
        cc_ber_get(&p, end, TAG_SEQUENCE, &alg) != CC_OK) {
        return CC_E_P12;
    }
    if (p == end) {
        return CC_OK; /* no content */
    }
    if (++c->encrypted > P12_MAX_ENCRYPTED) {
        return CC_E_P12;
    }
    ret = get_octets(&p, end, TAG_CTX0_PRIM, &data, &len, &owned);
    if (ret == CC_OK) {
        ret = decrypt(c, &alg, data, len, &plain);
    }
    if (ret == CC_OK) {
        ret = read_safe_contents(c, plain.p, plain.len, 0);
        if (ret == CC_E_P12 && !c->mac_checked) {
            ret = CC_E_PASS_WRONG;
        }
    }
    cc_buf_clear(&plain);
    cc_wipe_free(owned, len);
    return ret;
}

/* ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY OPTIONAL }, at *p.
 * content->len is 0 when absent. */
static int read_content_info(const uint8_t **p, const uint8_t *end, cc_ber *type,
                             cc_ber *content)
{
    cc_ber ci;
    const uint8_t *q;

    if (cc_ber_get(p, end, TAG_SEQUENCE, &ci) != CC_OK) {
        return CC_E_P12;
    }
    q = ci.p;
    if (cc_ber_get(&q, ci.p + ci.len, TAG_OID, type) != CC_OK) {
        return CC_E_P12;
    }
    memset(content, 0, sizeof(*content));
    if (q < ci.p + ci.len && cc_ber_get(&q, ci.p + ci.len, TAG_CTX0, content) != CC_OK) {
        return CC_E_P12;
    }
    return CC_OK;
}

/* The OCTET STRING in the content of a ContentInfo of type data (see cc_ber_get_octets). */
static int data_octets(const cc_ber *content, const uint8_t **val, size_t *len, uint8_t **owned)
{
    const uint8_t *p = content->p;

    *owned = NULL;
    *len = 0;
    if (content->len == 0) {
        return CC_E_P12;
    }
    return get_octets(&p, content->p + content->len, TAG_OCTET_STRING, val, len, owned);
}

/* AuthenticatedSafe ::= SEQUENCE OF ContentInfo (data or encryptedData) */
static int read_auth_safe(p12 *c, const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len, *data;
    cc_ber seq, type, content;
    uint8_t *owned;
    size_t data_len;
    int ret = CC_OK;

    if (cc_ber_get(&p, end, TAG_SEQUENCE, &seq) != CC_OK || p != end) {
        return CC_E_P12;
    }
    p = seq.p;
    end = seq.p + seq.len;
    while (ret == CC_OK && p < end) {
        if (read_content_info(&p, end, &type, &content) != CC_OK) {
            return CC_E_P12;
        }
        if (OID_IS(&type, OID_DATA)) {
            ret = data_octets(&content, &data, &data_len, &owned);
            if (ret == CC_OK) {
                ret = read_safe_contents(c, data, data_len, 0);
            }
            cc_wipe_free(owned, data_len);
        } else if (OID_IS(&type, OID_ENCRYPTED_DATA) && content.len > 0) {
            ret = read_encrypted(c, &content);
        } else {
            c->unreadable = 1; /* public-key privacy mode (envelopedData) and the like */
        }
    }
    return ret;
}

/* One MAC attempt: key = PKCS#12 KDF (ID 3) of the passphrase, HMAC over the content. */
static int mac_matches(mbedtls_md_type_t md, const uint8_t *pwd, size_t pwd_len,
                       const cc_ber *salt, int iterations, const uint8_t *content,
                       size_t content_len, const cc_ber *digest)
{
    unsigned char key[MBEDTLS_MD_MAX_SIZE], mac[MBEDTLS_MD_MAX_SIZE];
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    size_t size = mbedtls_md_get_size(info);
    int ret;

    ret = cc_pbe_pkcs12_kdf(md, pwd, pwd_len, salt->p, salt->len, MBEDTLS_PKCS12_DERIVE_MAC_KEY,
                            iterations, key, size);
    if (ret == CC_OK) {
        ret = cc_status_from_mbedtls(mbedtls_md_hmac(info, key, size, content, content_len, mac));
    }
    if (ret == CC_OK) {
        ret = mbedtls_ct_memcmp(mac, digest->p, size) == 0 ? CC_OK : CC_E_PASS_WRONG;
    }
    mbedtls_platform_zeroize(key, sizeof(key));
    mbedtls_platform_zeroize(mac, sizeof(mac));
    return ret;
}

/* MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
 * DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING } */
static int check_mac(p12 *c, const cc_ber *mac_data, const uint8_t *content,
                     size_t content_len)
{
    const uint8_t *p = mac_data->p, *end = mac_data->p + mac_data->len, *q;
    cc_ber info, alg, oid, digest, salt, iter;
    mbedtls_asn1_buf md_oid;
    mbedtls_md_type_t md;
    uint8_t *bmp = NULL;
    size_t bmp_len = 0, i;
    uint32_t iterations = 1;
    int ret;

    if (cc_ber_get(&p, end, TAG_SEQUENCE, &info) != CC_OK ||
        cc_ber_get(&p, end, TAG_OCTET_STRING, &salt) != CC_OK) {
        return CC_E_P12;
    }
    if (p < end) {
        if (cc_ber_get(&p, end, TAG_INTEGER, &iter) != CC_OK || p != end || iter.len == 0 ||
            (iter.p[0] & 0x80)) {
            return CC_E_P12;
        }
        for (iterations = 0, i = 0; i < iter.len; i++) {
            if (iterations > CC_PBE_MAX_ITERATIONS) {
                return CC_E_ITER;
            }
            iterations = (iterations << 8) | iter.p[i];
        }
    }
    if (iterations < 1) {
        return CC_E_P12;
    }
    if ((ret = spend(c, (long) iterations)) != CC_OK) {
        return ret;
    }
    q = info.p;
    if (cc_ber_get(&q, info.p + info.len, TAG_SEQUENCE, &alg) != CC_OK ||
        cc_ber_get(&q, info.p + info.len, TAG_OCTET_STRING, &digest) != CC_OK) {
        return CC_E_P12;
    }
    q = alg.p;
    if (cc_ber_get(&q, alg.p + alg.len, TAG_OID, &oid) != CC_OK) {
        return CC_E_P12;
    }
    md_oid.tag = MBEDTLS_ASN1_OID;
    md_oid.p = (unsigned char *) oid.p;
    md_oid.len = oid.len;
    if (mbedtls_oid_get_md_alg(&md_oid, &md) != 0 ||
        (md != MBEDTLS_MD_SHA1 && md != MBEDTLS_MD_SHA224 && md != MBEDTLS_MD_SHA256 &&
         md != MBEDTLS_MD_SHA384 && md != MBEDTLS_MD_SHA512)) {
        return CC_E_ALG;
    }
    if (digest.len != mbedtls_md_get_size(mbedtls_md_info_from_type(md))) {
        return CC_E_P12;
    }
    if ((ret = cc_pbe_bmp_password(c->pass, c->pass_len, &bmp, &bmp_len)) != CC_OK) {
        return ret;
    }
    ret = mac_matches(md, bmp, bmp_len, &salt, (int) iterations, content, content_len, &digest);
    /* An empty passphrase reaches the KDF as an empty BMPString (00 00) or as no bytes,
     * depending on the writer; OpenSSL tries both too. */
    if (ret == CC_E_PASS_WRONG && c->pass_len == 0 && spend(c, (long) iterations) == CC_OK) {
        ret = mac_matches(md, bmp, 0, &salt, (int) iterations, content, content_len, &digest);
    }
    cc_wipe_free(bmp, bmp_len);
    return ret;
}

/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serial,
 * signature, issuer, validity, subject, subjectPublicKeyInfo, ... }, ... }
 * Whether the certificate's public key is spki, compared re-encoded (a certificate may
 * hold an EC point compressed). A key mbedTLS does not read is no match. */
static int cert_has_key(const cc_buf *crt, const cc_buf *spki, int *match)
{
    const uint8_t *p = crt->p, *end = crt->p + crt->len;
    unsigned char buf[SPKI_DER_MAX];
    mbedtls_pk_context pk;
    cc_ber cert, tbs, e;
    int i, n;

    *match = 0;
    if (cc_ber_get(&p, end, TAG_SEQUENCE, &cert) != CC_OK || p != end) {
        return CC_E_P12;
    }
    p = cert.p;
    if (cc_ber_get(&p, cert.p + cert.len, TAG_SEQUENCE, &tbs) != CC_OK) {
        return CC_E_P12;
    }
    p = tbs.p;
    end = tbs.p + tbs.len;
    if (cc_ber_read(p, end, &e) == CC_OK && e.tag == TAG_CTX0) {
        p = e.next;
    }
    for (i = 0; i < 5; i++) {
        if (cc_ber_read(p, end, &e) != CC_OK) {
            return CC_E_P12;
        }
        p = e.next;
    }
    if (cc_ber_get(&p, end, TAG_SEQUENCE, &e) != CC_OK) {
        return CC_E_P12;
    }
    mbedtls_pk_init(&pk);
    if (mbedtls_pk_parse_public_key(&pk, e.start, (size_t) (e.next - e.start)) == 0) {
        n = mbedtls_pk_write_pubkey_der(&pk, buf, sizeof(buf));
        *match = n > 0 && (size_t) n == spki->len &&
                 memcmp(buf + sizeof(buf) - n, spki->p, spki->len) == 0;
    }
    mbedtls_pk_free(&pk);
    return CC_OK;
}

/* The key's certificate into cert, every other one as PEM into chain. */
static int split_certs(const p12 *c, const cc_buf *spki, cc_buf *cert, cc_buf *chain)
{
    size_t i, found = P12_MAX_CERTS, total = 0, used = 0, olen = 0;
    int match, ret;

    for (i = 0; i < c->n_certs; i++) {
        if ((ret = cert_has_key(&c->certs[i], spki, &match)) != CC_OK) {
            return ret;
        }
        if (match && found == P12_MAX_CERTS) {
            found = i;
        } else {
            /* Asked for with no room, it says how much it needs (with a NUL). */
            (void) mbedtls_pem_write_buffer(PEM_BEGIN, PEM_END, c->certs[i].p, c->certs[i].len,
                                            NULL, 0, &olen);
            total += olen;
        }
    }
    if (found == P12_MAX_CERTS) {
        return c->unreadable ? CC_E_ALG : CC_E_P12_NO_CERT;
    }
    if ((ret = cc_buf_set(cert, c->certs[found].p, c->certs[found].len)) != CC_OK) {
        return ret;
    }
    if (total == 0) {
        return CC_OK;
    }
    if ((chain->p = cc_alloc(total)) == NULL) {
        return CC_E_NOMEM;
    }
    for (i = 0; i < c->n_certs; i++) {
        if (i == found) {
            continue;
        }
        ret = mbedtls_pem_write_buffer(PEM_BEGIN, PEM_END, c->certs[i].p, c->certs[i].len,
                                       chain->p + used, total - used, &olen);
        if (ret != 0) {
            return cc_status_from_mbedtls(ret);
        }
        used += olen - 1; /* the next block overwrites the NUL */
        chain->len = used;
    }
    return CC_OK;
}

/* PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL } */
int cc_pkcs12_decode(const uint8_t *pfx, size_t pfx_len, const uint8_t *pass, size_t pass_len,
                     cc_buf *key, cc_buf *spki, cc_buf *cert, cc_buf *chain)
{
    const uint8_t *p = pfx, *end = pfx + pfx_len, *auth = NULL;
    cc_ber seq, version, type, content, mac;
    uint8_t *owned = NULL;
    size_t auth_len = 0, i;
    p12 c;
    int ret = CC_E_P12;

    memset(&c, 0, sizeof(c));
    mbedtls_pk_init(&c.pk);
    c.pass = pass;
    c.pass_len = pass_len;
    c.kdf_left = P12_MAX_KDF_ITERATIONS;
    if (pfx_len > P12_MAX_LEN || cc_ber_get(&p, end, TAG_SEQUENCE, &seq) != CC_OK || p != end) {
        goto cleanup;
    }
    p = seq.p;
    end = seq.p + seq.len;
    if (cc_ber_get(&p, end, TAG_INTEGER, &version) != CC_OK || version.len != 1 ||
        version.p[0] != 3 || read_content_info(&p, end, &type, &content) != CC_OK) {
        goto cleanup;
    }
    if (!OID_IS(&type, OID_DATA)) {
        ret = CC_E_ALG; /* public-key integrity mode (signedData) */
        goto cleanup;
    }
    if ((ret = data_octets(&content, &auth, &auth_len, &owned)) != CC_OK) {
        goto cleanup;
    }
    if (p < end) {
        if (cc_ber_get(&p, end, TAG_SEQUENCE, &mac) != CC_OK || p != end) {
            ret = CC_E_P12;
            goto cleanup;
        }
        if ((ret = check_mac(&c, &mac, auth, auth_len)) != CC_OK) {
            goto cleanup;
        }
        c.mac_checked = 1;
    }
    if ((ret = read_auth_safe(&c, auth, auth_len)) != CC_OK) {
        goto cleanup;
    }
    if (!c.have_key) {
        ret = c.unreadable ? CC_E_ALG : CC_E_P12_NO_KEY;
        goto cleanup;
    }
    if ((ret = cc_pk_export(&c.pk, key, spki)) == CC_OK) {
        ret = split_certs(&c, spki, cert, chain);
    }

cleanup:
    if (ret != CC_OK) {
        cc_buf_clear(key);
        cc_buf_clear(spki);
        cc_buf_clear(cert);
        cc_buf_clear(chain);
    }
    cc_wipe_free(owned, auth_len);
    for (i = 0; i < c.n_certs; i++) {
        cc_buf_clear(&c.certs[i]);
    }
    mbedtls_pk_free(&c.pk);
    return ret;
}
