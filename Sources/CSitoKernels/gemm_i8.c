// gemm_i8.c: Y[M,N] = dequant(xq[M,K] · W[N,K]ᵀ) (+ bias), int8 weights with per-row f32 scales and
// per-token int8 activations. Contract (rounding, order, preconditions): sito_kernels.h, sito_gemm_i8;
// simulated exactly by tools/simulate_quant.py. Paths: scalar (reference), avx2, avx512vnni; all three
// are bit-identical because the integer sums are exact and the epilogue is the same f32 operations.
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

/// Rows of W per L2-resident panel: about 512 KiB of weights, a multiple of 4, within [16, 256].
static size_t panel_rows(size_t K) {
    size_t nb = K ? (512u * 1024u) / K : 256;
    nb = nb < 16 ? 16 : (nb > 256 ? 256 : nb);
    return nb & ~(size_t)3;
}

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

/// Reduces 16 vectors of 16 int32 to one vector whose element t is the sum of v[t]'s 16 lanes.
/// A fixed tree (45 instructions) instead of 16 separate horizontal sums (~130).
SITO_TARGET_VNNI SITO_INLINE __m512i reduce16_epi32(const __m512i v[16]) {
    __m512i t[8], r[4];
    SITO_UNROLL
    for (int p = 0; p < 8; p++)      // per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3]
        t[p] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * p], v[2 * p + 1]),
                                _mm512_unpackhi_epi32(v[2 * p], v[2 * p + 1]));
    SITO_UNROLL
    for (int q = 0; q < 4; q++)      // per 128-bit lane L: [S_4q(L), S_4q+1(L), S_4q+2(L), S_4q+3(L)]
        r[q] = _mm512_add_epi32(_mm512_unpacklo_epi64(t[2 * q], t[2 * q + 1]),
                                _mm512_unpackhi_epi64(t[2 * q], t[2 * q + 1]));
    const __m512i s0 = _mm512_add_epi32(_mm512_shuffle_i32x4(r[0], r[1], 0x88), _mm512_shuffle_i32x4(r[0], r[1], 0xDD));
    const __m512i s1 = _mm512_add_epi32(_mm512_shuffle_i32x4(r[2], r[3], 0x88), _mm512_shuffle_i32x4(r[2], r[3], 0xDD));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(s0, s1, 0x88), _mm512_shuffle_i32x4(s0, s1, 0xDD));
}

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
    return reduce16_epi32(acc);
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
#endif
    (void)w_sums;
    gemm_i8_scalar(xq, ldxq, x_scale, W, ldw, w_scale, bias, Y, ldy, M, N, K);
}

void sito_gemm_i8(const int8_t *xq, size_t ldxq, const float *x_scale,
                  const int8_t *W, size_t ldw, const float *w_scale, const int32_t *w_sums,
                  const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    sito_gemm_i8_isa(sito_kernels_isa(), xq, ldxq, x_scale, W, ldw, w_scale, w_sums, bias, Y, ldy, M, N, K);
}
