// attention.c: fused attention of the queries of one head of one sequence (Sources/Sito/Attention.swift):
// softmax(scale·Q·Kᵀ)·V by the online-softmax recurrence over key blocks of KB keys, with f32 operands or
// bf16 ones (bf16 and int8 files). Contracts, schemes and tolerances: sito_kernels.h, "Fused attention".
//
// Paths
//   scalar       the reference: the documented recurrence, one query at a time, in-order sums, libm expf.
//   avx512/avx2  attention_simd.h, instantiated twice. Queries in blocks of QMAX (the next block's rows
//                prefetched); per block Qᵀ is packed once, then per key block (copied into scratch: rows
//                4 KiB apart share one L1 set): score tiles Sᵀ = K·Qᵀ with the queries on the lanes (K's
//                elements broadcast), the softmax down the columns of Sᵀ (per lane: no horizontal
//                reductions), value tiles O += P·V with V's columns on the lanes (P's elements broadcast
//                from Pᵀ, V's rows loaded), the last key block writing o·(1/l) straight into O (no
//                transposition of the output). The bf16 scheme runs the same code on bf16-rounded values:
//                Q rounded while packed, each key block of K and V widened from the packed bf16, P rounded
//                after the exp; products of bf16 values are exact, so its sums are the reference's, in the
//                same order: only e^x differs.
//   avx512bf16   the bf16 scheme on vdpbf16ps, same structure in pairs: Q packed as pairs along d (a
//                32-bit word = 2 bf16 per lane) against K's pairs broadcast from the packed rows; P rounded
//                (vcvtne2ps2bf16) and packed as pairs along keys, broadcast against V's rows pre-packed as
//                pairs along keys (sito_attention_pack_kv_bf16: 16 columns × 2 keys = one vector).
//   neon         attention_simd.h on 4 lanes (aarch64, every ARM level; both schemes), and the bf16 pack with
//                the rounding in registers.
//   neon-bf16    (NEON_BF16, d % 8 == 0) the avx512bf16 structure on BFDOT by lane: K's rows 8 bf16 at a
//                time, each pair against the queries' pairs; P's pairs of 4 rows against V's packed pairs.
//
// Scratch (sito_attention_scratch_bytes), in floats, every region a multiple of 16 floats (64 bytes):
//   qt [⌈d/2⌉·2][QMAX]  Qᵀ (f32) or Q's bf16 pairs [d/2][QMAX] (words)     st [KB][QMAX]  Sᵀ, then Pᵀ
//   pp [KB/2][QMAX]      Pᵀ's bf16 pairs (words, avx512bf16)               o [QMAX][dv]   running output
//   kf, vf [KB][d]       one key block of K and V, copied (f32: rows 4 KiB apart in the packed Q/K/V
//                        share one L1 set) or widened (the bf16 scheme on the f32 code); the reference
//                        keeps its q row in kf, its s row in st and its o row in vf
//   m, l, c, inv [QMAX]  per query: running maximum and sum, this block's rescaling factor, 1 / l
// dv = d rounded up to 16. For d = 64: 91 KB per thread.
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "kernels_internal.h"
#include "simd_exp.h"
#include <math.h>

enum { QMAX = SITO_ATTENTION_QUERY_BLOCK, KB = SITO_ATTENTION_KEY_BLOCK };

typedef struct {
    float *qt, *st, *o, *kf, *vf, *m, *l, *c, *inv;
    uint32_t *pp;
    size_t dv;
} scratch_layout;

static size_t even_up(size_t d) { return (d + 1) & ~(size_t)1; }
static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

static scratch_layout layout(void *scratch, size_t d) {
    float *p = (float *)scratch;
    scratch_layout s;
    s.dv = up16(d);
    s.qt = p; p += even_up(d) * QMAX;
    s.st = p; p += (size_t)KB * QMAX;
    s.pp = (uint32_t *)p; p += (size_t)KB / 2 * QMAX;
    s.o = p; p += QMAX * s.dv;
    s.kf = p; p += up16((size_t)KB * d);
    s.vf = p; p += up16((size_t)KB * d);
    s.m = p; p += QMAX;
    s.l = p; p += QMAX;
    s.c = p; p += QMAX;
    s.inv = p;
    return s;
}

size_t sito_attention_scratch_bytes(size_t d) {
    const size_t floats = even_up(d) * QMAX + (size_t)KB * QMAX + (size_t)KB / 2 * QMAX + QMAX * up16(d) +
                          2 * up16((size_t)KB * d) + 4 * QMAX;
    return floats * sizeof(float);
}

const char *sito_attention_path_name(sito_isa level, int bf16) {
    level = sito_clamp_isa(level);
    if (sito_isa_family_of(level) == SITO_ISA_FAMILY_ARM)
        return bf16 && level >= SITO_ISA_NEON_BF16 ? "neon-bf16" : "neon";   // (d % 8 != 0: "neon")
    if (bf16 && level >= SITO_ISA_AVX512_BF16) return "avx512bf16";   // (odd d: "avx512")
    if (level >= SITO_ISA_AVX512) return "avx512";
    if (level >= SITO_ISA_AVX2) return "avx2";
    return "scalar";
}

/// Prefetches rows [0, n) of X (row stride ldx, d floats each). Rows of the packed [T, hidden] matrices
/// are 4 KiB apart, a new page each: the hardware prefetchers do not follow them. locality: 3 → L1, 2 → L2.
#define prefetch_rows(X, ldx, n, d, locality)                                                             \
    do {                                                                                                   \
        for (size_t pr_i = 0; pr_i < (n); pr_i++)                                                          \
            for (size_t pr_c = 0; pr_c < (d); pr_c += 16) __builtin_prefetch((X) + pr_i * (ldx) + pr_c, 0, locality); \
    } while (0)

// MARK: - bf16 helpers (sito_f32_to_bf16's rounding, sito_kernels.h)

static inline uint16_t round_bf16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

static inline float widen_bf16(uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline float round_bf16(float f) { return widen_bf16(round_bf16_bits(f)); }

size_t sito_attention_kv_bf16_elements(size_t L, size_t d) { return L * d + (L + 1) / 2 * 2 * d; }

static void pack_kv_scalar(const float *K, size_t ldk, const float *V, size_t ldv, size_t L, size_t d,
                           uint16_t *kv) {
    for (size_t j = 0; j < L; j++) sito_f32_to_bf16(K + j * ldk, kv + j * d, d);
    uint16_t *vp = kv + L * d;
    enum { CHUNK = 256 };
    uint16_t a[CHUNK], b[CHUNK];
    for (size_t j = 0; j < L; j += 2)
        for (size_t c0 = 0; c0 < d; c0 += CHUNK) {
            const size_t n = d - c0 < CHUNK ? d - c0 : CHUNK;
            sito_f32_to_bf16(V + j * ldv + c0, a, n);
            if (j + 1 < L) sito_f32_to_bf16(V + (j + 1) * ldv + c0, b, n);
            else memset(b, 0, n * sizeof(uint16_t));
            uint16_t *out = vp + (j / 2) * 2 * d + 2 * c0;
            for (size_t c = 0; c < n; c++) {
                out[2 * c] = a[c];
                out[2 * c + 1] = b[c];
            }
        }
}

#if SITO_X86
SITO_TARGET_AVX512 SITO_INLINE __mmask32 first32(size_t n) {
    return n >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << n) - 1);
}

/// sito_f32_to_bf16 of each lane (NaN included), in the high 16 bits of the lane; the low 16 bits are 0.
SITO_TARGET_AVX512 SITO_INLINE __m512i bf16_in_high_half(__m512 x) {
    const __m512i u = _mm512_castps_si512(x);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
    const __m512i r = _mm512_and_si512(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), high);
    const __m512i nan = _mm512_and_si512(_mm512_or_si512(u, _mm512_set1_epi32(0x00400000)), high);
    return _mm512_mask_blend_epi32(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), r, nan);
}

/// The pack with the rounding in registers: K rows 32 values at a time (the high halves of two vectors
/// gathered by one permutation), V two rows at a time (row j's bf16 in the low half of each word, row j+1's
/// in the high half: one shift and one or).
SITO_TARGET_AVX512 static void pack_kv_avx512(const float *K, size_t ldk, const float *V, size_t ldv, size_t L,
                                             size_t d, uint16_t *kv) {
    const __m512i high_halves = _mm512_set_epi16(63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43, 41, 39, 37, 35, 33,
                                                 31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    enum { AHEAD = 8 };   // rows prefetched ahead (see prefetch_rows)
    prefetch_rows(K, ldk, L < AHEAD ? L : AHEAD, d, 3);
    prefetch_rows(V, ldv, L < AHEAD ? L : AHEAD, d, 3);
    for (size_t j = 0; j < L; j++) {
        if (j + AHEAD < L) prefetch_rows(K + (j + AHEAD) * ldk, ldk, 1, d, 3);
        for (size_t k0 = 0; k0 < d; k0 += 32) {
            const float *k = K + j * ldk + k0;
            const size_t n = d - k0;
            const __mmask16 lo = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
            const __mmask16 hi = n > 16 ? (n >= 32 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - 16)) - 1)) : 0;
            const __m512i a = bf16_in_high_half(_mm512_maskz_loadu_ps(lo, k));
            const __m512i b = bf16_in_high_half(_mm512_maskz_loadu_ps(hi, k + 16));
            _mm512_mask_storeu_epi16(kv + j * d + k0, first32(n), _mm512_permutex2var_epi16(a, high_halves, b));
        }
    }
    uint16_t *vp = kv + L * d;
    for (size_t j = 0; j < L; j += 2) {
        if (j + AHEAD < L) prefetch_rows(V + (j + AHEAD) * ldv, ldv, L - j - AHEAD < 2 ? 1 : 2, d, 3);
        const float *a = V + j * ldv, *b = j + 1 < L ? V + (j + 1) * ldv : NULL;
        uint16_t *out = vp + (j / 2) * 2 * d;
        for (size_t c0 = 0; c0 < d; c0 += 16) {
            const size_t n = d - c0;
            const __mmask16 live = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
            const __m512i ra = bf16_in_high_half(_mm512_maskz_loadu_ps(live, a + c0));
            const __m512i rb = b ? bf16_in_high_half(_mm512_maskz_loadu_ps(live, b + c0)) : _mm512_setzero_si512();
            _mm512_mask_storeu_epi16(out + 2 * c0, first32(2 * (n < 16 ? n : 16)), _mm512_or_si512(_mm512_srli_epi32(ra, 16), rb));
        }
    }
}
#endif

#if SITO_ARM
/// sito_f32_to_bf16 of 4 lanes (NaN included), as 16-bit values.
SITO_INLINE uint16x4_t bf16_bits4(float32x4_t x) {
    const uint32x4_t u = vreinterpretq_u32_f32(x);
    const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    const uint32x4_t r = vaddq_u32(u, vaddq_u32(lsb, vdupq_n_u32(0x7FFF)));
    const uint32x4_t nan = vorrq_u32(u, vdupq_n_u32(0x00400000));
    return vshrn_n_u32(vbslq_u32(vceqq_f32(x, x), r, nan), 16);
}

/// The pack with the rounding in registers: K rows 4 values at a time, V two rows at a time interleaved
/// by one st2 (row j's bf16 at even positions, row j+1's at odd ones); tails through the scalar rounding.
static void pack_kv_neon(const float *K, size_t ldk, const float *V, size_t ldv, size_t L, size_t d, uint16_t *kv) {
    const size_t whole = d / 4 * 4;
    for (size_t j = 0; j < L; j++) {
        const float *k = K + j * ldk;
        uint16_t *out = kv + j * d;
        for (size_t c = 0; c < whole; c += 4) vst1_u16(out + c, bf16_bits4(vld1q_f32(k + c)));
        for (size_t c = whole; c < d; c++) out[c] = round_bf16_bits(k[c]);
    }
    uint16_t *vp = kv + L * d;
    for (size_t j = 0; j < L; j += 2) {
        const float *a = V + j * ldv, *b = j + 1 < L ? V + (j + 1) * ldv : NULL;
        uint16_t *out = vp + (j / 2) * 2 * d;
        for (size_t c = 0; c < whole; c += 4) {
            uint16x4x2_t pair;
            pair.val[0] = bf16_bits4(vld1q_f32(a + c));
            pair.val[1] = b ? bf16_bits4(vld1q_f32(b + c)) : vdup_n_u16(0);
            vst2_u16(out + 2 * c, pair);
        }
        for (size_t c = whole; c < d; c++) {
            out[2 * c] = round_bf16_bits(a[c]);
            out[2 * c + 1] = b ? round_bf16_bits(b[c]) : 0;
        }
    }
}
#endif

void sito_attention_pack_kv_bf16_isa(sito_isa isa, const float *K, size_t ldk, const float *V, size_t ldv, size_t L,
                                     size_t d, uint16_t *kv) {
#if SITO_X86
    if (sito_clamp_isa(isa) >= SITO_ISA_AVX512) { pack_kv_avx512(K, ldk, V, ldv, L, d, kv); return; }
#elif SITO_ARM
    if (sito_isa_family_of(sito_clamp_isa(isa)) == SITO_ISA_FAMILY_ARM) { pack_kv_neon(K, ldk, V, ldv, L, d, kv); return; }
#else
    (void)isa;
#endif
    pack_kv_scalar(K, ldk, V, ldv, L, d, kv);
}

void sito_attention_pack_kv_bf16(const float *K, size_t ldk, const float *V, size_t ldv, size_t L, size_t d,
                                 uint16_t *kv) {
    sito_attention_pack_kv_bf16_isa(sito_kernels_isa(), K, ldk, V, ldv, L, d, kv);
}

/// V[j, c] of a packed kv (sito_kernels.h, sito_attention_pack_kv_bf16), widened.
static inline float packed_value(const uint16_t *kv, size_t L, size_t d, size_t j, size_t c) {
    return widen_bf16(kv[L * d + (j / 2) * 2 * d + 2 * c + (j & 1)]);
}

// MARK: - scalar reference

/// Both schemes: kv == NULL → f32 (K, V), else bf16 (kv). The documented recurrence, literally.
static void attention_scalar(const float *Q, size_t ldq, const float *K, size_t ldk, const float *V, size_t ldv,
                             const uint16_t *kv, float *O, size_t ldo, size_t nq, size_t L, size_t d, float scale,
                             void *scratch) {
    const scratch_layout sl = layout(scratch, d);
    // O may alias Q: query row i is copied to q before output row i is written.
    float *q = sl.kf, *s = sl.st, *o = sl.vf;
    for (size_t i = 0; i < nq; i++) {
        for (size_t k = 0; k < d; k++) q[k] = kv ? round_bf16(Q[i * ldq + k]) : Q[i * ldq + k];
        float m = -INFINITY, l = 0;
        for (size_t c = 0; c < d; c++) o[c] = 0;
        for (size_t j0 = 0; j0 < L; j0 += KB) {
            const size_t bk = L - j0 < KB ? L - j0 : KB;
            float mx = m;
            for (size_t j = 0; j < bk; j++) {
                float acc = 0;
                for (size_t k = 0; k < d; k++)
                    acc = acc + q[k] * (kv ? widen_bf16(kv[(j0 + j) * d + k]) : K[(j0 + j) * ldk + k]);
                s[j] = acc * scale;
                mx = s[j] > mx ? s[j] : mx;
            }
            const float c = expf(m - mx);
            float sum = 0;
            for (size_t j = 0; j < bk; j++) {
                float p = expf(s[j] - mx);
                if (kv) p = round_bf16(p);
                s[j] = p;
                sum = sum + p;
            }
            l = l * c + sum;
            for (size_t col = 0; col < d; col++) {
                float acc = o[col] * c;
                for (size_t j = 0; j < bk; j++)
                    acc = acc + s[j] * (kv ? packed_value(kv, L, d, j0 + j, col) : V[(j0 + j) * ldv + col]);
                o[col] = acc;
            }
            m = mx;
        }
        const float inv = 1.0f / l;
        for (size_t c = 0; c < d; c++) O[i * ldo + c] = o[c] * inv;
    }
}

// MARK: - shared by the SIMD paths

/// qt[k][i] = Q[i,k] (rounded to bf16 when `round`) for i < bq, 0 for bq ≤ i < lanes. Q is read row by
/// row: its rows are often a multiple of 4 KiB apart, and reading a column would hit one L1 set only.
static void pack_query_transposed(const float *Q, size_t ldq, size_t bq, size_t lanes, size_t d, int round,
                                  float *qt) {
    for (size_t i = 0; i < bq; i++) {
        const float *q = Q + i * ldq;
        if (round)
            for (size_t k = 0; k < d; k++) qt[k * QMAX + i] = round_bf16(q[k]);
        else
            for (size_t k = 0; k < d; k++) qt[k * QMAX + i] = q[k];
    }
    for (size_t k = 0; k < d; k++)
        for (size_t i = bq; i < lanes; i++) qt[k * QMAX + i] = 0;
}

/// kf [bk][d] = K rows [j0, j0 + bk) and vf [bk][d] = V rows of a packed kv, widened to f32.
static void widen_kv_block(const uint16_t *kv, size_t L, size_t d, size_t j0, size_t bk, float *kf, float *vf) {
    const uint16_t *kb = kv + j0 * d;
    for (size_t t = 0; t < bk * d; t++) kf[t] = widen_bf16(kb[t]);
    const uint16_t *vb = kv + L * d + (j0 / 2) * 2 * d;   // j0 is a multiple of KB, hence even
    for (size_t j = 0; j < bk; j++) {
        const uint16_t *pair = vb + (j / 2) * 2 * d + (j & 1);
        for (size_t c = 0; c < d; c++) vf[j * d + c] = widen_bf16(pair[2 * c]);
    }
}

/// kf, vf [bk][d] = rows [0, bk) of K and V (row strides ldk, ldv): the value tiles read each row once per
/// tile of columns, and rows a multiple of 4 KiB apart (the packed [T, hidden] layout) share one L1 set.
static void copy_kv_block(const float *K, size_t ldk, const float *V, size_t ldv, size_t bk, size_t d, float *kf,
                          float *vf) {
    for (size_t j = 0; j < bk; j++) {
        memcpy(kf + j * d, K + j * ldk, d * sizeof(float));
        memcpy(vf + j * d, V + j * ldv, d * sizeof(float));
    }
}

#if SITO_X86
// MARK: - avx512 and avx2: attention_simd.h

#define ATT_CAT2(a, b) a##_##b
#define ATT_CAT(a, b) ATT_CAT2(a, b)

SITO_TARGET_AVX512 SITO_INLINE __m512 round_bf16_16(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    u = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF)));
    return _mm512_castsi512_ps(_mm512_and_si512(u, _mm512_set1_epi32((int)0xFFFF0000u)));
}

/// The mask of maskload/maskstore for the first n ≤ 8 lanes.
SITO_TARGET_AVX2 SITO_INLINE __m256i mask8(size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

SITO_TARGET_AVX2 SITO_INLINE __m256 round_bf16_8(__m256 x) {
    __m256i u = _mm256_castps_si256(x);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    u = _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF)));
    return _mm256_castsi256_ps(_mm256_and_si256(u, _mm256_set1_epi32((int)0xFFFF0000u)));
}

/// In-register transpose of a 16×16 block: r[i] holds row i; afterwards r[j] holds column j.
SITO_TARGET_AVX512 SITO_INLINE void transpose16x16(__m512 r[16]) {
    __m512 t[16];
    SITO_UNROLL
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    SITO_UNROLL
    for (int i = 0; i < 4; i++) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 1]), e = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, e));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, e));
    }
    SITO_UNROLL
    for (int h = 0; h < 2; h++)
        SITO_UNROLL
        for (int i = 0; i < 4; i++) {
            t[8 * h + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0x88);
            t[8 * h + 4 + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0xDD);
        }
    SITO_UNROLL
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD);
    }
}

SITO_TARGET_AVX512 SITO_INLINE __mmask16 first16(size_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/// pack_query_transposed by 16×16 blocks in registers.
SITO_TARGET_AVX512 static void pack_query_transposed_avx512(const float *Q, size_t ldq, size_t bq, size_t lanes,
                                                           size_t d, int round, float *qt) {
    for (size_t i0 = 0; i0 < lanes; i0 += 16)
        for (size_t k0 = 0; k0 < d; k0 += 16) {
            const __mmask16 cols = first16(d - k0);
            __m512 r[16];
            SITO_UNROLL
            for (int t = 0; t < 16; t++) {
                r[t] = i0 + (size_t)t < bq ? _mm512_maskz_loadu_ps(cols, Q + (i0 + (size_t)t) * ldq + k0) : _mm512_setzero_ps();
                if (round) r[t] = round_bf16_16(r[t]);
            }
            transpose16x16(r);
            const size_t kn = d - k0 < 16 ? d - k0 : 16;
            for (size_t u = 0; u < kn; u++) _mm512_storeu_ps(qt + (k0 + u) * QMAX + i0, r[u]);
        }
}

// AVX-512: 16 lanes, all 64 queries in one score group; score tile 6 keys × 4 query vectors, value tile
// 6 rows × 4 column vectors (24 accumulators each).
#define ATT_FN(name) ATT_CAT(name, avx512)
#define ATT_TARGET SITO_TARGET_AVX512
#define VEC __m512
#define W 16
#define QG 4
#define JR 6
#define IR 6
#define CG 4
#define MASK __mmask16
#define V_MASK(n) first16(n)
#define V_LOADM(p, m) _mm512_maskz_loadu_ps(m, p)
#define V_STOREM(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_SET1(x) _mm512_set1_ps(x)
#define V_ZERO _mm512_setzero_ps()
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_SUB(a, b) _mm512_sub_ps(a, b)
#define V_MAX(a, b) _mm512_max_ps(a, b)
#define V_EXP(x) exp16(x)
#define V_ROUND_BF16(x) round_bf16_16(x)
#define ATT_PACK_QUERY pack_query_transposed_avx512
#include "attention_simd.h"

// AVX2: 8 lanes, 16 registers: score tile 4 keys × 2 query vectors, value tile 6 rows × 2 column vectors.
#define ATT_FN(name) ATT_CAT(name, avx2)
#define ATT_TARGET SITO_TARGET_AVX2
#define VEC __m256
#define W 8
#define QG 2
#define JR 4
#define IR 6
#define CG 2
#define MASK __m256i
#define V_MASK(n) mask8(n)
#define V_LOADM(p, m) _mm256_maskload_ps(p, m)
#define V_STOREM(p, m, v) _mm256_maskstore_ps(p, m, v)
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_SET1(x) _mm256_set1_ps(x)
#define V_ZERO _mm256_setzero_ps()
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_SUB(a, b) _mm256_sub_ps(a, b)
#define V_MAX(a, b) _mm256_max_ps(a, b)
#define V_EXP(x) exp8(x)
#define V_ROUND_BF16(x) round_bf16_8(x)
#define ATT_PACK_QUERY pack_query_transposed
#include "attention_simd.h"

// MARK: - avx512bf16: vdpbf16ps

/// Score tile 6 keys × 4 query vectors; value tile 6 rows × 4 vectors of 16 columns (24 accumulators each).
enum { DP_JR = 6, DP_QG = 4, DP_IR = 6, DP_CG = 4 };

static inline uint32_t load_pair(const uint16_t *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

/// qp[kp][i] = the word (bf16(Q[i, 2kp]), bf16(Q[i, 2kp+1])) for i < bq, 0 for bq ≤ i < lanes: Q's rows
/// rounded to bf16 are [d/2] words each, transposed.
/// By 16×16 blocks of words in registers: 32 floats of a row rounded to bf16 become 16
/// words (the high halves of the rounded floats, in order), then the words are transposed like floats.
SITO_TARGET_BF16 static void pack_query_pairs(const float *Q, size_t ldq, size_t bq, size_t lanes, size_t d,
                                                    uint32_t *qp) {
    // Element e < 16 of the result: 16-bit element 2e + 1 of the first operand; e ≥ 16: of the second.
    const __m512i high_halves = _mm512_set_epi16(63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43, 41, 39, 37, 35, 33,
                                                 31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const size_t words = d / 2;
    for (size_t i0 = 0; i0 < lanes; i0 += 16)
        for (size_t w0 = 0; w0 < words; w0 += 16) {
            const size_t k0 = 2 * w0;
            const __mmask16 lo = first16(d - k0), hi = d - k0 > 16 ? first16(d - k0 - 16) : 0;
            __m512 r[16];
            SITO_UNROLL
            for (int t = 0; t < 16; t++) {
                if (i0 + (size_t)t < bq) {
                    const float *q = Q + (i0 + (size_t)t) * ldq + k0;
                    const __m512i a = _mm512_castps_si512(round_bf16_16(_mm512_maskz_loadu_ps(lo, q)));
                    const __m512i b = _mm512_castps_si512(round_bf16_16(_mm512_maskz_loadu_ps(hi, q + 16)));
                    r[t] = _mm512_castsi512_ps(_mm512_permutex2var_epi16(a, high_halves, b));
                } else {
                    r[t] = _mm512_setzero_ps();
                }
            }
            transpose16x16(r);
            const size_t wn = words - w0 < 16 ? words - w0 : 16;
            for (size_t u = 0; u < wn; u++) _mm512_storeu_ps((float *)(qp + (w0 + u) * QMAX + i0), r[u]);
        }
}

/// Score tile: keys [0, jr) of the packed K rows at Kp (row j at Kp + j·d), NQ query vectors of qp.
SITO_TARGET_BF16 SITO_INLINE void dp_score_tile(const int NQ, const uint16_t *Kp, size_t jr, const uint32_t *qp,
                                                size_t d, float scale, float *st) {
    __m512 acc[DP_JR][DP_QG];
    const uint16_t *krow[DP_JR];
    SITO_UNROLL
    for (int r = 0; r < DP_JR; r++) {
        krow[r] = Kp + ((size_t)r < jr ? (size_t)r : jr - 1) * d;
        SITO_UNROLL
        for (int v = 0; v < NQ; v++) acc[r][v] = _mm512_setzero_ps();
    }
    for (size_t kp = 0; kp < d / 2; kp++) {
        __m512bh q[DP_QG];
        SITO_UNROLL
        for (int v = 0; v < NQ; v++) q[v] = (__m512bh)_mm512_loadu_si512(qp + kp * QMAX + (size_t)v * 16);
        SITO_UNROLL
        for (int r = 0; r < DP_JR; r++) {
            const __m512bh kb = (__m512bh)_mm512_set1_epi32((int)load_pair(krow[r] + 2 * kp));
            SITO_UNROLL
            for (int v = 0; v < NQ; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], kb, q[v]);
        }
    }
    const __m512 vs = _mm512_set1_ps(scale);
    SITO_UNROLL
    for (int r = 0; r < DP_JR; r++) {
        if ((size_t)r >= jr) break;
        SITO_UNROLL
        for (int v = 0; v < NQ; v++) _mm512_storeu_ps(st + (size_t)r * QMAX + (size_t)v * 16, _mm512_mul_ps(acc[r][v], vs));
    }
}

/// Value tile: query rows [i0, i0 + ir) (ir ≤ DP_IR; rows past ir repeat the last one and are not stored),
/// NC vectors of 16 columns from column c0 (cm: masks of 2 bf16 per column), over the block's key pairs
/// [0, npairs) of the packed V (pair jp at Vp + jp·2d; 16 columns × 2 keys are one 32-bf16 vector):
///   acc = (first ? 0 : o[i] · cs[i]) + Σ_jp (P pair of row i, broadcast) · (V pairs)
/// stored to o, or, for the last key block (inv non-NULL), acc · inv[i] stored to O.
SITO_TARGET_BF16 SITO_INLINE void dp_value_tile(const int NC, const uint16_t *Vp, size_t npairs, size_t d, size_t i0,
                                                size_t ir, size_t c0, const __mmask32 *cm, const uint32_t *pp,
                                                const float *cs, int first, const float *inv, float *o, size_t dv,
                                                float *O, size_t ldo) {
    __m512 acc[DP_IR][DP_CG];
    size_t row[DP_IR];
    SITO_UNROLL
    for (int r = 0; r < DP_IR; r++) {
        row[r] = i0 + ((size_t)r < ir ? (size_t)r : ir - 1);
        const __m512 c = _mm512_set1_ps(cs[row[r]]);
        SITO_UNROLL
        for (int v = 0; v < NC; v++)
            acc[r][v] = first ? _mm512_setzero_ps() : _mm512_mul_ps(_mm512_loadu_ps(o + row[r] * dv + c0 + (size_t)v * 16), c);
    }
    for (size_t jp = 0; jp < npairs; jp++) {
        __m512bh x[DP_CG];
        const uint16_t *vr = Vp + jp * 2 * d + 2 * c0;
        SITO_UNROLL
        for (int v = 0; v < NC; v++) x[v] = (__m512bh)_mm512_maskz_loadu_epi16(cm[v], vr + (size_t)v * 32);
        SITO_UNROLL
        for (int r = 0; r < DP_IR; r++) {
            const __m512bh p = (__m512bh)_mm512_set1_epi32((int)pp[jp * QMAX + row[r]]);
            SITO_UNROLL
            for (int v = 0; v < NC; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], p, x[v]);
        }
    }
    SITO_UNROLL
    for (int r = 0; r < DP_IR; r++) {
        if ((size_t)r >= ir) break;
        if (inv) {
            const __m512 sc = _mm512_set1_ps(inv[row[r]]);
            SITO_UNROLL
            for (int v = 0; v < NC; v++) {
                const size_t c = c0 + (size_t)v * 16;
                _mm512_mask_storeu_ps(O + row[r] * ldo + c, first16(d - c), _mm512_mul_ps(acc[r][v], sc));
            }
        } else {
            SITO_UNROLL
            for (int v = 0; v < NC; v++) _mm512_storeu_ps(o + row[r] * dv + c0 + (size_t)v * 16, acc[r][v]);
        }
    }
}

/// Scores and the online-softmax step of one key block [j0, j0 + bk) for NQ query vectors: the rounded
/// probabilities packed in pairs of keys into pp, m and l updated, cs the rescaling factors.
/// The rounding is vcvtne2ps2bf16 (nearest even; like sito_f32_to_bf16 except that results below 2^-126
/// become 0, which vdpbf16ps would read as 0 anyway and which cannot change l ≥ 1).
SITO_TARGET_BF16 SITO_INLINE void dp_scores_softmax(const int NQ, const uint16_t *kv, size_t d, size_t j0, size_t bk,
                                                    float scale, int first, const uint32_t *qp, float *st,
                                                    uint32_t *pp, float *m, float *l, float *cs) {
    for (size_t j = 0; j < bk; j += DP_JR)
        dp_score_tile(NQ, kv + (j0 + j) * d, bk - j < DP_JR ? bk - j : DP_JR, qp, d, scale, st + j * QMAX);
    // cvtne2ps(b, a) holds a's 16 bf16 then b's; element 2i of the result is a's i, 2i + 1 is b's i.
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
    SITO_UNROLL
    for (int v = 0; v < NQ; v++) {
        const float *s = st + (size_t)v * 16;
        const __m512 mold = first ? _mm512_set1_ps(-INFINITY) : _mm512_loadu_ps(m + (size_t)v * 16);
        __m512 mx = mold;
        for (size_t j = 0; j < bk; j++) mx = _mm512_max_ps(mx, _mm512_loadu_ps(s + j * QMAX));
        const __m512 c = first ? _mm512_setzero_ps() : exp16(_mm512_sub_ps(mold, mx));
        __m512 sum = _mm512_setzero_ps();
        for (size_t j = 0; j < bk; j += 2) {
            const __m512 a = exp16(_mm512_sub_ps(_mm512_loadu_ps(s + j * QMAX), mx));
            const __m512 b = j + 1 < bk ? exp16(_mm512_sub_ps(_mm512_loadu_ps(s + (j + 1) * QMAX), mx)) : _mm512_setzero_ps();
            const __m512i word = _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(b, a));
            _mm512_storeu_si512(pp + (j / 2) * QMAX + (size_t)v * 16, word);
            // the rounded values: a's in the low halves, b's in the high halves (b = +0 past bk)
            sum = _mm512_add_ps(sum, _mm512_castsi512_ps(_mm512_slli_epi32(word, 16)));
            sum = _mm512_add_ps(sum, _mm512_castsi512_ps(_mm512_and_si512(word, high)));
        }
        const __m512 lnew = first ? sum : _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(l + (size_t)v * 16), c), sum);
        _mm512_storeu_ps(l + (size_t)v * 16, lnew);
        _mm512_storeu_ps(m + (size_t)v * 16, mx);
        _mm512_storeu_ps(cs + (size_t)v * 16, c);
    }
}

/// One query block of bq ≤ QMAX rows.
SITO_TARGET_BF16 static void dp_query_block(const float *Q, size_t ldq, const uint16_t *kv, float *O, size_t ldo,
                                            size_t bq, size_t L, size_t d, float scale, void *scratch) {
    const scratch_layout s = layout(scratch, d);
    const size_t nqv = (bq + 15) / 16;
    uint32_t *qp = (uint32_t *)s.qt;
    pack_query_pairs(Q, ldq, bq, nqv * 16, d, qp);
    for (size_t j0 = 0; j0 < L; j0 += KB) {
        const size_t bk = L - j0 < KB ? L - j0 : KB;
        const int first = j0 == 0, last = j0 + bk == L;
        switch (nqv) {
        case 1: dp_scores_softmax(1, kv, d, j0, bk, scale, first, qp, s.st, s.pp, s.m, s.l, s.c); break;
        case 2: dp_scores_softmax(2, kv, d, j0, bk, scale, first, qp, s.st, s.pp, s.m, s.l, s.c); break;
        case 3: dp_scores_softmax(3, kv, d, j0, bk, scale, first, qp, s.st, s.pp, s.m, s.l, s.c); break;
        default: dp_scores_softmax(4, kv, d, j0, bk, scale, first, qp, s.st, s.pp, s.m, s.l, s.c); break;
        }
        if (last)
            for (size_t i = 0; i < bq; i++) s.inv[i] = 1.0f / s.l[i];
        const float *inv = last ? s.inv : NULL;
        const uint16_t *Vp = kv + L * d + j0 * d;   // pair j0/2 at kv + L·d + (j0/2)·2d
        const size_t npairs = (bk + 1) / 2;
        for (size_t c0 = 0; c0 < d; c0 += 16 * DP_CG) {
            __mmask32 cm[DP_CG];
            int nc = 0;
            for (int v = 0; v < DP_CG; v++) {
                const size_t c = c0 + (size_t)v * 16;
                cm[v] = c < d ? first32(2 * (d - c < 16 ? d - c : 16)) : 0;
                if (c < d) nc = v + 1;
            }
            for (size_t i0 = 0; i0 < bq; i0 += DP_IR) {
                const size_t ir = bq - i0 < DP_IR ? bq - i0 : DP_IR;
                switch (nc) {
                case 1: dp_value_tile(1, Vp, npairs, d, i0, ir, c0, cm, s.pp, s.c, first, inv, s.o, s.dv, O, ldo); break;
                case 2: dp_value_tile(2, Vp, npairs, d, i0, ir, c0, cm, s.pp, s.c, first, inv, s.o, s.dv, O, ldo); break;
                case 3: dp_value_tile(3, Vp, npairs, d, i0, ir, c0, cm, s.pp, s.c, first, inv, s.o, s.dv, O, ldo); break;
                default: dp_value_tile(4, Vp, npairs, d, i0, ir, c0, cm, s.pp, s.c, first, inv, s.o, s.dv, O, ldo); break;
                }
            }
        }
    }
}
#endif

#if SITO_ARM
// MARK: - neon: attention_simd.h on 4 lanes (every ARM level; NEON is baseline)

#define ATT_CAT2(a, b) a##_##b
#define ATT_CAT(a, b) ATT_CAT2(a, b)

/// Each lane to the nearest bf16 (nearest even), kept as f32; finite lanes only (as round_bf16_8).
SITO_INLINE float32x4_t round_bf16_4(float32x4_t x) {
    uint32x4_t u = vreinterpretq_u32_f32(x);
    const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    u = vaddq_u32(u, vaddq_u32(lsb, vdupq_n_u32(0x7FFF)));
    return vreinterpretq_f32_u32(vandq_u32(u, vdupq_n_u32(0xFFFF0000u)));
}

/// The first n ≤ 4 floats at p (zeros after them, nothing read past them), and the store of the first n.
SITO_INLINE float32x4_t load_first4(const float *p, size_t n) {
    if (n >= 4) return vld1q_f32(p);
    float tmp[4] = {0};
    memcpy(tmp, p, n * sizeof(float));
    return vld1q_f32(tmp);
}

SITO_INLINE void store_first4(float *p, size_t n, float32x4_t v) {
    if (n >= 4) {
        vst1q_f32(p, v);
        return;
    }
    float tmp[4];
    vst1q_f32(tmp, v);
    memcpy(p, tmp, n * sizeof(float));
}

// 32 registers: score tile 6 keys × 4 query vectors, value tile 6 rows × 4 column vectors (24
// accumulators each); a "mask" is the number of live lanes.
#define ATT_FN(name) ATT_CAT(name, neon)
#define ATT_TARGET
#define VEC float32x4_t
#define W 4
#define QG 4
#define JR 6
#define IR 6
#define CG 4
#define MASK size_t
#define V_MASK(n) ((size_t)(n))
#define V_LOADM(p, m) load_first4(p, m)
#define V_STOREM(p, m, v) store_first4(p, m, v)
#define V_LOAD(p) vld1q_f32(p)
#define V_STORE(p, v) vst1q_f32(p, v)
#define V_SET1(x) vdupq_n_f32(x)
#define V_ZERO vdupq_n_f32(0.0f)
#define V_FMA(a, b, c) vfmaq_f32(c, a, b)
#define V_MUL(a, b) vmulq_f32(a, b)
#define V_ADD(a, b) vaddq_f32(a, b)
#define V_SUB(a, b) vsubq_f32(a, b)
#define V_MAX(a, b) vmaxq_f32(a, b)
#define V_EXP(x) exp4(x)
#define V_ROUND_BF16(x) round_bf16_4(x)
#define ATT_PACK_QUERY pack_query_transposed
#include "attention_simd.h"

// MARK: - neon-bf16: BFDOT (NEON_BF16)

/// The bf16 scheme on BFDOT (vbfdotq_laneq_f32: each lane adds a pair of exact products), same structure
/// as the avx512bf16 path on 4 lanes: Q packed as pairs along d (a 32-bit word = 2 bf16 per query lane),
/// K's rows loaded 8 bf16 (4 pairs) at a time and each pair taken by lane; P rounded, packed as pairs along
/// keys, and 4 rows' pairs taken by lane against V's pre-packed pairs (4 columns × 2 keys = one vector).
/// d % 8 == 0 (whole K vectors); other d take the neon path. Score tile 4 keys × 4 query vectors, value
/// tile 4 rows × 4 column vectors (16 accumulators each).
enum { BD_JR = 4, BD_QG = 4, BD_IR = 4, BD_CG = 4 };

/// qp[kp][i] = the word (bf16(Q[i, 2kp]), bf16(Q[i, 2kp+1])) for i < bq, 0 for bq ≤ i < lanes.
static void pack_query_pairs_scalar(const float *Q, size_t ldq, size_t bq, size_t lanes, size_t d, uint32_t *qp) {
    for (size_t i = 0; i < bq; i++) {
        const float *q = Q + i * ldq;
        for (size_t kp = 0; kp < d / 2; kp++)
            qp[kp * QMAX + i] = (uint32_t)round_bf16_bits(q[2 * kp]) | (uint32_t)round_bf16_bits(q[2 * kp + 1]) << 16;
    }
    for (size_t kp = 0; kp < d / 2; kp++)
        for (size_t i = bq; i < lanes; i++) qp[kp * QMAX + i] = 0;
}

SITO_TARGET_NEON_BF16 SITO_INLINE bfloat16x8_t bd_load_words(const uint32_t *p) {
    return vreinterpretq_bf16_u32(vld1q_u32(p));
}

/// Score tile: keys [0, jr) of the packed K rows at Kp (row j at Kp + j·d; rows past jr repeat the last
/// one and are not stored), NQ query vectors of qp.
SITO_TARGET_NEON_BF16 SITO_INLINE void bd_score_tile(const int NQ, const uint16_t *Kp, size_t jr, const uint32_t *qp,
                                                     size_t d, float scale, float *st) {
    float32x4_t acc[BD_JR][BD_QG];
    const uint16_t *krow[BD_JR];
    SITO_UNROLL
    for (int r = 0; r < BD_JR; r++) {
        krow[r] = Kp + ((size_t)r < jr ? (size_t)r : jr - 1) * d;
        SITO_UNROLL
        for (int v = 0; v < NQ; v++) acc[r][v] = vdupq_n_f32(0.0f);
    }
    for (size_t k8 = 0; k8 < d; k8 += 8) {
        bfloat16x8_t kb[BD_JR];
        SITO_UNROLL
        for (int r = 0; r < BD_JR; r++) kb[r] = vreinterpretq_bf16_u16(vld1q_u16(krow[r] + k8));
#define BD_SCORE_PAIR(LANE)                                                                                    \
    {                                                                                                          \
        bfloat16x8_t q[BD_QG];                                                                                 \
        SITO_UNROLL                                                                                            \
        for (int v = 0; v < NQ; v++) q[v] = bd_load_words(qp + (k8 / 2 + LANE) * QMAX + (size_t)v * 4);        \
        SITO_UNROLL                                                                                            \
        for (int r = 0; r < BD_JR; r++) {                                                                      \
            SITO_UNROLL                                                                                        \
            for (int v = 0; v < NQ; v++) acc[r][v] = vbfdotq_laneq_f32(acc[r][v], q[v], kb[r], LANE);         \
        }                                                                                                      \
    }
        BD_SCORE_PAIR(0)
        BD_SCORE_PAIR(1)
        BD_SCORE_PAIR(2)
        BD_SCORE_PAIR(3)
#undef BD_SCORE_PAIR
    }
    const float32x4_t vs = vdupq_n_f32(scale);
    SITO_UNROLL
    for (int r = 0; r < BD_JR; r++) {
        if ((size_t)r >= jr) break;
        SITO_UNROLL
        for (int v = 0; v < NQ; v++) vst1q_f32(st + (size_t)r * QMAX + (size_t)v * 4, vmulq_f32(acc[r][v], vs));
    }
}

/// Scores and the online-softmax step of one key block [j0, j0 + bk) for NQ query vectors (pointers offset
/// to the group's lanes): the rounded probabilities packed in pairs of keys into pp (the second of an odd
/// block's last pair is +0), m and l updated, cs the rescaling factors.
SITO_TARGET_NEON_BF16 SITO_INLINE void bd_scores_softmax(const int NQ, const uint16_t *kv, size_t d, size_t j0, size_t bk,
                                                         float scale, int first, const uint32_t *qp, float *st,
                                                         uint32_t *pp, float *m, float *l, float *cs) {
    for (size_t j = 0; j < bk; j += BD_JR)
        bd_score_tile(NQ, kv + (j0 + j) * d, bk - j < BD_JR ? bk - j : BD_JR, qp, d, scale, st + j * QMAX);
    SITO_UNROLL
    for (int v = 0; v < NQ; v++) {
        const float *sv = st + (size_t)v * 4;
        const float32x4_t mold = first ? vdupq_n_f32(-INFINITY) : vld1q_f32(m + (size_t)v * 4);
        float32x4_t mx = mold;
        for (size_t j = 0; j < bk; j++) mx = vmaxq_f32(mx, vld1q_f32(sv + j * QMAX));
        const float32x4_t c = first ? vdupq_n_f32(0.0f) : exp4(vsubq_f32(mold, mx));
        float32x4_t sum = vdupq_n_f32(0.0f);
        for (size_t j = 0; j < bk; j += 2) {
            const float32x4_t a = round_bf16_4(exp4(vsubq_f32(vld1q_f32(sv + j * QMAX), mx)));
            const float32x4_t b = j + 1 < bk ? round_bf16_4(exp4(vsubq_f32(vld1q_f32(sv + (j + 1) * QMAX), mx)))
                                             : vdupq_n_f32(0.0f);
            // word = a's bf16 in the low half, b's in the high half
            const uint32x4_t word = vorrq_u32(vshrq_n_u32(vreinterpretq_u32_f32(a), 16), vreinterpretq_u32_f32(b));
            vst1q_u32(pp + (j / 2) * QMAX + (size_t)v * 4, word);
            sum = vaddq_f32(sum, a);
            sum = vaddq_f32(sum, b);
        }
        const float32x4_t lnew = first ? sum : vaddq_f32(vmulq_f32(vld1q_f32(l + (size_t)v * 4), c), sum);
        vst1q_f32(l + (size_t)v * 4, lnew);
        vst1q_f32(m + (size_t)v * 4, mx);
        vst1q_f32(cs + (size_t)v * 4, c);
    }
}

/// Value tile: query rows [i0, i0 + BD_IR) (rows ≥ ir computed, not stored; pp has QMAX lanes, so they
/// exist), NC vectors of 4 columns from column c0, over the block's key pairs [0, npairs) of the packed V
/// (pair jp at Vp + jp·2d):
///   acc = (first ? 0 : o[i] · cs[i]) + Σ_jp (P pair of row i, by lane) · (V pairs)
/// stored to o, or, for the last key block (inv non-NULL), acc · inv[i] stored to O.
SITO_TARGET_NEON_BF16 SITO_INLINE void bd_value_tile(const int NC, const uint16_t *Vp, size_t npairs, size_t d,
                                                     size_t i0, size_t ir, size_t c0, const uint32_t *pp,
                                                     const float *cs, int first, const float *inv, float *o,
                                                     size_t dv, float *O, size_t ldo) {
    float32x4_t acc[BD_IR][BD_CG];
    SITO_UNROLL
    for (int r = 0; r < BD_IR; r++) {
        const float32x4_t c = vdupq_n_f32(cs[i0 + (size_t)r]);
        SITO_UNROLL
        for (int v = 0; v < NC; v++)
            acc[r][v] = first ? vdupq_n_f32(0.0f) : vmulq_f32(vld1q_f32(o + (i0 + (size_t)r) * dv + c0 + (size_t)v * 4), c);
    }
    for (size_t jp = 0; jp < npairs; jp++) {
        bfloat16x8_t x[BD_CG];
        const uint16_t *vr = Vp + jp * 2 * d + 2 * c0;
        SITO_UNROLL
        for (int v = 0; v < NC; v++) x[v] = vreinterpretq_bf16_u16(vld1q_u16(vr + (size_t)v * 8));
        const bfloat16x8_t pr = bd_load_words(pp + jp * QMAX + i0);
#define BD_VALUE_ROW(LANE)                                                                                     \
    SITO_UNROLL                                                                                                \
    for (int v = 0; v < NC; v++) acc[LANE][v] = vbfdotq_laneq_f32(acc[LANE][v], x[v], pr, LANE);
        BD_VALUE_ROW(0)
        BD_VALUE_ROW(1)
        BD_VALUE_ROW(2)
        BD_VALUE_ROW(3)
#undef BD_VALUE_ROW
    }
    SITO_UNROLL
    for (int r = 0; r < BD_IR; r++) {
        if ((size_t)r >= ir) break;
        const size_t row = i0 + (size_t)r;
        if (inv) {
            const float32x4_t sc = vdupq_n_f32(inv[row]);
            SITO_UNROLL
            for (int v = 0; v < NC; v++) vst1q_f32(O + row * ldo + c0 + (size_t)v * 4, vmulq_f32(acc[r][v], sc));
        } else {
            SITO_UNROLL
            for (int v = 0; v < NC; v++) vst1q_f32(o + row * dv + c0 + (size_t)v * 4, acc[r][v]);
        }
    }
}

/// One query block of bq ≤ QMAX rows (d % 8 == 0).
SITO_TARGET_NEON_BF16 static void bd_query_block(const float *Q, size_t ldq, const uint16_t *kv, float *O, size_t ldo,
                                                 size_t bq, size_t L, size_t d, float scale, void *scratch) {
    const scratch_layout s = layout(scratch, d);
    const size_t nqv = (bq + 3) / 4;
    uint32_t *qp = (uint32_t *)s.qt;
    pack_query_pairs_scalar(Q, ldq, bq, QMAX, d, qp);   // all QMAX lanes: value tiles read 4 rows at a time
    for (size_t j0 = 0; j0 < L; j0 += KB) {
        const size_t bk = L - j0 < KB ? L - j0 : KB;
        const int first = j0 == 0, last = j0 + bk == L;
        for (size_t g = 0; g < nqv; g += BD_QG) {
            const size_t o4 = g * 4;
            switch (nqv - g < BD_QG ? nqv - g : BD_QG) {
            case 1: bd_scores_softmax(1, kv, d, j0, bk, scale, first, qp + o4, s.st + o4, s.pp + o4, s.m + o4, s.l + o4, s.c + o4); break;
            case 2: bd_scores_softmax(2, kv, d, j0, bk, scale, first, qp + o4, s.st + o4, s.pp + o4, s.m + o4, s.l + o4, s.c + o4); break;
            case 3: bd_scores_softmax(3, kv, d, j0, bk, scale, first, qp + o4, s.st + o4, s.pp + o4, s.m + o4, s.l + o4, s.c + o4); break;
            default: bd_scores_softmax(4, kv, d, j0, bk, scale, first, qp + o4, s.st + o4, s.pp + o4, s.m + o4, s.l + o4, s.c + o4); break;
            }
        }
        if (last)
            for (size_t i = 0; i < bq; i++) s.inv[i] = 1.0f / s.l[i];
        const float *inv = last ? s.inv : NULL;
        const uint16_t *Vp = kv + L * d + j0 * d;   // pair j0/2 at kv + L·d + (j0/2)·2d
        const size_t npairs = (bk + 1) / 2;
        for (size_t c0 = 0; c0 < d; c0 += 4 * BD_CG) {
            const size_t nc = (d - c0) / 4 < BD_CG ? (d - c0) / 4 : BD_CG;
            for (size_t i0 = 0; i0 < bq; i0 += BD_IR) {
                const size_t ir = bq - i0 < BD_IR ? bq - i0 : BD_IR;
                switch (nc) {
                case 1: bd_value_tile(1, Vp, npairs, d, i0, ir, c0, s.pp, s.c, first, inv, s.o, s.dv, O, ldo); break;
                case 2: bd_value_tile(2, Vp, npairs, d, i0, ir, c0, s.pp, s.c, first, inv, s.o, s.dv, O, ldo); break;
                case 3: bd_value_tile(3, Vp, npairs, d, i0, ir, c0, s.pp, s.c, first, inv, s.o, s.dv, O, ldo); break;
                default: bd_value_tile(4, Vp, npairs, d, i0, ir, c0, s.pp, s.c, first, inv, s.o, s.dv, O, ldo); break;
                }
            }
        }
    }
}
#endif

// MARK: - dispatch

/// The query blocks of a call, one after another; while one is computed, the next one's Q rows are
/// prefetched into L2 (they are also its output rows when O aliases Q).
#define FOR_EACH_QUERY_BLOCK(nq, Q, ldq, d, BODY)                                                          \
    for (size_t q0 = 0; q0 < (nq); q0 += QMAX) {                                                           \
        const size_t bq = (nq) - q0 < QMAX ? (nq) - q0 : QMAX, rest = (nq) - q0 - bq;                       \
        prefetch_rows((Q) + (q0 + bq) * (ldq), ldq, rest < QMAX ? rest : QMAX, d, 2);                        \
        BODY;                                                                                              \
    }

void sito_attention_f32_isa(sito_isa isa, const float *Q, size_t ldq, const float *K, size_t ldk, const float *V,
                            size_t ldv, float *O, size_t ldo, size_t nq, size_t L, size_t d, float scale,
                            void *scratch) {
    if (nq == 0 || L == 0 || d == 0) return;
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512) {
        FOR_EACH_QUERY_BLOCK(nq, Q, ldq, d, query_block_avx512(Q + q0 * ldq, ldq, K, ldk, V, ldv, NULL, O + q0 * ldo, ldo, bq, L, d, scale, scratch))
        return;
    }
    if (isa >= SITO_ISA_AVX2) {
        FOR_EACH_QUERY_BLOCK(nq, Q, ldq, d, query_block_avx2(Q + q0 * ldq, ldq, K, ldk, V, ldv, NULL, O + q0 * ldo, ldo, bq, L, d, scale, scratch))
        return;
    }
#endif
#if SITO_ARM
    if (sito_isa_family_of(isa) == SITO_ISA_FAMILY_ARM) {
        FOR_EACH_QUERY_BLOCK(nq, Q, ldq, d, query_block_neon(Q + q0 * ldq, ldq, K, ldk, V, ldv, NULL, O + q0 * ldo, ldo, bq, L, d, scale, scratch))
        return;
    }
#endif
    attention_scalar(Q, ldq, K, ldk, V, ldv, NULL, O, ldo, nq, L, d, scale, scratch);
}

void sito_attention_f32(const float *Q, size_t ldq, const float *K, size_t ldk, const float *V, size_t ldv,
                        float *O, size_t ldo, size_t nq, size_t L, size_t d, float scale, void *scratch) {
    sito_attention_f32_isa(sito_kernels_isa(), Q, ldq, K, ldk, V, ldv, O, ldo, nq, L, d, scale, scratch);
}

void sito_attention_bf16_isa(sito_isa isa, const float *Q, size_t ldq, const uint16_t *kv, float *O, size_t ldo,
                             size_t nq, size_t L, size_t d, float scale, void *scratch) {
    if (nq == 0 || L == 0 || d == 0) return;
    isa = sito_clamp_isa(isa);
#if SITO_X86
    // Odd d: the f32 code on rounded values (the same scheme), so the pairs along d never need padding.
    if (isa >= SITO_ISA_AVX512_BF16 && d % 2 == 0) {
        FOR_EACH_QUERY_BLOCK(nq, Q, ldq, d, dp_query_block(Q + q0 * ldq, ldq, kv, O + q0 * ldo, ldo, bq, L, d, scale, scratch))
        return;
    }
    if (isa >= SITO_ISA_AVX512) {
        FOR_EACH_QUERY_BLOCK(nq, Q, ldq, d, query_block_avx512(Q + q0 * ldq, ldq, NULL, 0, NULL, 0, kv, O + q0 * ldo, ldo, bq, L, d, scale, scratch))
        return;
    }
    if (isa >= SITO_ISA_AVX2) {
        FOR_EACH_QUERY_BLOCK(nq, Q, ldq, d, query_block_avx2(Q + q0 * ldq, ldq, NULL, 0, NULL, 0, kv, O + q0 * ldo, ldo, bq, L, d, scale, scratch))
        return;
    }
#endif
#if SITO_ARM
    if (isa >= SITO_ISA_NEON_BF16 && d % 8 == 0) {
        FOR_EACH_QUERY_BLOCK(nq, Q, ldq, d, bd_query_block(Q + q0 * ldq, ldq, kv, O + q0 * ldo, ldo, bq, L, d, scale, scratch))
        return;
    }
    if (sito_isa_family_of(isa) == SITO_ISA_FAMILY_ARM) {
        FOR_EACH_QUERY_BLOCK(nq, Q, ldq, d, query_block_neon(Q + q0 * ldq, ldq, NULL, 0, NULL, 0, kv, O + q0 * ldo, ldo, bq, L, d, scale, scratch))
        return;
    }
#endif
    attention_scalar(Q, ldq, NULL, 0, NULL, 0, kv, O, ldo, nq, L, d, scale, scratch);
}

void sito_attention_bf16(const float *Q, size_t ldq, const uint16_t *kv, float *O, size_t ldo, size_t nq, size_t L,
                         size_t d, float scale, void *scratch) {
    sito_attention_bf16_isa(sito_kernels_isa(), Q, ldq, kv, O, ldo, nq, L, d, scale, scratch);
}
