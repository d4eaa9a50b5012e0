// gemm_i8.c: Y[M,N] = dequant(xq[M,K] · W[N,K]ᵀ) (+ bias), int8 weights with per-row f32 scales and
// per-token int8 activations. Contract (rounding, order, preconditions): sito_kernels.h, sito_gemm_i8;
// simulated exactly by tools/simulate_quant.py. Paths: scalar (reference), avx2, avx512vnni, and on aarch64
// neon (smull/smlal + sadalp), neon-dotprod (sdot), neon-i8mm (smmla); all are bit-identical because the
// integer sums are exact and the epilogue is the same f32 operations.
//
// Blocking (both SIMD paths): W is used in place, row-major as stored in the file (no repacking). The N
// range is cut into panels of NB rows that fit in L2; for each panel, every 4-row group of activations
// (which stays in L1 for the whole K) meets every 4-row group of W: a 4×4 register tile of 16
// accumulators, each holding 16 int32 partial sums (VNNI), reduced by a shuffle tree at the end.
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "kernels_internal.h"

// MARK: - scalar reference

static void gemm_i8_scalar(const int8_t *xq, size_t ldxq, const float *x_scale,
                           const int8_t *W, size_t ldw, const float *w_scale,
                           const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    for (size_t m = 0; m < M; m++) {
        const int8_t *x = xq + m * ldxq;
        for (size_t n = 0; n < N; n++) {
            const int8_t *w = W + n * ldw;
            int32_t acc = 0;
            for (size_t k = 0; k < K; k++) acc += (int32_t)x[k] * (int32_t)w[k];
            Y[m * ldy + n] = sito_i8_dequant(acc, x_scale[m], w_scale[n], bias, n);
        }
    }
}

#if SITO_X86 || SITO_ARM
/// Rows of W per L2-resident panel: about 512 KiB of weights, a multiple of 4, within [16, 256].
static size_t panel_rows(size_t K) {
    size_t nb = K ? (512u * 1024u) / K : 256;
    nb = nb < 16 ? 16 : (nb > 256 ? 256 : nb);
    return nb & ~(size_t)3;
}
#endif

#if SITO_X86
// MARK: - AVX2: |x| × sign(x)·w with vpmaddubsw, widened to int32 right away with vpmaddwd.
// vpmaddubsw adds two products |x|·|w| ≤ 127·127 = 16129 each, so |pair| ≤ 32258 < 32767: no int16
// saturation (this needs w ≠ -128, which the format forbids, and |x| ≤ 127). Tile: 4 rows × 2 columns.

SITO_TARGET_AVX2
static inline int32_t hsum_avx2(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

SITO_TARGET_AVX2 SITO_INLINE void tile_avx2(size_t mr, size_t nr, const int8_t *x, size_t ldx, const int8_t *w, size_t ldw,
                      size_t K, int32_t out[4][2]) {
    __m256i acc[4][2];
    SITO_UNROLL
    for (size_t i = 0; i < 4; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    size_t k = 0;
    for (; k + 32 <= K; k += 32) {
        __m256i wv[2];
        SITO_UNROLL
        for (size_t j = 0; j < nr; j++) wv[j] = _mm256_loadu_si256((const __m256i *)(w + j * ldw + k));
        SITO_UNROLL
        for (size_t i = 0; i < mr; i++) {
            const __m256i xv = _mm256_loadu_si256((const __m256i *)(x + i * ldx + k));
            const __m256i ax = _mm256_abs_epi8(xv);
            SITO_UNROLL
            for (size_t j = 0; j < nr; j++) {
                const __m256i p16 = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(wv[j], xv));
                acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(p16, ones));
            }
        }
    }
    SITO_UNROLL
    for (size_t i = 0; i < mr; i++)
        SITO_UNROLL
        for (size_t j = 0; j < nr; j++) {
            int32_t s = hsum_avx2(acc[i][j]);
            for (size_t kk = k; kk < K; kk++) s += (int32_t)x[i * ldx + kk] * (int32_t)w[j * ldw + kk];
            out[i][j] = s;
        }
}

SITO_TARGET_AVX2
static void gemm_i8_avx2(const int8_t *xq, size_t ldxq, const float *x_scale,
                         const int8_t *W, size_t ldw, const float *w_scale,
                         const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    const size_t NB = panel_rows(K);
    for (size_t n0 = 0; n0 < N; n0 += NB) {
        const size_t n1 = n0 + NB < N ? n0 + NB : N;
        for (size_t m = 0; m < M; m += 4) {
            const size_t mr = M - m < 4 ? M - m : 4;
            for (size_t n = n0; n < n1; n += 2) {
                const size_t nr = n1 - n < 2 ? n1 - n : 2;
                int32_t out[4][2] = {{0}};
                // Constant tile sizes in the common case let the compiler unroll the tile fully.
                if (mr == 4 && nr == 2) tile_avx2(4, 2, xq + m * ldxq, ldxq, W + n * ldw, ldw, K, out);
                else tile_avx2(mr, nr, xq + m * ldxq, ldxq, W + n * ldw, ldw, K, out);
                SITO_UNROLL
                for (size_t i = 0; i < mr; i++)
                    SITO_UNROLL
                    for (size_t j = 0; j < nr; j++)
                        Y[(m + i) * ldy + n + j] = sito_i8_dequant(out[i][j], x_scale[m + i], w_scale[n + j], bias, n + j);
            }
        }
    }
}

// MARK: - AVX-512 VNNI: vpdpbusd on (xq XOR 0x80) = xq + 128 as unsigned bytes, minus 128·Σ_k W[n,k].


/// One MR×4 tile (MR ≤ 4, NR ≤ 4) over the full K. Returns the raw sums Σ (xq+128)·w, element 4·i + j.
SITO_TARGET_VNNI SITO_INLINE __m512i tile_vnni(const size_t MR, const size_t NR, const int8_t *x, size_t ldx,
                                              const int8_t *w, size_t ldw, size_t K) {
    __m512i acc[16];
    SITO_UNROLL
    for (int t = 0; t < 16; t++) acc[t] = _mm512_setzero_si512();
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    size_t k = 0;
    for (; k + 64 <= K; k += 64) {
        __m512i xv[4] = {0}, wv[4] = {0};
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) xv[i] = _mm512_xor_si512(_mm512_loadu_si512(x + i * ldx + k), flip);
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) wv[j] = _mm512_loadu_si512(w + j * ldw + k);
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++)
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++) acc[4 * i + j] = _mm512_dpbusd_epi32(acc[4 * i + j], xv[i], wv[j]);
    }
    if (k < K) {   // ragged K: masked loads; masked-off x bytes become 0x80 but meet w = 0
        const __mmask64 live = ((__mmask64)1 << (K - k)) - 1;
        __m512i xv[4] = {0}, wv[4] = {0};
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) xv[i] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(live, x + i * ldx + k), flip);
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) wv[j] = _mm512_maskz_loadu_epi8(live, w + j * ldw + k);
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++)
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++) acc[4 * i + j] = _mm512_dpbusd_epi32(acc[4 * i + j], xv[i], wv[j]);
    }
    return sito_reduce16_epi32(acc);
}

/// The epilogue of one tile: exact integer correction, then the documented f32 operations, vectorized
/// over the 16 (i, j) pairs; stores rows i < mr, columns j < nr.
SITO_TARGET_VNNI SITO_INLINE void store_vnni(__m512i raw, size_t mr, size_t nr, const float *x_scale,
                                            const float *w_scale, const int32_t *w_sums, const float *bias,
                                            float *Y, size_t ldy) {
    const __mmask16 col = (__mmask16)((1u << nr) - 1);
    const __mmask16 row = (__mmask16)((1u << mr) - 1);
    // Element e = 4·i + j: w_* indexed by j (a 128-bit group repeated), x_scale by i (each repeated 4×).
    const __m512i ws = _mm512_broadcast_i32x4(_mm_maskz_loadu_epi32(col, w_sums));
    const __m512 sw = _mm512_broadcast_f32x4(_mm_maskz_loadu_ps(col, w_scale));
    const __m512 sx = _mm512_permutexvar_ps(_mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0),
                                            _mm512_castps128_ps512(_mm_maskz_loadu_ps(row, x_scale)));
    const __m512i acc = _mm512_sub_epi32(raw, _mm512_slli_epi32(ws, 7));
    __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), sx);
    __asm__("" : "+v"(y));                   // keep the multiplications and the addition separately rounded
    y = _mm512_mul_ps(y, sw);
    __asm__("" : "+v"(y));
    if (bias) y = _mm512_add_ps(y, _mm512_broadcast_f32x4(_mm_maskz_loadu_ps(col, bias)));
    if (mr > 0) _mm_mask_storeu_ps(Y + 0 * ldy, col, _mm512_extractf32x4_ps(y, 0));
    if (mr > 1) _mm_mask_storeu_ps(Y + 1 * ldy, col, _mm512_extractf32x4_ps(y, 1));
    if (mr > 2) _mm_mask_storeu_ps(Y + 2 * ldy, col, _mm512_extractf32x4_ps(y, 2));
    if (mr > 3) _mm_mask_storeu_ps(Y + 3 * ldy, col, _mm512_extractf32x4_ps(y, 3));
}

SITO_TARGET_VNNI
static void gemm_i8_vnni(const int8_t *xq, size_t ldxq, const float *x_scale,
                         const int8_t *W, size_t ldw, const float *w_scale, const int32_t *w_sums,
                         const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    const size_t NB = panel_rows(K);
    int32_t local_sums[256];
    for (size_t n0 = 0; n0 < N; n0 += NB) {
        const size_t n1 = n0 + NB < N ? n0 + NB : N;
        const int32_t *sums = w_sums ? w_sums + n0 : local_sums;
        if (!w_sums) sito_i8_row_sums(W + n0 * ldw, ldw, n1 - n0, K, local_sums);
        for (size_t m = 0; m < M; m += 4) {
            const size_t mr = M - m < 4 ? M - m : 4;
            const int8_t *x = xq + m * ldxq;
            for (size_t n = n0; n < n1; n += 4) {
                const size_t nr = n1 - n < 4 ? n1 - n : 4;
                __m512i raw;
                if (mr == 4 && nr == 4) raw = tile_vnni(4, 4, x, ldxq, W + n * ldw, ldw, K);
                else if (mr == 4) raw = tile_vnni(4, nr, x, ldxq, W + n * ldw, ldw, K);
                else if (mr == 1 && nr == 4) raw = tile_vnni(1, 4, x, ldxq, W + n * ldw, ldw, K);
                else raw = tile_vnni(mr, nr, x, ldxq, W + n * ldw, ldw, K);
                store_vnni(raw, mr, nr, x_scale + m, w_scale + n, sums + (n - n0), bias ? bias + n : NULL,
                           Y + m * ldy + n, ldy);
            }
        }
    }
}
#endif

#if SITO_ARM
// MARK: - aarch64: three tiles of 4 activation rows × 4 weight rows over the whole K, one driver.
// Exact int32 sums (w ≠ -128 and |x| ≤ 127 as documented), then the scalar epilogue sito_i8_dequant per
// element, so every path is bit-identical to the reference. A ragged K ends with a scalar loop.

/// NEON (ARMv8.0): smull + smlal2 put two products in each int16 lane (|x·w| ≤ 127·127, so |pair| ≤
/// 32258 < 32767, as in the avx2 path), sadalp widens the pairs into the int32 accumulators.
SITO_INLINE void tile_neon(const size_t MR, const size_t NR, const int8_t *x, size_t ldx, const int8_t *w,
                           size_t ldw, size_t K, int32_t out[4][4]) {
    int32x4_t acc[4][4];
    SITO_UNROLL
    for (size_t i = 0; i < 4; i++)
        SITO_UNROLL
        for (size_t j = 0; j < 4; j++) acc[i][j] = vdupq_n_s32(0);
    size_t k = 0;
    for (; k + 16 <= K; k += 16) {
        int8x16_t wv[4];
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) wv[j] = vld1q_s8(w + j * ldw + k);
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) {
            const int8x16_t xv = vld1q_s8(x + i * ldx + k);
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++) {
                const int16x8_t p = vmlal_high_s8(vmull_s8(vget_low_s8(xv), vget_low_s8(wv[j])), xv, wv[j]);
                acc[i][j] = vpadalq_s16(acc[i][j], p);
            }
        }
    }
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) {
            int32_t s = vaddvq_s32(acc[i][j]);
            for (size_t kk = k; kk < K; kk++) s += (int32_t)x[i * ldx + kk] * (int32_t)w[j * ldw + kk];
            out[i][j] = s;
        }
}

/// DOTPROD: sdot adds four products into each int32 lane; 16 bytes of k per instruction and tile element.
SITO_TARGET_DOTPROD SITO_INLINE void tile_dotprod(const size_t MR, const size_t NR, const int8_t *x, size_t ldx,
                                                  const int8_t *w, size_t ldw, size_t K, int32_t out[4][4]) {
    int32x4_t acc[4][4];
    SITO_UNROLL
    for (size_t i = 0; i < 4; i++)
        SITO_UNROLL
        for (size_t j = 0; j < 4; j++) acc[i][j] = vdupq_n_s32(0);
    size_t k = 0;
    for (; k + 16 <= K; k += 16) {
        int8x16_t wv[4];
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) wv[j] = vld1q_s8(w + j * ldw + k);
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) {
            const int8x16_t xv = vld1q_s8(x + i * ldx + k);
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++) acc[i][j] = vdotq_s32(acc[i][j], xv, wv[j]);
        }
    }
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) {
            int32_t s = vaddvq_s32(acc[i][j]);
            for (size_t kk = k; kk < K; kk++) s += (int32_t)x[i * ldx + kk] * (int32_t)w[j * ldw + kk];
            out[i][j] = s;
        }
}

/// The 2×8 operand of smmla from two rows: their 8 bytes at k, [row a | row b].
SITO_TARGET_I8MM SITO_INLINE int8x16_t pair_lo(int8x16_t a, int8x16_t b) {
    return vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}
SITO_TARGET_I8MM SITO_INLINE int8x16_t pair_hi(int8x16_t a, int8x16_t b) {
    return vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}

/// I8MM: smmla multiplies a 2×8 block of activations (two rows, 8 k) by a 2×8 block of weights into a 2×2
/// block of int32 sums: acc[p][q] = [(2p, 2q), (2p, 2q+1), (2p+1, 2q), (2p+1, 2q+1)]. A missing row or
/// column of a ragged tile repeats the last one (its sums are computed and dropped).
SITO_TARGET_I8MM SITO_INLINE void tile_i8mm(const size_t MR, const size_t NR, const int8_t *x, size_t ldx,
                                            const int8_t *w, size_t ldw, size_t K, int32_t out[4][4]) {
    const size_t MP = (MR + 1) / 2, NP = (NR + 1) / 2;
    const int8_t *xr[4], *wr[4];
    SITO_UNROLL
    for (size_t i = 0; i < 4; i++) xr[i] = x + (i < MR ? i : MR - 1) * ldx;
    SITO_UNROLL
    for (size_t j = 0; j < 4; j++) wr[j] = w + (j < NR ? j : NR - 1) * ldw;
    int32x4_t acc[2][2];
    SITO_UNROLL
    for (size_t p = 0; p < 2; p++) acc[p][0] = acc[p][1] = vdupq_n_s32(0);
    size_t k = 0;
    for (; k + 16 <= K; k += 16) {
        const int8x16_t z = vdupq_n_s8(0);
        int8x16_t xl[2] = {z, z}, xh[2] = {z, z}, wl[2] = {z, z}, wh[2] = {z, z};   // (GCC cannot see p < MP)
        SITO_UNROLL
        for (size_t p = 0; p < MP; p++) {
            const int8x16_t a = vld1q_s8(xr[2 * p] + k), b = vld1q_s8(xr[2 * p + 1] + k);
            xl[p] = pair_lo(a, b);
            xh[p] = pair_hi(a, b);
        }
        SITO_UNROLL
        for (size_t q = 0; q < NP; q++) {
            const int8x16_t a = vld1q_s8(wr[2 * q] + k), b = vld1q_s8(wr[2 * q + 1] + k);
            wl[q] = pair_lo(a, b);
            wh[q] = pair_hi(a, b);
        }
        SITO_UNROLL
        for (size_t p = 0; p < MP; p++)
            SITO_UNROLL
            for (size_t q = 0; q < NP; q++) acc[p][q] = vmmlaq_s32(vmmlaq_s32(acc[p][q], xl[p], wl[q]), xh[p], wh[q]);
    }
    if (k + 8 <= K) {
        const int8x16_t z = vdupq_n_s8(0);
        int8x16_t xl[2] = {z, z}, wl[2] = {z, z};
        SITO_UNROLL
        for (size_t p = 0; p < MP; p++) xl[p] = vcombine_s8(vld1_s8(xr[2 * p] + k), vld1_s8(xr[2 * p + 1] + k));
        SITO_UNROLL
        for (size_t q = 0; q < NP; q++) wl[q] = vcombine_s8(vld1_s8(wr[2 * q] + k), vld1_s8(wr[2 * q + 1] + k));
        SITO_UNROLL
        for (size_t p = 0; p < MP; p++)
            SITO_UNROLL
            for (size_t q = 0; q < NP; q++) acc[p][q] = vmmlaq_s32(acc[p][q], xl[p], wl[q]);
        k += 8;
    }
    SITO_UNROLL
    for (size_t p = 0; p < MP; p++)
        SITO_UNROLL
        for (size_t q = 0; q < NP; q++) {
            int32_t lanes[4];
            vst1q_s32(lanes, acc[p][q]);
            SITO_UNROLL
            for (size_t e = 0; e < 4; e++) {
                const size_t i = 2 * p + e / 2, j = 2 * q + e % 2;
                if (i >= MR || j >= NR) continue;
                int32_t s = lanes[e];
                for (size_t kk = k; kk < K; kk++) s += (int32_t)x[i * ldx + kk] * (int32_t)w[j * ldw + kk];
                out[i][j] = s;
            }
        }
}

/// The aarch64 drivers: L2 panels of W rows (panel_rows), 4 × 4 tiles, scalar epilogue.
#define SITO_I8_ARM_DRIVER(NAME, TARGET, TILE)                                                                    \
    TARGET static void NAME(const int8_t *xq, size_t ldxq, const float *x_scale, const int8_t *W, size_t ldw,    \
                            const float *w_scale, const float *bias, float *Y, size_t ldy, size_t M, size_t N,   \
                            size_t K) {                                                                           \
        const size_t NB = panel_rows(K);                                                                          \
        for (size_t n0 = 0; n0 < N; n0 += NB) {                                                                   \
            const size_t n1 = n0 + NB < N ? n0 + NB : N;                                                          \
            for (size_t m = 0; m < M; m += 4) {                                                                   \
                const size_t mr = M - m < 4 ? M - m : 4;                                                          \
                for (size_t n = n0; n < n1; n += 4) {                                                             \
                    const size_t nr = n1 - n < 4 ? n1 - n : 4;                                                    \
                    int32_t out[4][4];                                                                            \
                    if (mr == 4 && nr == 4) TILE(4, 4, xq + m * ldxq, ldxq, W + n * ldw, ldw, K, out);            \
                    else if (mr == 1 && nr == 4) TILE(1, 4, xq + m * ldxq, ldxq, W + n * ldw, ldw, K, out);       \
                    else TILE(mr, nr, xq + m * ldxq, ldxq, W + n * ldw, ldw, K, out);                             \
                    for (size_t i = 0; i < mr; i++)                                                               \
                        for (size_t j = 0; j < nr; j++)                                                           \
                            Y[(m + i) * ldy + n + j] =                                                            \
                                sito_i8_dequant(out[i][j], x_scale[m + i], w_scale[n + j], bias, n + j);          \
                }                                                                                                 \
            }                                                                                                     \
        }                                                                                                         \
    }

SITO_I8_ARM_DRIVER(gemm_i8_neon, , tile_neon)
SITO_I8_ARM_DRIVER(gemm_i8_dotprod, SITO_TARGET_DOTPROD, tile_dotprod)
SITO_I8_ARM_DRIVER(gemm_i8_i8mm, SITO_TARGET_I8MM, tile_i8mm)
#endif

void sito_gemm_i8_isa(sito_isa isa, const int8_t *xq, size_t ldxq, const float *x_scale,
                      const int8_t *W, size_t ldw, const float *w_scale, const int32_t *w_sums,
                      const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    if (M == 0 || N == 0) return;
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512_VNNI) {
        gemm_i8_vnni(xq, ldxq, x_scale, W, ldw, w_scale, w_sums, bias, Y, ldy, M, N, K);
        return;
    }
    if (isa >= SITO_ISA_AVX2) {
        gemm_i8_avx2(xq, ldxq, x_scale, W, ldw, w_scale, bias, Y, ldy, M, N, K);
        return;
    }
#elif SITO_ARM
    if (isa >= SITO_ISA_NEON_I8MM) { gemm_i8_i8mm(xq, ldxq, x_scale, W, ldw, w_scale, bias, Y, ldy, M, N, K); return; }
    if (isa >= SITO_ISA_NEON_DOTPROD) { gemm_i8_dotprod(xq, ldxq, x_scale, W, ldw, w_scale, bias, Y, ldy, M, N, K); return; }
    if (isa >= SITO_ISA_NEON) { gemm_i8_neon(xq, ldxq, x_scale, W, ldw, w_scale, bias, Y, ldy, M, N, K); return; }
#endif
    (void)w_sums;
    gemm_i8_scalar(xq, ldxq, x_scale, W, ldw, w_scale, bias, Y, ldy, M, N, K);
}

void sito_gemm_i8(const int8_t *xq, size_t ldxq, const float *x_scale,
                  const int8_t *W, size_t ldw, const float *w_scale, const int32_t *w_sums,
                  const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    sito_gemm_i8_isa(sito_kernels_isa(), xq, ldxq, x_scale, W, ldw, w_scale, w_sums, bias, Y, ldy, M, N, K);
}
