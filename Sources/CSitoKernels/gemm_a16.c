// gemm_a16.c: the `int8-a16` GEMMs: int8 weights (blocked16 or row-major, as stored in a `.sito` file, in
// place) × int16 activations quantized per row by sito_quantize_rows_i16 with sito_a16_levels(K) levels.
// Contract (exact int32 sums, sito_gemm_i8's epilogue, bit-identical paths): sito_kernels.h, "int8 weights
// × 16-bit activations".
//
// Every path multiplies int16 by int16: the weights are sign-extended once per vector (vpmovsxbw, sxtl)
// and that vector then meets as many activation rows as the registers allow. A blocked16 group (16 rows ×
// 4 k, 64 bytes) is four quarters of 4 rows × 4 k; one quarter widened is 16 int16 = one ymm, and against
// the activations x[k…k+3] repeated (a 64-bit broadcast) vpmaddwd gives, per row, two int32 partial sums
// (k, k+1 and k+2, k+3) in adjacent lanes. The tile keeps those pairs and adds them once at the end
// (vphaddd), so the loop is exactly one vpmaddwd + one vpaddd per 16 multiply-adds plus the widening.
// |partial| ≤ |acc| bound, so no intermediate overflows under the precondition |xq| ≤ sito_a16_levels(K).
//
// Paths: scalar (reference); avx2 (tile: 2 activation rows × one 16-row block = 8 accumulators, no spills;
// 3 rows need 17 ymm registers and spilled); avx512 (AVX512BW: vpmovsxbw widens half a group, 8 rows × 4 k,
// into one zmm; tile 8 rows × one block); avx512vnni (the same with vpdpwssd; clang may still split some
// into vpmaddwd + vpaddd when it reassociates the unrolled chain: the same exact sums); neon (ld4
// de-interleaves a group into its 4 k × 16 rows, sxtl/sxtl2 widen, smlal/smlal2 by lane of x; tile 4 rows ×
// one block). Row-major W (sito_gemm_i8_a16): the same products along k of each W row, 8-lane (avx2),
// 16-lane (avx512) or 4-lane (neon) partial sums per (row, W row) reduced at the end. The AVX-512 paths
// could not run on the AVX2-only development machine: besides compiling (and objdump: no spills in the
// tiles), their lane logic was run through SIMDe's portable AVX-512 intrinsics against the scalar
// reference; the tests and the conformance driver run them natively wherever the CPU has them.
//
// Blocking (blocked16): activation rows in groups of ~256 KiB of int16 (they stay in L2); for each group,
// every 16-row block of W (16 · K bytes, in L1 up to K = 2048) meets all the group's row tiles before the
// next block, so W is read once per group and the L2 → L1 traffic is the activations (1/8 byte per
// multiply-add with 2-row tiles) rather than W (1/2 byte: the order of gemm_blocked16.c, measured ~10%
// slower here). Row-major: W in L2 panels as gemm_i8.c.
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "kernels_internal.h"

int32_t sito_a16_levels(size_t K) {
    if (K == 0) return 32767;
    const uint64_t l = (uint64_t)INT32_MAX / ((uint64_t)127 * (uint64_t)K);
    return l > 32767 ? 32767 : (int32_t)l;
}

// MARK: - scalar references

/// Element index of (n, k) in a blocked16 int8 matrix with K columns (gemm_blocked16.c, group size 4).
static inline size_t blocked_index(size_t n, size_t k, size_t K) {
    return ((n / 16) * (K / 4) + k / 4) * 64 + (n % 16) * 4 + k % 4;
}

static void gemm_a16_blocked_scalar(const int16_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                                    const float *w_scale, const float *bias, float *Y, size_t ldy,
                                    size_t M, size_t N, size_t K) {
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            int32_t acc = 0;
            for (size_t k = 0; k < K; k++) acc += (int32_t)xq[m * ldxq + k] * (int32_t)W[blocked_index(n, k, K)];
            Y[m * ldy + n] = sito_i8_dequant(acc, x_scale[m], w_scale[n], bias, n);
        }
}

static void gemm_a16_rowmajor_scalar(const int16_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                                     size_t ldw, const float *w_scale, const float *bias, float *Y, size_t ldy,
                                     size_t M, size_t N, size_t K) {
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            int32_t acc = 0;
            for (size_t k = 0; k < K; k++) acc += (int32_t)xq[m * ldxq + k] * (int32_t)W[n * ldw + k];
            Y[m * ldy + n] = sito_i8_dequant(acc, x_scale[m], w_scale[n], bias, n);
        }
}

#if SITO_X86 || SITO_ARM
/// Rows of a row-major W per L2 panel: ~512 KiB, a multiple of 4, within [16, 256] (as gemm_i8.c).
static size_t panel_rows(size_t K) {
    size_t nb = K ? (512u * 1024u) / K : 256;
    nb = nb < 16 ? 16 : (nb > 256 ? 256 : nb);
    return nb & ~(size_t)3;
}

/// Activation rows per L2 group: ~256 KiB of int16 rows (half of a 512 KiB L2), a multiple of the tile's
/// rows `mr`, at least mr.
static size_t row_group(size_t K, size_t mr) {
    size_t mg = K ? (256u * 1024u) / (2 * K) : 256;
    mg -= mg % mr;
    return mg < mr ? mr : mg;
}
#endif

#if SITO_X86
/// The eight bytes at p, as one int (an unaligned load the compiler turns into a broadcast).
static inline int64_t load8(const void *p) {
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

// MARK: - AVX2: vpmovsxbw once per weight quarter, vpmaddwd + vpaddd per activation row

/// (float)acc · sx · sw (+ bias) for 8 columns: sito_i8_dequant lane by lane (vcvtdq2ps rounds to nearest
/// even; two separately rounded multiplications, then the bias).
SITO_TARGET_AVX2 SITO_INLINE __m256 dequant8_avx2(__m256i acc, float sx, const float *sw, const float *bias) {
    __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(sx));
    __asm__("" : "+x"(y));
    y = _mm256_mul_ps(y, _mm256_loadu_ps(sw));
    __asm__("" : "+x"(y));
    if (bias) y = _mm256_add_ps(y, _mm256_loadu_ps(bias));
    return y;
}

/// Activation rows per AVX2 tile (one 16-row block): 4 accumulators per row, so 2 rows are 8 accumulators
/// + the widened quarter + one product + 2 broadcasts = 12 of the 16 ymm registers, no spills. 3 rows need
/// 17 (12 + 1 + 1 + 3): clang spilled an accumulator per quarter, 1.29–1.39× the int8 kernel's time
/// against ~1.0× for 2 rows (BENCHMARKS.md, "int8-a16 kernel on AVX2").
enum { A16_AVX2_MR = 2 };

/// out[i][h] = Σ_k x[i, k] · W[rows 8h…8h+7 of the block, k] for MR rows × one blocked16 block of 16 rows.
SITO_TARGET_AVX2 SITO_INLINE void tile_a16_avx2(const size_t MR, const int16_t *x, size_t ldx, const int8_t *w,
                                               size_t K, __m256i out[A16_AVX2_MR][2]) {
    __m256i acc[A16_AVX2_MR][4];
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) acc[i][q] = _mm256_setzero_si256();
    for (size_t k = 0; k < K; k += 4) {
        __m256i xv[A16_AVX2_MR];
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) xv[i] = _mm256_set1_epi64x(load8(x + i * ldx + k));
        const int8_t *g = w + k * 16;
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) {
            const __m256i wq = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(g + 16 * q)));
            SITO_UNROLL
            for (size_t i = 0; i < MR; i++) acc[i][q] = _mm256_add_epi32(acc[i][q], _mm256_madd_epi16(wq, xv[i]));
        }
    }
    // acc[i][q] lanes: (row 4q, k pairs 0/1), (row 4q, 2/3), (4q+1, …), … → one sum per row, rows in order.
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t h = 0; h < 2; h++)
            out[i][h] = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[i][2 * h], acc[i][2 * h + 1]), 0xD8);
}

SITO_TARGET_AVX2
static void gemm_a16_blocked_avx2(const int16_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                                  const float *w_scale, const float *bias, float *Y, size_t ldy,
                                  size_t M, size_t N, size_t K) {
    const size_t MG = row_group(K, A16_AVX2_MR);
    for (size_t m0 = 0; m0 < M; m0 += MG) {
        const size_t m1 = m0 + MG < M ? m0 + MG : M;
        for (size_t n = 0; n < N; n += 16) {
            for (size_t m = m0; m < m1; m += A16_AVX2_MR) {
                const size_t mr = m1 - m < A16_AVX2_MR ? m1 - m : A16_AVX2_MR;
                const int16_t *x = xq + m * ldxq;
                __m256i acc[A16_AVX2_MR][2];
                if (mr == 2) tile_a16_avx2(2, x, ldxq, W + n * K, K, acc);
                else tile_a16_avx2(1, x, ldxq, W + n * K, K, acc);
                for (size_t i = 0; i < mr; i++)
                    for (size_t h = 0; h < 2; h++) {
                        const size_t c = n + 8 * h;
                        _mm256_storeu_ps(Y + (m + i) * ldy + c, dequant8_avx2(acc[i][h], x_scale[m + i], w_scale + c,
                                                                              bias ? bias + c : NULL));
                    }
            }
        }
    }
}

// MARK: - AVX2, row-major W

/// The sum of the 8 int32 lanes of v.
SITO_TARGET_AVX2 SITO_INLINE int32_t hsum8_avx2(__m256i v) {
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4E));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
    return _mm_cvtsi128_si32(t);
}

/// out[i][j] = Σ_k x[i, k] · w[j, k]: 16 k per step (16 bytes of each W row sign-extended once, met by MR
/// activation rows), tile MR ≤ 4 rows × NR ≤ 2 W rows of 8-lane partial sums, reduced at the end; the
/// K % 16 tail in scalar. (Every partial sum is a sum over a subset of k, so it fits in int32 too.)
SITO_TARGET_AVX2 SITO_INLINE void tile_a16_rm_avx2(const size_t MR, const size_t NR, const int16_t *x, size_t ldx,
                                                  const int8_t *w, size_t ldw, size_t K, int32_t out[4][2]) {
    __m256i acc[4][2];
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_si256();
    size_t k = 0;
    for (; k + 16 <= K; k += 16) {
        __m256i wv[2];
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) wv[j] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + j * ldw + k)));
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) {
            const __m256i xv = _mm256_loadu_si256((const __m256i *)(x + i * ldx + k));
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++) acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(wv[j], xv));
        }
    }
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) {
            int32_t s = hsum8_avx2(acc[i][j]);
            for (size_t kk = k; kk < K; kk++) s += (int32_t)x[i * ldx + kk] * (int32_t)w[j * ldw + kk];
            out[i][j] = s;
        }
}

SITO_TARGET_AVX2
static void gemm_a16_rowmajor_avx2(const int16_t *xq, size_t ldxq, const float *x_scale, const int8_t *W, size_t ldw,
                                   const float *w_scale, const float *bias, float *Y, size_t ldy,
                                   size_t M, size_t N, size_t K) {
    const size_t NB = panel_rows(K);
    for (size_t n0 = 0; n0 < N; n0 += NB) {
        const size_t n1 = n0 + NB < N ? n0 + NB : N;
        for (size_t m = 0; m < M; m += 4) {
            const size_t mr = M - m < 4 ? M - m : 4;
            for (size_t n = n0; n < n1; n += 2) {
                const size_t nr = n1 - n < 2 ? n1 - n : 2;
                int32_t out[4][2];
                if (mr == 4 && nr == 2) tile_a16_rm_avx2(4, 2, xq + m * ldxq, ldxq, W + n * ldw, ldw, K, out);
                else tile_a16_rm_avx2(mr, nr, xq + m * ldxq, ldxq, W + n * ldw, ldw, K, out);
                for (size_t i = 0; i < mr; i++)
                    for (size_t j = 0; j < nr; j++)
                        Y[(m + i) * ldy + n + j] = sito_i8_dequant(out[i][j], x_scale[m + i], w_scale[n + j], bias, n + j);
            }
        }
    }
}

// MARK: - AVX-512 (AVX512BW vpmaddwd + vpaddd) and AVX-512 VNNI (vpdpwssd): half a group per zmm

/// Activation rows per AVX-512 tile (one 16-row block): 2 accumulators per row, so 8 rows are 16
/// accumulators + 8 broadcasts + the widened half-group + one product, of the 32 zmm registers.
enum { A16_AVX512_MR = 8 };

/// A block's two accumulators a (rows 0–7) and b (rows 8–15), lane 2r + p holding pair p of row r → one
/// int32 per row, rows 0…15 in order: the even lanes of both plus the odd lanes of both.
SITO_TARGET_AVX512 SITO_INLINE __m512i pairs16_avx512(__m512i a, __m512i b) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_add_epi32(_mm512_permutex2var_epi32(a, even, b), _mm512_permutex2var_epi32(a, odd, b));
}

/// sito_i8_dequant on 16 columns: (float)acc · sx, · sw, + bias, each rounded.
SITO_TARGET_AVX512 SITO_INLINE __m512 dequant16_avx512(__m512i acc, float sx, const float *sw, const float *bias) {
    __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(sx));
    __asm__("" : "+v"(y));
    y = _mm512_mul_ps(y, _mm512_loadu_ps(sw));
    __asm__("" : "+v"(y));
    if (bias) y = _mm512_add_ps(y, _mm512_loadu_ps(bias));
    return y;
}


/// Defines the AVX-512 blocked16 tile, driver and row-major driver of one target, MAC(acc, w, x) being
/// acc + Σ pairs w·x (vpmaddwd + vpaddd, or vpdpwssd).
#define SITO_A16_AVX512_KERNELS(SUFFIX, TARGET, MAC)                                                            \
    TARGET SITO_INLINE void tile_a16_##SUFFIX(const size_t MR, const int16_t *x, size_t ldx, const int8_t *w,    \
                                              size_t K, __m512i out[A16_AVX512_MR]) {                         \
        __m512i acc[A16_AVX512_MR][2];                                                                         \
        SITO_UNROLL                                                                                            \
        for (size_t i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_si512();                       \
        for (size_t k = 0; k < K; k += 4) {                                                                    \
            __m512i xv[A16_AVX512_MR];                                                                         \
            SITO_UNROLL                                                                                        \
            for (size_t i = 0; i < MR; i++) xv[i] = _mm512_set1_epi64(load8(x + i * ldx + k));                 \
            SITO_UNROLL                                                                                        \
            for (size_t h = 0; h < 2; h++) {                                                                   \
                const __m512i wh = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(w + k * 16 + 32 * h))); \
                SITO_UNROLL                                                                                    \
                for (size_t i = 0; i < MR; i++) acc[i][h] = MAC(acc[i][h], wh, xv[i]);                         \
            }                                                                                                  \
        }                                                                                                      \
        SITO_UNROLL                                                                                            \
        for (size_t i = 0; i < MR; i++) out[i] = pairs16_avx512(acc[i][0], acc[i][1]);                         \
    }                                                                                                          \
                                                                                                               \
    TARGET static void gemm_a16_blocked_##SUFFIX(const int16_t *xq, size_t ldxq, const float *x_scale,         \
                                                 const int8_t *W, const float *w_scale, const float *bias,     \
                                                 float *Y, size_t ldy, size_t M, size_t N, size_t K) {         \
        const size_t MG = row_group(K, A16_AVX512_MR);                                                         \
        for (size_t m0 = 0; m0 < M; m0 += MG) {                                                                \
            const size_t m1 = m0 + MG < M ? m0 + MG : M;                                                       \
            for (size_t n = 0; n < N; n += 16) {                                                               \
                for (size_t m = m0; m < m1; m += A16_AVX512_MR) {                                              \
                    const size_t mr = m1 - m < A16_AVX512_MR ? m1 - m : A16_AVX512_MR;                         \
                    const int16_t *x = xq + m * ldxq;                                                          \
                    __m512i acc[A16_AVX512_MR];                                                                \
                    switch (mr) {                                                                              \
                    case 8: tile_a16_##SUFFIX(8, x, ldxq, W + n * K, K, acc); break;                           \
                    case 7: tile_a16_##SUFFIX(7, x, ldxq, W + n * K, K, acc); break;                           \
                    case 6: tile_a16_##SUFFIX(6, x, ldxq, W + n * K, K, acc); break;                           \
                    case 5: tile_a16_##SUFFIX(5, x, ldxq, W + n * K, K, acc); break;                           \
                    case 4: tile_a16_##SUFFIX(4, x, ldxq, W + n * K, K, acc); break;                           \
                    case 3: tile_a16_##SUFFIX(3, x, ldxq, W + n * K, K, acc); break;                           \
                    case 2: tile_a16_##SUFFIX(2, x, ldxq, W + n * K, K, acc); break;                           \
                    default: tile_a16_##SUFFIX(1, x, ldxq, W + n * K, K, acc); break;                          \
                    }                                                                                          \
                    for (size_t i = 0; i < mr; i++)                                                            \
                        _mm512_storeu_ps(Y + (m + i) * ldy + n, dequant16_avx512(acc[i], x_scale[m + i], w_scale + n, \
                                                                                 bias ? bias + n : NULL));    \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
    }                                                                                                          \
                                                                                                               \
    /* Row-major W: 32 k per step (masked, zero-filled tail), 4 activation rows × 4 W rows of 16-lane partial \
       sums; each 4 × 16 block of outputs is reduced by one shuffle tree and dequantized as 16 lanes. */      \
    TARGET static void gemm_a16_rowmajor_##SUFFIX(const int16_t *xq, size_t ldxq, const float *x_scale,        \
                                                  const int8_t *W, size_t ldw, const float *w_scale,          \
                                                  const float *bias, float *Y, size_t ldy, size_t M, size_t N, \
                                                  size_t K) {                                                  \
        const size_t NB = panel_rows(K);                                                                       \
        for (size_t n0 = 0; n0 < N; n0 += NB) {                                                                \
            const size_t n1 = n0 + NB < N ? n0 + NB : N;                                                       \
            for (size_t m = 0; m < M; m += 4) {                                                                \
                const size_t mr = M - m < 4 ? M - m : 4;                                                       \
                for (size_t n = n0; n < n1; n += 4) {                                                          \
                    const size_t nr = n1 - n < 4 ? n1 - n : 4;                                                 \
                    __m512i acc[16];                                                                           \
                    SITO_UNROLL                                                                                \
                    for (size_t t = 0; t < 16; t++) acc[t] = _mm512_setzero_si512();                           \
                    for (size_t k = 0; k < K; k += 32) {                                                       \
                        const __mmask32 live = K - k >= 32 ? (__mmask32)0xFFFFFFFFu                            \
                                                           : (__mmask32)((1u << (K - k)) - 1);                  \
                        __m512i wv[4], xv[4];                                                                  \
                        SITO_UNROLL                                                                            \
                        for (size_t j = 0; j < 4; j++)                                                         \
                            wv[j] = j < nr ? _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(live, W + (n + j) * ldw + k)) \
                                           : _mm512_setzero_si512();                                           \
                        SITO_UNROLL                                                                            \
                        for (size_t i = 0; i < 4; i++)                                                         \
                            xv[i] = i < mr ? _mm512_maskz_loadu_epi16(live, xq + (m + i) * ldxq + k)           \
                                           : _mm512_setzero_si512();                                           \
                        SITO_UNROLL                                                                            \
                        for (size_t i = 0; i < 4; i++)                                                         \
                            SITO_UNROLL                                                                        \
                            for (size_t j = 0; j < 4; j++) acc[4 * i + j] = MAC(acc[4 * i + j], wv[j], xv[i]); \
                    }                                                                                          \
                    int32_t sums[16];                                                                          \
                    _mm512_storeu_si512(sums, sito_reduce16_epi32(acc));                                           \
                    for (size_t i = 0; i < mr; i++)                                                            \
                        for (size_t j = 0; j < nr; j++)                                                        \
                            Y[(m + i) * ldy + n + j] = sito_i8_dequant(sums[4 * i + j], x_scale[m + i],        \
                                                                       w_scale[n + j], bias, n + j);           \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
    }

#define SITO_A16_MAC_AVX512(acc, w, x) _mm512_add_epi32((acc), _mm512_madd_epi16((w), (x)))
#define SITO_A16_MAC_VNNI(acc, w, x) _mm512_dpwssd_epi32((acc), (w), (x))
SITO_A16_AVX512_KERNELS(avx512, SITO_TARGET_AVX512, SITO_A16_MAC_AVX512)
SITO_A16_AVX512_KERNELS(vnni, SITO_TARGET_VNNI, SITO_A16_MAC_VNNI)
#endif

#if SITO_ARM
// MARK: - aarch64 NEON (every level): sxtl + smlal/smlal2 by lane


/// Activation rows per NEON tile (one 16-row block): 16 accumulators + 4 activation vectors + the group
/// (4 registers) + its two widened halves: 26 of the 32 v registers.
enum { A16_NEON_MR = 4 };

/// acc[i][c] = Σ_k x[i, k] · W[rows 4c…4c+3 of the block, k]. ld4 de-interleaves a 64-byte group into its
/// four k (16 rows each); each is sign-extended to two int16x8 (rows 0–7, 8–15) and multiplied by x[i, k]
/// by lane: smlal (rows 4c…) and smlal2 (rows 4c+4…), one int32 lane per output row, k in order.
SITO_INLINE void tile_a16_neon(const size_t MR, const int16_t *x, size_t ldx, const int8_t *w, size_t K,
                               int32x4_t acc[A16_NEON_MR][4]) {
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t c = 0; c < 4; c++) acc[i][c] = vdupq_n_s32(0);
    for (size_t k = 0; k < K; k += 4) {
        const int8x16x4_t g = vld4q_s8(w + k * 16);
        int16x4_t xv[A16_NEON_MR];
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) xv[i] = vld1_s16(x + i * ldx + k);
#define SITO_A16_SMLAL_LANE(L)                                                                      \
        {                                                                                           \
            const int16x8_t lo = vmovl_s8(vget_low_s8(g.val[L])), hi = vmovl_high_s8(g.val[L]);     \
            SITO_UNROLL                                                                             \
            for (size_t i = 0; i < MR; i++) {                                                       \
                acc[i][0] = vmlal_lane_s16(acc[i][0], vget_low_s16(lo), xv[i], L);                  \
                acc[i][1] = vmlal_high_lane_s16(acc[i][1], lo, xv[i], L);                           \
                acc[i][2] = vmlal_lane_s16(acc[i][2], vget_low_s16(hi), xv[i], L);                  \
                acc[i][3] = vmlal_high_lane_s16(acc[i][3], hi, xv[i], L);                           \
            }                                                                                       \
        }
        SITO_A16_SMLAL_LANE(0)
        SITO_A16_SMLAL_LANE(1)
        SITO_A16_SMLAL_LANE(2)
        SITO_A16_SMLAL_LANE(3)
#undef SITO_A16_SMLAL_LANE
    }
}

static void gemm_a16_blocked_neon(const int16_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                                  const float *w_scale, const float *bias, float *Y, size_t ldy,
                                  size_t M, size_t N, size_t K) {
    const size_t MG = row_group(K, A16_NEON_MR);
    for (size_t m0 = 0; m0 < M; m0 += MG) {
        const size_t m1 = m0 + MG < M ? m0 + MG : M;
        for (size_t n = 0; n < N; n += 16) {
            for (size_t m = m0; m < m1; m += A16_NEON_MR) {
                const size_t mr = m1 - m < A16_NEON_MR ? m1 - m : A16_NEON_MR;
                const int16_t *x = xq + m * ldxq;
                int32x4_t acc[A16_NEON_MR][4];
                switch (mr) {
                case 4: tile_a16_neon(4, x, ldxq, W + n * K, K, acc); break;
                case 3: tile_a16_neon(3, x, ldxq, W + n * K, K, acc); break;
                case 2: tile_a16_neon(2, x, ldxq, W + n * K, K, acc); break;
                default: tile_a16_neon(1, x, ldxq, W + n * K, K, acc); break;
                }
                for (size_t i = 0; i < mr; i++)
                    for (size_t c = 0; c < 4; c++) {
                        const size_t col = n + 4 * c;
                        vst1q_f32(Y + (m + i) * ldy + col,
                                  sito_dequant4_neon(acc[i][c], x_scale[m + i], w_scale + col, bias ? bias + col : NULL));
                    }
            }
        }
    }
}

/// Row-major W: 8 k per step (8 weights sign-extended once, met by MR activation rows), tile MR ≤ 4 × NR ≤
/// 4 W rows of 4-lane partial sums (smlal + smlal2), reduced by addv; the K % 8 tail in scalar.
SITO_INLINE void tile_a16_rm_neon(const size_t MR, const size_t NR, const int16_t *x, size_t ldx, const int8_t *w,
                                  size_t ldw, size_t K, int32_t out[4][4]) {
    int32x4_t acc[4][4];
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) acc[i][j] = vdupq_n_s32(0);
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        int16x8_t wv[4];
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) wv[j] = vmovl_s8(vld1_s8(w + j * ldw + k));
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) {
            const int16x8_t xv = vld1q_s16(x + i * ldx + k);
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++)
                acc[i][j] = vmlal_high_s16(vmlal_s16(acc[i][j], vget_low_s16(wv[j]), vget_low_s16(xv)), wv[j], xv);
        }
    }
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) {
            int32_t s = vaddvq_s32(acc[i][j]);   // wrapping int32 additions of an exact total
            for (size_t kk = k; kk < K; kk++) s += (int32_t)x[i * ldx + kk] * (int32_t)w[j * ldw + kk];
            out[i][j] = s;
        }
}

static void gemm_a16_rowmajor_neon(const int16_t *xq, size_t ldxq, const float *x_scale, const int8_t *W, size_t ldw,
                                   const float *w_scale, const float *bias, float *Y, size_t ldy,
                                   size_t M, size_t N, size_t K) {
    const size_t NB = panel_rows(K);
    for (size_t n0 = 0; n0 < N; n0 += NB) {
        const size_t n1 = n0 + NB < N ? n0 + NB : N;
        for (size_t m = 0; m < M; m += 4) {
            const size_t mr = M - m < 4 ? M - m : 4;
            for (size_t n = n0; n < n1; n += 4) {
                const size_t nr = n1 - n < 4 ? n1 - n : 4;
                int32_t out[4][4];
                if (mr == 4 && nr == 4) tile_a16_rm_neon(4, 4, xq + m * ldxq, ldxq, W + n * ldw, ldw, K, out);
                else tile_a16_rm_neon(mr, nr, xq + m * ldxq, ldxq, W + n * ldw, ldw, K, out);
                for (size_t i = 0; i < mr; i++)
                    for (size_t j = 0; j < nr; j++)
                        Y[(m + i) * ldy + n + j] = sito_i8_dequant(out[i][j], x_scale[m + i], w_scale[n + j], bias, n + j);
            }
        }
    }
}
#endif

// MARK: - entry points

const char *sito_gemm_i8_a16_path_name(sito_isa level) {
    level = sito_clamp_isa(level);
    switch (sito_isa_family_of(level)) {
    case SITO_ISA_FAMILY_X86:
        return level >= SITO_ISA_AVX512_VNNI ? "avx512vnni" : (level >= SITO_ISA_AVX512 ? "avx512" : "avx2");
    case SITO_ISA_FAMILY_ARM: return "neon";
    default: return "scalar";
    }
}

void sito_gemm_i8_blocked16_a16_isa(sito_isa isa, const int16_t *xq, size_t ldxq, const float *x_scale,
                                    const int8_t *W, const float *w_scale, const float *bias, float *Y, size_t ldy,
                                    size_t M, size_t N, size_t K) {
    if (M == 0 || N == 0) return;
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512_VNNI) { gemm_a16_blocked_vnni(xq, ldxq, x_scale, W, w_scale, bias, Y, ldy, M, N, K); return; }
    if (isa >= SITO_ISA_AVX512) { gemm_a16_blocked_avx512(xq, ldxq, x_scale, W, w_scale, bias, Y, ldy, M, N, K); return; }
    if (isa >= SITO_ISA_AVX2) { gemm_a16_blocked_avx2(xq, ldxq, x_scale, W, w_scale, bias, Y, ldy, M, N, K); return; }
#elif SITO_ARM
    if (isa >= SITO_ISA_NEON) { gemm_a16_blocked_neon(xq, ldxq, x_scale, W, w_scale, bias, Y, ldy, M, N, K); return; }
#endif
    gemm_a16_blocked_scalar(xq, ldxq, x_scale, W, w_scale, bias, Y, ldy, M, N, K);
}

void sito_gemm_i8_blocked16_a16(const int16_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                                const float *w_scale, const float *bias, float *Y, size_t ldy,
                                size_t M, size_t N, size_t K) {
    sito_gemm_i8_blocked16_a16_isa(sito_kernels_isa(), xq, ldxq, x_scale, W, w_scale, bias, Y, ldy, M, N, K);
}

void sito_gemm_i8_a16_isa(sito_isa isa, const int16_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                          size_t ldw, const float *w_scale, const float *bias, float *Y, size_t ldy,
                          size_t M, size_t N, size_t K) {
    if (M == 0 || N == 0) return;
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512_VNNI) {
        gemm_a16_rowmajor_vnni(xq, ldxq, x_scale, W, ldw, w_scale, bias, Y, ldy, M, N, K);
        return;
    }
    if (isa >= SITO_ISA_AVX512) {
        gemm_a16_rowmajor_avx512(xq, ldxq, x_scale, W, ldw, w_scale, bias, Y, ldy, M, N, K);
        return;
    }
    if (isa >= SITO_ISA_AVX2) {
        gemm_a16_rowmajor_avx2(xq, ldxq, x_scale, W, ldw, w_scale, bias, Y, ldy, M, N, K);
        return;
    }
#elif SITO_ARM
    if (isa >= SITO_ISA_NEON) { gemm_a16_rowmajor_neon(xq, ldxq, x_scale, W, ldw, w_scale, bias, Y, ldy, M, N, K); return; }
#endif
    gemm_a16_rowmajor_scalar(xq, ldxq, x_scale, W, ldw, w_scale, bias, Y, ldy, M, N, K);
}

void sito_gemm_i8_a16(const int16_t *xq, size_t ldxq, const float *x_scale, const int8_t *W, size_t ldw,
                      const float *w_scale, const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    sito_gemm_i8_a16_isa(sito_kernels_isa(), xq, ldxq, x_scale, W, ldw, w_scale, bias, Y, ldy, M, N, K);
}
