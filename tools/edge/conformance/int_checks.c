// int_checks.c: conformance_int, the int8 / bf16 half of the conformance driver. Every path of
//   sito_quantize_rows_i8, sito_f32_to_bf16, sito_i8_row_sums(_blocked16), sito_gemm_i8,
//   sito_gemm_i8_blocked16, sito_gemm_i8_blocked16_2pass, sito_gemm_bf16, sito_gemm_bf16_blocked16, and
//   of the int8-a16 scheme: sito_quantize_rows_i16, sito_gemm_i8_blocked16_a16, sito_gemm_i8_a16
// that this CPU has (each level of its chain up to the detected one, through the _isa entry points) is
// run against the scalar reference, and so is the un-suffixed entry point (the level in effect, which
// SITO_ISA lowers; reported as "selected:<path>"), on deterministic random inputs: ragged shapes (M, N, K
// not multiples of any tile, K odd, tiny and empty sizes), row strides longer than the rows, padding that
// must stay untouched, operands whose last row ends right before an inaccessible page (galloc).
// Tolerances are the named ones of Tests/CSitoKernelsTests/KernelTestSupport.swift:
//   int8 and a16 GEMMs, quantize (int8, int16), conversions, row sums: bit-identical (int8GemmToleranceULP = 0);
//   bf16 GEMM: bf16GemmTolerance = 2 (K + 2) 2^-24 Σ_k |x_k w_k| + |bias| 2^-23 per element, and each
//   path deterministic (two runs, same bits); K up to 8197, once with all-positive inputs (no cancellation).
// One conf_report per (kernel, path): the worst error over all shapes and the first failing case.
#include "conformance.h"
#include "sito_kernels.h"
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// MARK: - levels and bookkeeping

/// SCALAR, then every level of the detected level's chain up to it.
static size_t available_levels(sito_isa out[16]) {
    const sito_isa top = sito_kernels_detect_isa();
    size_t n = 0;
    out[n++] = SITO_ISA_SCALAR;
    for (int l = 1; l <= (int)SITO_ISA_NEON_BF16; l++)
        if (sito_isa_family_of((sito_isa)l) == sito_isa_family_of(top) && l <= (int)top) out[n++] = (sito_isa)l;
    return n;
}

/// A pseudo-level: call the un-suffixed entry point, i.e. the level in effect (sito_kernels_isa(), which
/// SITO_ISA lowers), so the process-wide selection is checked too, not only the _isa entry points.
#define SELECTED ((sito_isa)-1)

/// Every level to check: each available level (several may share a path: each is run, so the dispatch at
/// every level is exercised), then SELECTED.
typedef const char *(*path_name_fn)(sito_isa);
static size_t levels_to_check(sito_isa out[16]) {
    size_t k = available_levels(out);
    out[k++] = SELECTED;
    return k;
}

/// The path column of a report: the path's name, "path@level" when the level's name differs, or
/// "selected:<path>" for the un-suffixed entry point.
static const char *path_label(path_name_fn name, sito_isa level) {
    static char buf[64];
    if (level == SELECTED) snprintf(buf, sizeof buf, "selected:%s", name(sito_kernels_isa()));
    else if (strcmp(name(level), sito_kernels_isa_name(level)) != 0)
        snprintf(buf, sizeof buf, "%s@%s", name(level), sito_kernels_isa_name(level));
    else snprintf(buf, sizeof buf, "%s", name(level));
    return buf;
}

// The kernels at a level or, for SELECTED, through the un-suffixed entry points.
static size_t quantize_call(sito_isa level, const float *X, size_t ldx, size_t M, size_t K, int8_t *q, size_t ldq,
                            float *scale) {
    return level == SELECTED ? sito_quantize_rows_i8(X, ldx, M, K, q, ldq, scale)
                             : sito_quantize_rows_i8_isa(level, X, ldx, M, K, q, ldq, scale);
}

static void convert_call(sito_isa level, const float *src, uint16_t *dst, size_t n) {
    if (level == SELECTED) sito_f32_to_bf16(src, dst, n);
    else sito_f32_to_bf16_isa(level, src, dst, n);
}

static void gemm_i8_call(sito_isa level, const int8_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                         size_t ldw, const float *w_scale, const int32_t *w_sums, const float *bias, float *Y,
                         size_t ldy, size_t M, size_t N, size_t K) {
    if (level == SELECTED) sito_gemm_i8(xq, ldxq, x_scale, W, ldw, w_scale, w_sums, bias, Y, ldy, M, N, K);
    else sito_gemm_i8_isa(level, xq, ldxq, x_scale, W, ldw, w_scale, w_sums, bias, Y, ldy, M, N, K);
}

static void gemm_i8_blocked_call(sito_isa level, const int8_t *xq, size_t ldxq, const float *x_scale,
                                 const int8_t *W, const float *w_scale, const int32_t *w_sums, const float *bias,
                                 float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    if (level == SELECTED) sito_gemm_i8_blocked16(xq, ldxq, x_scale, W, w_scale, w_sums, bias, Y, ldy, M, N, K);
    else sito_gemm_i8_blocked16_isa(level, xq, ldxq, x_scale, W, w_scale, w_sums, bias, Y, ldy, M, N, K);
}

static void gemm_i8_2pass_call(sito_isa level, const int8_t *xq1, const float *s1, const int8_t *xq2, const float *s2,
                               size_t ldxq, const int8_t *W, const float *w_scale, const int32_t *w_sums,
                               const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    if (level == SELECTED) sito_gemm_i8_blocked16_2pass(xq1, s1, xq2, s2, ldxq, W, w_scale, w_sums, bias, Y, ldy, M, N, K);
    else sito_gemm_i8_blocked16_2pass_isa(level, xq1, s1, xq2, s2, ldxq, W, w_scale, w_sums, bias, Y, ldy, M, N, K);
}

static void gemm_bf16_call(sito_isa level, const uint16_t *xb, size_t ldxb, const uint16_t *W, size_t ldw,
                           const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    if (level == SELECTED) sito_gemm_bf16(xb, ldxb, W, ldw, bias, Y, ldy, M, N, K);
    else sito_gemm_bf16_isa(level, xb, ldxb, W, ldw, bias, Y, ldy, M, N, K);
}

static void gemm_bf16_blocked_call(sito_isa level, const uint16_t *xb, size_t ldxb, const uint16_t *W,
                                   const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    if (level == SELECTED) sito_gemm_bf16_blocked16(xb, ldxb, W, bias, Y, ldy, M, N, K);
    else sito_gemm_bf16_blocked16_isa(level, xb, ldxb, W, bias, Y, ldy, M, N, K);
}

/// One (kernel, path) outcome over many cases: ok until a case fails; the first failure's description.
typedef struct {
    int ok;
    double worst;
    char note[200];
} outcome;

static void outcome_init(outcome *o) {
    o->ok = 1;
    o->worst = 0;
    o->note[0] = 0;
}

static void outcome_fail(outcome *o, const char *what) {
    if (o->ok) snprintf(o->note, sizeof o->note, "%s", what);
    o->ok = 0;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "conformance: out of memory\n");
        exit(2);
    }
    return p;
}

/// Allocations whose LAST byte is followed by an inaccessible page: a kernel reading past the end of an
/// operand (e.g. a 16-byte vector load where only 4 bytes of the last row remain) faults instead of
/// silently reading neighbouring memory. The GEMM operands are allocated with their exact extent,
/// (rows - 1) · stride + K elements, so the last row ends at the guard page.
static struct { void *ptr, *base; size_t total; } guarded[64];

static void *galloc(size_t n) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t total = (n + page - 1) / page * page + page;
    uint8_t *base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED || mprotect(base + total - page, page, PROT_NONE) != 0) {
        fprintf(stderr, "conformance: mmap/mprotect failed\n");
        exit(2);
    }
    void *ptr = base + total - page - n;   // naturally aligned when n is a multiple of the element size
    for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; i++)
        if (!guarded[i].ptr) {
            guarded[i].ptr = ptr, guarded[i].base = base, guarded[i].total = total;
            return ptr;
        }
    fprintf(stderr, "conformance: too many guarded allocations\n");
    exit(2);
}

static void gfree(void *ptr) {
    for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; i++)
        if (ptr && guarded[i].ptr == ptr) {
            munmap(guarded[i].base, guarded[i].total);
            guarded[i].ptr = NULL;
            return;
        }
}

/// Elements of a [rows, cols] operand with row stride ld, up to the end of its last row.
static size_t extent(size_t rows, size_t ld, size_t cols) { return rows ? (rows - 1) * ld + cols : 0; }

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static float bf16_value(uint16_t h) { return from_bits((uint32_t)h << 16); }

static int8_t rand_i8(uint64_t *rng) { return (int8_t)((int)(conf_rand(rng) % 255) - 127); }

// MARK: - quantize

typedef struct {
    size_t M, K, ldx;
    float *x;
} quant_case;

/// Runs one quantization at `level` into padded buffers (ldq = K + 3, filled with 99 first).
static size_t quantize_at(sito_isa level, const quant_case *c, int8_t *q, float *s) {
    const size_t ldq = c->K + 3;
    memset(q, 99, c->M * ldq + 1);
    for (size_t m = 0; m <= c->M; m++) s[m] = -1;
    return quantize_call(level, c->x, c->ldx, c->M, c->K, q, ldq, s);
}

static void check_quantize(conf_state *st) {
    // Cases: random rows at scales 1, 1e-3, 300, 1e-30, 7 for many K; then special rows.
    enum { NCASES = 24 };
    quant_case cases[NCASES];
    size_t nc = 0;
    uint64_t rng = 1;
    const size_t ks[] = {0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 1024, 1031};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        quant_case c = {5, ks[i], ks[i] + 2, NULL};
        c.x = galloc(extent(c.M, c.ldx, c.K) * sizeof(float));
        const float scales[5] = {1, 1e-3f, 300, 1e-30f, 7};
        for (size_t i = 0; i < extent(c.M, c.ldx, c.K); i++) c.x[i] = scales[i / c.ldx] * conf_randf(&rng);
        cases[nc++] = c;
    }
    {   // zero row, ordinary row with -18.5, NaN late in the row, -Inf last, subnormal amax, ties
        const size_t K = 37;
        quant_case c = {6, K, K, NULL};
        c.x = galloc(c.M * K * sizeof(float));
        memset(c.x, 0, c.M * K * sizeof(float));
        for (size_t k = 0; k < K; k++) {
            c.x[K + k] = (float)k - 18;
            c.x[2 * K + k] = 1;
            c.x[3 * K + k] = 1;
            c.x[4 * K + k] = FLT_TRUE_MIN * (float)(k % 3);
            c.x[5 * K + k] = (float)(k % 9) - 4.5f;   // with amax 127 below: exact ties
        }
        c.x[K + 5] = -18.5f;
        c.x[2 * K + 30] = NAN;
        c.x[3 * K + 36] = -INFINITY;
        c.x[5 * K + 36] = 127;
        cases[nc++] = c;
    }
    {   // M = 0
        quant_case c = {0, 9, 9, NULL};
        c.x = galloc(0);
        cases[nc++] = c;
    }
    sito_isa levels[16];
    const size_t nl = levels_to_check(levels);
    for (size_t l = 0; l < nl; l++) {
        outcome o;
        outcome_init(&o);
        for (size_t i = 0; i < nc; i++) {
            const quant_case *c = &cases[i];
            const size_t bytes = c->M * (c->K + 3) + 1;
            int8_t *q0 = xmalloc(bytes), *q1 = xmalloc(bytes);
            float *s0 = xmalloc((c->M + 1) * sizeof(float)), *s1 = xmalloc((c->M + 1) * sizeof(float));
            const size_t b0 = quantize_at(SITO_ISA_SCALAR, c, q0, s0);
            const size_t b1 = quantize_at(levels[l], c, q1, s1);
            char what[160];
            if (b0 != b1) {
                snprintf(what, sizeof what, "M=%zu K=%zu: %zu non-finite rows, scalar %zu", c->M, c->K, b1, b0);
                outcome_fail(&o, what);
            }
            for (size_t m = 0; m <= c->M; m++)
                if (bits(s0[m]) != bits(s1[m])) {
                    snprintf(what, sizeof what, "M=%zu K=%zu: scale[%zu] %a, scalar %a", c->M, c->K, m, s1[m], s0[m]);
                    outcome_fail(&o, what);
                }
            for (size_t b = 0; b < bytes; b++)
                if (q0[b] != q1[b]) {
                    snprintf(what, sizeof what, "M=%zu K=%zu: q byte %zu is %d, scalar %d%s", c->M, c->K, b, q1[b],
                             q0[b], b % (c->K + 3) >= c->K ? " (row padding written)" : "");
                    outcome_fail(&o, what);
                    break;
                }
            free(q0), free(q1), free(s0), free(s1);
        }
        conf_report(st, "quantize_rows_i8", path_label(sito_quantize_path_name, levels[l]), o.ok, 0,
                    o.ok ? "bit-identical, 20 shapes incl. NaN/Inf/zero/subnormal/ties rows" : o.note);
    }
    for (size_t i = 0; i < nc; i++) gfree(cases[i].x);
}

// MARK: - f32 → bf16

static void check_convert(conf_state *st) {
    const float specials[] = {0, -0.0f, 1, -1, INFINITY, -INFINITY, NAN, -NAN, FLT_MAX, -FLT_MAX, FLT_TRUE_MIN,
                              FLT_MIN, from_bits(0x3F808000), from_bits(0x3F818000), from_bits(0x3F808001),
                              from_bits(0x3F807FFF), from_bits(0x7F7FFFFF), from_bits(0x007FFFFF),
                              from_bits(0x7F800001), from_bits(0xFFC12345), from_bits(0x807FFFFF)};
    const size_t ns = sizeof specials / sizeof specials[0], n = ns + 100003;
    float *src = galloc(n * sizeof(float));
    memcpy(src, specials, sizeof specials);
    uint64_t rng = 7;
    for (size_t i = ns; i < n; i++) src[i] = from_bits((uint32_t)conf_rand(&rng));
    uint16_t *ref = xmalloc((n + 1) * 2), *got = xmalloc((n + 1) * 2);
    sito_isa levels[16];
    const size_t nl = levels_to_check(levels);
    for (size_t l = 0; l < nl; l++) {
        outcome o;
        outcome_init(&o);
        // The whole array, then every length 0…40 from an odd offset (tails and misaligned starts).
        for (size_t len = 0; len <= 41; len++) {
            const size_t off = len == 41 ? 0 : 1, cnt = len == 41 ? n : len;
            memset(ref, 0xAB, (cnt + 1) * 2);
            memset(got, 0xAB, (cnt + 1) * 2);
            sito_f32_to_bf16_isa(SITO_ISA_SCALAR, src + off, ref, cnt);
            convert_call(levels[l], src + off, got, cnt);
            for (size_t i = 0; i <= cnt; i++)
                if (ref[i] != got[i]) {
                    char what[128];
                    snprintf(what, sizeof what, "n=%zu: element %zu (f32 bits 0x%08x) is 0x%04x, scalar 0x%04x%s", cnt, i,
                             i < cnt ? bits(src[off + i]) : 0, got[i], ref[i], i == cnt ? " (wrote past n)" : "");
                    outcome_fail(&o, what);
                    break;
                }
        }
        conf_report(st, "f32_to_bf16", path_label(sito_convert_path_name, levels[l]), o.ok, 0,
                    o.ok ? "bit-identical, specials + 100003 random bit patterns, n = 0…40" : o.note);
    }
    gfree(src), free(ref), free(got);
}

// MARK: - int8 row sums (no _isa entry point: the process-wide level is set for each)

/// sito_i8_row_sums has one SIMD path per architecture, taken at every level of its chain.
static const char *row_sums_path_name(sito_isa level) {
    static const char *const names[] = {"scalar", "avx2", "neon"};
    return names[sito_isa_family_of(level)];
}

static void check_row_sums(conf_state *st) {
    sito_isa levels[16];
    const size_t nl = levels_to_check(levels);
    const sito_isa saved = sito_kernels_isa();
    uint64_t rng = 2;
    for (size_t l = 0; l < nl; l++) {
        sito_kernels_set_isa(levels[l] == SELECTED ? saved : levels[l]);
        outcome o;
        outcome_init(&o);
        const size_t ks[] = {0, 1, 15, 16, 17, 31, 32, 33, 64, 4096 + 5};
        for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
            const size_t K = ks[i], N = 3, ldw = K + 1;
            int8_t *w = xmalloc(N * ldw);
            for (size_t j = 0; j < N * ldw; j++) w[j] = rand_i8(&rng);
            if (K == 4096 + 5) memset(w, 0x81, N * ldw);   // -127 everywhere: the extreme sum
            int32_t sums[3];
            sito_i8_row_sums(w, ldw, N, K, sums);
            for (size_t r = 0; r < N; r++) {
                int64_t s = 0;
                for (size_t k = 0; k < K; k++) s += w[r * ldw + k];
                if (s != sums[r]) {
                    char what[96];
                    snprintf(what, sizeof what, "K=%zu row %zu: %d, expected %lld", K, r, sums[r], (long long)s);
                    outcome_fail(&o, what);
                }
            }
            free(w);
        }
        {   // blocked16: the sums of the row-major matrix it packs
            const size_t N = 48, K = 1028;
            int8_t *w = xmalloc(N * K), *packed = xmalloc(N * K);
            for (size_t j = 0; j < N * K; j++) w[j] = rand_i8(&rng);
            sito_pack_blocked16(w, K, 1, N, K, packed);
            int32_t expect[48], got[48];
            sito_i8_row_sums(w, K, N, K, expect);
            sito_i8_row_sums_blocked16(packed, N, K, got);
            if (memcmp(expect, got, sizeof got) != 0) outcome_fail(&o, "blocked16 sums differ from the row-major sums");
            free(w), free(packed);
        }
        conf_report(st, "i8_row_sums", path_label(row_sums_path_name, levels[l]), o.ok, 0,
                    o.ok ? "exact, K = 0…4101, row-major and blocked16" : o.note);
    }
    sito_kernels_set_isa(saved);
}

// MARK: - int8 GEMM

typedef struct {
    size_t M, N, K, ldx, ldw, ldy;
    int8_t *xq, *w, *packed;    // packed: blocked16 copy of w (N % 16 == 0, K % 4 == 0), else NULL
    float *sx, *sw, *bias;
    int32_t *sums;
    float *ref[2];              // the scalar row-major reference [M, ldy] (+1), without / with bias, computed once
} i8_problem;

static i8_problem i8_make(size_t M, size_t N, size_t K, size_t ldx, size_t ldw, int extreme, uint64_t *rng) {
    i8_problem p = {M, N, K, ldx, ldw, N + 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, {NULL, NULL}};
    float *x = xmalloc(M * ldx * sizeof(float) + 4);
    for (size_t i = 0; i < M * ldx; i++) x[i] = 3 * conf_randf(rng);
    const size_t xn = extent(M, ldx, K), wn = extent(N, ldw, K);
    p.xq = galloc(xn);
    memset(p.xq, 0, xn);
    p.sx = xmalloc((M + 1) * sizeof(float));
    sito_quantize_rows_i8_isa(SITO_ISA_SCALAR, x, ldx, M, K, p.xq, ldx, p.sx);
    free(x);
    p.w = galloc(wn);
    for (size_t i = 0; i < wn; i++) p.w[i] = rand_i8(rng);
    if (extreme) {   // |sums| far above 2^24: the int32 → f32 rounding of the epilogue matters
        for (size_t i = 0; i < xn; i++) p.xq[i] = i % 2 == 0 ? 127 : -127;
        for (size_t i = 0; i < wn; i++) p.w[i] = (i / ldw) % 2 == 0 ? (i % 2 == 0 ? 127 : -127) : -127;
    }
    p.sw = xmalloc((N + 1) * sizeof(float));
    p.bias = xmalloc((N + 1) * sizeof(float));
    for (size_t n = 0; n < N; n++) p.sw[n] = 1e-3f * (1 + conf_randf(rng));
    for (size_t n = 0; n < N; n++) p.bias[n] = conf_randf(rng);
    p.sums = xmalloc((N + 1) * sizeof(int32_t));
    for (size_t n = 0; n < N; n++) {
        int32_t s = 0;
        for (size_t k = 0; k < K; k++) s += p.w[n * ldw + k];
        p.sums[n] = s;
    }
    if (N % 16 == 0 && K % 4 == 0) {
        p.packed = galloc(N * K);
        sito_pack_blocked16(p.w, ldw, 1, N, K, p.packed);
    }
    for (int withBias = 0; withBias < 2; withBias++) {
        const size_t cnt = M * p.ldy + 1;
        p.ref[withBias] = xmalloc(cnt * sizeof(float));
        for (size_t i = 0; i < cnt; i++) p.ref[withBias][i] = 12345;
        sito_gemm_i8_isa(SITO_ISA_SCALAR, p.xq, ldx, p.sx, p.w, ldw, p.sw, NULL, withBias ? p.bias : NULL,
                         p.ref[withBias], p.ldy, M, N, K);
    }
    return p;
}

static void i8_free(i8_problem *p) {
    gfree(p->xq), gfree(p->w), gfree(p->packed), free(p->sx), free(p->sw), free(p->bias), free(p->sums);
    free(p->ref[0]), free(p->ref[1]);
}

/// Compares got with ref over the whole padded [M, ldy] buffer (filled with 12345 before each run),
/// so a write past N or into the padding shows up too. Returns the number of differing floats.
static size_t count_bit_differences(const float *got, const float *ref, size_t count, size_t *first) {
    size_t d = 0;
    *first = count;
    for (size_t i = 0; i < count; i++)
        if (bits(got[i]) != bits(ref[i])) {
            if (d == 0) *first = i;
            d++;
        }
    return d;
}

static void fill(float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = 12345;
}

static void check_gemm_i8(conf_state *st) {
    // Ragged shapes (Tests/CSitoKernelsTests raggedShapes) plus empty sizes and tile multiples.
    static const size_t shapes[][3] = {
        {1, 1, 1}, {1, 1, 7}, {1, 5, 3}, {2, 3, 17}, {3, 7, 65}, {4, 4, 64}, {4, 4, 128}, {5, 9, 130},
        {1, 33, 1000}, {7, 1, 100}, {6, 6, 31}, {9, 13, 257}, {17, 19, 96}, {8, 12, 2048 + 13},
        {0, 5, 8}, {3, 0, 8}, {3, 5, 0}, {8, 8, 8}, {16, 16, 16}, {3, 17, 24}, {12, 20, 48}, {5, 6, 4096 + 3},
    };
    const size_t ns = sizeof shapes / sizeof shapes[0];
    i8_problem probs[32];
    uint64_t rng = 3;
    for (size_t s = 0; s < ns; s++) {
        const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        probs[s] = i8_make(M, N, K, K + 1, K + 2, K == 4096 + 3, &rng);
    }
    sito_isa levels[16];
    const size_t nl = levels_to_check(levels);
    for (size_t l = 0; l < nl; l++) {
        outcome o;
        outcome_init(&o);
        for (size_t s = 0; s < ns; s++) {
            const i8_problem *p = &probs[s];
            const size_t cnt = p->M * p->ldy + 1;
            float *y = xmalloc(cnt * sizeof(float));
            for (int withBias = 0; withBias < 2; withBias++)
                for (int withSums = 0; withSums < 2; withSums++) {
                    const float *ref = p->ref[withBias];
                    fill(y, cnt);
                    const float *b = withBias ? p->bias : NULL;
                    gemm_i8_call(levels[l], p->xq, p->ldx, p->sx, p->w, p->ldw, p->sw, withSums ? p->sums : NULL,
                                 b, y, p->ldy, p->M, p->N, p->K);
                    size_t first;
                    const size_t d = count_bit_differences(y, ref, cnt, &first);
                    if (d) {
                        char what[200];
                        snprintf(what, sizeof what, "M=%zu N=%zu K=%zu bias=%d sums=%d: %zu values differ, first (%zu, %zu) "
                                 "%.9g vs scalar %.9g", p->M, p->N, p->K, withBias, withSums, d, first / p->ldy,
                                 first % p->ldy, y[first], ref[first]);
                        outcome_fail(&o, what);
                    }
                }
            free(y);
        }
        char note[96];
        snprintf(note, sizeof note, "bit-identical, %zu shapes × bias × w_sums", ns);
        conf_report(st, "gemm_i8", path_label(sito_gemm_i8_path_name, levels[l]), o.ok, 0, o.ok ? note : o.note);
    }
    for (size_t s = 0; s < ns; s++) i8_free(&probs[s]);
}

static void check_gemm_i8_blocked16(conf_state *st) {
    // N % 16 == 0, K % 4 == 0: one block, partial tiles of blocks, every row tail, a second row group,
    // K % 16 ∈ {0, 4, 8, 12}, K = 0, M = 0, and sums above 2^24.
    static const size_t shapes[][3] = {
        {1, 16, 4}, {2, 32, 8}, {3, 48, 12}, {5, 80, 100}, {6, 64, 64}, {7, 16, 256}, {13, 112, 36},
        {20, 64, 1024}, {97, 48, 20}, {200, 144, 44}, {0, 16, 4}, {3, 16, 0}, {4, 32, 28}, {9, 96, 1028},
        {5, 32, 4096 + 4},
    };
    const size_t ns = sizeof shapes / sizeof shapes[0];
    i8_problem probs[32];
    uint64_t rng = 23;
    for (size_t s = 0; s < ns; s++) {
        const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        probs[s] = i8_make(M, N, K, K + 5, K, K == 4096 + 4, &rng);
    }
    sito_isa levels[16];
    const size_t nl = levels_to_check(levels);
    for (size_t l = 0; l < nl; l++) {
        outcome o;
        outcome_init(&o);
        for (size_t s = 0; s < ns; s++) {
            const i8_problem *p = &probs[s];
            const size_t cnt = p->M * p->ldy + 1;
            float *y = xmalloc(cnt * sizeof(float));
            for (int withBias = 0; withBias < 2; withBias++)
                for (int withSums = 0; withSums < 2; withSums++) {
                    // The reference: the scalar row-major kernel on the unpacked W (the blocked16 contract).
                    const float *ref = p->ref[withBias];
                    fill(y, cnt);
                    const float *b = withBias ? p->bias : NULL;
                    gemm_i8_blocked_call(levels[l], p->xq, p->ldx, p->sx, p->packed, p->sw,
                                         withSums ? p->sums : NULL, b, y, p->ldy, p->M, p->N, p->K);
                    size_t first;
                    const size_t d = count_bit_differences(y, ref, cnt, &first);
                    if (d) {
                        char what[200];
                        snprintf(what, sizeof what, "M=%zu N=%zu K=%zu bias=%d sums=%d: %zu values differ, first (%zu, %zu) "
                                 "%.9g vs scalar %.9g", p->M, p->N, p->K, withBias, withSums, d, first / p->ldy,
                                 first % p->ldy, y[first], ref[first]);
                        outcome_fail(&o, what);
                    }
                }
            free(y);
        }
        char note[96];
        snprintf(note, sizeof note, "bit-identical to row-major scalar, %zu shapes × bias × w_sums", ns);
        conf_report(st, "gemm_i8_blocked16", path_label(sito_gemm_i8_path_name, levels[l]), o.ok, 0, o.ok ? note : o.note);
    }
    for (size_t s = 0; s < ns; s++) i8_free(&probs[s]);
}

/// The fused two-pass kernel: pass 1 is the problem's xq, pass 2 another int8 matrix of the same shape (the
/// first one reversed and negated, scales / 128, as a residual's would be); the reference is what Linear
/// computed before the fused kernel: two scalar row-major GEMMs (bias on pass 1) and one f32 add.
static void check_gemm_i8_blocked16_2pass(conf_state *st) {
    static const size_t shapes[][3] = {
        {1, 16, 4}, {2, 32, 8}, {3, 48, 12}, {5, 80, 100}, {6, 64, 64}, {7, 16, 256}, {13, 112, 36},
        {20, 64, 1024}, {97, 48, 20}, {200, 144, 44}, {0, 16, 4}, {3, 16, 0}, {4, 32, 28}, {9, 96, 1028},
        {5, 32, 4096 + 4},
    };
    const size_t ns = sizeof shapes / sizeof shapes[0];
    i8_problem probs[32];
    int8_t *xq2[32];
    float *sx2[32], *ref[32][2];
    uint64_t rng = 29;
    for (size_t s = 0; s < ns; s++) {
        const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        probs[s] = i8_make(M, N, K, K + 5, K, K == 4096 + 4, &rng);
        const i8_problem *p = &probs[s];
        const size_t xn = extent(M, p->ldx, K);
        xq2[s] = galloc(xn);
        for (size_t i = 0; i < xn; i++) xq2[s][i] = (int8_t)-p->xq[xn - 1 - i];
        sx2[s] = xmalloc((M + 1) * sizeof(float));
        for (size_t m = 0; m < M; m++) sx2[s][m] = p->sx[m] * (1.0f / 128);
        const size_t cnt = M * p->ldy + 1;
        float *second = xmalloc(cnt * sizeof(float));
        fill(second, cnt);
        sito_gemm_i8_isa(SITO_ISA_SCALAR, xq2[s], p->ldx, sx2[s], p->w, p->ldw, p->sw, NULL, NULL, second, p->ldy, M, N, K);
        for (int withBias = 0; withBias < 2; withBias++) {
            ref[s][withBias] = xmalloc(cnt * sizeof(float));
            for (size_t i = 0; i < cnt; i++) ref[s][withBias][i] = p->ref[withBias][i];
            for (size_t m = 0; m < M; m++)
                for (size_t n = 0; n < N; n++) ref[s][withBias][m * p->ldy + n] += second[m * p->ldy + n];
        }
        free(second);
    }
    sito_isa levels[16];
    const size_t nl = levels_to_check(levels);
    for (size_t l = 0; l < nl; l++) {
        outcome o;
        outcome_init(&o);
        for (size_t s = 0; s < ns; s++) {
            const i8_problem *p = &probs[s];
            const size_t cnt = p->M * p->ldy + 1;
            float *y = xmalloc(cnt * sizeof(float));
            for (int withBias = 0; withBias < 2; withBias++)
                for (int withSums = 0; withSums < 2; withSums++) {
                    fill(y, cnt);
                    gemm_i8_2pass_call(levels[l], p->xq, p->sx, xq2[s], sx2[s], p->ldx, p->packed, p->sw,
                                       withSums ? p->sums : NULL, withBias ? p->bias : NULL, y, p->ldy, p->M, p->N, p->K);
                    size_t first;
                    const size_t d = count_bit_differences(y, ref[s][withBias], cnt, &first);
                    if (d) {
                        char what[200];
                        snprintf(what, sizeof what, "M=%zu N=%zu K=%zu bias=%d sums=%d: %zu values differ, first (%zu, %zu) "
                                 "%.9g vs scalar %.9g", p->M, p->N, p->K, withBias, withSums, d, first / p->ldy,
                                 first % p->ldy, y[first], ref[s][withBias][first]);
                        outcome_fail(&o, what);
                    }
                }
            free(y);
        }
        char note[96];
        snprintf(note, sizeof note, "bit-identical to 2 row-major scalar GEMMs + add, %zu shapes × bias × w_sums", ns);
        conf_report(st, "gemm_i8_blocked16_2pass", path_label(sito_gemm_i8_path_name, levels[l]), o.ok, 0,
                    o.ok ? note : o.note);
    }
    for (size_t s = 0; s < ns; s++) {
        i8_free(&probs[s]);
        gfree(xq2[s]), free(sx2[s]), free(ref[s][0]), free(ref[s][1]);
    }
}

// MARK: - bf16 GEMM

typedef struct {
    size_t M, N, K, ldx, ldw, ldy;
    uint16_t *xb, *w, *packed;
    float *bias;
    float *ref[2];              // the scalar row-major reference [M, ldy] (+1), without / with bias
    double *tol[2];             // bf16GemmTolerance per element [M, ldy], without / with bias
} bf16_problem;

/// positive: all x, w ≥ 0, so nothing cancels and rounding errors of every order are as large as they get
/// relative to Σ |x·w| (the tolerance's scale).
static bf16_problem bf16_make(size_t M, size_t N, size_t K, size_t ldx, size_t ldw, size_t ldy, int positive,
                              uint64_t *rng) {
    bf16_problem p = {M, N, K, ldx, ldw, ldy, NULL, NULL, NULL, NULL, {NULL, NULL}, {NULL, NULL}};
    float *x = xmalloc(M * ldx * sizeof(float) + 4), *w = xmalloc(N * ldw * sizeof(float) + 4);
    for (size_t i = 0; i < M * ldx; i++) x[i] = 2 * (positive ? fabsf(conf_randf(rng)) : conf_randf(rng));
    for (size_t i = 0; i < N * ldw; i++) w[i] = 0.05f * (positive ? fabsf(conf_randf(rng)) : conf_randf(rng));
    const size_t xn = extent(M, ldx, K), wn = extent(N, ldw, K);
    p.xb = galloc(xn * 2);
    p.w = galloc(wn * 2);
    sito_f32_to_bf16_isa(SITO_ISA_SCALAR, x, p.xb, xn);
    sito_f32_to_bf16_isa(SITO_ISA_SCALAR, w, p.w, wn);
    free(x), free(w);
    p.bias = xmalloc((N + 1) * sizeof(float));
    for (size_t n = 0; n < N; n++) p.bias[n] = conf_randf(rng);
    if (N % 16 == 0 && K % 2 == 0) {
        p.packed = galloc(N * K * 2);
        sito_pack_blocked16(p.w, ldw, 2, N, K, p.packed);
    }
    for (int withBias = 0; withBias < 2; withBias++) {
        const size_t cnt = M * ldy + 1;
        p.ref[withBias] = xmalloc(cnt * sizeof(float));
        p.tol[withBias] = xmalloc(cnt * sizeof(double));
        for (size_t i = 0; i < cnt; i++) p.ref[withBias][i] = 12345;
        sito_gemm_bf16_isa(SITO_ISA_SCALAR, p.xb, ldx, p.w, ldw, withBias ? p.bias : NULL, p.ref[withBias], ldy, M, N, K);
    }
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double mag = 0;
            for (size_t k = 0; k < K; k++) mag += fabs((double)bf16_value(p.xb[m * ldx + k]) * (double)bf16_value(p.w[n * ldw + k]));
            // bf16GemmTolerance (KernelTestSupport.swift): 2 (K + 2) 2^-24 Σ_k |x_k w_k| + |bias| 2^-23.
            p.tol[0][m * ldy + n] = 2.0 * (double)(K + 2) * 0x1p-24 * mag;
            p.tol[1][m * ldy + n] = p.tol[0][m * ldy + n] + fabs((double)p.bias[n]) * 0x1p-23;
        }
    return p;
}

static void bf16_free(bf16_problem *p) {
    gfree(p->xb), gfree(p->w), gfree(p->packed), free(p->bias);
    free(p->ref[0]), free(p->ref[1]), free(p->tol[0]), free(p->tol[1]);
}

/// Runs `level` twice (determinism) and compares with the scalar row-major reference within the
/// tolerance; padding columns [N, ldy) and the element after the buffer must keep 12345.
static void bf16_compare(outcome *o, const bf16_problem *p, int blocked, sito_isa level) {
    const size_t cnt = p->M * p->ldy + 1;
    float *y = xmalloc(cnt * sizeof(float)), *again = xmalloc(cnt * sizeof(float));
    for (int withBias = 0; withBias < 2; withBias++) {
        const float *b = withBias ? p->bias : NULL, *ref = p->ref[withBias];
        fill(y, cnt), fill(again, cnt);
        if (blocked) {
            gemm_bf16_blocked_call(level, p->xb, p->ldx, p->packed, b, y, p->ldy, p->M, p->N, p->K);
            gemm_bf16_blocked_call(level, p->xb, p->ldx, p->packed, b, again, p->ldy, p->M, p->N, p->K);
        } else {
            gemm_bf16_call(level, p->xb, p->ldx, p->w, p->ldw, b, y, p->ldy, p->M, p->N, p->K);
            gemm_bf16_call(level, p->xb, p->ldx, p->w, p->ldw, b, again, p->ldy, p->M, p->N, p->K);
        }
        char what[200];
        size_t first;
        if (count_bit_differences(y, again, cnt, &first)) {
            snprintf(what, sizeof what, "M=%zu N=%zu K=%zu: not deterministic at (%zu, %zu)", p->M, p->N, p->K,
                     first / p->ldy, first % p->ldy);
            outcome_fail(o, what);
        }
        for (size_t i = 0; i < cnt; i++) {
            const size_t m = i / p->ldy, n = i % p->ldy;
            if (m >= p->M || n >= p->N) {
                if (y[i] != 12345) {
                    snprintf(what, sizeof what, "M=%zu N=%zu K=%zu: wrote outside Y at element %zu", p->M, p->N, p->K, i);
                    outcome_fail(o, what);
                }
                continue;
            }
            const double tol = p->tol[withBias][i], d = fabs((double)y[i] - (double)ref[i]);
            const double ratio = tol > 0 ? d / tol : (d > 0 ? INFINITY : 0);
            if (ratio > o->worst) o->worst = ratio;
            if (!(d <= tol)) {
                snprintf(what, sizeof what, "M=%zu N=%zu K=%zu bias=%d at (%zu, %zu): %.9g vs scalar %.9g, |Δ| %.3g > tol %.3g",
                         p->M, p->N, p->K, withBias, m, n, y[i], ref[i], d, tol);
                outcome_fail(o, what);
            }
        }
    }
    free(y), free(again);
}

static void check_gemm_bf16(conf_state *st) {
    static const size_t shapes[][3] = {
        {1, 1, 1}, {1, 1, 7}, {1, 5, 3}, {2, 3, 17}, {3, 7, 65}, {4, 4, 64}, {4, 4, 128}, {5, 9, 130},
        {1, 33, 1000}, {7, 1, 100}, {6, 6, 31}, {9, 13, 257}, {17, 19, 96}, {8, 12, 2048 + 13},
        {0, 5, 8}, {3, 0, 8}, {3, 5, 0}, {8, 8, 8}, {16, 16, 16}, {3, 17, 24}, {12, 20, 48}, {5, 6, 8192 + 5},
        {5, 6, 8192 + 5},   // the second one all-positive
    };
    const size_t ns = sizeof shapes / sizeof shapes[0];
    bf16_problem probs[32];
    uint64_t rng = 9;
    for (size_t s = 0; s < ns; s++) {
        const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        probs[s] = bf16_make(M, N, K, K + 2, K + 1, N + 2, s == ns - 1, &rng);
    }
    sito_isa levels[16];
    const size_t nl = levels_to_check(levels);
    for (size_t l = 0; l < nl; l++) {
        outcome o;
        outcome_init(&o);
        for (size_t s = 0; s < ns; s++) bf16_compare(&o, &probs[s], 0, levels[l]);
        char note[96];
        snprintf(note, sizeof note, "worst |Δ|/bf16GemmTolerance, %zu shapes × bias, deterministic", ns);
        conf_report(st, "gemm_bf16", path_label(sito_gemm_bf16_path_name, levels[l]), o.ok, o.worst, o.ok ? note : o.note);
    }
    for (size_t s = 0; s < ns; s++) bf16_free(&probs[s]);
}

static void check_gemm_bf16_blocked16(conf_state *st) {
    static const size_t shapes[][3] = {
        {1, 16, 4}, {2, 32, 8}, {3, 48, 12}, {5, 80, 100}, {6, 64, 64}, {7, 16, 256}, {13, 112, 36},
        {20, 64, 1024}, {97, 48, 20}, {200, 144, 44}, {0, 16, 2}, {3, 16, 0}, {4, 32, 2}, {5, 16, 6},
        {3, 48, 14}, {9, 96, 1026}, {5, 32, 8192 + 6},
        {5, 32, 8192 + 6},   // the second one all-positive
    };
    const size_t ns = sizeof shapes / sizeof shapes[0];
    bf16_problem probs[32];
    uint64_t rng = 25;
    for (size_t s = 0; s < ns; s++) {
        const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        probs[s] = bf16_make(M, N, K, K + 2, K, N + 1, s == ns - 1, &rng);
    }
    sito_isa levels[16];
    const size_t nl = levels_to_check(levels);
    for (size_t l = 0; l < nl; l++) {
        outcome o;
        outcome_init(&o);
        for (size_t s = 0; s < ns; s++) bf16_compare(&o, &probs[s], 1, levels[l]);
        char note[96];
        snprintf(note, sizeof note, "worst |Δ|/bf16GemmTolerance, %zu shapes × bias, deterministic", ns);
        conf_report(st, "gemm_bf16_blocked16", path_label(sito_gemm_bf16_path_name, levels[l]), o.ok, o.worst,
                    o.ok ? note : o.note);
    }
    for (size_t s = 0; s < ns; s++) bf16_free(&probs[s]);
}

// MARK: - the scalar references against the contracts of sito_kernels.h, restated here independently

/// Every value is stored through a volatile, so no multiplication and addition can be contracted into an
/// FMA whatever the compiler's defaults (the int8 epilogue is three separately rounded operations).
static float contract_dequant(int64_t acc, float sx, float sw, const float *bias, size_t n) {
    volatile float t = (float)acc;
    t = t * sx;
    t = t * sw;
    if (bias) t = t + bias[n];
    return t;
}

static void check_contracts(conf_state *st) {
    uint64_t rng = 31;
    {   // quantize: amax / 127, one division per element, rint, clamp; NaN/Inf rows → NaN scale, q = 0
        outcome o;
        outcome_init(&o);
        const size_t M = 4, K = 203;
        float x[4 * 203];
        for (size_t i = 0; i < M * K; i++) x[i] = (i / K == 1 ? 1e-3f : 5.0f) * conf_randf(&rng);
        x[2 * K + 100] = NAN;
        for (size_t k = 0; k < K; k++) x[3 * K + k] = (float)(k % 9) - 4.5f;   // ties
        x[3 * K] = 127;
        int8_t q[4 * 203];
        float scale[4];
        const size_t bad = sito_quantize_rows_i8_isa(SITO_ISA_SCALAR, x, K, M, K, q, K, scale);
        if (bad != 1) outcome_fail(&o, "non-finite row count");
        for (size_t m = 0; m < M; m++) {
            float amax = 0;
            int finite = 1;
            for (size_t k = 0; k < K; k++) {
                finite &= isfinite(x[m * K + k]) != 0;
                if (fabsf(x[m * K + k]) > amax) amax = fabsf(x[m * K + k]);
            }
            const float sc = amax / 127.0f;
            if (!finite ? !isnan(scale[m]) : bits(scale[m]) != bits(sc)) outcome_fail(&o, "scale differs from amax / 127");
            for (size_t k = 0; k < K; k++) {
                float r = finite && sc != 0 ? rintf(x[m * K + k] / sc) : 0;
                r = r > 127 ? 127 : (r < -127 ? -127 : r);
                if (q[m * K + k] != (int8_t)r) {
                    char what[96];
                    snprintf(what, sizeof what, "row %zu k %zu: q %d, contract %d", m, k, q[m * K + k], (int)r);
                    outcome_fail(&o, what);
                }
            }
        }
        conf_report(st, "quantize_rows_i8", "scalar=contract", o.ok, 0, o.ok ? "the header's formula, restated" : o.note);
    }
    {   // f32 → bf16: (u + 0x7FFF + ((u >> 16) & 1)) >> 16, NaN → (u >> 16) | 0x40
        outcome o;
        outcome_init(&o);
        enum { N = 65536 + 7 };
        static float src[N];
        static uint16_t got[N];
        for (size_t i = 0; i < N; i++) src[i] = from_bits(i < 65536 ? (uint32_t)i << 16 | (uint32_t)(i * 0x9E37u & 0xFFFF)
                                                                : (uint32_t)conf_rand(&rng));
        sito_f32_to_bf16_isa(SITO_ISA_SCALAR, src, got, N);
        for (size_t i = 0; i < N; i++) {
            const uint32_t u = bits(src[i]);
            const uint16_t e = isnan(src[i]) ? (uint16_t)((u >> 16) | 0x40) : (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
            if (got[i] != e) {
                char what[96];
                snprintf(what, sizeof what, "0x%08x → 0x%04x, contract 0x%04x", u, got[i], e);
                outcome_fail(&o, what);
                break;
            }
        }
        conf_report(st, "f32_to_bf16", "scalar=contract", o.ok, 0, o.ok ? "every bf16 exponent/sign, random low halves" : o.note);
    }
    {   // int8 GEMM: exact int64 sum, ((float)acc · sx) · sw + bias
        outcome o;
        outcome_init(&o);
        i8_problem p = i8_make(5, 7, 301, 301 + 1, 301 + 2, 0, &rng);
        float y[5 * 10];
        sito_gemm_i8_isa(SITO_ISA_SCALAR, p.xq, p.ldx, p.sx, p.w, p.ldw, p.sw, NULL, p.bias, y, p.ldy, p.M, p.N, p.K);
        for (size_t m = 0; m < p.M; m++)
            for (size_t n = 0; n < p.N; n++) {
                int64_t acc = 0;
                for (size_t k = 0; k < p.K; k++) acc += (int64_t)p.xq[m * p.ldx + k] * p.w[n * p.ldw + k];
                if (bits(y[m * p.ldy + n]) != bits(contract_dequant(acc, p.sx[m], p.sw[n], p.bias, n)))
                    outcome_fail(&o, "an element differs from the contract");
            }
        i8_free(&p);
        conf_report(st, "gemm_i8", "scalar=contract", o.ok, 0, o.ok ? "exact sums, three rounded f32 operations" : o.note);
    }
    {   // bf16 GEMM: k in order, acc = acc + x·w (exact products), then + bias
        outcome o;
        outcome_init(&o);
        bf16_problem p = bf16_make(3, 5, 77, 79, 78, 7, 0, &rng);
        float y[3 * 7];
        sito_gemm_bf16_isa(SITO_ISA_SCALAR, p.xb, p.ldx, p.w, p.ldw, p.bias, y, p.ldy, p.M, p.N, p.K);
        for (size_t m = 0; m < p.M; m++)
            for (size_t n = 0; n < p.N; n++) {
                volatile float acc = 0;
                for (size_t k = 0; k < p.K; k++) {
                    volatile float prod = bf16_value(p.xb[m * p.ldx + k]) * bf16_value(p.w[n * p.ldw + k]);
                    acc = acc + prod;
                }
                if (bits(y[m * p.ldy + n]) != bits(acc + p.bias[n])) outcome_fail(&o, "an element differs from the in-order sum");
            }
        bf16_free(&p);
        conf_report(st, "gemm_bf16", "scalar=contract", o.ok, 0, o.ok ? "the in-order f32 sum" : o.note);
    }
}

// MARK: - the int8-a16 scheme (int8 weights × int16 activations)

static size_t quantize_i16_call(sito_isa level, const float *X, size_t ldx, size_t M, size_t K, int32_t levels,
                                int16_t *q, size_t ldq, float *scale) {
    return level == SELECTED ? sito_quantize_rows_i16(X, ldx, M, K, levels, q, ldq, scale)
                             : sito_quantize_rows_i16_isa(level, X, ldx, M, K, levels, q, ldq, scale);
}

/// sito_quantize_rows_i16 at every level against the scalar path (bit for bit, padding untouched) and the
/// scalar path against the header's formula, for levels 127, 4128, 32767: random rows at scales 1, 1e-3,
/// 300, 1e-30, 7 for many K, then a zero row, a NaN row, an -Inf row, a subnormal-amax row and ties.
static void check_quantize_i16(conf_state *st) {
    enum { NCASES = 24 };
    quant_case cases[NCASES];
    size_t nc = 0;
    uint64_t rng = 161;
    const size_t ks[] = {0, 1, 3, 4, 7, 8, 15, 16, 17, 33, 64, 65, 388, 1031};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        quant_case c = {5, ks[i], ks[i] + 2, NULL};
        c.x = galloc(extent(c.M, c.ldx, c.K) * sizeof(float));
        const float scales[5] = {1, 1e-3f, 300, 1e-30f, 7};
        for (size_t j = 0; j < extent(c.M, c.ldx, c.K); j++) c.x[j] = scales[j / c.ldx] * conf_randf(&rng);
        cases[nc++] = c;
    }
    {
        const size_t K = 37;
        quant_case c = {6, K, K, NULL};
        c.x = galloc(c.M * K * sizeof(float));
        memset(c.x, 0, c.M * K * sizeof(float));
        for (size_t k = 0; k < K; k++) {
            c.x[K + k] = 1;
            c.x[2 * K + k] = 1;
            c.x[3 * K + k] = 0x1p-127f * (float)((int)(k % 7) - 3) / 3;   // subnormal amax, scale ≠ 0
            c.x[4 * K + k] = FLT_TRUE_MIN * (float)(k % 3);                // scale rounds to 0
            c.x[5 * K + k] = (float)(k % 9) - 4.5f;                        // ties once amax = levels
        }
        c.x[K + 30] = NAN;
        c.x[2 * K + 36] = -INFINITY;
        c.x[5 * K + 36] = 4128;
        cases[nc++] = c;
    }
    const int32_t level_counts[] = {127, 4128, 32767};
    sito_isa levels[16];
    const size_t nl = levels_to_check(levels);
    {   // the scalar path against the formula
        outcome o;
        outcome_init(&o);
        for (size_t i = 0; i < nc; i++)
            for (size_t t = 0; t < 3; t++) {
                const quant_case *c = &cases[i];
                const float L = (float)level_counts[t];
                int16_t *q = xmalloc(c->M * c->K * sizeof(int16_t) + 2);
                float *sc = xmalloc((c->M + 1) * sizeof(float));
                sito_quantize_rows_i16_isa(SITO_ISA_SCALAR, c->x, c->ldx, c->M, c->K, level_counts[t], q, c->K, sc);
                for (size_t m = 0; m < c->M; m++) {
                    const float *x = c->x + m * c->ldx;
                    float amax = 0;
                    int finite = 1;
                    for (size_t k = 0; k < c->K; k++) {
                        if (!isfinite(x[k])) finite = 0;
                        else if (fabsf(x[k]) > amax) amax = fabsf(x[k]);
                    }
                    volatile float s = amax / L;
                    if (!finite ? !isnan(sc[m]) : bits(sc[m]) != bits(s)) outcome_fail(&o, "a scale differs from amax / levels");
                    for (size_t k = 0; k < c->K; k++) {
                        float e = 0;
                        if (finite && s != 0) {
                            volatile float v = x[k] / s;
                            e = fminf(fmaxf(nearbyintf(v), -L), L);
                        }
                        if ((float)q[m * c->K + k] != e) outcome_fail(&o, "a q differs from clamp(rint(x / scale))");
                    }
                }
                free(q), free(sc);
            }
        conf_report(st, "quantize_rows_i16", "scalar=contract", o.ok, 0, o.ok ? "the formula, levels 127/4128/32767" : o.note);
    }
    for (size_t l = 0; l < nl; l++) {
        outcome o;
        outcome_init(&o);
        for (size_t i = 0; i < nc; i++)
            for (size_t t = 0; t < 3; t++) {
                const quant_case *c = &cases[i];
                const size_t ldq = c->K + 3, n = c->M * ldq + 1;
                int16_t *q0 = xmalloc(n * sizeof(int16_t)), *q1 = xmalloc(n * sizeof(int16_t));
                float *s0 = xmalloc((c->M + 1) * sizeof(float)), *s1 = xmalloc((c->M + 1) * sizeof(float));
                for (size_t j = 0; j < n; j++) q0[j] = q1[j] = 0x6363;
                for (size_t m = 0; m <= c->M; m++) s0[m] = s1[m] = -1;
                const size_t b0 = quantize_i16_call(SITO_ISA_SCALAR, c->x, c->ldx, c->M, c->K, level_counts[t], q0, ldq, s0);
                const size_t b1 = quantize_i16_call(levels[l], c->x, c->ldx, c->M, c->K, level_counts[t], q1, ldq, s1);
                char what[160];
                if (b0 != b1) {
                    snprintf(what, sizeof what, "M=%zu K=%zu levels=%d: %zu non-finite rows, scalar %zu", c->M, c->K,
                             level_counts[t], b1, b0);
                    outcome_fail(&o, what);
                }
                for (size_t m = 0; m <= c->M; m++)
                    if (bits(s0[m]) != bits(s1[m])) {
                        snprintf(what, sizeof what, "M=%zu K=%zu levels=%d: scale[%zu] %a, scalar %a", c->M, c->K,
                                 level_counts[t], m, s1[m], s0[m]);
                        outcome_fail(&o, what);
                    }
                for (size_t j = 0; j < n; j++)
                    if (q0[j] != q1[j]) {
                        snprintf(what, sizeof what, "M=%zu K=%zu levels=%d: q[%zu] is %d, scalar %d%s", c->M, c->K,
                                 level_counts[t], j, q1[j], q0[j], j % ldq >= c->K ? " (row padding written)" : "");
                        outcome_fail(&o, what);
                        break;
                    }
                free(q0), free(q1), free(s0), free(s1);
            }
        conf_report(st, "quantize_rows_i16", path_label(sito_quantize_path_name, levels[l]), o.ok, 0,
                    o.ok ? "bit-identical, 15 shapes × 3 levels incl. NaN/Inf/zero/subnormal/ties rows" : o.note);
    }
    for (size_t i = 0; i < nc; i++) gfree(cases[i].x);
}

typedef struct {
    size_t M, N, K, ldx, ldw, ldy;
    int16_t *xq;
    int8_t *w, *packed;   // packed: blocked16 copy of w (N % 16 == 0, K % 4 == 0), else NULL
    float *sx, *sw, *bias;
    float *ref[2];        // the row-major scalar reference [M, ldy] (+1), without / with bias
} a16_problem;

/// Activations through the scalar int16 quantizer with sito_a16_levels(K); weights random. `extreme`: q =
/// ±levels against |w| = 127 with matching signs (sums ±127 · K · levels, within 2^17 of int32's limit
/// at K = 4096). Every reference is checked against the exact int64 sums and the epilogue.
static a16_problem a16_make(size_t M, size_t N, size_t K, int extreme, uint64_t *rng, outcome *contract) {
    a16_problem p = {M, N, K, K + 5, K + 3, N + 3, NULL, NULL, NULL, NULL, NULL, NULL, {NULL, NULL}};
    const int32_t L = sito_a16_levels(K);
    const size_t xn = extent(M, p.ldx, K), wn = extent(N, p.ldw, K);
    float *x = xmalloc((xn + 1) * sizeof(float));
    for (size_t i = 0; i < xn; i++) x[i] = 3 * conf_randf(rng);
    p.xq = galloc(xn * sizeof(int16_t));
    memset(p.xq, 0, xn * sizeof(int16_t));
    p.sx = xmalloc((M + 1) * sizeof(float));
    sito_quantize_rows_i16_isa(SITO_ISA_SCALAR, x, p.ldx, M, K, L, p.xq, p.ldx, p.sx);
    free(x);
    p.w = galloc(wn);
    for (size_t i = 0; i < wn; i++) p.w[i] = rand_i8(rng);
    if (extreme) {
        for (size_t m = 0; m < M; m++)
            for (size_t k = 0; k < K; k++)
                p.xq[m * p.ldx + k] = (int16_t)(m % 3 == 0 ? L : (m % 3 == 1 ? -L : (k % 2 ? -L : L)));
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < K; k++)
                p.w[n * p.ldw + k] = (int8_t)(n % 3 == 0 ? 127 : (n % 3 == 1 ? -127 : (k % 2 ? -127 : 127)));
    }
    p.sw = xmalloc((N + 1) * sizeof(float));
    p.bias = xmalloc((N + 1) * sizeof(float));
    for (size_t n = 0; n < N; n++) p.sw[n] = 1e-3f * (1 + conf_randf(rng));
    for (size_t n = 0; n < N; n++) p.bias[n] = conf_randf(rng);
    if (N % 16 == 0 && K % 4 == 0) {
        p.packed = galloc(N * K);
        sito_pack_blocked16(p.w, p.ldw, 1, N, K, p.packed);
    }
    for (int withBias = 0; withBias < 2; withBias++) {
        const size_t cnt = M * p.ldy + 1;
        p.ref[withBias] = xmalloc(cnt * sizeof(float));
        fill(p.ref[withBias], cnt);
        sito_gemm_i8_a16_isa(SITO_ISA_SCALAR, p.xq, p.ldx, p.sx, p.w, p.ldw, p.sw, withBias ? p.bias : NULL,
                             p.ref[withBias], p.ldy, M, N, K);
        for (size_t m = 0; m < M; m++)
            for (size_t n = 0; n < N; n++) {
                int64_t acc = 0;
                for (size_t k = 0; k < K; k++) acc += (int64_t)p.xq[m * p.ldx + k] * p.w[n * p.ldw + k];
                if (acc > INT32_MAX || acc < -INT32_MAX) outcome_fail(contract, "a sum exceeds int32 (levels too large)");
                const float e = contract_dequant(acc, p.sx[m], p.sw[n], withBias ? p.bias : NULL, n);
                if (bits(e) != bits(p.ref[withBias][m * p.ldy + n])) {
                    char what[160];
                    snprintf(what, sizeof what, "M=%zu N=%zu K=%zu (%zu, %zu): %.9g, contract %.9g", M, N, K, m, n,
                             p.ref[withBias][m * p.ldy + n], e);
                    outcome_fail(contract, what);
                }
            }
    }
    return p;
}

static void a16_free(a16_problem *p) {
    gfree(p->xq), gfree(p->w), gfree(p->packed), free(p->sx), free(p->sw), free(p->bias);
    free(p->ref[0]), free(p->ref[1]);
}

/// Both a16 GEMMs at every level: blocked16 (where N % 16 == 0, K % 4 == 0) and row-major, bit for bit
/// against the row-major scalar reference (so blocked16 = row-major too), whole padded outputs compared.
static void check_gemm_a16(conf_state *st) {
    // Blocked-capable shapes: every row tail of the 2-, 4- and 8-row tiles, several blocks, a second row
    // group at K = 4096 (37 rows), K % 16 ∈ {4, 12}, M = 0, K = 0, and the extreme sums (last one). Then
    // row-major-only shapes: N and K ragged, K below one vector and with every vector tail.
    static const size_t shapes[][3] = {
        {1, 16, 4}, {3, 48, 12}, {17, 16, 388}, {5, 32, 100}, {9, 96, 1028}, {17, 48, 4096}, {37, 16, 4096},
        {0, 16, 4}, {3, 16, 0}, {3, 16, 4096},
        {1, 1, 1}, {1, 5, 3}, {2, 3, 17}, {3, 7, 65}, {6, 6, 31}, {9, 13, 257}, {4, 5, 1007},
    };
    const size_t ns = sizeof shapes / sizeof shapes[0];
    a16_problem probs[32];
    uint64_t rng = 162;
    outcome contract;
    outcome_init(&contract);
    for (size_t s = 0; s < ns; s++)
        probs[s] = a16_make(shapes[s][0], shapes[s][1], shapes[s][2], s == 9, &rng, &contract);
    conf_report(st, "gemm_i8_a16", "scalar=contract", contract.ok, 0,
                contract.ok ? "exact int64 sums (≤ int32) + the int8 epilogue, incl. ±127·4096·4128" : contract.note);
    sito_isa levels[16];
    const size_t nl = levels_to_check(levels);
    for (int blocked = 1; blocked >= 0; blocked--)
        for (size_t l = 0; l < nl; l++) {
            outcome o;
            outcome_init(&o);
            size_t run = 0;
            for (size_t s = 0; s < ns; s++) {
                const a16_problem *p = &probs[s];
                if (blocked && !p->packed) continue;
                run++;
                const size_t cnt = p->M * p->ldy + 1;
                float *y = xmalloc(cnt * sizeof(float));
                for (int withBias = 0; withBias < 2; withBias++) {
                    fill(y, cnt);
                    const float *b = withBias ? p->bias : NULL;
                    if (blocked && levels[l] == SELECTED)
                        sito_gemm_i8_blocked16_a16(p->xq, p->ldx, p->sx, p->packed, p->sw, b, y, p->ldy, p->M, p->N, p->K);
                    else if (blocked)
                        sito_gemm_i8_blocked16_a16_isa(levels[l], p->xq, p->ldx, p->sx, p->packed, p->sw, b, y, p->ldy,
                                                       p->M, p->N, p->K);
                    else if (levels[l] == SELECTED)
                        sito_gemm_i8_a16(p->xq, p->ldx, p->sx, p->w, p->ldw, p->sw, b, y, p->ldy, p->M, p->N, p->K);
                    else
                        sito_gemm_i8_a16_isa(levels[l], p->xq, p->ldx, p->sx, p->w, p->ldw, p->sw, b, y, p->ldy,
                                             p->M, p->N, p->K);
                    size_t first;
                    const size_t d = count_bit_differences(y, p->ref[withBias], cnt, &first);
                    if (d) {
                        char what[200];
                        snprintf(what, sizeof what, "M=%zu N=%zu K=%zu bias=%d: %zu values differ, first (%zu, %zu) "
                                 "%.9g vs scalar %.9g", p->M, p->N, p->K, withBias, d, first / p->ldy, first % p->ldy,
                                 y[first], p->ref[withBias][first]);
                        outcome_fail(&o, what);
                    }
                }
                free(y);
            }
            char note[96];
            snprintf(note, sizeof note, "bit-identical to row-major scalar, %zu shapes × bias", run);
            conf_report(st, blocked ? "gemm_i8_blocked16_a16" : "gemm_i8_a16",
                        path_label(sito_gemm_i8_a16_path_name, levels[l]), o.ok, 0, o.ok ? note : o.note);
        }
    for (size_t s = 0; s < ns; s++) a16_free(&probs[s]);
}

void conformance_int(conf_state *st) {
    check_contracts(st);
    check_quantize(st);
    check_convert(st);
    check_row_sums(st);
    check_gemm_i8(st);
    check_gemm_i8_blocked16(st);
    check_gemm_i8_blocked16_2pass(st);
    check_gemm_bf16(st);
    check_gemm_bf16_blocked16(st);
    check_quantize_i16(st);
    check_gemm_a16(st);
}
