// gemm_blocked16.c: the int8 and bf16 GEMMs on weights stored in the `blocked16` layout (formats/sito.md,
// "Layouts"), which sito-quantize writes for the projection matrices, and the packing that produces it.
// The numerical contracts are those of the row-major kernels (sito_kernels.h): the int8 results are
// bit-identical to sito_gemm_i8's, the bf16 results are within the same summation bound.
//
// Layout: W [N, K], N % 16 == 0, K % G == 0 with G = 4 / sizeof(element) (int8: 4, bf16: 2). Element (n, k)
// is element number ((n / 16) · (K / G) + k / G) · 16G + (n % 16) · G + k % G. So one 64-byte group holds
// the next G values of k for 16 consecutive rows n, and one 16-row block (16 · K elements) is contiguous:
// rows [n0, n1) with n0 % 16 == 0 start at element n0 · K, exactly as in row-major order.
//
// Why: one 64-byte load then feeds 16 outputs at once (vpdpbusd / vdpbf16ps multiply it by the G
// activation values broadcast to every lane), so the accumulators need no horizontal reduction and the
// register tile can be 6 rows × 4 blocks (24 accumulators) instead of 4 × 4. Single thread, large
// config shapes: int8 ≈ 90–98% of the measured vpdpbusd peak against 78–87% for the row-major kernel.
//
// Blocking: rows of X in groups of MB (x stays in L2), W in panels of ~512 KiB (L2), 6 × 4 register tiles
// walking the whole K (the 6 activation rows, 6 · K bytes, stay in L1). AVX2 (16 ymm registers): 2 rows
// × 2 blocks (AVX2_MR), which fits the registers without spilling.
//
// Two activation passes (sito_gemm_i8_blocked16_2pass, formats/quantization.md): the same register tiles
// with half their rows from each pass (row i of pass 1 and row i of pass 2 side by side), so each weight
// group is loaded once for both; the epilogue adds pass 2's dequantized sums to pass 1's (bias included)
// last, which is exactly what two single-pass calls and y += y2 compute.
//
// aarch64 (same blocking, tiles of up to 4 rows × one 16-row block): a 64-byte group is four q registers of
// 4 rows × G k, which is exactly the operand of sdot / bfdot by lane. int8: neon (smull/smlal + sadalp),
// neon-dotprod (sdot by lane), neon-i8mm (smmla; two groups zipped at 32-bit lanes are the 2×8 operand of
// two rows). bf16: neon (widen by shifts, FMA by lane: one accumulator per output, k in order, so equal to
// the scalar reference), neon-bf16 (bfdot by lane, two accumulators per output). No repacking. The blocked
// int8 row sums (computed once per weight at load) have a NEON path too.
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "kernels_internal.h"

// MARK: - packing and indexing

/// Element index of (n, k) in a blocked16 matrix with K columns and group size g.
static inline size_t blocked_index(size_t n, size_t k, size_t K, size_t g) {
    return ((n / 16) * (K / g) + k / g) * 16 * g + (n % 16) * g + k % g;
}

void sito_pack_blocked16(const void *src, size_t ld, size_t element_size, size_t N, size_t K, void *dst) {
    const size_t g = 4 / element_size;
    const uint8_t *s = src;
    uint8_t *d = dst;
    for (size_t n = 0; n < N; n++)
        for (size_t k = 0; k < K; k++)
            memcpy(d + blocked_index(n, k, K, g) * element_size, s + (n * ld + k) * element_size, element_size);
}

void sito_unpack_blocked16(const void *src, size_t element_size, size_t N, size_t K, void *dst, size_t ld) {
    const size_t g = 4 / element_size;
    const uint8_t *s = src;
    uint8_t *d = dst;
    for (size_t n = 0; n < N; n++)
        for (size_t k = 0; k < K; k++)
            memcpy(d + (n * ld + k) * element_size, s + blocked_index(n, k, K, g) * element_size, element_size);
}

void sito_i8_row_sums_blocked16(const int8_t *W, size_t N, size_t K, int32_t *sums) {
#if SITO_ARM
    // NEON: a group's quarter (4 rows × 4 k) → saddlp (pairs, int16) → sadalp into that quarter's 4 rows.
    if (sito_isa_family_of(sito_kernels_isa()) == SITO_ISA_FAMILY_ARM) {
        for (size_t b = 0; b < N / 16; b++) {
            const int8_t *block = W + b * 16 * K;
            int32x4_t acc[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
            for (size_t group = 0; group < K / 4; group++)
                for (size_t q = 0; q < 4; q++) acc[q] = vpadalq_s16(acc[q], vpaddlq_s8(vld1q_s8(block + group * 64 + 16 * q)));
            for (size_t q = 0; q < 4; q++) vst1q_s32(sums + b * 16 + 4 * q, acc[q]);
        }
        return;
    }
#endif
    for (size_t n = 0; n < N; n++) sums[n] = 0;
    // Each 64-byte group adds 4 values of k to the 16 rows of its block.
    for (size_t b = 0; b < N / 16; b++) {
        const int8_t *block = W + b * 16 * K;
        for (size_t group = 0; group < K / 4; group++)
            for (size_t r = 0; r < 16; r++) {
                const int8_t *p = block + group * 64 + r * 4;
                sums[b * 16 + r] += (int32_t)p[0] + p[1] + p[2] + p[3];
            }
    }
}

/// Columns (W rows) per L2 panel: ~512 KiB of weights, a multiple of 64, at least 64.
static size_t panel_columns(size_t K, size_t element_size) {
    const size_t bytes = K * element_size;
    size_t nb = bytes ? (512u * 1024u) / bytes : 1024;
    nb &= ~(size_t)63;
    return nb < 64 ? 64 : nb;
}

/// Activation rows per L2 group.
enum { MB = 96 };

/// Calls TILE(mr, nr, args…) with compile-time tile sizes for every row count of a full-width tile (the
/// row tails of small batches are common: a 20-token pair is 6 + 6 + 6 + 2 rows), so the register tile
/// is fully unrolled; other shapes (the last, narrower tile of a panel) take the generic loop.
#define SITO_TILE_DISPATCH(TILE, mr, nr, ...)                       \
    do {                                                           \
        if ((nr) == 4) {                                           \
            switch (mr) {                                          \
            case 6: TILE(6, 4, __VA_ARGS__); break;                \
            case 5: TILE(5, 4, __VA_ARGS__); break;                \
            case 4: TILE(4, 4, __VA_ARGS__); break;                \
            case 3: TILE(3, 4, __VA_ARGS__); break;                \
            case 2: TILE(2, 4, __VA_ARGS__); break;                \
            default: TILE(1, 4, __VA_ARGS__); break;               \
            }                                                      \
        } else {                                                   \
            TILE(mr, nr, __VA_ARGS__);                             \
        }                                                          \
    } while (0)

// MARK: - scalar references

static void gemm_i8_blocked_scalar(const int8_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                                   const float *w_scale, const float *bias, float *Y, size_t ldy,
                                   size_t M, size_t N, size_t K) {
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            int32_t acc = 0;
            for (size_t k = 0; k < K; k++) acc += (int32_t)xq[m * ldxq + k] * (int32_t)W[blocked_index(n, k, K, 4)];
            Y[m * ldy + n] = sito_i8_dequant(acc, x_scale[m], w_scale[n], bias, n);
        }
}

/// The fused two-pass reference: Y = (pass 1 as sito_gemm_i8, with the bias) + (pass 2, without), one f32
/// addition per element: exactly what two sito_gemm_i8 calls followed by y += y2 produce.
static void gemm_i8_blocked_2pass_scalar(const int8_t *xq1, const float *s1, const int8_t *xq2, const float *s2,
                                         size_t ldxq, const int8_t *W, const float *w_scale, const float *bias,
                                         float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            int32_t acc1 = 0, acc2 = 0;
            for (size_t k = 0; k < K; k++) {
                const int32_t w = W[blocked_index(n, k, K, 4)];
                acc1 += (int32_t)xq1[m * ldxq + k] * w;
                acc2 += (int32_t)xq2[m * ldxq + k] * w;
            }
            const float y1 = sito_i8_dequant(acc1, s1[m], w_scale[n], bias, n);
            const float y2 = sito_i8_dequant(acc2, s2[m], w_scale[n], NULL, n);
            Y[m * ldy + n] = y1 + y2;
        }
}

static inline float bf16_value(uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void gemm_bf16_blocked_scalar(const uint16_t *xb, size_t ldxb, const uint16_t *W, const float *bias,
                                     float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            float acc = 0;
            for (size_t k = 0; k < K; k++) acc = acc + bf16_value(xb[m * ldxb + k]) * bf16_value(W[blocked_index(n, k, K, 2)]);
            Y[m * ldy + n] = bias ? acc + bias[n] : acc;
        }
}

#if SITO_X86 || SITO_ARM
/// The four bytes at p, as one int (an unaligned load the compiler turns into a broadcast).
static inline int32_t load4(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/// Row i of a register tile whose first MA rows come from xa and the others from xb (MA and i are
/// compile-time constants once the tile is unrolled, so this is one of two addresses). A single-pass tile
/// has MA = MR; the fused two-pass tiles put pass 1's rows m… in rows 0…MA−1 and pass 2's same rows after
/// them, so every weight group loaded feeds both passes.
#define SITO_TILE_ROW(i, MA, xa, xb, ldx) ((i) < (MA) ? (xa) + (i) * (ldx) : (xb) + ((i) - (MA)) * (ldx))
#endif

#if SITO_X86

// MARK: - int8, AVX-512 VNNI: vpdpbusd((x + 128) broadcast, 16 rows × 4 k), minus 128 · Σ_k W[n, k]

/// acc[i][j] += Σ_k (x[i, k] + 128) · W[16 rows of block j, k] over the whole K. `w` is the tile's first
/// block; block j starts at w + j · 16K. Row i is SITO_TILE_ROW(i, MA, x, xb, ldx).
SITO_TARGET_VNNI SITO_INLINE void tile_i8_vnni(const size_t MR, const size_t NR, const size_t MA, const int8_t *x,
                                              const int8_t *xb, size_t ldx, const int8_t *w, size_t K,
                                              __m512i acc[6][4]) {
    SITO_UNROLL
    for (size_t i = 0; i < 6; i++)
        SITO_UNROLL
        for (size_t j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_si512();
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const size_t blockBytes = 16 * K;
    for (size_t k = 0; k < K; k += 4) {
        __m512i wv[4];
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) wv[j] = _mm512_loadu_si512(w + j * blockBytes + k * 16);
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) {
            const __m512i xv = _mm512_xor_si512(_mm512_set1_epi32(load4(SITO_TILE_ROW(i, MA, x, xb, ldx) + k)), flip);
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], xv, wv[j]);
        }
    }
}

/// The single-pass tile (all MR rows from x), in SITO_TILE_DISPATCH's argument order.
#define tile_i8_vnni_1(MR, NR, x, ldx, w, K, acc) tile_i8_vnni(MR, NR, MR, x, NULL, ldx, w, K, acc)

SITO_TARGET_VNNI
static void gemm_i8_blocked_vnni(const int8_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                                 const float *w_scale, const int32_t *w_sums, const float *bias, float *Y,
                                 size_t ldy, size_t M, size_t N, size_t K) {
    const size_t NB = panel_columns(K, 1);
    int32_t local_sums[16];
    for (size_t m0 = 0; m0 < M; m0 += MB) {
        const size_t m1 = m0 + MB < M ? m0 + MB : M;
        for (size_t n0 = 0; n0 < N; n0 += NB) {
            const size_t n1 = n0 + NB < N ? n0 + NB : N;
            for (size_t m = m0; m < m1; m += 6) {
                const size_t mr = m1 - m < 6 ? m1 - m : 6;
                const int8_t *x = xq + m * ldxq;
                for (size_t n = n0; n < n1; n += 64) {
                    const size_t nr = (n1 - n) / 16 < 4 ? (n1 - n) / 16 : 4;
                    const int8_t *w = W + n * K;
                    __m512i acc[6][4];
                    SITO_TILE_DISPATCH(tile_i8_vnni_1, mr, nr, x, ldxq, w, K, acc);
                    for (size_t j = 0; j < nr; j++) {
                        const size_t c = n + 16 * j;
                        const int32_t *sums = w_sums ? w_sums + c : local_sums;
                        if (!w_sums) sito_i8_row_sums_blocked16(W + c * K, 16, K, local_sums);
                        const __m512i offset = _mm512_slli_epi32(_mm512_loadu_si512(sums), 7);
                        const __m512 sw = _mm512_loadu_ps(w_scale + c);
                        const __m512 b = bias ? _mm512_loadu_ps(bias + c) : _mm512_setzero_ps();
                        for (size_t i = 0; i < mr; i++) {
                            __m512 y = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][j], offset));
                            y = _mm512_mul_ps(y, _mm512_set1_ps(x_scale[m + i]));
                            __asm__("" : "+v"(y));   // two separately rounded multiplications, then the bias
                            y = _mm512_mul_ps(y, sw);
                            __asm__("" : "+v"(y));
                            if (bias) y = _mm512_add_ps(y, b);
                            _mm512_storeu_ps(Y + (m + i) * ldy + c, y);
                        }
                    }
                }
            }
        }
    }
}

/// (acc − offset) · sx · sw, two separately rounded multiplications (sito_i8_dequant without the bias).
SITO_TARGET_VNNI SITO_INLINE __m512 dequant16_vnni(__m512i acc, __m512i offset, float sx, __m512 sw) {
    __m512 y = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, offset));
    y = _mm512_mul_ps(y, _mm512_set1_ps(sx));
    __asm__("" : "+v"(y));
    y = _mm512_mul_ps(y, sw);
    __asm__("" : "+v"(y));
    return y;
}

/// The fused two-pass tile: mr ≤ 3 rows of each pass in one 6 × 4 tile (pass 1 in rows 0…mr−1).
#define SITO_PAIR_TILE_DISPATCH(TILE, mr, nr, ...)                 \
    do {                                                           \
        if ((nr) == 4) {                                           \
            switch (mr) {                                          \
            case 3: TILE(6, 4, 3, __VA_ARGS__); break;             \
            case 2: TILE(4, 4, 2, __VA_ARGS__); break;             \
            default: TILE(2, 4, 1, __VA_ARGS__); break;            \
            }                                                      \
        } else {                                                   \
            TILE(2 * (mr), nr, mr, __VA_ARGS__);                   \
        }                                                          \
    } while (0)

SITO_TARGET_VNNI
static void gemm_i8_blocked_2pass_vnni(const int8_t *xq1, const float *s1, const int8_t *xq2, const float *s2,
                                       size_t ldxq, const int8_t *W, const float *w_scale, const int32_t *w_sums,
                                       const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    const size_t NB = panel_columns(K, 1);
    int32_t local_sums[16];
    for (size_t m0 = 0; m0 < M; m0 += MB) {
        const size_t m1 = m0 + MB < M ? m0 + MB : M;
        for (size_t n0 = 0; n0 < N; n0 += NB) {
            const size_t n1 = n0 + NB < N ? n0 + NB : N;
            for (size_t m = m0; m < m1; m += 3) {
                const size_t mr = m1 - m < 3 ? m1 - m : 3;
                for (size_t n = n0; n < n1; n += 64) {
                    const size_t nr = (n1 - n) / 16 < 4 ? (n1 - n) / 16 : 4;
                    const int8_t *w = W + n * K;
                    __m512i acc[6][4];
                    SITO_PAIR_TILE_DISPATCH(tile_i8_vnni, mr, nr, xq1 + m * ldxq, xq2 + m * ldxq, ldxq, w, K, acc);
                    for (size_t j = 0; j < nr; j++) {
                        const size_t c = n + 16 * j;
                        const int32_t *sums = w_sums ? w_sums + c : local_sums;
                        if (!w_sums) sito_i8_row_sums_blocked16(W + c * K, 16, K, local_sums);
                        const __m512i offset = _mm512_slli_epi32(_mm512_loadu_si512(sums), 7);
                        const __m512 sw = _mm512_loadu_ps(w_scale + c);
                        for (size_t i = 0; i < mr; i++) {
                            __m512 y1 = dequant16_vnni(acc[i][j], offset, s1[m + i], sw);
                            if (bias) y1 = _mm512_add_ps(y1, _mm512_loadu_ps(bias + c));
                            const __m512 y2 = dequant16_vnni(acc[mr + i][j], offset, s2[m + i], sw);
                            _mm512_storeu_ps(Y + (m + i) * ldy + c, _mm512_add_ps(y1, y2));
                        }
                    }
                }
            }
        }
    }
}

// MARK: - int8, AVX2: |x| × sign(x)·w with vpmaddubsw (as gemm_i8.c), 8 rows of a block per ymm

/// acc[i][v] (v = 2j + half) += Σ_k x[i, k] · W[8 rows, k]; tile MR ≤ 4 rows (AVX2_MR in the drivers) ×
/// 2 blocks; row i is SITO_TILE_ROW(i, MA, x, xb, ldx).
SITO_TARGET_AVX2 SITO_INLINE void tile_i8_avx2(const size_t MR, const size_t NR, const size_t MA, const int8_t *x,
                                              const int8_t *xb, size_t ldx, const int8_t *w, size_t K,
                                              __m256i acc[4][4]) {
    SITO_UNROLL
    for (size_t i = 0; i < 4; i++)
        SITO_UNROLL
        for (size_t v = 0; v < 4; v++) acc[i][v] = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    const size_t blockBytes = 16 * K;
    for (size_t k = 0; k < K; k += 4) {
        __m256i wv[4] = {0};   // (GCC cannot see v < 2 · NR when NR is not a constant)
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) {
            wv[2 * j] = _mm256_loadu_si256((const __m256i *)(w + j * blockBytes + k * 16));
            wv[2 * j + 1] = _mm256_loadu_si256((const __m256i *)(w + j * blockBytes + k * 16 + 32));
        }
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) {
            const __m256i xv = _mm256_set1_epi32(load4(SITO_TILE_ROW(i, MA, x, xb, ldx) + k));
            const __m256i ax = _mm256_abs_epi8(xv);
            SITO_UNROLL
            for (size_t v = 0; v < 2 * NR; v++) {
                const __m256i p16 = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(wv[v], xv));
                acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_madd_epi16(p16, ones));
            }
        }
    }
}

/// Activation rows per AVX2 register tile: 2 rows × 2 blocks is 8 accumulators, which with the 4 weight
/// vectors, x, |x|, one product and the int16 ones is exactly the 16 ymm registers. (The 4 × 2 tile this
/// replaced kept 8 of its 16 accumulators on the stack: a load and a store per vpaddd.)
enum { AVX2_MR = 2 };

/// (float)acc · sx · sw for 8 columns: sito_i8_dequant without the bias, lane by lane (vcvtdq2ps rounds to
/// nearest even; two separately rounded multiplications).
SITO_TARGET_AVX2 SITO_INLINE __m256 dequant8_avx2(__m256i acc, float sx, const float *sw) {
    __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(sx));
    __asm__("" : "+x"(y));
    y = _mm256_mul_ps(y, _mm256_loadu_ps(sw));
    __asm__("" : "+x"(y));
    return y;
}

SITO_TARGET_AVX2
static void gemm_i8_blocked_avx2(const int8_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                                 const float *w_scale, const float *bias, float *Y, size_t ldy,
                                 size_t M, size_t N, size_t K) {
    const size_t NB = panel_columns(K, 1);
    for (size_t n0 = 0; n0 < N; n0 += NB) {
        const size_t n1 = n0 + NB < N ? n0 + NB : N;
        for (size_t m = 0; m < M; m += AVX2_MR) {
            const size_t mr = M - m < AVX2_MR ? M - m : AVX2_MR;
            for (size_t n = n0; n < n1; n += 32) {
                const size_t nr = (n1 - n) / 16 < 2 ? (n1 - n) / 16 : 2;
                __m256i acc[4][4];
                if (mr == AVX2_MR && nr == 2) tile_i8_avx2(AVX2_MR, 2, AVX2_MR, xq + m * ldxq, NULL, ldxq, W + n * K, K, acc);
                else tile_i8_avx2(mr, nr, mr, xq + m * ldxq, NULL, ldxq, W + n * K, K, acc);
                for (size_t i = 0; i < mr; i++)
                    for (size_t v = 0; v < 2 * nr; v++) {
                        const size_t c = n + 8 * v;
                        __m256 y = dequant8_avx2(acc[i][v], x_scale[m + i], w_scale + c);
                        if (bias) y = _mm256_add_ps(y, _mm256_loadu_ps(bias + c));
                        _mm256_storeu_ps(Y + (m + i) * ldy + c, y);
                    }
            }
        }
    }
}

SITO_TARGET_AVX2
static void gemm_i8_blocked_2pass_avx2(const int8_t *xq1, const float *s1, const int8_t *xq2, const float *s2,
                                       size_t ldxq, const int8_t *W, const float *w_scale, const float *bias,
                                       float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    const size_t NB = panel_columns(K, 1);
    for (size_t n0 = 0; n0 < N; n0 += NB) {
        const size_t n1 = n0 + NB < N ? n0 + NB : N;
        for (size_t m = 0; m < M; m += AVX2_MR / 2) {   // AVX2_MR / 2 rows of each pass: the single-pass tile
            const size_t mr = M - m < AVX2_MR / 2 ? M - m : AVX2_MR / 2;
            for (size_t n = n0; n < n1; n += 32) {
                const size_t nr = (n1 - n) / 16 < 2 ? (n1 - n) / 16 : 2;
                __m256i acc[4][4];
                if (mr == AVX2_MR / 2 && nr == 2) tile_i8_avx2(AVX2_MR, 2, AVX2_MR / 2, xq1 + m * ldxq, xq2 + m * ldxq, ldxq, W + n * K, K, acc);
                else tile_i8_avx2(2 * mr, nr, mr, xq1 + m * ldxq, xq2 + m * ldxq, ldxq, W + n * K, K, acc);
                for (size_t i = 0; i < mr; i++)
                    for (size_t v = 0; v < 2 * nr; v++) {
                        const size_t c = n + 8 * v;
                        __m256 y1 = dequant8_avx2(acc[i][v], s1[m + i], w_scale + c);
                        if (bias) y1 = _mm256_add_ps(y1, _mm256_loadu_ps(bias + c));
                        const __m256 y2 = dequant8_avx2(acc[mr + i][v], s2[m + i], w_scale + c);
                        _mm256_storeu_ps(Y + (m + i) * ldy + c, _mm256_add_ps(y1, y2));
                    }
            }
        }
    }
}

// MARK: - bf16, AVX-512 BF16: vdpbf16ps(x pair broadcast, 16 rows × 2 k)

SITO_TARGET_BF16 SITO_INLINE void tile_bf16_dp(const size_t MR, const size_t NR, const uint16_t *x, size_t ldx,
                                              const uint16_t *w, size_t K, __m512 acc[6][4]) {
    SITO_UNROLL
    for (size_t i = 0; i < 6; i++)
        SITO_UNROLL
        for (size_t j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    const size_t blockElements = 16 * K;
    for (size_t k = 0; k < K; k += 2) {
        __m512i wv[4];
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) wv[j] = _mm512_loadu_si512(w + j * blockElements + k * 16);
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) {
            const __m512i xv = _mm512_set1_epi32(load4(x + i * ldx + k));
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], (__m512bh)xv, (__m512bh)wv[j]);
        }
    }
}

// MARK: - bf16, AVX-512 without BF16: even/odd k widened to f32 (shift / mask), FMA. Tile 4 × 4.

SITO_TARGET_AVX512 SITO_INLINE void tile_bf16_avx512(const size_t MR, const size_t NR, const uint16_t *x, size_t ldx,
                                                    const uint16_t *w, size_t K, __m512 acc[6][4]) {
    SITO_UNROLL
    for (size_t i = 0; i < 6; i++)
        SITO_UNROLL
        for (size_t j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
    const size_t blockElements = 16 * K;
    for (size_t k = 0; k < K; k += 2) {
        __m512 even[4], odd[4];
        SITO_UNROLL
        for (size_t j = 0; j < NR; j++) {
            const __m512i v = _mm512_loadu_si512(w + j * blockElements + k * 16);
            even[j] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
            odd[j] = _mm512_castsi512_ps(_mm512_and_si512(v, high));
        }
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) {
            const __m512 x0 = _mm512_set1_ps(bf16_value(x[i * ldx + k]));
            const __m512 x1 = _mm512_set1_ps(bf16_value(x[i * ldx + k + 1]));
            SITO_UNROLL
            for (size_t j = 0; j < NR; j++) acc[i][j] = _mm512_fmadd_ps(x1, odd[j], _mm512_fmadd_ps(x0, even[j], acc[i][j]));
        }
    }
}

/// The AVX-512 bf16 drivers (tile MRxNR blocks), epilogue Y = acc + bias.
#define SITO_BF16_BLOCKED_DRIVER(NAME, TARGET, TILE, TMR)                                                    \
    TARGET static void NAME(const uint16_t *xb, size_t ldxb, const uint16_t *W, const float *bias, float *Y,  \
                            size_t ldy, size_t M, size_t N, size_t K) {                                       \
        const size_t NB = panel_columns(K, 2);                                                                \
        for (size_t m0 = 0; m0 < M; m0 += MB) {                                                               \
            const size_t m1 = m0 + MB < M ? m0 + MB : M;                                                      \
            for (size_t n0 = 0; n0 < N; n0 += NB) {                                                           \
                const size_t n1 = n0 + NB < N ? n0 + NB : N;                                                  \
                for (size_t m = m0; m < m1; m += TMR) {                                                       \
                    const size_t mr = m1 - m < TMR ? m1 - m : TMR;                                            \
                    for (size_t n = n0; n < n1; n += 64) {                                                    \
                        const size_t nr = (n1 - n) / 16 < 4 ? (n1 - n) / 16 : 4;                              \
                        __m512 acc[6][4];                                                                     \
                        SITO_TILE_DISPATCH(TILE, mr, nr, xb + m * ldxb, ldxb, W + n * K, K, acc);             \
                        for (size_t j = 0; j < nr; j++) {                                                     \
                            const size_t c = n + 16 * j;                                                      \
                            const __m512 b = bias ? _mm512_loadu_ps(bias + c) : _mm512_setzero_ps();          \
                            for (size_t i = 0; i < mr; i++)                                                   \
                                _mm512_storeu_ps(Y + (m + i) * ldy + c, bias ? _mm512_add_ps(acc[i][j], b) : acc[i][j]); \
                        }                                                                                     \
                    }                                                                                         \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
    }

SITO_BF16_BLOCKED_DRIVER(gemm_bf16_blocked_dp, SITO_TARGET_BF16, tile_bf16_dp, 6)
SITO_BF16_BLOCKED_DRIVER(gemm_bf16_blocked_avx512, SITO_TARGET_AVX512, tile_bf16_avx512, 4)

// MARK: - bf16, AVX2: as the AVX-512 path with 8 rows of a block per ymm; tile 4 rows × 1 block.

SITO_TARGET_AVX2
static void gemm_bf16_blocked_avx2(const uint16_t *xb, size_t ldxb, const uint16_t *W, const float *bias, float *Y,
                                   size_t ldy, size_t M, size_t N, size_t K) {
    const __m256i high = _mm256_set1_epi32((int)0xFFFF0000u);
    const size_t NB = panel_columns(K, 2);
    for (size_t n0 = 0; n0 < N; n0 += NB) {
        const size_t n1 = n0 + NB < N ? n0 + NB : N;
        for (size_t m = 0; m < M; m += 4) {
            const size_t mr = M - m < 4 ? M - m : 4;
            for (size_t n = n0; n < n1; n += 16) {
                const uint16_t *w = W + n * K;
                __m256 acc[4][2];
                for (size_t i = 0; i < 4; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
                for (size_t k = 0; k < K; k += 2) {
                    __m256 even[2], odd[2];
                    for (size_t h = 0; h < 2; h++) {
                        const __m256i v = _mm256_loadu_si256((const __m256i *)(w + k * 16 + 16 * h));
                        even[h] = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
                        odd[h] = _mm256_castsi256_ps(_mm256_and_si256(v, high));
                    }
                    for (size_t i = 0; i < mr; i++) {
                        const __m256 x0 = _mm256_set1_ps(bf16_value(xb[(m + i) * ldxb + k]));
                        const __m256 x1 = _mm256_set1_ps(bf16_value(xb[(m + i) * ldxb + k + 1]));
                        for (size_t h = 0; h < 2; h++)
                            acc[i][h] = _mm256_fmadd_ps(x1, odd[h], _mm256_fmadd_ps(x0, even[h], acc[i][h]));
                    }
                }
                for (size_t i = 0; i < mr; i++)
                    for (size_t h = 0; h < 2; h++) {
                        __m256 y = acc[i][h];
                        if (bias) y = _mm256_add_ps(y, _mm256_loadu_ps(bias + n + 8 * h));
                        _mm256_storeu_ps(Y + (m + i) * ldy + n + 8 * h, y);
                    }
            }
        }
    }
}
#endif

#if SITO_ARM
// MARK: - aarch64. One 64-byte group is four q registers of 4 rows × G k each: int8 4 rows × 4 k (exactly
// sdot's operand), bf16 4 rows × 2 k (bfdot's). Tiles are MR activation rows × one 16-row block; the
// accumulators acc[i][q] hold the 4 columns 4q…4q+3 of the block for row i.


/// int8, NEON (ARMv8.0): smull/smlal of a group's 4-row quarter by x[k…k+3] repeated, two groups per int16
/// lane (|pair| ≤ 2 · 127² < 32767), sadalp into pairs of int32 partial sums, one pairwise add at the end.
SITO_INLINE void tile_i8_neon(const size_t MR, const size_t MA, const int8_t *x, const int8_t *xb, size_t ldx, const int8_t *w, size_t K,
                              int32x4_t out[4][4]) {
    int32x4_t lo[4][4], hi[4][4];   // lo: rows 4q, 4q+1 (two partial sums each); hi: rows 4q+2, 4q+3
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) lo[i][q] = hi[i][q] = vdupq_n_s32(0);
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        const int8_t *g0 = w + k * 16, *g1 = g0 + 64;
        int8x8_t x0[4], x1[4];
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) {
            x0[i] = vreinterpret_s8_s32(vdup_n_s32(load4(SITO_TILE_ROW(i, MA, x, xb, ldx) + k)));
            x1[i] = vreinterpret_s8_s32(vdup_n_s32(load4(SITO_TILE_ROW(i, MA, x, xb, ldx) + k + 4)));
        }
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) {
            const int8x16_t w0 = vld1q_s8(g0 + 16 * q), w1 = vld1q_s8(g1 + 16 * q);
            SITO_UNROLL
            for (size_t i = 0; i < MR; i++) {
                const int16x8_t pl = vmlal_s8(vmull_s8(vget_low_s8(w0), x0[i]), vget_low_s8(w1), x1[i]);
                const int16x8_t ph = vmlal_s8(vmull_s8(vget_high_s8(w0), x0[i]), vget_high_s8(w1), x1[i]);
                lo[i][q] = vpadalq_s16(lo[i][q], pl);
                hi[i][q] = vpadalq_s16(hi[i][q], ph);
            }
        }
    }
    if (k < K) {   // K % 8 == 4: one last group
        const int8_t *g0 = w + k * 16;
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) {
            const int8x16_t w0 = vld1q_s8(g0 + 16 * q);
            SITO_UNROLL
            for (size_t i = 0; i < MR; i++) {
                const int8x8_t x0 = vreinterpret_s8_s32(vdup_n_s32(load4(SITO_TILE_ROW(i, MA, x, xb, ldx) + k)));
                lo[i][q] = vpadalq_s16(lo[i][q], vmull_s8(vget_low_s8(w0), x0));
                hi[i][q] = vpadalq_s16(hi[i][q], vmull_s8(vget_high_s8(w0), x0));
            }
        }
    }
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) out[i][q] = vpaddq_s32(lo[i][q], hi[i][q]);
}

/// int8, DOTPROD: sdot by lane — x[k…k+15] in one register, lane l (k + 4l…) meets group k/4 + l.
SITO_TARGET_DOTPROD SITO_INLINE void tile_i8_dotprod(const size_t MR, const size_t MA, const int8_t *x, const int8_t *xb, size_t ldx, const int8_t *w,
                                                     size_t K, int32x4_t acc[4][4]) {
    SITO_UNROLL
    for (size_t i = 0; i < 4; i++)
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) acc[i][q] = vdupq_n_s32(0);
    size_t k = 0;
    for (; k + 16 <= K; k += 16) {
        int8x16_t xv[4];
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) xv[i] = vld1q_s8(SITO_TILE_ROW(i, MA, x, xb, ldx) + k);
        const int8_t *g = w + k * 16;
#define SITO_SDOT_LANE(L)                                                                  \
        SITO_UNROLL                                                                        \
        for (size_t q = 0; q < 4; q++) {                                                   \
            const int8x16_t wq = vld1q_s8(g + 64 * (L) + 16 * q);                          \
            SITO_UNROLL                                                                    \
            for (size_t i = 0; i < MR; i++) acc[i][q] = vdotq_laneq_s32(acc[i][q], wq, xv[i], L); \
        }
        SITO_SDOT_LANE(0)
        SITO_SDOT_LANE(1)
        SITO_SDOT_LANE(2)
        SITO_SDOT_LANE(3)
#undef SITO_SDOT_LANE
    }
    for (; k < K; k += 4) {   // the last K % 16 / 4 groups: x[k…k+3] broadcast
        const int8_t *g = w + k * 16;
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) {
            const int8x16_t x4 = vreinterpretq_s8_s32(vdupq_n_s32(load4(SITO_TILE_ROW(i, MA, x, xb, ldx) + k)));
            SITO_UNROLL
            for (size_t q = 0; q < 4; q++) acc[i][q] = vdotq_s32(acc[i][q], vld1q_s8(g + 16 * q), x4);
        }
    }
}

/// int8, I8MM: two groups zipped at 32-bit lanes are the 2×8 smmla operand of two rows (rows 4q, 4q+1 and
/// 4q+2, 4q+3 of the block, 8 k each); activations in row pairs (a missing row repeats the last one).
/// pair[p][o] = [(2p, 2o), (2p, 2o+1), (2p+1, 2o), (2p+1, 2o+1)], unzipped into rows at the end.
SITO_TARGET_I8MM SITO_INLINE void tile_i8_i8mm(const size_t MR, const size_t MA, const int8_t *x, const int8_t *xb, size_t ldx, const int8_t *w,
                                               size_t K, int32x4_t out[4][4]) {
    const size_t MP = (MR + 1) / 2;
    const int8_t *xr[4];
    SITO_UNROLL
    for (size_t i = 0; i < 4; i++) xr[i] = SITO_TILE_ROW((i < MR ? i : MR - 1), MA, x, xb, ldx);
    int32x4_t pair[2][8];
    SITO_UNROLL
    for (size_t p = 0; p < 2; p++)
        SITO_UNROLL
        for (size_t o = 0; o < 8; o++) pair[p][o] = vdupq_n_s32(0);
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        int8x16_t a[2];
        SITO_UNROLL
        for (size_t p = 0; p < MP; p++) a[p] = vcombine_s8(vld1_s8(xr[2 * p] + k), vld1_s8(xr[2 * p + 1] + k));
        const int8_t *g0 = w + k * 16, *g1 = g0 + 64;
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) {
            const int32x4_t w0 = vreinterpretq_s32_s8(vld1q_s8(g0 + 16 * q)), w1 = vreinterpretq_s32_s8(vld1q_s8(g1 + 16 * q));
            const int8x16_t b0 = vreinterpretq_s8_s32(vzip1q_s32(w0, w1)), b1 = vreinterpretq_s8_s32(vzip2q_s32(w0, w1));
            SITO_UNROLL
            for (size_t p = 0; p < MP; p++) {
                pair[p][2 * q] = vmmlaq_s32(pair[p][2 * q], a[p], b0);
                pair[p][2 * q + 1] = vmmlaq_s32(pair[p][2 * q + 1], a[p], b1);
            }
        }
    }
    if (k < K) {   // K % 8 == 4: the last group against zeros (only 4 bytes of each x row are read)
        int8x16_t a[2];
        SITO_UNROLL
        for (size_t p = 0; p < MP; p++)
            a[p] = vcombine_s8(vcreate_s8((uint32_t)load4(xr[2 * p] + k)), vcreate_s8((uint32_t)load4(xr[2 * p + 1] + k)));
        const int8_t *g0 = w + k * 16;
        const int32x4_t zero = vdupq_n_s32(0);
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) {
            const int32x4_t w0 = vreinterpretq_s32_s8(vld1q_s8(g0 + 16 * q));
            const int8x16_t b0 = vreinterpretq_s8_s32(vzip1q_s32(w0, zero)), b1 = vreinterpretq_s8_s32(vzip2q_s32(w0, zero));
            SITO_UNROLL
            for (size_t p = 0; p < MP; p++) {
                pair[p][2 * q] = vmmlaq_s32(pair[p][2 * q], a[p], b0);
                pair[p][2 * q + 1] = vmmlaq_s32(pair[p][2 * q + 1], a[p], b1);
            }
        }
    }
    SITO_UNROLL
    for (size_t p = 0; p < MP; p++)
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) {
            const int64x2_t l = vreinterpretq_s64_s32(pair[p][2 * q]), r = vreinterpretq_s64_s32(pair[p][2 * q + 1]);
            out[2 * p][q] = vreinterpretq_s32_s64(vzip1q_s64(l, r));
            out[2 * p + 1][q] = vreinterpretq_s32_s64(vzip2q_s64(l, r));
        }
}

/// Calls TILE(mr, args…) with a compile-time row count from 1 to TMR (4 at most).
#define SITO_ROWS_DISPATCH(TILE, TMR, mr, ...)                  \
    do {                                                        \
        if ((TMR) >= 4 && (mr) == 4) TILE(4, __VA_ARGS__);      \
        else if ((TMR) >= 3 && (mr) == 3) TILE(3, __VA_ARGS__); \
        else if ((mr) >= 2) TILE(2, __VA_ARGS__);               \
        else TILE(1, __VA_ARGS__);                              \
    } while (0)

/// The same for the int8 tiles, whose second argument MA = MR says that all rows come from one x.
#define SITO_I8_ROWS_DISPATCH(TILE, TMR, mr, ...)                  \
    do {                                                           \
        if ((TMR) >= 4 && (mr) == 4) TILE(4, 4, __VA_ARGS__);      \
        else if ((TMR) >= 3 && (mr) == 3) TILE(3, 3, __VA_ARGS__); \
        else if ((mr) >= 2) TILE(2, 2, __VA_ARGS__);               \
        else TILE(1, 1, __VA_ARGS__);                              \
    } while (0)

/// The fused two-pass tile: mr (≤ TMR / 2) rows of each pass, pass 1's in tile rows 0…mr−1, pass 2's after.
#define SITO_PAIR_ROWS_DISPATCH(TILE, TMR, mr, ...)                \
    do {                                                           \
        if ((TMR) >= 4 && (mr) == 2) TILE(4, 2, __VA_ARGS__);      \
        else TILE(2, 1, __VA_ARGS__);                              \
    } while (0)

/// The aarch64 int8 drivers: rows in groups of MB, W in L2 panels, TMR rows × one block per tile.
#define SITO_I8_BLOCKED_ARM_DRIVER(NAME, TARGET, TILE, TMR)                                                    \
    TARGET static void NAME(const int8_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,              \
                            const float *w_scale, const float *bias, float *Y, size_t ldy, size_t M, size_t N, \
                            size_t K) {                                                                         \
        const size_t NB = panel_columns(K, 1);                                                                  \
        for (size_t m0 = 0; m0 < M; m0 += MB) {                                                                 \
            const size_t m1 = m0 + MB < M ? m0 + MB : M;                                                        \
            for (size_t n0 = 0; n0 < N; n0 += NB) {                                                             \
                const size_t n1 = n0 + NB < N ? n0 + NB : N;                                                    \
                for (size_t m = m0; m < m1; m += TMR) {                                                         \
                    const size_t mr = m1 - m < TMR ? m1 - m : TMR;                                              \
                    for (size_t n = n0; n < n1; n += 16) {                                                      \
                        int32x4_t acc[4][4];                                                                    \
                        SITO_I8_ROWS_DISPATCH(TILE, TMR, mr, xq + m * ldxq, NULL, ldxq, W + n * K, K, acc);              \
                        for (size_t i = 0; i < mr; i++)                                                         \
                            for (size_t q = 0; q < 4; q++) {                                                    \
                                const size_t c = n + 4 * q;                                                     \
                                vst1q_f32(Y + (m + i) * ldy + c,                                                \
                                          sito_dequant4_neon(acc[i][q], x_scale[m + i], w_scale + c, bias ? bias + c : NULL)); \
                            }                                                                                   \
                    }                                                                                           \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }

/// The aarch64 fused two-pass drivers (sito_gemm_i8_blocked16_2pass): TMR / 2 rows of each pass per tile,
/// so each weight group is loaded once for both; epilogue (pass 1 with the bias) + (pass 2 without).
#define SITO_I8_BLOCKED_ARM_2PASS_DRIVER(NAME, TARGET, TILE, TMR)                                              \
    TARGET static void NAME(const int8_t *xq1, const float *s1, const int8_t *xq2, const float *s2, size_t ldxq, \
                            const int8_t *W, const float *w_scale, const float *bias, float *Y, size_t ldy,     \
                            size_t M, size_t N, size_t K) {                                                     \
        const size_t NB = panel_columns(K, 1);                                                                  \
        for (size_t m0 = 0; m0 < M; m0 += MB) {                                                                 \
            const size_t m1 = m0 + MB < M ? m0 + MB : M;                                                        \
            for (size_t n0 = 0; n0 < N; n0 += NB) {                                                             \
                const size_t n1 = n0 + NB < N ? n0 + NB : N;                                                    \
                for (size_t m = m0; m < m1; m += (TMR) / 2) {                                                   \
                    const size_t mr = m1 - m < (TMR) / 2 ? m1 - m : (TMR) / 2;                                  \
                    for (size_t n = n0; n < n1; n += 16) {                                                      \
                        int32x4_t acc[4][4];                                                                    \
                        SITO_PAIR_ROWS_DISPATCH(TILE, TMR, mr, xq1 + m * ldxq, xq2 + m * ldxq, ldxq, W + n * K, K, acc); \
                        for (size_t i = 0; i < mr; i++)                                                         \
                            for (size_t q = 0; q < 4; q++) {                                                    \
                                const size_t c = n + 4 * q;                                                     \
                                const float32x4_t y1 = sito_dequant4_neon(acc[i][q], s1[m + i], w_scale + c, bias ? bias + c : NULL); \
                                const float32x4_t y2 = sito_dequant4_neon(acc[mr + i][q], s2[m + i], w_scale + c, NULL);  \
                                vst1q_f32(Y + (m + i) * ldy + c, vaddq_f32(y1, y2));                            \
                            }                                                                                   \
                    }                                                                                           \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }

SITO_I8_BLOCKED_ARM_2PASS_DRIVER(gemm_i8_blocked_2pass_neon, , tile_i8_neon, 2)
SITO_I8_BLOCKED_ARM_2PASS_DRIVER(gemm_i8_blocked_2pass_dotprod, SITO_TARGET_DOTPROD, tile_i8_dotprod, 4)
SITO_I8_BLOCKED_ARM_2PASS_DRIVER(gemm_i8_blocked_2pass_i8mm, SITO_TARGET_I8MM, tile_i8_i8mm, 4)

SITO_I8_BLOCKED_ARM_DRIVER(gemm_i8_blocked_neon, , tile_i8_neon, 2)
SITO_I8_BLOCKED_ARM_DRIVER(gemm_i8_blocked_dotprod, SITO_TARGET_DOTPROD, tile_i8_dotprod, 4)
SITO_I8_BLOCKED_ARM_DRIVER(gemm_i8_blocked_i8mm, SITO_TARGET_I8MM, tile_i8_i8mm, 4)

/// bf16, NEON: a group's quarter widened to f32 by shifts (even k: << 16; odd k: & 0xFFFF0000), one FMA
/// per k by lane of the widened activations: each output is ONE accumulator adding k in order, so (the
/// products being exact) the result equals the scalar reference bit for bit.
SITO_INLINE void tile_bf16_neon(const size_t MR, const uint16_t *x, size_t ldx, const uint16_t *w, size_t K,
                                float32x4_t acc[4][4]) {
    SITO_UNROLL
    for (size_t i = 0; i < 4; i++)
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) acc[i][q] = vdupq_n_f32(0);
    const uint32x4_t high = vdupq_n_u32(0xFFFF0000u);
    size_t k = 0;
    for (; k + 4 <= K; k += 4) {
        float32x4_t xv[4];
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) xv[i] = vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(x + i * ldx + k), 16));
        const uint16_t *g = w + k * 16;
#define SITO_BF16_FMA_GROUP(L)                                                                         \
        SITO_UNROLL                                                                                    \
        for (size_t q = 0; q < 4; q++) {                                                               \
            const uint32x4_t v = vreinterpretq_u32_u16(vld1q_u16(g + 32 * (L) + 8 * q));               \
            const float32x4_t even = vreinterpretq_f32_u32(vshlq_n_u32(v, 16));                        \
            const float32x4_t odd = vreinterpretq_f32_u32(vandq_u32(v, high));                         \
            SITO_UNROLL                                                                                \
            for (size_t i = 0; i < MR; i++)                                                            \
                acc[i][q] = vfmaq_laneq_f32(vfmaq_laneq_f32(acc[i][q], even, xv[i], 2 * (L)), odd, xv[i], 2 * (L) + 1); \
        }
        SITO_BF16_FMA_GROUP(0)
        SITO_BF16_FMA_GROUP(1)
#undef SITO_BF16_FMA_GROUP
    }
    if (k < K) {   // K % 4 == 2: the last group
        const uint16_t *g = w + k * 16;
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) {
            const uint32x4_t v = vreinterpretq_u32_u16(vld1q_u16(g + 8 * q));
            const float32x4_t even = vreinterpretq_f32_u32(vshlq_n_u32(v, 16));
            const float32x4_t odd = vreinterpretq_f32_u32(vandq_u32(v, high));
            SITO_UNROLL
            for (size_t i = 0; i < MR; i++) {
                const float32x4_t x0 = vdupq_n_f32(bf16_value(x[i * ldx + k])), x1 = vdupq_n_f32(bf16_value(x[i * ldx + k + 1]));
                acc[i][q] = vfmaq_f32(vfmaq_f32(acc[i][q], even, x0), odd, x1);
            }
        }
    }
}

/// bf16, NEON_BF16: bfdot by lane — x[k…k+7] in one register, lane l (k + 2l, k + 2l + 1) meets group
/// k/2 + l. bfdot rounds each pair sum and each accumulation (round-to-odd, FPCR.EBF = 0), so each output
/// keeps TWO accumulators (lanes 0–1 and 2–3, i.e. alternate 4-k halves) to keep the chains short enough
/// for bf16GemmTolerance; they are added at the end. Subnormal inputs and products count as zero.
SITO_TARGET_NEON_BF16 SITO_INLINE void tile_bf16_bfdot(const size_t MR, const uint16_t *x, size_t ldx,
                                                       const uint16_t *w, size_t K, float32x4_t out[4][4]) {
    float32x4_t a[4][4], b[4][4];
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) a[i][q] = b[i][q] = vdupq_n_f32(0);
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        bfloat16x8_t xv[4];
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) xv[i] = vreinterpretq_bf16_u16(vld1q_u16(x + i * ldx + k));
        const uint16_t *g = w + k * 16;
#define SITO_BFDOT_LANE(ACC, L)                                                                           \
        SITO_UNROLL                                                                                       \
        for (size_t q = 0; q < 4; q++) {                                                                  \
            const bfloat16x8_t wq = vreinterpretq_bf16_u16(vld1q_u16(g + 32 * (L) + 8 * q));              \
            SITO_UNROLL                                                                                   \
            for (size_t i = 0; i < MR; i++) ACC[i][q] = vbfdotq_laneq_f32(ACC[i][q], wq, xv[i], L);        \
        }
        SITO_BFDOT_LANE(a, 0)
        SITO_BFDOT_LANE(a, 1)
        SITO_BFDOT_LANE(b, 2)
        SITO_BFDOT_LANE(b, 3)
#undef SITO_BFDOT_LANE
    }
    for (; k < K; k += 2) {   // the last K % 8 / 2 groups: the pair x[k], x[k+1] broadcast
        const uint16_t *g = w + k * 16;
        SITO_UNROLL
        for (size_t i = 0; i < MR; i++) {
            const bfloat16x8_t xp = vreinterpretq_bf16_s32(vdupq_n_s32(load4(x + i * ldx + k)));
            SITO_UNROLL
            for (size_t q = 0; q < 4; q++) a[i][q] = vbfdotq_f32(a[i][q], vreinterpretq_bf16_u16(vld1q_u16(g + 8 * q)), xp);
        }
    }
    SITO_UNROLL
    for (size_t i = 0; i < MR; i++)
        SITO_UNROLL
        for (size_t q = 0; q < 4; q++) out[i][q] = vaddq_f32(a[i][q], b[i][q]);
}

/// The aarch64 bf16 drivers: as the int8 ones, epilogue Y = acc + bias.
#define SITO_BF16_BLOCKED_ARM_DRIVER(NAME, TARGET, TILE, TMR)                                                  \
    TARGET static void NAME(const uint16_t *xb, size_t ldxb, const uint16_t *W, const float *bias, float *Y,    \
                            size_t ldy, size_t M, size_t N, size_t K) {                                         \
        const size_t NB = panel_columns(K, 2);                                                                  \
        for (size_t m0 = 0; m0 < M; m0 += MB) {                                                                 \
            const size_t m1 = m0 + MB < M ? m0 + MB : M;                                                        \
            for (size_t n0 = 0; n0 < N; n0 += NB) {                                                             \
                const size_t n1 = n0 + NB < N ? n0 + NB : N;                                                    \
                for (size_t m = m0; m < m1; m += TMR) {                                                         \
                    const size_t mr = m1 - m < TMR ? m1 - m : TMR;                                              \
                    for (size_t n = n0; n < n1; n += 16) {                                                      \
                        float32x4_t acc[4][4];                                                                  \
                        SITO_ROWS_DISPATCH(TILE, TMR, mr, xb + m * ldxb, ldxb, W + n * K, K, acc);              \
                        for (size_t i = 0; i < mr; i++)                                                         \
                            for (size_t q = 0; q < 4; q++) {                                                    \
                                const size_t c = n + 4 * q;                                                     \
                                vst1q_f32(Y + (m + i) * ldy + c,                                                \
                                          bias ? vaddq_f32(acc[i][q], vld1q_f32(bias + c)) : acc[i][q]);        \
                            }                                                                                   \
                    }                                                                                           \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }

SITO_BF16_BLOCKED_ARM_DRIVER(gemm_bf16_blocked_neon, , tile_bf16_neon, 4)
SITO_BF16_BLOCKED_ARM_DRIVER(gemm_bf16_blocked_bfdot, SITO_TARGET_NEON_BF16, tile_bf16_bfdot, 2)
#endif

// MARK: - entry points

void sito_gemm_i8_blocked16_isa(sito_isa isa, const int8_t *xq, size_t ldxq, const float *x_scale,
                                const int8_t *W, const float *w_scale, const int32_t *w_sums,
                                const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    if (M == 0 || N == 0) return;
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512_VNNI) {
        gemm_i8_blocked_vnni(xq, ldxq, x_scale, W, w_scale, w_sums, bias, Y, ldy, M, N, K);
        return;
    }
    if (isa >= SITO_ISA_AVX2) {
        gemm_i8_blocked_avx2(xq, ldxq, x_scale, W, w_scale, bias, Y, ldy, M, N, K);
        return;
    }
#elif SITO_ARM
    if (isa >= SITO_ISA_NEON_I8MM) { gemm_i8_blocked_i8mm(xq, ldxq, x_scale, W, w_scale, bias, Y, ldy, M, N, K); return; }
    if (isa >= SITO_ISA_NEON_DOTPROD) { gemm_i8_blocked_dotprod(xq, ldxq, x_scale, W, w_scale, bias, Y, ldy, M, N, K); return; }
    if (isa >= SITO_ISA_NEON) { gemm_i8_blocked_neon(xq, ldxq, x_scale, W, w_scale, bias, Y, ldy, M, N, K); return; }
#endif
    (void)w_sums;
    gemm_i8_blocked_scalar(xq, ldxq, x_scale, W, w_scale, bias, Y, ldy, M, N, K);
}

void sito_gemm_i8_blocked16(const int8_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                            const float *w_scale, const int32_t *w_sums, const float *bias, float *Y, size_t ldy,
                            size_t M, size_t N, size_t K) {
    sito_gemm_i8_blocked16_isa(sito_kernels_isa(), xq, ldxq, x_scale, W, w_scale, w_sums, bias, Y, ldy, M, N, K);
}

void sito_gemm_i8_blocked16_2pass_isa(sito_isa isa, const int8_t *xq1, const float *x_scale1, const int8_t *xq2,
                                      const float *x_scale2, size_t ldxq, const int8_t *W, const float *w_scale,
                                      const int32_t *w_sums, const float *bias, float *Y, size_t ldy, size_t M,
                                      size_t N, size_t K) {
    if (M == 0 || N == 0) return;
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512_VNNI) {
        gemm_i8_blocked_2pass_vnni(xq1, x_scale1, xq2, x_scale2, ldxq, W, w_scale, w_sums, bias, Y, ldy, M, N, K);
        return;
    }
    if (isa >= SITO_ISA_AVX2) {
        gemm_i8_blocked_2pass_avx2(xq1, x_scale1, xq2, x_scale2, ldxq, W, w_scale, bias, Y, ldy, M, N, K);
        return;
    }
#elif SITO_ARM
    if (isa >= SITO_ISA_NEON_I8MM) {
        gemm_i8_blocked_2pass_i8mm(xq1, x_scale1, xq2, x_scale2, ldxq, W, w_scale, bias, Y, ldy, M, N, K);
        return;
    }
    if (isa >= SITO_ISA_NEON_DOTPROD) {
        gemm_i8_blocked_2pass_dotprod(xq1, x_scale1, xq2, x_scale2, ldxq, W, w_scale, bias, Y, ldy, M, N, K);
        return;
    }
    if (isa >= SITO_ISA_NEON) {
        gemm_i8_blocked_2pass_neon(xq1, x_scale1, xq2, x_scale2, ldxq, W, w_scale, bias, Y, ldy, M, N, K);
        return;
    }
#endif
    (void)w_sums;
    gemm_i8_blocked_2pass_scalar(xq1, x_scale1, xq2, x_scale2, ldxq, W, w_scale, bias, Y, ldy, M, N, K);
}

void sito_gemm_i8_blocked16_2pass(const int8_t *xq1, const float *x_scale1, const int8_t *xq2, const float *x_scale2,
                                  size_t ldxq, const int8_t *W, const float *w_scale, const int32_t *w_sums,
                                  const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    sito_gemm_i8_blocked16_2pass_isa(sito_kernels_isa(), xq1, x_scale1, xq2, x_scale2, ldxq, W, w_scale, w_sums,
                                     bias, Y, ldy, M, N, K);
}

void sito_gemm_bf16_blocked16_isa(sito_isa isa, const uint16_t *xb, size_t ldxb, const uint16_t *W,
                                  const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    if (M == 0 || N == 0) return;
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512_BF16) {
        gemm_bf16_blocked_dp(xb, ldxb, W, bias, Y, ldy, M, N, K);
        return;
    }
    if (isa >= SITO_ISA_AVX512) {
        gemm_bf16_blocked_avx512(xb, ldxb, W, bias, Y, ldy, M, N, K);
        return;
    }
    if (isa >= SITO_ISA_AVX2) {
        gemm_bf16_blocked_avx2(xb, ldxb, W, bias, Y, ldy, M, N, K);
        return;
    }
#elif SITO_ARM
    if (isa >= SITO_ISA_NEON_BF16) { gemm_bf16_blocked_bfdot(xb, ldxb, W, bias, Y, ldy, M, N, K); return; }
    if (isa >= SITO_ISA_NEON) { gemm_bf16_blocked_neon(xb, ldxb, W, bias, Y, ldy, M, N, K); return; }
#endif
    gemm_bf16_blocked_scalar(xb, ldxb, W, bias, Y, ldy, M, N, K);
}

void sito_gemm_bf16_blocked16(const uint16_t *xb, size_t ldxb, const uint16_t *W, const float *bias, float *Y,
                              size_t ldy, size_t M, size_t N, size_t K) {
    sito_gemm_bf16_blocked16_isa(sito_kernels_isa(), xb, ldxb, W, bias, Y, ldy, M, N, K);
}
