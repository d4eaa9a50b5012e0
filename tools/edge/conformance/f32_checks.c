// f32_checks.c: the f32 half of the edge conformance driver (tools/edge/conformance): on the running CPU,
// every level of its own chain up to the detected one (x86: avx2…; aarch64: neon, neon-dotprod, …) runs
// the f32 kernels through their `_isa` entry points against the scalar reference, with the tolerances the
// Swift tests name (Tests/CSitoKernelsTests: gemmF32Tolerance, expToleranceULP, geluTolerance,
// layerNormTolerance, softmaxSumTolerance, attentionTolerance, attentionBF16Tolerance) and the contracts
// of sito_kernels.h. One conf_report per kernel and level: ok, the worst |Δ| / tolerance, a note.
// Kernels: sito_gemm_f32, sito_exp_f32, sito_gelu_f32, sito_add_layernorm_f32, sito_softmax_update_f32 (+
// finish), sito_attention_pack_kv_bf16 (bit-identical), sito_attention_f32, sito_attention_bf16.
// Plain C11 + libm; deterministic inputs (conf_rand).
#include "sito_kernels.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The driver's API (tools/edge/conformance/conformance.h). Until that header is on this branch, a private
// copy of exactly its declarations, under another guard; with the header present it is used instead.
#if defined(__has_include)
#if __has_include("conformance.h")
#include "conformance.h"
#define F32_CHECKS_HAVE_CONFORMANCE_H 1
#endif
#endif
#ifndef F32_CHECKS_HAVE_CONFORMANCE_H
#ifndef SITO_F32_CHECKS_CONFORMANCE_DECLS
#define SITO_F32_CHECKS_CONFORMANCE_DECLS
typedef struct { int passed; int failed; } conf_state;
void conf_report(conf_state *st, const char *kernel, const char *path, int ok, double worst, const char *note);
uint64_t conf_rand(uint64_t *state);
float conf_randf(uint64_t *state);  /* uniform in [-1, 1) */
void conformance_int(conf_state *st);
void conformance_f32(conf_state *st);
#endif
#endif

#define FC_SENTINEL 12345.0f

/// Levels of this CPU's chain, lowest first, up to the detected one; returns how many (0: scalar only).
static int chain_levels(sito_isa out[8]) {
    const sito_isa top = sito_kernels_detect_isa();
    const sito_isa_family fam = sito_isa_family_of(top);
    int n = 0;
    for (int l = 1; l <= (int)top && n < 8; l++)
        if (sito_isa_family_of((sito_isa)l) == fam) out[n++] = (sito_isa)l;
    return n;
}

static float *fc_alloc(size_t n) {
    float *p = n <= ((size_t)1 << 40) ? malloc((n ? n : 1) * sizeof(float)) : NULL;
    if (!p) {
        fprintf(stderr, "f32_checks: out of memory\n");
        exit(2);
    }
    return p;
}

static void fc_fill(float *p, size_t n, float scale, uint64_t *rng) {
    for (size_t i = 0; i < n; i++) p[i] = scale * conf_randf(rng);
}

/// worst = max(worst, r), with NaN (a comparison that failed) as +inf.
static double fc_max(double worst, double r) { return r <= worst ? worst : (r == r ? r : INFINITY); }

static float ulp_of(float v) {
    v = fabsf(v);
    return nextafterf(v, INFINITY) - v;
}

/// |got - ref| / (the exp tolerance): ≤ 1 passes (2 ulp, or 2^-126 below the smallest normal).
static double exp_ratio(float got, float ref) {
    if (isnan(ref)) return isnan(got) ? 0 : INFINITY;
    if (isinf(ref)) return got == ref ? 0 : INFINITY;
    const double d = fabs((double)got - ref);
    if (fabsf(ref) < 0x1p-126f) return d / 0x1p-126;
    return d / (2.0 * ulp_of(ref));
}

static void report(conf_state *st, const char *kernel, sito_isa level, const char *path, double worst,
                   const char *note) {
    char name[64];
    snprintf(name, sizeof name, "%s(%s)", sito_kernels_isa_name(level), path);
    conf_report(st, kernel, name, worst <= 1.0, worst, note);
}

// MARK: - f32 GEMM

static void check_gemm(conf_state *st, sito_isa level, uint64_t *rng) {
    static const size_t shapes[][3] = {
        {1, 1, 1}, {1, 5, 3}, {2, 3, 17}, {3, 7, 65}, {1, 33, 1000}, {2, 70, 300}, {5, 9, 130}, {7, 1, 100},
        {6, 16, 256}, {8, 12, 2061}, {12, 32, 512}, {13, 97, 255}, {25, 130, 513}, {1, 40, 4096},
        {40, 33, 4093}, {130, 200, 64},
    };
    double worst = 0;
    char note[160] = "16 shapes x stride padding 0/5 x bias nil/non-nil";
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t pad = 0; pad <= 5; pad += 5)
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                const size_t ldx = K + pad, ldw = K + 2 * pad, ldy = N + 3 * pad;
                float *X = fc_alloc(M * ldx), *Wm = fc_alloc(N * ldw), *b = fc_alloc(N);
                float *Y = fc_alloc(M * ldy), *R = fc_alloc(M * ldy);
                fc_fill(X, M * ldx, 2, rng);
                fc_fill(Wm, N * ldw, 0.1f, rng);
                fc_fill(b, N, 1, rng);
                for (size_t i = 0; i < M * ldy; i++) Y[i] = R[i] = FC_SENTINEL;
                sito_gemm_f32_isa(SITO_ISA_SCALAR, X, ldx, Wm, ldw, with_bias ? b : NULL, R, ldy, M, N, K);
                sito_gemm_f32_isa(level, X, ldx, Wm, ldw, with_bias ? b : NULL, Y, ldy, M, N, K);
                double w = 0;
                for (size_t m = 0; m < M; m++)
                    for (size_t n = 0; n < ldy; n++) {
                        const float got = Y[m * ldy + n], ref = R[m * ldy + n];
                        if (n >= N) {
                            w = fc_max(w, got == FC_SENTINEL ? 0 : INFINITY);
                            continue;
                        }
                        double mag = 0;
                        for (size_t k = 0; k < K; k++) mag += fabs((double)X[m * ldx + k] * Wm[n * ldw + k]);
                        const double tol = 1e-5 * mag + (with_bias ? fabs(b[n]) * 0x1p-23 : 0) + 1e-30;
                        w = fc_max(w, fabs((double)got - ref) / tol);
                    }
                if (w > 1 && worst <= 1)
                    snprintf(note, sizeof note, "first failure M=%zu N=%zu K=%zu pad=%zu bias=%d: worst %g", M, N, K,
                             pad, with_bias, w);
                worst = fc_max(worst, w);
                free(X); free(Wm); free(b); free(Y); free(R);
            }
    report(st, "gemm_f32", level, sito_gemm_f32_path_name(level), worst, note);
}

// MARK: - exp, GELU

static const size_t ragged[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1029};
enum { NRAGGED = sizeof ragged / sizeof ragged[0] };

static void check_exp(conf_state *st, sito_isa level, uint64_t *rng) {
    static const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 88.7f, 88.72f, 88.73f, 89.0f, 100.0f, -87.3f,
                                     -87.4f, -100.0f, -103.9f, -104.0f, -110.0f, INFINITY, -INFINITY, NAN,
                                     1e-8f, -1e-8f, 0x1p-149f};
    const size_t nspecial = sizeof specials / sizeof specials[0];
    size_t n = nspecial;
    float *x = fc_alloc(nspecial + 20000 + 20000);
    memcpy(x, specials, sizeof specials);
    for (float v = -104.0f; v < 89.0f; v += 0.00973f) x[n++] = v;
    for (int i = 0; i < 20000 - 1; i++) x[n++] = 10 * conf_randf(rng);
    float *y = fc_alloc(n + 1), *r = fc_alloc(n);
    sito_exp_f32_isa(SITO_ISA_SCALAR, x, r, n);
    double worst = 0;
    for (size_t t = 0; t <= NRAGGED; t++) {   // the ragged lengths (tails), then everything
        const size_t len = t < NRAGGED ? ragged[t] : n;
        y[len] = FC_SENTINEL;
        sito_exp_f32_isa(level, x, y, len);
        worst = fc_max(worst, y[len] == FC_SENTINEL ? 0 : INFINITY);
        for (size_t i = 0; i < len; i++) worst = fc_max(worst, exp_ratio(y[i], r[i]));
    }
    char note[96];
    snprintf(note, sizeof note, "%zu inputs over [-104, 89] + specials; ragged lengths; vs libm expf", n);
    report(st, "exp_f32", level, sito_f32ops_path_name(level), worst, note);
    free(x); free(y); free(r);
}

static void check_gelu(conf_state *st, sito_isa level, uint64_t *rng) {
    static const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 5.9f, -5.9f, 6.0f, -6.0f, 8.0f, -8.0f, 10.0f,
                                     -10.0f, 30.0f, -30.0f, 1e-20f, -1e-20f, 1.312f, -1.312f};
    const size_t nspecial = sizeof specials / sizeof specials[0];
    size_t n = nspecial;
    float *x = fc_alloc(nspecial + 7000 + 10000);
    memcpy(x, specials, sizeof specials);
    for (float v = -12.0f; v < 12.0f; v += 0.00371f) x[n++] = v;
    for (int i = 0; i < 10000; i++) x[n++] = 4 * conf_randf(rng);
    float *r = fc_alloc(n), *y = fc_alloc(n + 1);
    memcpy(r, x, n * sizeof(float));
    sito_gelu_f32_isa(SITO_ISA_SCALAR, r, n);
    double worst = 0;
    for (size_t t = 0; t <= NRAGGED; t++) {
        const size_t len = t < NRAGGED ? ragged[t] : n;
        memcpy(y, x, len * sizeof(float));
        y[len] = FC_SENTINEL;
        sito_gelu_f32_isa(level, y, len);
        worst = fc_max(worst, y[len] == FC_SENTINEL ? 0 : INFINITY);
        for (size_t i = 0; i < len; i++)
            worst = fc_max(worst, fabs((double)y[i] - r[i]) / (0x1p-22 * fabs((double)x[i]) + 0x1p-126));
    }
    float special[3] = {NAN, INFINITY, -INFINITY};
    sito_gelu_f32_isa(level, special, 3);
    if (!isnan(special[0]) || special[1] != INFINITY) worst = INFINITY;
    char note[96];
    snprintf(note, sizeof note, "%zu inputs over [-12, 12] + specials; ragged lengths; vs libm erff", n);
    report(st, "gelu_f32", level, sito_f32ops_path_name(level), worst, note);
    free(x); free(r); free(y);
}

// MARK: - residual add + LayerNorm

static void check_layernorm(conf_state *st, sito_isa level, uint64_t *rng) {
    double worst = 0;
    for (size_t t = 0; t < NRAGGED; t++) {
        const size_t N = ragged[t], M = 3, ldx = N + 2, ldd = N + 5;
        float *x = fc_alloc(M * ldx), *D = fc_alloc(M * ldd), *w = fc_alloc(N), *b = fc_alloc(N);
        float *ref = fc_alloc(M * ldx), *y = fc_alloc(M * ldx), *row = fc_alloc(N);
        fc_fill(x, M * ldx, 3, rng);
        for (size_t i = 0; i < N; i++) x[i] += 1000;   // a large common offset: what the double sums are for
        fc_fill(D, M * ldd, 1, rng);
        for (size_t i = 0; i < N; i++) w[i] = 1 + 0.1f * conf_randf(rng);
        fc_fill(b, N, 0.05f, rng);
        for (int with_d = 0; with_d < 2; with_d++) {
            memcpy(ref, x, M * ldx * sizeof(float));
            memcpy(y, x, M * ldx * sizeof(float));
            sito_add_layernorm_f32_isa(SITO_ISA_SCALAR, ref, ldx, with_d ? D : NULL, ldd, M, N, w, b, 1e-5f);
            sito_add_layernorm_f32_isa(level, y, ldx, with_d ? D : NULL, ldd, M, N, w, b, 1e-5f);
            for (size_t m = 0; m < M; m++) {
                // mean and 1/σ as the contract computes them, for the tolerance
                double sum = 0, sq = 0;
                for (size_t i = 0; i < N; i++) {
                    row[i] = with_d ? x[m * ldx + i] + D[m * ldd + i] : x[m * ldx + i];
                    sum += (double)row[i];
                }
                const float mean = (float)(sum / (double)N);
                for (size_t i = 0; i < N; i++) sq += (double)(row[i] - mean) * (double)(row[i] - mean);
                const float inv = 1.0f / sqrtf((float)(sq / (double)N) + 1e-5f);
                for (size_t i = 0; i < N; i++) {
                    const double norm = fabs((double)((row[i] - mean) * inv));
                    const double tol = 0x1p-21 * (fabs(w[i]) * (norm + fabs(mean) * inv) + fabs(b[i]));
                    worst = fc_max(worst, fabs((double)y[m * ldx + i] - ref[m * ldx + i]) / tol);
                }
                for (size_t i = N; i < ldx; i++) worst = fc_max(worst, y[m * ldx + i] == x[m * ldx + i] ? 0 : INFINITY);
            }
        }
        free(x); free(D); free(w); free(b); free(ref); free(y); free(row);
    }
    report(st, "add_layernorm_f32", level, sito_f32ops_path_name(level), worst,
           "13 row lengths x 3 rows (one offset by 1000), with and without the residual");
}

// MARK: - online softmax update + finish

static void check_softmax(conf_state *st, sito_isa level, uint64_t *rng) {
    enum { BQ = 5, DV = 19, BLOCKS = 3 };
    double worst = 0;
    for (size_t t = 0; t < NRAGGED; t++) {
        const size_t bk = ragged[t], lds = bk + 3, ldo = DV + 2;
        float *scores = fc_alloc(BLOCKS * BQ * lds), *values = fc_alloc(BLOCKS * bk * DV);
        fc_fill(scores, BLOCKS * BQ * lds, 6, rng);
        fc_fill(values, BLOCKS * bk * DV, 1, rng);
        float out[2][BQ * DV], sums[2][BQ];
        float *p[2] = {fc_alloc(BLOCKS * BQ * lds), fc_alloc(BLOCKS * BQ * lds)};
        for (int run = 0; run < 2; run++) {
            const sito_isa lv = run == 0 ? SITO_ISA_SCALAR : level;
            float mx[BQ], o[BQ * (DV + 2)];
            for (int r = 0; r < BQ; r++) { mx[r] = -INFINITY; sums[run][r] = 0; }
            memset(o, 0, sizeof o);
            memcpy(p[run], scores, BLOCKS * BQ * lds * sizeof(float));
            for (int blk = 0; blk < BLOCKS; blk++) {
                float *s = p[run] + (size_t)blk * BQ * lds;
                sito_softmax_update_f32_isa(lv, s, lds, BQ, bk, mx, sums[run], o, ldo, DV);
                for (int r = 0; r < BQ; r++)
                    for (int c = 0; c < DV; c++)
                        for (size_t j = 0; j < bk; j++)
                            o[r * ldo + c] += s[r * lds + j] * values[((size_t)blk * bk + j) * DV + c];
            }
            sito_softmax_finish_f32(o, ldo, sums[run], out[run], DV, BQ, DV);
        }
        const double sum_tol = (double)(BLOCKS * bk + 2) * 0x1p-23;
        for (size_t i = 0; i < (size_t)BLOCKS * BQ * lds; i++) {
            const size_t j = i % lds;
            if (j < bk) worst = fc_max(worst, exp_ratio(p[1][i], p[0][i]));
            else worst = fc_max(worst, p[1][i] == scores[i] ? 0 : INFINITY);   // stride padding untouched
        }
        for (int r = 0; r < BQ; r++) {
            worst = fc_max(worst, fabs((double)sums[1][r] - sums[0][r]) / (sum_tol * sums[0][r]));
            for (int c = 0; c < DV; c++)
                worst = fc_max(worst, fabs((double)out[1][r * DV + c] - out[0][r * DV + c]) / (4 * sum_tol));
        }
        free(scores); free(values); free(p[0]); free(p[1]);
    }
    report(st, "softmax_update_f32", level, sito_f32ops_path_name(level), worst,
           "13 block widths x 3 key blocks x 5 rows; P, row sums and finished outputs");
}

// MARK: - fused attention

typedef struct {
    size_t nq, L, d, ldq, ldk, ldv;
    float *q, *k, *v;
} att_problem;

/// AttentionTests.problem: strides > d padded with NaN (never read), scores trending up across the keys.
static att_problem att_make(size_t nq, size_t L, size_t d, uint64_t *rng) {
    att_problem p = {nq, L, d, d + 3, d + 5, d + 1, NULL, NULL, NULL};
    p.q = fc_alloc(nq * p.ldq);
    p.k = fc_alloc(L * p.ldk);
    p.v = fc_alloc(L * p.ldv);
    for (size_t i = 0; i < nq * p.ldq; i++) p.q[i] = NAN;
    for (size_t i = 0; i < L * p.ldk; i++) p.k[i] = NAN;
    for (size_t i = 0; i < L * p.ldv; i++) p.v[i] = NAN;
    for (size_t i = 0; i < nq; i++)
        for (size_t c = 0; c < d; c++) p.q[i * p.ldq + c] = 2 * conf_randf(rng);
    for (size_t j = 0; j < L; j++)
        for (size_t c = 0; c < d; c++) {
            p.k[j * p.ldk + c] = 2 * conf_randf(rng);
            p.v[j * p.ldv + c] = conf_randf(rng);
        }
    for (size_t i = 0; i < nq; i++) p.q[i * p.ldq] = 1 + fabsf(p.q[i * p.ldq]);
    for (size_t j = 0; j < L; j++) p.k[j * p.ldk] += 6.0f * (float)j / (float)(L > 1 ? L - 1 : 1);
    return p;
}

static double att_round(float f, int round) {
    if (!round) return f;
    uint16_t h;
    sito_f32_to_bf16(&f, &h, 1);
    float w;
    sito_bf16_to_f32(&h, &w, 1);
    return w;
}

/// The tolerance of each output element (attentionTolerance / attentionBF16Tolerance) from the exact
/// softmax of the (rounded, for bf16) operands: tol [nq, d].
static void att_tolerance(const att_problem *p, int bf16, float scale, double *tol) {
    double *s = malloc(p->L * sizeof(double));
    if (!s) exit(2);
    for (size_t i = 0; i < p->nq; i++) {
        double top = -INFINITY, worst_abs = 0;
        for (size_t j = 0; j < p->L; j++) {
            double dot = 0, a = 0;
            for (size_t c = 0; c < p->d; c++) {
                const double prod = att_round(p->q[i * p->ldq + c], bf16) * att_round(p->k[j * p->ldk + c], bf16);
                dot += prod;
                a += fabs(prod);
            }
            s[j] = dot * scale;
            top = s[j] > top ? s[j] : top;
            worst_abs = a > worst_abs ? a : worst_abs;
        }
        const double score_error = (double)(p->d + 2) * 0x1p-24 * scale * worst_abs;
        double z = 0;
        for (size_t j = 0; j < p->L; j++) {
            s[j] = exp(s[j] - top);
            z += s[j];
        }
        const double eps = 4 * score_error + 3 * 0x1p-23;
        for (size_t c = 0; c < p->d; c++) {
            double m = 0;
            for (size_t j = 0; j < p->L; j++) m += s[j] * fabs(att_round(p->v[j * p->ldv + c], bf16));
            const double a = m / z;
            tol[i * p->d + c] = a * (2 * eps + 2 * (double)(p->L + 4) * 0x1p-24) + (bf16 ? 2 * 0x1p-7 * a : 0);
        }
    }
    free(s);
}

static void check_attention(conf_state *st, sito_isa level, uint64_t *rng) {
    static const size_t keys[] = {1, 2, 63, 64, 65, 200, 513};
    static const size_t blocks[][2] = {{64, 64}, {17, 64}, {130, 64}, {33, 32}, {5, 8}, {64, 3}, {20, 65}};
    double worst[2] = {0, 0}, pack_worst = 0;
    char note[2][160];
    for (int b = 0; b < 2; b++) snprintf(note[b], sizeof note[b], "L in {1,2,63,64,65,200,513} x (nq,d) in {(64,64),(17,64),(130,64),(33,32),(5,8),(64,3),(20,65)}");
    for (size_t a = 0; a < sizeof keys / sizeof keys[0]; a++)
        for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++) {
            const size_t L = keys[a], nq = blocks[bi][0], d = blocks[bi][1], ldo = d + 2;
            att_problem p = att_make(nq, L, d, rng);
            const float scale = 1.0f / sqrtf((float)d);
            void *scratch = aligned_alloc(64, (sito_attention_scratch_bytes(d) + 63) / 64 * 64);
            const size_t kvn = sito_attention_kv_bf16_elements(L, d);
            uint16_t *kv = malloc(kvn * sizeof(uint16_t)), *kv2 = malloc(kvn * sizeof(uint16_t));
            float *ref = fc_alloc(nq * ldo), *got = fc_alloc(nq * ldo);
            double *tol = malloc(nq * d * sizeof(double));
            if (!scratch || !kv || !kv2 || !tol) exit(2);
            sito_attention_pack_kv_bf16_isa(SITO_ISA_SCALAR, p.k, p.ldk, p.v, p.ldv, L, d, kv);
            sito_attention_pack_kv_bf16_isa(level, p.k, p.ldk, p.v, p.ldv, L, d, kv2);
            pack_worst = fc_max(pack_worst, memcmp(kv, kv2, kvn * sizeof(uint16_t)) == 0 ? 0 : INFINITY);
            for (int bf16 = 0; bf16 < 2; bf16++) {
                for (size_t i = 0; i < nq * ldo; i++) ref[i] = got[i] = FC_SENTINEL;
                if (bf16) {
                    sito_attention_bf16_isa(SITO_ISA_SCALAR, p.q, p.ldq, kv, ref, ldo, nq, L, d, scale, scratch);
                    sito_attention_bf16_isa(level, p.q, p.ldq, kv, got, ldo, nq, L, d, scale, scratch);
                } else {
                    sito_attention_f32_isa(SITO_ISA_SCALAR, p.q, p.ldq, p.k, p.ldk, p.v, p.ldv, ref, ldo, nq, L, d,
                                           scale, scratch);
                    sito_attention_f32_isa(level, p.q, p.ldq, p.k, p.ldk, p.v, p.ldv, got, ldo, nq, L, d, scale,
                                           scratch);
                }
                att_tolerance(&p, bf16, scale, tol);
                double w = 0;
                for (size_t i = 0; i < nq; i++)
                    for (size_t c = 0; c < ldo; c++) {
                        if (c >= d) {
                            w = fc_max(w, got[i * ldo + c] == FC_SENTINEL ? 0 : INFINITY);
                            continue;
                        }
                        w = fc_max(w, fabs((double)got[i * ldo + c] - ref[i * ldo + c]) / tol[i * d + c]);
                    }
                if (w > 1 && worst[bf16] <= 1)
                    snprintf(note[bf16], sizeof note[bf16], "first failure L=%zu nq=%zu d=%zu: worst %g", L, nq, d, w);
                worst[bf16] = fc_max(worst[bf16], w);
            }
            free(p.q); free(p.k); free(p.v); free(scratch); free(kv); free(kv2); free(ref); free(got); free(tol);
        }
    report(st, "attention_pack_kv_bf16", level, sito_kernels_isa_name(level), pack_worst,
           "bit-identical to the scalar pack (worst 0 or inf)");
    report(st, "attention_f32", level, sito_attention_path_name(level, 0), worst[0], note[0]);
    report(st, "attention_bf16", level, sito_attention_path_name(level, 1), worst[1], note[1]);
}

void conformance_f32(conf_state *st) {
    sito_isa levels[8];
    const int n = chain_levels(levels);
    if (n == 0) {
        conf_report(st, "f32", "scalar", 1, 0, "no SIMD level detected: only the scalar references exist here");
        return;
    }
    for (int i = 0; i < n; i++) {
        uint64_t rng = 0x5EED0F32u + (uint64_t)i;   // the same inputs at every level would also do
        check_gemm(st, levels[i], &rng);
        check_exp(st, levels[i], &rng);
        check_gelu(st, levels[i], &rng);
        check_layernorm(st, levels[i], &rng);
        check_softmax(st, levels[i], &rng);
        check_attention(st, levels[i], &rng);
    }
}
