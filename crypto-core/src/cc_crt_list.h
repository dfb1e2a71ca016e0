/* Certificates read from DER or PEM input into a list, for the descriptions (cc_x509.c) and
 * the chain verifier (cc_x509_chain.c). Not exported. */
#ifndef CC_CRT_LIST_H
#define CC_CRT_LIST_H

#include "cc_internal.h"
#include "cc_x509.h"
#include "mbedtls/x509_crt.h"

#define CC_CRT_UNSUPPORTED_MAX 8   /* unsupported critical extensions one certificate may have */

/* One parsed certificate. crt comes first: mbedTLS hands back crt pointers, which are then
 * node pointers. */
typedef struct {
    mbedtls_x509_crt crt;
    int is_anchor;
    long long not_before, not_after;                         /* seconds since the epoch */
    size_t unsupported_count;
    mbedtls_x509_buf unsupported[CC_CRT_UNSUPPORTED_MAX];    /* OIDs, pointing into crt.raw */
} cc_crt_node;

typedef struct {
    size_t count;
    cc_crt_node *node[CC_X509_MAX_ANCHORS];
} cc_crt_list;

void cc_crt_list_init(cc_crt_list *list);
/* Frees every node; nodes that were linked (crt.next) for mbedTLS are unlinked first. */
void cc_crt_list_free(cc_crt_list *list);

/* Appends the certificates of in (one DER certificate, or PEM text with CERTIFICATE
 * blocks), at most max in the list; the statuses of cc_x509.h. Critical extensions mbedTLS
 * does not know are accepted and listed in the node. */
int cc_crt_list_read(cc_crt_list *list, size_t max, const uint8_t *in, size_t len);

#endif /* CC_CRT_LIST_H */
