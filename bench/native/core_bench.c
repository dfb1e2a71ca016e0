/*
 * Native side of the core benchmark: times the crypto core's cc_* functions, linked from
 * build/native/libcertd-core.a (the same C and mbedTLS configuration as the WASI module,
 * compiled by gcc). bench/core.ts runs the same operations, with the same seeds and
 * inputs, through the wasm module and compares.
 *
 *   core_bench [--min-time S] [--min-iters N] [--only id,id] [--p12 id=FILE ...] [--pass P]
 *
 * Prints one JSON object on stdout: {"driver":"native", "ops":[...]}. Each op is timed
 * per iteration until it has run at least --min-time seconds and --min-iters iterations
 * (RSA key generation: once per fixed seed). Functions whose header is not in
 * crypto-core/include yet are reported as "n/a" (bench/build.sh sets BENCH_HAVE_*).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cc.h"
#include "cc_pk.h"
#if BENCH_HAVE_CSR
#include "cc_x509write.h"
#endif
#if BENCH_HAVE_P12
#include "cc_pkcs12.h"
#endif

#include "bench_params.h"

/* --- timing ------------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static double min_time = 1.0;
static long min_iters = 5;
static const char *only;

typedef int (*op_fn)(void *ctx, long i);

typedef struct result {
    const char *status; /* "ok", "n/a", "error" */
    const char *reason;
    long iters;
    double total;
    double *samples; /* seconds per iteration */
} result;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static int first_op = 1;

static void emit(const char *id, result *r)
{
    printf("%s\n    {\"id\": \"%s\", \"status\": \"%s\"", first_op ? "" : ",", id, r->status);
    first_op = 0;
    if (r->reason != NULL) {
        printf(", \"reason\": \"%s\"", r->reason);
    }
    if (strcmp(r->status, "ok") == 0 && r->iters > 0) {
        double *s = malloc(sizeof(double) * (size_t) r->iters);
        memcpy(s, r->samples, sizeof(double) * (size_t) r->iters);
        qsort(s, (size_t) r->iters, sizeof(double), cmp_double);
        double median = (r->iters % 2) ? s[r->iters / 2] : (s[r->iters / 2 - 1] + s[r->iters / 2]) / 2;
        double mean = r->total / (double) r->iters;
        printf(", \"iterations\": %ld, \"total_s\": %.6f, \"mean_us\": %.3f, \"median_us\": %.3f, "
               "\"min_us\": %.3f, \"max_us\": %.3f, \"ops_per_s\": %.3f",
               r->iters, r->total, mean * 1e6, median * 1e6, s[0] * 1e6, s[r->iters - 1] * 1e6,
               1.0 / mean);
        free(s);
        printf(", \"samples_us\": [");
        for (long i = 0; i < r->iters && i < BENCH_MAX_SAMPLES_OUT; i++) {
            printf("%s%.3f", i ? ", " : "", r->samples[i] * 1e6);
        }
        printf("]");
    }
    printf("}");
    fflush(stdout);
}

static int selected(const char *id)
{
    if (only == NULL) {
        return 1;
    }
    size_t n = strlen(id);
    const char *p = only;
    while ((p = strstr(p, id)) != NULL) {
        if ((p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ',')) {
            return 1;
        }
        p += n;
    }
    return 0;
}

/* Runs fn: one untimed warm-up call, then timed calls until min_time and min_iters (or
 * exactly fixed_iters when > 0). */
static void run(const char *id, op_fn fn, void *ctx, long fixed_iters)
{
    result r = { "ok", NULL, 0, 0.0, NULL };
    long cap = 1024;

    if (!selected(id)) {
        return;
    }
    r.samples = malloc(sizeof(double) * (size_t) cap);
    if (fixed_iters == 0 && fn(ctx, -1) != 0) {
        r.status = "error";
        r.reason = "warm-up call failed";
        emit(id, &r);
        free(r.samples);
        return;
    }
    for (;;) {
        if (fixed_iters > 0 ? r.iters >= fixed_iters
                            : (r.total >= min_time && r.iters >= min_iters)) {
            break;
        }
        if (r.iters == cap) {
            cap *= 2;
            r.samples = realloc(r.samples, sizeof(double) * (size_t) cap);
        }
        double t0 = now_s();
        int ret = fn(ctx, r.iters);
        double dt = now_s() - t0;
        if (ret != 0) {
            r.status = "error";
            r.reason = "call failed";
            break;
        }
        r.samples[r.iters++] = dt;
        r.total += dt;
    }
    emit(id, &r);
    free(r.samples);
}

static void not_available(const char *id, const char *reason)
{
    result r = { "n/a", reason, 0, 0.0, NULL };
    if (selected(id)) {
        emit(id, &r);
    }
}

/* --- operations ---------------------------------------------------------------------- */

static void clear(cc_buf *b)
{
    if (b->p != NULL) {
        memset(b->p, 0, b->len);
        cc_free(b->p);
    }
    b->p = NULL;
    b->len = 0;
}

typedef struct keygen_ctx {
    int kind, size;
    const char *const *seeds;
    long nseeds;
} keygen_ctx;

static int op_keygen(void *vctx, long i)
{
    keygen_ctx *c = vctx;
    const char *seed = c->seeds[(i < 0 ? 0 : i) % c->nseeds];
    cc_buf key = { 0 }, spki = { 0 };
    int ret = cc_pk_generate(c->kind, c->size, (const uint8_t *) seed, strlen(seed), &key, &spki);
    clear(&key);
    clear(&spki);
    return ret < 0 ? ret : 0;
}

typedef struct sign_ctx {
    cc_buf key, spki;
    int scheme;
} sign_ctx;

static int op_sign(void *vctx, long i)
{
    sign_ctx *c = vctx;
    cc_buf sig = { 0 };
    int ret = cc_pk_sign(c->key.p, c->key.len, c->scheme, CC_MD_SHA256, bench_digest,
                         sizeof(bench_digest), &sig);
    clear(&sig);
    return ret < 0 ? ret : 0;
}

/* A key for the sign and CSR operations, the same one the wasm side makes. */
static int make_key(int kind, int size, sign_ctx *c)
{
    const char *seed = BENCH_KEY_SEED;
    memset(c, 0, sizeof(*c));
    c->scheme = kind == CC_KEY_EC ? CC_SIG_ECDSA : CC_SIG_PKCS1V15;
    return cc_pk_generate(kind, size, (const uint8_t *) seed, strlen(seed), &c->key, &c->spki);
}

/* Signs once and verifies, so that a benchmark never times a broken operation. */
static int check_sign(sign_ctx *c)
{
    cc_buf sig = { 0 };
    int ret = cc_pk_sign(c->key.p, c->key.len, c->scheme, CC_MD_SHA256, bench_digest,
                         sizeof(bench_digest), &sig);
    if (ret >= 0) {
        ret = cc_pk_verify(c->spki.p, c->spki.len, c->scheme, CC_MD_SHA256, bench_digest,
                           sizeof(bench_digest), sig.p, sig.len) == 1 ? 0 : -1;
    }
    clear(&sig);
    return ret;
}

#if BENCH_HAVE_CSR
/* CSR build as certd does it with a key store: TBS and digest, sign, assemble (which checks
 * the signature against the request's key). */
static int op_csr(void *vctx, long i)
{
    sign_ctx *c = vctx;
    cc_buf cri = { 0 }, digest = { 0 }, alg = { 0 }, sig = { 0 }, der = { 0 };
    int md = CC_MD_SHA256;
    int ret = cc_x509_csr_tbs(c->spki.p, c->spki.len,
                              (const uint8_t *) BENCH_CSR_SUBJECT, strlen(BENCH_CSR_SUBJECT),
                              (const uint8_t *) BENCH_CSR_SANS, strlen(BENCH_CSR_SANS),
                              &cri, &digest, &alg);
    if (ret >= 0) {
        /* {"scheme":"ECDSA","digest":"SHA-256"}: the digest the key store must use. */
        char json[128] = { 0 };
        memcpy(json, alg.p, alg.len < sizeof(json) - 1 ? alg.len : sizeof(json) - 1);
        md = strstr(json, "SHA-512") ? CC_MD_SHA512 : strstr(json, "SHA-384") ? CC_MD_SHA384 : CC_MD_SHA256;
        ret = cc_pk_sign(c->key.p, c->key.len, c->scheme, md, digest.p, digest.len, &sig);
    }
    if (ret >= 0) {
        ret = cc_x509_csr_assemble(cri.p, cri.len, sig.p, sig.len, CC_SIGFMT_DER, &der);
    }
    clear(&cri);
    clear(&digest);
    clear(&alg);
    clear(&sig);
    clear(&der);
    return ret < 0 ? ret : 0;
}
#endif

#if BENCH_HAVE_P12
typedef struct p12_ctx {
    uint8_t *pfx;
    size_t len;
    const char *pass;
} p12_ctx;

static int op_p12(void *vctx, long i)
{
    p12_ctx *c = vctx;
    cc_buf key = { 0 }, spki = { 0 }, cert = { 0 }, chain = { 0 };
    int ret = cc_pkcs12_decode(c->pfx, c->len, (const uint8_t *) c->pass, strlen(c->pass),
                               &key, &spki, &cert, &chain);
    clear(&key);
    clear(&spki);
    clear(&cert);
    clear(&chain);
    return ret < 0 ? ret : 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t) n);
        if (buf != NULL && fread(buf, 1, (size_t) n, f) != (size_t) n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t) n;
    }
    fclose(f);
    return buf;
}
#endif

/* --- main ---------------------------------------------------------------------------- */

#define MAX_P12 4

int main(int argc, char **argv)
{
    const char *p12_id[MAX_P12], *p12_file[MAX_P12];
    int np12 = 0;
    const char *pass = "";

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--min-time") == 0 && i + 1 < argc) {
            min_time = atof(argv[++i]);
        } else if (strcmp(argv[i], "--min-iters") == 0 && i + 1 < argc) {
            min_iters = atol(argv[++i]);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--p12") == 0 && i + 1 < argc && np12 < MAX_P12) {
            char *eq = strchr(argv[++i], '=');
            if (eq == NULL) {
                fprintf(stderr, "core_bench: --p12 wants id=FILE\n");
                return 2;
            }
            *eq = '\0';
            p12_id[np12] = argv[i];
            p12_file[np12++] = eq + 1;
        } else if (strcmp(argv[i], "--pass") == 0 && i + 1 < argc) {
            pass = argv[++i];
        } else {
            fprintf(stderr, "usage: core_bench [--min-time S] [--min-iters N] [--only id,id] "
                            "[--p12 id=FILE] [--pass P]\n");
            return 2;
        }
    }
    if (cc_core_init() < 0) {
        fprintf(stderr, "core_bench: cc_core_init failed\n");
        return 1;
    }

    printf("{\"driver\": \"native\", \"compiler\": \"gcc %s\", \"min_time_s\": %g, \"min_iters\": %ld, \"ops\": [",
           __VERSION__, min_time, min_iters);

    static const char *const ec_seeds[] = { BENCH_EC_SEEDS };
    static const char *const rsa_seeds[] = { BENCH_RSA_SEEDS };
    long n_ec = (long) (sizeof(ec_seeds) / sizeof(ec_seeds[0]));
    long n_rsa = (long) (sizeof(rsa_seeds) / sizeof(rsa_seeds[0]));

    keygen_ctx kg256 = { CC_KEY_EC, 256, ec_seeds, n_ec };
    keygen_ctx kg384 = { CC_KEY_EC, 384, ec_seeds, n_ec };
    keygen_ctx kgrsa = { CC_KEY_RSA, 2048, rsa_seeds, n_rsa };
    run("keygen-p256", op_keygen, &kg256, 0);
    run("keygen-p384", op_keygen, &kg384, 0);
    if (selected("keygen-rsa2048")) { /* warm-up with a seed outside the timed set */
        static const char *const warm[] = { BENCH_RSA_WARMUP_SEED };
        keygen_ctx kw = { CC_KEY_RSA, 2048, warm, 1 };
        op_keygen(&kw, 0);
    }
    /* Every seed exactly once: the prime search differs per seed, the set is the same work. */
    run("keygen-rsa2048", op_keygen, &kgrsa, n_rsa);

    /* The signing keys (seeded: the same as the wasm side's), made only when needed. */
    sign_ctx ec, rsa;
    memset(&ec, 0, sizeof(ec));
    memset(&rsa, 0, sizeof(rsa));
    int ec_ok = 0, rsa_ok = 0;
    if (selected("sign-p256") || selected("csr-p256")) {
        ec_ok = make_key(CC_KEY_EC, 256, &ec) >= 0 && check_sign(&ec) == 0;
    }
    if (selected("sign-rsa2048") || selected("csr-rsa2048")) {
        rsa_ok = make_key(CC_KEY_RSA, 2048, &rsa) >= 0 && check_sign(&rsa) == 0;
    }
    if (ec_ok) {
        run("sign-p256", op_sign, &ec, 0);
    } else {
        not_available("sign-p256", "key generation or sign/verify check failed");
    }
    if (rsa_ok) {
        run("sign-rsa2048", op_sign, &rsa, 0);
    } else {
        not_available("sign-rsa2048", "key generation or sign/verify check failed");
    }

#if BENCH_HAVE_CSR
    if (ec_ok) {
        run("csr-p256", op_csr, &ec, 0);
    } else {
        not_available("csr-p256", "key generation or sign/verify check failed");
    }
    if (rsa_ok) {
        run("csr-rsa2048", op_csr, &rsa, 0);
    } else {
        not_available("csr-rsa2048", "key generation or sign/verify check failed");
    }
#else
    not_available("csr-p256", "cc_x509_csr_tbs/cc_x509_csr_assemble not in the core yet");
    not_available("csr-rsa2048", "cc_x509_csr_tbs/cc_x509_csr_assemble not in the core yet");
#endif

    for (int i = 0; i < np12; i++) {
#if BENCH_HAVE_P12
        p12_ctx pc = { NULL, 0, pass };
        pc.pfx = read_file(p12_file[i], &pc.len);
        if (pc.pfx == NULL) {
            not_available(p12_id[i], "PKCS#12 file not readable");
            continue;
        }
        run(p12_id[i], op_p12, &pc, 0);
        free(pc.pfx);
#else
        (void) p12_file;
        not_available(p12_id[i], "cc_pkcs12_decode not in the core yet");
#endif
    }
    (void) pass;

    printf("\n]}\n");
    clear(&ec.key);
    clear(&ec.spki);
    clear(&rsa.key);
    clear(&rsa.spki);
    return 0;
}
