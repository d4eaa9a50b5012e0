// bench.c: single-thread throughput of Sito's C kernels (Sources/CSitoKernels) per instruction-set path,
// against OpenBLAS cblas_sgemm (f32) on the same shapes. Issue 5. Not part of the SwiftPM build.
//
// Build and run (from the repository root; the kernels' sources are compiled in directly). Use clang, the
// compiler SwiftPM builds CSitoKernels with (it is on PATH with the Swift toolchain); `cc` (GCC 12) also
// works but generates a slower VNNI loop (~250-270 instead of ~320-400 GOPS on the development machine):
//   clang -std=gnu11 -O2 -o /tmp/sito-kernel-bench tools/bench/kernels/bench.c Sources/CSitoKernels/*.c
//      -I Sources/CSitoKernels/include -lopenblas -lm && OPENBLAS_NUM_THREADS=1 /tmp/sito-kernel-bench
// Options: [reps] (default 5), --i8 (only the int8 kernels on the large config's shapes, the fused
// two-pass kernel against two single-pass calls, and the register-only AVX2 int8 instruction mixes), --a16
// (only the int8-a16 kernel against the single-pass and fused two-pass blocked16 int8 kernels at AVX2, timed
// interleaved, as a markdown table: BENCHMARKS.md "int8-a16 kernel on AVX2"), --wall (wall-clock instead of thread CPU time), --attention (only the
// attention section: sito_attention_* against the sgemm + online-softmax tiling it replaced), --f32 (only
// the f32 GEMM comparison: sito_gemm_f32 against cblas_sgemm on the runtime's projection shapes); shapes
// are fixed below. Every GEMM shape also reports sito_gemm_f32's paths beside sgemm. Each number is the median of `reps` timed runs
// after one warm-up run, in GOPS = 2·M·N·K / seconds / 1e9 (a multiply-add counts as two operations).
// Each GEMM computes Y[M,N] = X[M,K] · W[N,K]ᵀ, W row-major as in a `.sito` file (OpenBLAS: sgemm with
// W transposed, the same memory layout). Before timing, every path's output is checked against the
// scalar reference (int8: bit-identical; bf16: within the tolerance documented in sito_kernels.h).
#include "sito_kernels.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// Thread CPU time by default (other processes on a shared machine do not count against the kernel);
/// `--wall` switches to CLOCK_MONOTONIC.
static clockid_t timer = CLOCK_THREAD_CPUTIME_ID;
static double now(void) {
    struct timespec t;
    clock_gettime(timer, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float frand(void) {   // xorshift64*, uniform in [-1, 1)
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (float)((rng * 2685821657736338717ull) >> 40) * 0x1p-23f - 1.0f;
}

enum { MAXREPS = 31 };
static int reps = 5;

#define TIME_MEDIAN(result, stmt)                                   \
    do {                                                            \
        double ts_[MAXREPS];                                        \
        stmt;                                                       \
        for (int r_ = 0; r_ < reps; r_++) {                         \
            double t0_ = now();                                     \
            stmt;                                                   \
            ts_[r_] = now() - t0_;                                  \
        }                                                           \
        qsort(ts_, (size_t)reps, sizeof(double), cmp_double);       \
        result = ts_[reps / 2];                                     \
    } while (0)


#if defined(__x86_64__)
// Register-only instruction throughput in the same run (the machine is shared, so absolute numbers move;
// kernel / peak is the figure of merit). 24 independent accumulators, no memory traffic.
#define PEAK_BODY(T, ZERO, OP, OPS_PER)                                                 \
    T a[24];                                                                            \
    for (int i = 0; i < 24; i++) a[i] = ZERO;                                           \
    double t0 = now();                                                                  \
    for (long r = 0; r < n; r++) {                                                      \
        _Pragma("GCC unroll 24") for (int i = 0; i < 24; i++) a[i] = OP;                \
    }                                                                                   \
    double t = now() - t0;                                                              \
    for (int i = 1; i < 24; i++) memcpy(&a[0], &a[i], sizeof(T)) ;                      \
    __asm__ volatile("" ::"m"(a[0]));                                                   \
    return (double)n * 24 * OPS_PER / t * 1e-9;

__attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) static double peak_vnni(long n) {
    const __m512i x = _mm512_set1_epi8(1), y = _mm512_set1_epi8(2);
    PEAK_BODY(__m512i, _mm512_setzero_si512(), _mm512_dpbusd_epi32(a[i], x, y), 128.0)
}
__attribute__((target("avx512f,avx512bw,avx512bf16"), noinline)) static double peak_bf16(long n) {
    const __m512i x = _mm512_set1_epi16(0x3F80), y = _mm512_set1_epi16(0x3F80);
    PEAK_BODY(__m512, _mm512_setzero_ps(), _mm512_dpbf16_ps(a[i], (__m512bh)x, (__m512bh)y), 64.0)
}
__attribute__((target("avx512f,fma"), noinline)) static double peak_fma(long n) {
    const __m512 x = _mm512_set1_ps(1), y = _mm512_set1_ps(1e-9f);
    PEAK_BODY(__m512, _mm512_setzero_ps(), _mm512_fmadd_ps(x, y, a[i]), 32.0)
}
__attribute__((target("avx2,fma"), noinline)) static double peak_fma_ymm(long n) {
    const __m256 x = _mm256_set1_ps(1), y = _mm256_set1_ps(1e-9f);
    PEAK_BODY(__m256, _mm256_setzero_ps(), _mm256_fmadd_ps(x, y, a[i]), 16.0)
}

// AVX2 int8 instruction mixes, register-only (inline asm, so nothing is hoisted or fused): 8 independent
// int32 accumulators (ymm0–7), weights in ymm8–11, the broadcast activation in ymm12, |x| in ymm13, the
// int16 ones in ymm15. GOPS = 2 · multiply-adds / s. One step = one activation row × 4 weight vectors
// (128 multiply-adds), two rows per iteration.
//   sito : vpabsb once per row, then per vector vpsignb + vpmaddubsw + vpmaddwd + vpaddd (Sito's exact mix)
//   u8s8 : per vector vpmaddubsw + vpmaddwd + vpaddd (oneDNN's AVX2 mix: u8 activations with a
//          compensation term; NOT exact for |w|, |x| ≤ 127 with x + 128 ≤ 255: a pair of products reaches
//          255·127·2 = 64770 > 32767 and vpmaddubsw saturates, which is why oneDNN limits such weights)
//   s16  : int16 operands, per vector vpmaddwd + vpaddd (16 multiply-adds per instruction; exact)
#define MIX_STEP_SITO(A0, A1, A2, A3)                                                                        \
    "vpabsb %%ymm12, %%ymm13\n\t"                                                                             \
    "vpsignb %%ymm12, %%ymm8, %%ymm14\n\t vpmaddubsw %%ymm14, %%ymm13, %%ymm14\n\t"                          \
    "vpmaddwd %%ymm15, %%ymm14, %%ymm14\n\t vpaddd %%ymm14, " A0 ", " A0 "\n\t"                               \
    "vpsignb %%ymm12, %%ymm9, %%ymm14\n\t vpmaddubsw %%ymm14, %%ymm13, %%ymm14\n\t"                          \
    "vpmaddwd %%ymm15, %%ymm14, %%ymm14\n\t vpaddd %%ymm14, " A1 ", " A1 "\n\t"                               \
    "vpsignb %%ymm12, %%ymm10, %%ymm14\n\t vpmaddubsw %%ymm14, %%ymm13, %%ymm14\n\t"                         \
    "vpmaddwd %%ymm15, %%ymm14, %%ymm14\n\t vpaddd %%ymm14, " A2 ", " A2 "\n\t"                               \
    "vpsignb %%ymm12, %%ymm11, %%ymm14\n\t vpmaddubsw %%ymm14, %%ymm13, %%ymm14\n\t"                         \
    "vpmaddwd %%ymm15, %%ymm14, %%ymm14\n\t vpaddd %%ymm14, " A3 ", " A3 "\n\t"
#define MIX_STEP_U8S8(A0, A1, A2, A3)                                                                        \
    "vpmaddubsw %%ymm8, %%ymm13, %%ymm14\n\t vpmaddwd %%ymm15, %%ymm14, %%ymm14\n\t vpaddd %%ymm14, " A0 ", " A0 "\n\t" \
    "vpmaddubsw %%ymm9, %%ymm13, %%ymm14\n\t vpmaddwd %%ymm15, %%ymm14, %%ymm14\n\t vpaddd %%ymm14, " A1 ", " A1 "\n\t" \
    "vpmaddubsw %%ymm10, %%ymm13, %%ymm14\n\t vpmaddwd %%ymm15, %%ymm14, %%ymm14\n\t vpaddd %%ymm14, " A2 ", " A2 "\n\t" \
    "vpmaddubsw %%ymm11, %%ymm13, %%ymm14\n\t vpmaddwd %%ymm15, %%ymm14, %%ymm14\n\t vpaddd %%ymm14, " A3 ", " A3 "\n\t"
#define MIX_STEP_S16(A0, A1, A2, A3)                                                                         \
    "vpmaddwd %%ymm8, %%ymm12, %%ymm14\n\t vpaddd %%ymm14, " A0 ", " A0 "\n\t"                                \
    "vpmaddwd %%ymm9, %%ymm12, %%ymm14\n\t vpaddd %%ymm14, " A1 ", " A1 "\n\t"                                \
    "vpmaddwd %%ymm10, %%ymm12, %%ymm14\n\t vpaddd %%ymm14, " A2 ", " A2 "\n\t"                               \
    "vpmaddwd %%ymm11, %%ymm12, %%ymm14\n\t vpaddd %%ymm14, " A3 ", " A3 "\n\t"
#define MIX_LOOP(STEP, MACS_PER_STEP)                                                                        \
    double t0 = now();                                                                                      \
    __asm__ volatile("vpxor %%ymm0, %%ymm0, %%ymm0\n\t vpxor %%ymm1, %%ymm1, %%ymm1\n\t"                    \
                     "vpxor %%ymm2, %%ymm2, %%ymm2\n\t vpxor %%ymm3, %%ymm3, %%ymm3\n\t"                    \
                     "vpxor %%ymm4, %%ymm4, %%ymm4\n\t vpxor %%ymm5, %%ymm5, %%ymm5\n\t"                    \
                     "vpxor %%ymm6, %%ymm6, %%ymm6\n\t vpxor %%ymm7, %%ymm7, %%ymm7\n\t"                    \
                     "vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n\t vpsrlw $15, %%ymm15, %%ymm15\n\t"              \
                     "vpcmpeqb %%ymm8, %%ymm8, %%ymm8\n\t vmovdqa %%ymm8, %%ymm9\n\t"                       \
                     "vmovdqa %%ymm8, %%ymm10\n\t vmovdqa %%ymm8, %%ymm11\n\t vmovdqa %%ymm8, %%ymm12\n\t" \
                     "vpabsb %%ymm12, %%ymm13\n\t"                                                           \
                     "1:\n\t" STEP("%%ymm0", "%%ymm1", "%%ymm2", "%%ymm3") STEP("%%ymm4", "%%ymm5", "%%ymm6", "%%ymm7") \
                     "dec %0\n\t jnz 1b\n\t vzeroupper"                                                      \
                     : "+r"(n)::"cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",     \
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");                           \
    return (double)n0 * 2 * (MACS_PER_STEP) * 2 / (now() - t0) * 1e-9;

__attribute__((target("avx2"), noinline)) static double peak_i8_sito(long n) { const long n0 = n; MIX_LOOP(MIX_STEP_SITO, 128) }
__attribute__((target("avx2"), noinline)) static double peak_i8_u8s8(long n) { const long n0 = n; MIX_LOOP(MIX_STEP_U8S8, 128) }
__attribute__((target("avx2"), noinline)) static double peak_i8_s16(long n) { const long n0 = n; MIX_LOOP(MIX_STEP_S16, 64) }
#endif

/// The AVX2 int8 mixes above, median of 5 (1 thread).
static void print_i8_mix_peaks(void) {
#if defined(__x86_64__)
    if (sito_isa_family_of(sito_kernels_detect_isa()) != SITO_ISA_FAMILY_X86) return;
    double a[5], b[5], c[5];
    for (int r = 0; r < 5; r++) {
        a[r] = peak_i8_sito(20000000);
        b[r] = peak_i8_u8s8(20000000);
        c[r] = peak_i8_s16(20000000);
    }
    qsort(a, 5, sizeof(double), cmp_double);
    qsort(b, 5, sizeof(double), cmp_double);
    qsort(c, 5, sizeof(double), cmp_double);
    printf("AVX2 int8 mixes, register-only (1 thread, GOPS): abs/sign+maddubs+maddwd+add (Sito, exact) %.1f;"
           "  maddubs+maddwd+add (u8s8, saturates) %.1f;  int16 maddwd+add (exact) %.1f\n", a[2], b[2], c[2]);
#endif
}

static void print_peaks(void) {
#if defined(__x86_64__)
    const sito_isa have = sito_kernels_detect_isa();
    printf("register-only peaks (1 thread, now):");
    if (sito_isa_family_of(have) == SITO_ISA_FAMILY_X86) printf("  fma-ymm %.1f GFLOP/s", peak_fma_ymm(20000000));
    if (have >= SITO_ISA_AVX512 && sito_isa_family_of(have) == SITO_ISA_FAMILY_X86)
        printf("  fma-zmm %.1f GFLOP/s", peak_fma(20000000));
    if (have >= SITO_ISA_AVX512_VNNI) printf("  vpdpbusd-zmm %.1f GOPS", peak_vnni(20000000));
    if (have >= SITO_ISA_AVX512_BF16) printf("  vdpbf16ps-zmm %.1f GFLOP/s", peak_bf16(20000000));
    printf("\n");
#endif
}

/// The largest |Y - Yref| relative to the documented bf16 GEMM bound over all outputs (≤ 1 passes);
/// xb [M, K] and wb [N, K] row-major (the values both GEMMs multiplied, whatever W's layout).
static double bf16_worst_ratio(const uint16_t *xb, const uint16_t *wb, const float *bias, const float *Y,
                               const float *Yref, size_t M, size_t N, size_t K) {
    double worst = 0;
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double mag = 0;
            for (size_t k = 0; k < K; k++) {
                uint32_t a = (uint32_t)xb[m * K + k] << 16, b = (uint32_t)wb[n * K + k] << 16;
                float fa, fb;
                memcpy(&fa, &a, 4); memcpy(&fb, &b, 4);
                mag += fabs((double)fa * fb);
            }
            const double bound = 2.0 * (double)(K + 2) * 0x1p-24 * mag + fabs(bias[n]) * 0x1p-23;
            const double d = fabs((double)Y[m * N + n] - Yref[m * N + n]) / bound;
            if (d > worst) worst = d;
        }
    return worst;
}

static int f32_only = 0;
static int i8_only = 0;   // --i8: the int8 kernels only (with the fused two-pass one), plus the AVX2 mixes

/// Whether `level` is of this CPU's chain (x86 or ARM) and not above the detected level.
static int runs_here(sito_isa level) {
    const sito_isa have = sito_kernels_detect_isa();
    return sito_isa_family_of(level) == sito_isa_family_of(have) && level <= have;
}

/// sito_gemm_f32 at every f32 path this CPU has (with bias, as Linear.swift will call it), after OpenBLAS's
/// cblas_sgemm on the same shape took t_sgemm: GFLOP/s and the fraction of sgemm's. The output is checked
/// against the scalar reference (gemmF32Tolerance) on the shapes small enough for it.
static void bench_gemm_f32(const float *X, const float *Wf, const float *bias, float *Y, float *Yref, size_t M,
                           size_t N, size_t K, double t_sgemm) {
    const double ops = 2.0 * (double)M * (double)N * (double)K;
    const int check = (double)M * N * K <= 2.0e9;
    if (check) sito_gemm_f32_isa(SITO_ISA_SCALAR, X, K, Wf, K, bias, Yref, N, M, N, K);
    const sito_isa levels[] = {SITO_ISA_AVX2, SITO_ISA_AVX512, SITO_ISA_NEON};
    for (int l = 0; l < 3; l++) {
        if (!runs_here(levels[l])) continue;
        double t;
        TIME_MEDIAN(t, sito_gemm_f32_isa(levels[l], X, K, Wf, K, bias, Y, N, M, N, K));
        double worst = 0;
        for (size_t m = 0; check && m < M; m++)
            for (size_t n = 0; n < N; n++) {
                double mag = 0;
                for (size_t k = 0; k < K; k++) mag += fabs((double)X[m * K + k] * Wf[n * K + k]);
                const double tol = 1e-5 * mag + fabs(bias[n]) * 0x1p-23 + 1e-30;
                worst = fmax(worst, fabs((double)Y[m * N + n] - Yref[m * N + n]) / tol);
            }
        printf("  f32/%s %6.1f (%3.0f%% of sgemm)%s", sito_gemm_f32_path_name(levels[l]), ops / t * 1e-9,
               100.0 * t_sgemm / t, worst > 1 ? " OUT-OF-TOLERANCE" : "");
    }
}

static void bench_shape(size_t M, size_t N, size_t K) {
    const double ops = 2.0 * (double)M * (double)N * (double)K;
    float *X = malloc(M * K * sizeof(float)), *Wf = malloc(N * K * sizeof(float));
    float *Y = malloc(M * N * sizeof(float)), *Yref = malloc(M * N * sizeof(float));
    int8_t *xq = malloc(M * K), *wq = malloc(N * K);
    float *sx = malloc(M * sizeof(float)), *sw = malloc(N * sizeof(float)), *bias = malloc(N * sizeof(float));
    int32_t *sums = malloc(N * sizeof(int32_t));
    uint16_t *xb = malloc(M * K * 2), *wb = malloc(N * K * 2);
    for (size_t i = 0; i < M * K; i++) X[i] = frand();
    for (size_t i = 0; i < N * K; i++) Wf[i] = 0.05f * frand();
    for (size_t i = 0; i < N; i++) bias[i] = frand();
    sito_quantize_rows_i8(Wf, K, N, K, wq, K, sw);
    sito_i8_row_sums(wq, K, N, K, sums);
    sito_f32_to_bf16(Wf, wb, N * K);
    sito_f32_to_bf16(X, xb, M * K);
    sito_quantize_rows_i8(X, K, M, K, xq, K, sx);

    printf("M=%-5zu N=%-5zu K=%-5zu", M, N, K);
    double t = 0;
    if (!i8_only) TIME_MEDIAN(t, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, X, (int)K,
                               Wf, (int)K, 0.0f, Y, (int)N));
    const double t_sgemm = t;
    if (!i8_only) {
        printf("  sgemm %6.1f", ops / t * 1e-9);
        bench_gemm_f32(X, Wf, bias, Y, Yref, M, N, K, t_sgemm);
    }
    if (f32_only) {
        printf("\n");
        fflush(stdout);
        free(X); free(Wf); free(Y); free(Yref); free(xq); free(wq); free(sx); free(sw); free(bias); free(sums);
        free(xb); free(wb);
        return;
    }

    // Scalar references only on the smaller shapes (they are slow); the tests cover correctness anyway.
    const int check = (double)M * N * K <= 2.0e9;
    if (check) sito_gemm_i8_isa(SITO_ISA_SCALAR, xq, K, sx, wq, K, sw, sums, bias, Yref, N, M, N, K);
    const sito_isa have = sito_kernels_detect_isa();
    const sito_isa i8_levels[] = {SITO_ISA_AVX2, SITO_ISA_AVX512_VNNI};
    for (int l = 0; l < 2; l++) {
        if (i8_levels[l] > have) continue;
        TIME_MEDIAN(t, sito_gemm_i8_isa(i8_levels[l], xq, K, sx, wq, K, sw, sums, bias, Y, N, M, N, K));
        const int same = !check || memcmp(Y, Yref, M * N * sizeof(float)) == 0;
        printf("  i8/%s %6.1f%s", sito_gemm_i8_path_name(i8_levels[l]), ops / t * 1e-9, same ? "" : " MISMATCH");
    }
    const int blockable = N % 16 == 0 && K % 4 == 0;
    int8_t *wqb = malloc(N * K);
    if (blockable) {
        sito_pack_blocked16(wq, K, 1, N, K, wqb);
        for (int l = 0; l < 2; l++) {
            if (i8_levels[l] > have) continue;
            TIME_MEDIAN(t, sito_gemm_i8_blocked16_isa(i8_levels[l], xq, K, sx, wqb, sw, sums, bias, Y, N, M, N, K));
            const int same = !check || memcmp(Y, Yref, M * N * sizeof(float)) == 0;
            printf("  i8b16/%s %6.1f%s", sito_gemm_i8_path_name(i8_levels[l]), ops / t * 1e-9, same ? "" : " MISMATCH");
        }
    }
    if (blockable) {   // the fused two-pass kernel against two single-pass GEMMs (its own reference)
        int8_t *xq2 = malloc(M * K);
        float *sx2 = malloc(M * sizeof(float)), *Y2 = malloc(M * N * sizeof(float));
        for (size_t i = 0; i < M * K; i++) xq2[i] = (int8_t)-xq[M * K - 1 - i];
        for (size_t m = 0; m < M; m++) sx2[m] = sx[m] / 128;
        for (int l = 0; l < 2; l++) {
            if (i8_levels[l] > have) continue;
            sito_gemm_i8_blocked16_isa(i8_levels[l], xq, K, sx, wqb, sw, sums, bias, Yref, N, M, N, K);
            sito_gemm_i8_blocked16_isa(i8_levels[l], xq2, K, sx2, wqb, sw, sums, NULL, Y2, N, M, N, K);
            for (size_t i = 0; i < M * N; i++) Yref[i] += Y2[i];
            TIME_MEDIAN(t, sito_gemm_i8_blocked16_2pass_isa(i8_levels[l], xq, sx, xq2, sx2, K, wqb, sw, sums, bias, Y, N, M, N, K));
            const int same = memcmp(Y, Yref, M * N * sizeof(float)) == 0;
            double t2;
            TIME_MEDIAN(t2, sito_gemm_i8_blocked16_isa(i8_levels[l], xq, K, sx, wqb, sw, sums, bias, Y, N, M, N, K);
                            sito_gemm_i8_blocked16_isa(i8_levels[l], xq2, K, sx2, wqb, sw, sums, NULL, Y2, N, M, N, K));
            printf("  i8b16x2/%s %6.1f (2 calls %6.1f)%s", sito_gemm_i8_path_name(i8_levels[l]), 2 * ops / t * 1e-9,
                   2 * ops / t2 * 1e-9, same ? "" : " MISMATCH");
        }
        free(xq2); free(sx2); free(Y2);
    }
    TIME_MEDIAN(t, sito_quantize_rows_i8(X, K, M, K, xq, K, sx));
    printf("  quant-x %.2fms", t * 1e3);
    if (i8_only) {
        free(wqb);
        printf("\n");
        fflush(stdout);
        free(X); free(Wf); free(Y); free(Yref); free(xq); free(wq); free(sx); free(sw); free(bias); free(sums);
        free(xb); free(wb);
        return;
    }

    if (check) sito_gemm_bf16_isa(SITO_ISA_SCALAR, xb, K, wb, K, bias, Yref, N, M, N, K);
    const sito_isa bf_levels[] = {SITO_ISA_AVX2, SITO_ISA_AVX512, SITO_ISA_AVX512_BF16};
    for (int l = 0; l < 3; l++) {
        if (bf_levels[l] > have) continue;
        TIME_MEDIAN(t, sito_gemm_bf16_isa(bf_levels[l], xb, K, wb, K, bias, Y, N, M, N, K));
        const double worst = check ? bf16_worst_ratio(xb, wb, bias, Y, Yref, M, N, K) : 0;
        printf("  bf16/%s %6.1f%s", sito_gemm_bf16_path_name(bf_levels[l]), ops / t * 1e-9, worst > 1 ? " OUT-OF-TOLERANCE" : "");
    }
    uint16_t *wbb = malloc(N * K * 2);
    if (blockable) {
        sito_pack_blocked16(wb, K, 2, N, K, wbb);
        for (int l = 0; l < 3; l++) {
            if (bf_levels[l] > have) continue;
            TIME_MEDIAN(t, sito_gemm_bf16_blocked16_isa(bf_levels[l], xb, K, wbb, bias, Y, N, M, N, K));
            const double worst = check ? bf16_worst_ratio(xb, wb, bias, Y, Yref, M, N, K) : 0;
            printf("  bf16b16/%s %6.1f%s", sito_gemm_bf16_path_name(bf_levels[l]), ops / t * 1e-9, worst > 1 ? " OUT-OF-TOLERANCE" : "");
        }
    }
    free(wqb); free(wbb);
    printf("\n");
    fflush(stdout);
    free(X); free(Wf); free(Y); free(Yref); free(xq); free(wq); free(sx); free(sw); free(bias); free(sums);
    free(xb); free(wb);
}

/// --a16: the int8-a16 scheme (int8 weights × int16 activations, sito_gemm_i8_blocked16_a16) against the
/// blocked16 int8 kernels it competes with, all at the AVX2 level (and the a16 kernel at every level this
/// CPU has above it): single-pass int8 (sito_gemm_i8_blocked16), the fused two-pass int8
/// (sito_gemm_i8_blocked16_2pass) and a16. The three are timed interleaved (one run of each per
/// repetition, median of `reps`), so load from other processes hits them alike. GOPS = 2·M·N·K / s for all
/// three (the same useful work); "a16/i8" and "a16/2pass" are time ratios. After the table row: the
/// row-major a16 kernel (sito_gemm_i8_a16) at AVX2, GOPS and its time / the blocked16 int8 time. Every a16
/// output is checked bit for bit against the scalar reference.
static void bench_a16_shape(size_t M, size_t N, size_t K) {
    const double ops = 2.0 * (double)M * (double)N * (double)K;
    float *X = malloc(M * K * sizeof(float)), *Wf = malloc(N * K * sizeof(float)), *R = malloc(M * K * sizeof(float));
    float *Y = malloc(M * N * sizeof(float)), *Yref = malloc(M * N * sizeof(float));
    int8_t *xq = malloc(M * K), *xq2 = malloc(M * K), *wq = malloc(N * K), *wqb = malloc(N * K);
    int16_t *x16 = malloc(M * K * sizeof(int16_t));
    float *sx = malloc(M * sizeof(float)), *sx2 = malloc(M * sizeof(float)), *s16 = malloc(M * sizeof(float));
    float *sw = malloc(N * sizeof(float)), *bias = malloc(N * sizeof(float));
    int32_t *sums = malloc(N * sizeof(int32_t));
    for (size_t i = 0; i < M * K; i++) X[i] = frand();
    for (size_t i = 0; i < N * K; i++) Wf[i] = 0.05f * frand();
    for (size_t i = 0; i < N; i++) bias[i] = frand();
    sito_quantize_rows_i8(Wf, K, N, K, wq, K, sw);
    sito_pack_blocked16(wq, K, 1, N, K, wqb);
    sito_i8_row_sums_blocked16(wqb, N, K, sums);
    sito_quantize_rows_i8(X, K, M, K, xq, K, sx);
    for (size_t m = 0; m < M; m++)   // the two-pass residual, as the runtime computes it
        for (size_t k = 0; k < K; k++) R[m * K + k] = X[m * K + k] - (float)xq[m * K + k] * sx[m];
    sito_quantize_rows_i8(R, K, M, K, xq2, K, sx2);
    const int32_t levels = sito_a16_levels(K);
    sito_quantize_rows_i16(X, K, M, K, levels, x16, K, s16);
    sito_gemm_i8_blocked16_a16_isa(SITO_ISA_SCALAR, x16, K, s16, wqb, sw, bias, Yref, N, M, N, K);

    const sito_isa a = SITO_ISA_AVX2;
    double t8[MAXREPS], t2[MAXREPS], t16[MAXREPS];
    sito_gemm_i8_blocked16_isa(a, xq, K, sx, wqb, sw, sums, bias, Y, N, M, N, K);   // warm-up
    sito_gemm_i8_blocked16_2pass_isa(a, xq, sx, xq2, sx2, K, wqb, sw, sums, bias, Y, N, M, N, K);
    sito_gemm_i8_blocked16_a16_isa(a, x16, K, s16, wqb, sw, bias, Y, N, M, N, K);
    int same = memcmp(Y, Yref, M * N * sizeof(float)) == 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        sito_gemm_i8_blocked16_isa(a, xq, K, sx, wqb, sw, sums, bias, Y, N, M, N, K);
        t8[r] = now() - t0;
        t0 = now();
        sito_gemm_i8_blocked16_2pass_isa(a, xq, sx, xq2, sx2, K, wqb, sw, sums, bias, Y, N, M, N, K);
        t2[r] = now() - t0;
        t0 = now();
        sito_gemm_i8_blocked16_a16_isa(a, x16, K, s16, wqb, sw, bias, Y, N, M, N, K);
        t16[r] = now() - t0;
    }
    same = same && memcmp(Y, Yref, M * N * sizeof(float)) == 0;
    qsort(t8, (size_t)reps, sizeof(double), cmp_double);
    qsort(t2, (size_t)reps, sizeof(double), cmp_double);
    qsort(t16, (size_t)reps, sizeof(double), cmp_double);
    const double m8 = t8[reps / 2], m2 = t2[reps / 2], m16 = t16[reps / 2];
    printf("| %4zu x %4zu x %4zu | %5d | %6.1f | %6.1f | %6.1f%s | %5.2f | %5.2f |", M, N, K, levels, ops / m8 * 1e-9,
           ops / m2 * 1e-9, ops / m16 * 1e-9, same ? "" : " MISMATCH", m16 / m8, m16 / m2);
    // The row-major a16 kernel (files written with --layout row-major) at AVX2, and the blocked16 one at the
    // levels above AVX2 this CPU has; each checked against the scalar reference too.
    double trm;
    TIME_MEDIAN(trm, sito_gemm_i8_a16_isa(a, x16, K, s16, wq, K, sw, bias, Y, N, M, N, K));
    printf(" row-major a16/avx2 %6.1f (%.2f)%s", ops / trm * 1e-9, trm / m8,
           memcmp(Y, Yref, M * N * sizeof(float)) == 0 ? "" : " MISMATCH");
    const sito_isa more[] = {SITO_ISA_AVX512, SITO_ISA_AVX512_VNNI};
    for (int l = 0; l < 2; l++) {
        if (!runs_here(more[l])) continue;
        double t;
        TIME_MEDIAN(t, sito_gemm_i8_blocked16_a16_isa(more[l], x16, K, s16, wqb, sw, bias, Y, N, M, N, K));
        printf(" a16/%s %6.1f%s", sito_gemm_i8_a16_path_name(more[l]), ops / t * 1e-9,
               memcmp(Y, Yref, M * N * sizeof(float)) == 0 ? "" : " MISMATCH");
    }
    printf("\n");
    fflush(stdout);
    free(X); free(Wf); free(R); free(Y); free(Yref); free(xq); free(xq2); free(wq); free(wqb); free(x16);
    free(sx); free(sx2); free(s16); free(sw); free(bias); free(sums);
}

/// Attention of one head of one sequence of L tokens (L queries × L keys, d = 64, rows 1024 floats apart as
/// in the large model's packed Q/K/V): what Attention.swift did before the fused kernel (per block of 64
/// queries: two cblas_sgemm per key block of 512 + sito_softmax_update_f32 + finish) and every path of
/// sito_attention_f32 / sito_attention_bf16 (one call). GFLOP/s = 4·L²·d / s (the two products; the
/// softmax is not counted). "pack" is sito_attention_pack_kv_bf16 of the head, once per layer and
/// sequence as the runtime does; its time is included in the bf16 figures ("bf16+pack").
static void bench_attention(size_t L) {
    const size_t bq = 64, d = 64, ld = 1024, kb_old = 512;
    const double flops = 4.0 * (double)L * (double)L * (double)d;
    const float scale = 0.125f;
    float *Q = malloc(L * ld * sizeof(float)), *K = malloc(L * ld * sizeof(float)), *V = malloc(L * ld * sizeof(float));
    float *O = malloc(L * ld * sizeof(float)), *ref = malloc(L * d * sizeof(float));
    float *S = malloc(bq * kb_old * sizeof(float)), *acc = malloc(bq * d * sizeof(float));
    float row_max[64], row_sum[64];
    for (size_t i = 0; i < L * ld; i++) { Q[i] = 2 * frand(); K[i] = 2 * frand(); V[i] = frand(); }
    uint16_t *kv = malloc(sito_attention_kv_bf16_elements(L, d) * sizeof(uint16_t));
    void *scratch = aligned_alloc(64, (sito_attention_scratch_bytes(d) + 63) / 64 * 64);
    printf("attention d=64 L=%-5zu", L);
    double t;
    TIME_MEDIAN(t, {
        for (size_t q0 = 0; q0 < L; q0 += bq) {
            const size_t m = L - q0 < bq ? L - q0 : bq;
            for (size_t r = 0; r < m; r++) { row_max[r] = -INFINITY; row_sum[r] = 0; }
            memset(acc, 0, m * d * sizeof(float));
            for (size_t k0 = 0; k0 < L; k0 += kb_old) {
                const size_t bk = L - k0 < kb_old ? L - k0 : kb_old;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)bk, (int)d, scale, Q + q0 * ld,
                            (int)ld, K + k0 * ld, (int)ld, 0, S, (int)kb_old);
                sito_softmax_update_f32(S, kb_old, m, bk, row_max, row_sum, acc, d, d);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)d, (int)bk, 1, S, (int)kb_old,
                            V + k0 * ld, (int)ld, 1, acc, (int)d);
            }
            sito_softmax_finish_f32(acc, d, row_sum, O + q0 * ld, ld, m, d);
        }
    });
    printf("  sgemm+softmax %6.1f", flops / t * 1e-9);
    sito_attention_f32_isa(SITO_ISA_SCALAR, Q, ld, K, ld, V, ld, ref, d, L, L, d, scale, scratch);
    const sito_isa levels[] = {SITO_ISA_AVX2, SITO_ISA_AVX512, SITO_ISA_NEON};
    for (int l = 0; l < 3; l++) {
        if (!runs_here(levels[l])) continue;
        TIME_MEDIAN(t, sito_attention_f32_isa(levels[l], Q, ld, K, ld, V, ld, O, ld, L, L, d, scale, scratch));
        double worst = 0;
        for (size_t i = 0; i < L; i++)
            for (size_t c = 0; c < d; c++) worst = fmax(worst, fabs((double)O[i * ld + c] - ref[i * d + c]));
        printf("  f32/%s %6.1f%s", sito_attention_path_name(levels[l], 0), flops / t * 1e-9, worst > 1e-5 ? " MISMATCH" : "");
    }
    double tp;
    TIME_MEDIAN(tp, sito_attention_pack_kv_bf16(K, ld, V, ld, L, d, kv));
    printf("  pack %.1fus", tp * 1e6);
    sito_attention_bf16_isa(SITO_ISA_SCALAR, Q, ld, kv, ref, d, L, L, d, scale, scratch);
    const sito_isa bf_levels[] = {SITO_ISA_AVX2, SITO_ISA_AVX512, SITO_ISA_AVX512_BF16, SITO_ISA_NEON, SITO_ISA_NEON_BF16};
    for (int l = 0; l < 5; l++) {
        if (!runs_here(bf_levels[l])) continue;
        TIME_MEDIAN(t, sito_attention_bf16_isa(bf_levels[l], Q, ld, kv, O, ld, L, L, d, scale, scratch));
        double worst = 0;
        for (size_t i = 0; i < L; i++)
            for (size_t c = 0; c < d; c++) worst = fmax(worst, fabs((double)O[i * ld + c] - ref[i * d + c]));
        printf("  bf16+pack/%s %6.1f%s", sito_attention_path_name(bf_levels[l], 1), flops / (t + tp) * 1e-9,
               worst > 1e-2 ? " MISMATCH" : "");
    }
    printf("\n");
    fflush(stdout);
    free(Q); free(K); free(V); free(O); free(ref); free(S); free(acc); free(kv); free(scratch);
}

int main(int argc, char **argv) {
    int attention_only = 0, a16_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--wall") == 0) timer = CLOCK_MONOTONIC;
        else if (strcmp(argv[i], "--attention") == 0) attention_only = 1;
        else if (strcmp(argv[i], "--f32") == 0) f32_only = 1;
        else if (strcmp(argv[i], "--i8") == 0) i8_only = 1;
        else if (strcmp(argv[i], "--a16") == 0) a16_only = 1;
        else reps = atoi(argv[i]);
    }
    if (reps < 1 || reps > MAXREPS) reps = 5;
    printf("CSitoKernels benchmark, 1 thread, median of %d after warm-up, GOPS (2·M·N·K/s), %s time\n", reps,
           timer == CLOCK_MONOTONIC ? "wall" : "thread CPU");
    printf("CPU level: %s; OPENBLAS_CORETYPE=%s; OpenBLAS: %s\n", sito_kernels_isa_name(sito_kernels_detect_isa()),
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)", openblas_get_config());
    openblas_set_num_threads(1);
    print_peaks();
    static const size_t shapes[][3] = {
        {128, 1024, 1024}, {128, 4096, 1024}, {128, 1024, 4096},   // 1 pair × 128 tokens, large config
        {512, 1024, 1024}, {512, 4096, 1024}, {512, 1024, 4096},   // 512 tokens
        {4096, 1024, 1024}, {4096, 4096, 1024}, {1, 1024, 1024}, {20, 1024, 1024},   // + one short pair
    };
    // The f32 GEMM comparison (--f32): the runtime's projection shapes, K × N = 1024 × 1024, 1024 × 4096
    // (FFN up), 4096 × 1024 (FFN down), for 128 and 4096 rows.
    static const size_t f32_shapes[][3] = {
        {128, 1024, 1024}, {128, 4096, 1024}, {128, 1024, 4096},
        {4096, 1024, 1024}, {4096, 4096, 1024}, {4096, 1024, 4096},
    };
    if (a16_only) {   // the int8-a16 GEMM against the int8 ones, AVX2 (the large config's shapes)
        print_i8_mix_peaks();
        // The large config's projections for one 128- and one 512-token pair, then what one of 2 threads
        // gets inside the model at 4096 tokens (32 × 128 or 8 × 512): Q/K/V/out over all rows, the FFN in
        // chunks of 512 rows (Encoder.ffnChunk), each thread half of the output columns.
        static const size_t a16_shapes[][3] = {{128, 1024, 1024}, {128, 4096, 1024}, {128, 1024, 4096}, {512, 1024, 4096},
                                               {4096, 512, 1024}, {512, 2048, 1024}, {512, 512, 4096}};
        printf("| M x N x K | levels | i8 GOPS | 2pass GOPS | a16 GOPS | a16/i8 time | a16/2pass time |\n"
               "|---|---:|---:|---:|---:|---:|---:|\n");
        for (size_t i = 0; i < sizeof a16_shapes / sizeof a16_shapes[0]; i++)
            bench_a16_shape(a16_shapes[i][0], a16_shapes[i][1], a16_shapes[i][2]);
        print_i8_mix_peaks();
        return 0;
    }
    if (i8_only) {   // the large config's projection shapes at 128 and 512 rows (one pair's tokens)
        print_i8_mix_peaks();
        static const size_t i8_shapes[][3] = {
            {128, 1024, 1024}, {128, 4096, 1024}, {128, 1024, 4096}, {512, 1024, 1024}, {512, 4096, 1024},
            {512, 1024, 4096},
        };
        for (size_t i = 0; i < sizeof i8_shapes / sizeof i8_shapes[0]; i++)
            bench_shape(i8_shapes[i][0], i8_shapes[i][1], i8_shapes[i][2]);
        print_i8_mix_peaks();
        return 0;
    }
    if (f32_only) {
        for (size_t i = 0; i < sizeof f32_shapes / sizeof f32_shapes[0]; i++)
            bench_shape(f32_shapes[i][0], f32_shapes[i][1], f32_shapes[i][2]);
        return 0;
    }
    if (!attention_only)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) bench_shape(shapes[i][0], shapes[i][1], shapes[i][2]);
    static const size_t lengths[] = {128, 512, 2048};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) bench_attention(lengths[i]);
    print_peaks();
    return 0;
}
