// gemm_bf16.c: Y[M,N] = xb[M,K] · W[N,K]ᵀ (+ bias) with bf16 activations and weights, f32 accumulation.
// Contract and inter-path tolerance: sito_kernels.h, sito_gemm_bf16 (tools/simulate_quant.py simulates the
// scheme: activations rounded to bf16, products and sums in f32). Paths: scalar (reference, in-order sum),
// avx512bf16 (vdpbf16ps), avx512 (widen to f32 + FMA), avx2 (widen + FMA); on aarch64 neon (widen by shll
// + FMA) and neon-bf16 (bfmmla). Products of two bf16 values are exact in f32, so FMA vs multiply-then-add
// changes nothing; only the summation order (and, for bfmmla, its round-to-odd steps) differs.
//
// Blocking as in gemm_i8.c: W used in place (row-major, as stored), L2 panels of W rows, 4×4 register
// tiles of 16-lane f32 accumulators reduced by a fixed shuffle tree.
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "kernels_internal.h"

static inline float bf16_f32(uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void gemm_bf16_scalar(const uint16_t *xb, size_t ldxb, const uint16_t *W, size_t ldw, const float *bias,
                             float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            const uint16_t *x = xb + m * ldxb, *w = W + n * ldw;
            float acc = 0;
            for (size_t k = 0; k < K; k++) acc = acc + bf16_f32(x[k]) * bf16_f32(w[k]);
            Y[m * ldy + n] = bias ? acc + bias[n] : acc;
        }
}

#if SITO_X86 || SITO_ARM
/// Rows of W per L2-resident panel: about 512 KiB of weights, a multiple of 4, within [16, 256].
static size_t panel_rows_bf16(size_t K) {
    size_t nb = K ? (256u * 1024u) / K : 256;
    nb = nb < 16 ? 16 : (nb > 256 ? 256 : nb);
    return nb & ~(size_t)3;
}
#endif

#if SITO_X86
// MARK: - AVX2: widen 8 bf16 to f32, FMA. Tile 4 rows × 2 columns, per-accumulator horizontal sums.

SITO_TARGET_AVX2 static inline __m256 widen8(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

SITO_TARGET_AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

SITO_TARGET_AVX2 SITO_INLINE void tile_bf16_avx2(size_t mr, size_t nr, const uint16_t *x, size_t ldx, const uint16_t *w, size_t ldw,
                           size_t K, float out[4][2]) {
    __m256 acc[4][2];
    SITO_UNROLL
    for (size_t i = 0; i < 4; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 wv[2];
        SITO_UNROLL
        for (size_t j = 0; j < nr; j++) wv[j] = widen8(w + j * ldw + k);
        SITO_UNROLL
        for (size_t i = 0; i < mr; i++) {
            const __m256 xv = widen8(x + i * ldx + k);
            SITO_UNROLL
            for (size_t j = 0; j < nr; j++) acc[i][j] = _mm256_fmadd_ps(xv, wv[j], acc[i][j]);
        }
    }
    SITO_UNROLL
    for (size_t i = 0; i < mr; i++)
        SITO_UNROLL
        for (size_t j = 0; j < nr; j++) {
            float s = hsum8(acc[i][j]);
            for (size_t kk = k; kk < K; kk++) s = s + bf16_f32(x[i * ldx + kk]) * bf16_f32(w[j * ldw + kk]);
            out[i][j] = s;
        }
}

SITO_TARGET_AVX2
static void gemm_bf16_avx2(const uint16_t *xb, size_t ldxb, const uint16_t *W, size_t ldw, const float *bias,
                           float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    const size_t NB = panel_rows_bf16(K);
    for (size_t n0 = 0; n0 < N; n0 += NB) {
        const size_t n1 = n0 + NB < N ? n0 + NB : N;
        for (size_t m = 0; m < M; m += 4) {
            const size_t mr = M - m < 4 ? M - m : 4;
            for (size_t n = n0; n < n1; n += 2) {
                const size_t nr = n1 - n < 2 ? n1 - n : 2;
                float out[4][2] = {{0}};
                if (mr == 4 && nr == 2) tile_bf16_avx2(4, 2, xb + m * ldxb, ldxb, W + n * ldw, ldw, K, out);
                else tile_bf16_avx2(mr, nr, xb + m * ldxb, ldxb, W + n * ldw, ldw, K, out);
                SITO_UNROLL
                for (size_t i = 0; i < mr; i++)
                    SITO_UNROLL
                    for (size_t j = 0; j < nr; j++)
                        Y[(m + i) * ldy + n + j] = bias ? out[i][j] + bias[n + j] : out[i][j];
            }
        }
    }
}

// MARK: - AVX-512: 4×4 tiles of 16-lane accumulators; vdpbf16ps (32 bf16 per step) or widen + FMA (16).

/// Reduces 16 vectors of 16 floats to one vector whose element t is the sum of v[t]'s lanes (fixed tree;
/// the float twin of sito_reduce16_epi32 in kernels_internal.h).
SITO_TARGET_AVX512 SITO_INLINE __m512 reduce16_ps(const __m512 v[16]) {
    __m512 t[8], r[4];
    SITO_UNROLL
    for (int p = 0; p < 8; p++)
        t[p] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * p], v[2 * p + 1]), _mm512_unpackhi_ps(v[2 * p], v[2 * p + 1]));
    SITO_UNROLL
    for (int q = 0; q < 4; q++) {
        const __m512d a = _mm512_castps_pd(t[2 * q]), b = _mm512_castps_pd(t[2 * q + 1]);
        r[q] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    const __m512 s0 = _mm512_add_ps(_mm512_shuffle_f32x4(r[0], r[1], 0x88), _mm512_shuffle_f32x4(r[0], r[1], 0xDD));
    const __m512 s1 = _mm512_add_ps(_mm512_shuffle_f32x4(r[2], r[3], 0x88), _mm512_shuffle_f32x4(r[2], r[3], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(s0, s1, 0x88), _mm512_shuffle_f32x4(s0, s1, 0xDD));
}

/// Stores one tile's sums; `accumulate` adds them to what an earlier K chunk stored (Y += y), and the
/// bias, when given, is added last (only with the final chunk).
SITO_TARGET_AVX512 SITO_INLINE void store_bf16_tile(__m512 y, size_t mr, size_t nr, int accumulate, const float *bias,
                                                   float *Y, size_t ldy) {
    const __mmask16 col = (__mmask16)((1u << nr) - 1);
    if (accumulate) {
        __m512 prev = _mm512_setzero_ps();
        if (mr > 0) prev = _mm512_insertf32x4(prev, _mm_maskz_loadu_ps(col, Y + 0 * ldy), 0);
        if (mr > 1) prev = _mm512_insertf32x4(prev, _mm_maskz_loadu_ps(col, Y + 1 * ldy), 1);
        if (mr > 2) prev = _mm512_insertf32x4(prev, _mm_maskz_loadu_ps(col, Y + 2 * ldy), 2);
        if (mr > 3) prev = _mm512_insertf32x4(prev, _mm_maskz_loadu_ps(col, Y + 3 * ldy), 3);
        y = _mm512_add_ps(prev, y);
    }
    if (bias) y = _mm512_add_ps(y, _mm512_broadcast_f32x4(_mm_maskz_loadu_ps(col, bias)));
    if (mr > 0) _mm_mask_storeu_ps(Y + 0 * ldy, col, _mm512_extractf32x4_ps(y, 0));
    if (mr > 1) _mm_mask_storeu_ps(Y + 1 * ldy, col, _mm512_extractf32x4_ps(y, 1));
    if (mr > 2) _mm_mask_storeu_ps(Y + 2 * ldy, col, _mm512_extractf32x4_ps(y, 2));
    if (mr > 3) _mm_mask_storeu_ps(Y + 3 * ldy, col, _mm512_extractf32x4_ps(y, 3));
}

SITO_TARGET_AVX512 SITO_INLINE __m512 widen16(__mmask16 live, const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(live, p)), 16));
}

SITO_TARGET_AVX512 SITO_INLINE __m512 tile_bf16_avx512(const size_t MR, const size_t NR, const uint16_t *x, size_t ldx,
                                                      const uint16_t *w, size_t ldw, size_t K) {
    __m512 acc[16];
    SITO_UNROLL
    for (int t = 0; t < 16; t++) acc[t] = _mm512_setzero_ps();
    for (size_t k = 0; k < K; k += 16) {
        const __mmask16 live = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
        __m512 xv[4] = {0}, wv[4] = {0};
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) xv[i] = widen16(live, x + i * ldx + k);
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) wv[j] = widen16(live, w + j * ldw + k);
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++)
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++) acc[4 * i + j] = _mm512_fmadd_ps(xv[i], wv[j], acc[4 * i + j]);
    }
    return reduce16_ps(acc);
}

SITO_TARGET_BF16 SITO_INLINE __m512 tile_bf16_dp(const size_t MR, const size_t NR, const uint16_t *x, size_t ldx,
                                                const uint16_t *w, size_t ldw, size_t K) {
    __m512 acc[16];
    SITO_UNROLL
    for (int t = 0; t < 16; t++) acc[t] = _mm512_setzero_ps();
    size_t k = 0;
    for (; k + 32 <= K; k += 32) {
        __m512i xv[4] = {0}, wv[4] = {0};
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) xv[i] = _mm512_loadu_si512(x + i * ldx + k);
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) wv[j] = _mm512_loadu_si512(w + j * ldw + k);
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++)
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++)
                acc[4 * i + j] = _mm512_dpbf16_ps(acc[4 * i + j], (__m512bh)xv[i], (__m512bh)wv[j]);
    }
    if (k < K) {   // ragged K: masked-off elements load as +0 in both operands
        const __mmask32 live = (__mmask32)((1ull << (K - k)) - 1);
        __m512i xv[4] = {0}, wv[4] = {0};
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) xv[i] = _mm512_maskz_loadu_epi16(live, x + i * ldx + k);
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) wv[j] = _mm512_maskz_loadu_epi16(live, w + j * ldw + k);
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++)
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++)
                acc[4 * i + j] = _mm512_dpbf16_ps(acc[4 * i + j], (__m512bh)xv[i], (__m512bh)wv[j]);
    }
    return reduce16_ps(acc);
}

/// The AVX-512 drivers. K is cut into chunks of at most KC elements so that a 4-row activation tile
/// (4 × KC × 2 bytes = 16 KiB) stays in L1 next to the streamed weights; each chunk's tile sums are added
/// to Y in chunk order (a fixed order, so results stay deterministic), and the bias after the last chunk.
enum { KC = 2048 };
#define SITO_BF16_DRIVER(NAME, TARGET, TILE)                                                                   \
    TARGET static void NAME(const uint16_t *xb, size_t ldxb, const uint16_t *W, size_t ldw, const float *bias, \
                            float *Y, size_t ldy, size_t M, size_t N, size_t K) {                              \
        const size_t kc = K < KC ? K : KC;                                                                     \
        const size_t NB = panel_rows_bf16(kc);                                                                 \
        for (size_t n0 = 0; n0 < N; n0 += NB) {                                                                \
            const size_t n1 = n0 + NB < N ? n0 + NB : N;                                                       \
            size_t k0 = 0;                                                                                     \
            do {                                                                                               \
                const size_t k1 = K - k0 > KC ? k0 + KC : K, kn = k1 - k0;                                     \
                const int acc = k0 > 0, last = k1 == K;                                                       \
                for (size_t m = 0; m < M; m += 4) {                                                            \
                    const size_t mr = M - m < 4 ? M - m : 4;                                                   \
                    const uint16_t *x = xb + m * ldxb + k0;                                                    \
                    for (size_t n = n0; n < n1; n += 4) {                                                      \
                        const size_t nr = n1 - n < 4 ? n1 - n : 4;                                             \
                        const uint16_t *w = W + n * ldw + k0;                                                  \
                        __m512 y;                                                                              \
                        if (mr == 4 && nr == 4) y = TILE(4, 4, x, ldxb, w, ldw, kn);                           \
                        else if (mr == 4) y = TILE(4, nr, x, ldxb, w, ldw, kn);                                \
                        else if (mr == 1 && nr == 4) y = TILE(1, 4, x, ldxb, w, ldw, kn);                      \
                        else y = TILE(mr, nr, x, ldxb, w, ldw, kn);                                            \
                        store_bf16_tile(y, mr, nr, acc, last && bias ? bias + n : NULL, Y + m * ldy + n, ldy); \
                    }                                                                                          \
                }                                                                                              \
                k0 = k1;                                                                                       \
            } while (k0 < K);                                                                                  \
        }                                                                                                      \
    }

SITO_BF16_DRIVER(gemm_bf16_avx512, SITO_TARGET_AVX512, tile_bf16_avx512)
SITO_BF16_DRIVER(gemm_bf16_dp, SITO_TARGET_BF16, tile_bf16_dp)
#endif

#if SITO_ARM
// MARK: - aarch64: tiles of 4 activation rows × 4 weight rows over the whole K, one driver.

/// NEON: 4 bf16 widened to f32 by a 16-bit shift (shll), FMA into 4 lane partial sums per output (the
/// products are exact, so FMA = add), lanes combined by faddp (a fixed tree), the K % 4 tail in order.
SITO_INLINE void tile_bf16_neon(const size_t MR, const size_t NR, const uint16_t *x, size_t ldx, const uint16_t *w,
                                size_t ldw, size_t K, float out[4][4]) {
    float32x4_t acc[4][4];
    SITO_UNROLL
    for (size_t i = 0; i < 4; i++)
        SITO_UNROLL
        for (size_t j = 0; j < 4; j++) acc[i][j] = vdupq_n_f32(0);
    size_t k = 0;
    for (; k + 4 <= K; k += 4) {
        float32x4_t wv[4];
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) wv[j] = vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(w + j * ldw + k), 16));
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) {
            const float32x4_t xv = vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(x + i * ldx + k), 16));
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++) acc[i][j] = vfmaq_f32(acc[i][j], xv, wv[j]);
        }
    }
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) {
            float t = vaddvq_f32(acc[i][j]);
            for (size_t kk = k; kk < K; kk++) t = t + bf16_f32(x[i * ldx + kk]) * bf16_f32(w[j * ldw + kk]);
            out[i][j] = t;
        }
}

/// [row a k…k+3 | row b k…k+3] from 8 bf16 of each row: the 2×4 operand of bfmmla (lo: k…k+3, hi: k+4…k+7).
SITO_TARGET_NEON_BF16 SITO_INLINE bfloat16x8_t bf_pair_lo(uint16x8_t a, uint16x8_t b) {
    return vreinterpretq_bf16_u64(vzip1q_u64(vreinterpretq_u64_u16(a), vreinterpretq_u64_u16(b)));
}
SITO_TARGET_NEON_BF16 SITO_INLINE bfloat16x8_t bf_pair_hi(uint16x8_t a, uint16x8_t b) {
    return vreinterpretq_bf16_u64(vzip2q_u64(vreinterpretq_u64_u16(a), vreinterpretq_u64_u16(b)));
}

/// NEON_BF16: bfmmla multiplies 2 rows × 4 k of activations by 2 rows × 4 k of weights into a 2×2 block
/// (lanes [(2p, 2q), (2p, 2q+1), (2p+1, 2q), (2p+1, 2q+1)]). It rounds every pair sum and accumulation
/// (round-to-odd, FPCR.EBF = 0), so each output keeps TWO accumulators, k…k+3 and k+4…k+7 of each 8, to keep
/// the chains short enough for bf16GemmTolerance; they are added at the end, then the K % 4 tail in order.
/// A missing row or column of a ragged tile repeats the last one. Subnormal inputs and products count as 0.
SITO_TARGET_NEON_BF16 SITO_INLINE void tile_bf16_bfmmla(const size_t MR, const size_t NR, const uint16_t *x, size_t ldx,
                                                        const uint16_t *w, size_t ldw, size_t K, float out[4][4]) {
    const size_t MP = (MR + 1) / 2, NP = (NR + 1) / 2;
    const uint16_t *xr[4], *wr[4];
    SITO_UNROLL
    for (size_t i = 0; i < 4; i++) xr[i] = x + (i < MR ? i : MR - 1) * ldx;
    SITO_UNROLL
    for (size_t j = 0; j < 4; j++) wr[j] = w + (j < NR ? j : NR - 1) * ldw;
    float32x4_t lo[2][2], hi[2][2];
    SITO_UNROLL
    for (size_t p = 0; p < 2; p++) lo[p][0] = lo[p][1] = hi[p][0] = hi[p][1] = vdupq_n_f32(0);
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        const bfloat16x8_t z = vreinterpretq_bf16_u16(vdupq_n_u16(0));
        bfloat16x8_t xl[2] = {z, z}, xh[2] = {z, z}, wl[2] = {z, z}, wh[2] = {z, z};   // (GCC cannot see p < MP)
        SITO_UNROLL
        for (size_t p = 0; p < MP; p++) {
            const uint16x8_t a = vld1q_u16(xr[2 * p] + k), b = vld1q_u16(xr[2 * p + 1] + k);
            xl[p] = bf_pair_lo(a, b);
            xh[p] = bf_pair_hi(a, b);
        }
        SITO_UNROLL
        for (size_t q = 0; q < NP; q++) {
            const uint16x8_t a = vld1q_u16(wr[2 * q] + k), b = vld1q_u16(wr[2 * q + 1] + k);
            wl[q] = bf_pair_lo(a, b);
            wh[q] = bf_pair_hi(a, b);
        }
        SITO_UNROLL
        for (size_t p = 0; p < MP; p++)
            SITO_UNROLL
            for (size_t q = 0; q < NP; q++) {
                lo[p][q] = vbfmmlaq_f32(lo[p][q], xl[p], wl[q]);
                hi[p][q] = vbfmmlaq_f32(hi[p][q], xh[p], wh[q]);
            }
    }
    if (k + 4 <= K) {
        const bfloat16x8_t z = vreinterpretq_bf16_u16(vdupq_n_u16(0));
        bfloat16x8_t xl[2] = {z, z}, wl[2] = {z, z};
        SITO_UNROLL
        for (size_t p = 0; p < MP; p++)
            xl[p] = vreinterpretq_bf16_u16(vcombine_u16(vld1_u16(xr[2 * p] + k), vld1_u16(xr[2 * p + 1] + k)));
        SITO_UNROLL
        for (size_t q = 0; q < NP; q++)
            wl[q] = vreinterpretq_bf16_u16(vcombine_u16(vld1_u16(wr[2 * q] + k), vld1_u16(wr[2 * q + 1] + k)));
        SITO_UNROLL
        for (size_t p = 0; p < MP; p++)
            SITO_UNROLL
            for (size_t q = 0; q < NP; q++) lo[p][q] = vbfmmlaq_f32(lo[p][q], xl[p], wl[q]);
        k += 4;
    }
    SITO_UNROLL
    for (size_t p = 0; p < MP; p++)
        SITO_UNROLL
        for (size_t q = 0; q < NP; q++) {
            float lanes[4];
            vst1q_f32(lanes, vaddq_f32(lo[p][q], hi[p][q]));
            SITO_UNROLL
            for (size_t e = 0; e < 4; e++) {
                const size_t i = 2 * p + e / 2, j = 2 * q + e % 2;
                if (i >= MR || j >= NR) continue;
                float t = lanes[e];
                for (size_t kk = k; kk < K; kk++) t = t + bf16_f32(x[i * ldx + kk]) * bf16_f32(w[j * ldw + kk]);
                out[i][j] = t;
            }
        }
}

/// The aarch64 drivers: L2 panels of W rows, 4 × 4 tiles, then + bias.
#define SITO_BF16_ARM_DRIVER(NAME, TARGET, TILE)                                                               \
    TARGET static void NAME(const uint16_t *xb, size_t ldxb, const uint16_t *W, size_t ldw, const float *bias, \
                            float *Y, size_t ldy, size_t M, size_t N, size_t K) {                              \
        const size_t NB = panel_rows_bf16(K);                                                                  \
        for (size_t n0 = 0; n0 < N; n0 += NB) {                                                                \
            const size_t n1 = n0 + NB < N ? n0 + NB : N;                                                       \
            for (size_t m = 0; m < M; m += 4) {                                                                \
                const size_t mr = M - m < 4 ? M - m : 4;                                                       \
                for (size_t n = n0; n < n1; n += 4) {                                                          \
                    const size_t nr = n1 - n < 4 ? n1 - n : 4;                                                 \
                    float out[4][4];                                                                           \
                    if (mr == 4 && nr == 4) TILE(4, 4, xb + m * ldxb, ldxb, W + n * ldw, ldw, K, out);         \
                    else if (mr == 1 && nr == 4) TILE(1, 4, xb + m * ldxb, ldxb, W + n * ldw, ldw, K, out);    \
                    else TILE(mr, nr, xb + m * ldxb, ldxb, W + n * ldw, ldw, K, out);                          \
                    for (size_t i = 0; i < mr; i++)                                                            \
                        for (size_t j = 0; j < nr; j++)                                                        \
                            Y[(m + i) * ldy + n + j] = bias ? out[i][j] + bias[n + j] : out[i][j];             \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
    }

SITO_BF16_ARM_DRIVER(gemm_bf16_neon, , tile_bf16_neon)
SITO_BF16_ARM_DRIVER(gemm_bf16_bfmmla, SITO_TARGET_NEON_BF16, tile_bf16_bfmmla)
#endif

void sito_gemm_bf16_isa(sito_isa isa, const uint16_t *xb, size_t ldxb, const uint16_t *W, size_t ldw,
                        const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    if (M == 0 || N == 0) return;
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512_BF16) { gemm_bf16_dp(xb, ldxb, W, ldw, bias, Y, ldy, M, N, K); return; }
    if (isa >= SITO_ISA_AVX512) { gemm_bf16_avx512(xb, ldxb, W, ldw, bias, Y, ldy, M, N, K); return; }
    if (isa >= SITO_ISA_AVX2) { gemm_bf16_avx2(xb, ldxb, W, ldw, bias, Y, ldy, M, N, K); return; }
#elif SITO_ARM
    if (isa >= SITO_ISA_NEON_BF16) { gemm_bf16_bfmmla(xb, ldxb, W, ldw, bias, Y, ldy, M, N, K); return; }
    if (isa >= SITO_ISA_NEON) { gemm_bf16_neon(xb, ldxb, W, ldw, bias, Y, ldy, M, N, K); return; }
#endif
    gemm_bf16_scalar(xb, ldxb, W, ldw, bias, Y, ldy, M, N, K);
}

void sito_gemm_bf16(const uint16_t *xb, size_t ldxb, const uint16_t *W, size_t ldw, const float *bias,
                    float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    sito_gemm_bf16_isa(sito_kernels_isa(), xb, ldxb, W, ldw, bias, Y, ldy, M, N, K);
}
