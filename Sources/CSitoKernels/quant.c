// quant.c: per-row int8 quantization (weights and per-token activations), per-row int16 quantization (the
// activations of the int8-a16 scheme), int8 row sums, and the f32 ↔ bf16 / f16 → f32 conversions. The exact schemes are documented in sito_kernels.h and simulated
// by tools/simulate_quant.py; every SIMD path here is bit-identical to its scalar reference.
// Paths: scalar; x86 avx2 / avx512 (quantize to int8 and to int16), avx512 (f32 → bf16), avx2 (row sums);
// aarch64 neon (all).
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "kernels_internal.h"
#include <float.h>
#include <math.h>

// MARK: - a row's amax and finiteness (shared by the int8 and int16 quantizers)

/// max_k |x[k]| over the finite elements and whether any element is NaN or ±Inf (*nonfinite). Max is exact
/// in any order, so every path returns the same value.
static inline float row_amax_scalar(const float *x, size_t K, int *nonfinite) {
    float amax = 0;
    *nonfinite = 0;
    for (size_t k = 0; k < K; k++) {
        const float a = fabsf(x[k]);
        if (!(a <= FLT_MAX)) *nonfinite = 1;
        else if (a > amax) amax = a;
    }
    return amax;
}

#if SITO_X86
SITO_TARGET_AVX2
static inline float row_amax_avx2(const float *x, size_t K, int *nonfinite) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 fmax = _mm256_set1_ps(FLT_MAX);
    __m256 vmax = _mm256_setzero_ps(), vbad = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        const __m256 a = _mm256_and_ps(_mm256_loadu_ps(x + k), absmask);
        vbad = _mm256_or_ps(vbad, _mm256_cmp_ps(a, fmax, _CMP_NLE_UQ));   // NaN or Inf
        vmax = _mm256_max_ps(vmax, a);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, vmax);
    float amax = 0;
    for (int i = 0; i < 8; i++) amax = lanes[i] > amax ? lanes[i] : amax;
    int tail;
    const float rest = row_amax_scalar(x + k, K - k, &tail);
    *nonfinite = _mm256_movemask_ps(vbad) != 0 || tail;
    return rest > amax ? rest : amax;
}

SITO_TARGET_AVX512
static inline float row_amax_avx512(const float *x, size_t K, int *nonfinite) {
    const __m512 fmax = _mm512_set1_ps(FLT_MAX);
    __m512 vmax = _mm512_setzero_ps();
    __mmask16 vbad = 0;
    for (size_t k = 0; k < K; k += 16) {
        const __mmask16 live = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
        const __m512 a = _mm512_abs_ps(_mm512_maskz_loadu_ps(live, x + k));
        vbad |= _mm512_cmp_ps_mask(a, fmax, _CMP_NLE_UQ);
        vmax = _mm512_max_ps(vmax, a);
    }
    *nonfinite = vbad != 0;
    return _mm512_reduce_max_ps(vmax);
}
#endif

#if SITO_ARM
static inline float row_amax_neon(const float *x, size_t K, int *nonfinite) {
    const float32x4_t fmax = vdupq_n_f32(FLT_MAX);
    float32x4_t vmax = vdupq_n_f32(0);
    uint32x4_t vok = vdupq_n_u32(~0u);                                  // lanes stay all-ones while |x| ≤ FLT_MAX
    size_t k = 0;
    for (; k + 4 <= K; k += 4) {
        const float32x4_t a = vabsq_f32(vld1q_f32(x + k));
        vok = vandq_u32(vok, vcleq_f32(a, fmax));                       // false for NaN and Inf
        vmax = vmaxq_f32(vmax, a);
    }
    int tail;
    const float rest = row_amax_scalar(x + k, K - k, &tail);
    *nonfinite = vminvq_u32(vok) == 0 || tail;
    const float amax = vmaxvq_f32(vmax);
    return rest > amax ? rest : amax;
}
#endif

// MARK: - int8 row quantization

/// The per-element rule shared by every path: clamp(rint(x / s), -127, 127). Clamping before rounding is
/// the same as after (the bounds are integers) and keeps the float → int conversion in range.
static inline int8_t quant1(float x, float s) {
    float v = x / s;
    v = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
    return (int8_t)(int)nearbyintf(v);
}

/// The same rule with ±levels (sito_quantize_rows_i16): clamp(rint(x / s), -levels, levels).
static inline int16_t quant1_i16(float x, float s, float levels) {
    float v = x / s;
    v = v > levels ? levels : (v < -levels ? -levels : v);
    return (int16_t)(int)nearbyintf(v);
}

/// Finishes a row once its amax and finiteness are known: writes the scale, returns 1 if the row had a
/// NaN/Inf (its q is zeroed), or 0 plus a flag telling the caller to quantize (scale != 0).
/// `levels` is 127.0f for int8 (q: K bytes) and the int16 scheme's levels (q: 2K bytes, `bytes` = 2K).
static inline int row_scale_levels(float amax, float levels, int nonfinite, void *q, size_t bytes, float *scale,
                                   float *s_out) {
    if (nonfinite) {
        *scale = NAN;
        memset(q, 0, bytes);
        *s_out = 0;
        return 1;
    }
    const float s = amax / levels;
    *scale = s;
    *s_out = s;
    if (s == 0) memset(q, 0, bytes);
    return 0;
}

static inline int row_scale(float amax, int nonfinite, int8_t *q, size_t K, float *scale, float *s_out) {
    return row_scale_levels(amax, 127.0f, nonfinite, q, K, scale, s_out);
}

static size_t quantize_scalar(const float *X, size_t ldx, size_t M, size_t K, int8_t *q, size_t ldq,
                              float *scale) {
    size_t bad = 0;
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * ldx;
        int8_t *qm = q + m * ldq;
        int nonfinite;
        const float amax = row_amax_scalar(x, K, &nonfinite);
        float s;
        bad += (size_t)row_scale(amax, nonfinite, qm, K, &scale[m], &s);
        if (nonfinite || s == 0) continue;
        for (size_t k = 0; k < K; k++) qm[k] = quant1(x[k], s);
    }
    return bad;
}

#if SITO_X86
SITO_TARGET_AVX2
static size_t quantize_avx2(const float *X, size_t ldx, size_t M, size_t K, int8_t *q, size_t ldq,
                            float *scale) {
    const __m256 hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    size_t bad = 0;
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * ldx;
        int8_t *qm = q + m * ldq;
        int nonfinite;
        const float amax = row_amax_avx2(x, K, &nonfinite);
        float s;
        bad += (size_t)row_scale(amax, nonfinite, qm, K, &scale[m], &s);
        if (nonfinite || s == 0) continue;
        const __m256 vs = _mm256_set1_ps(s);
        size_t k = 0;
        for (; k + 8 <= K; k += 8) {
            __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + k), vs);
            v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
            const __m256i i32 = _mm256_cvtps_epi32(v);                      // MXCSR: round to nearest even
            const __m128i i16 = _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
            _mm_storel_epi64((__m128i *)(qm + k), _mm_packs_epi16(i16, i16));
        }
        for (; k < K; k++) qm[k] = quant1(x[k], s);
    }
    return bad;
}

SITO_TARGET_AVX512
static size_t quantize_avx512(const float *X, size_t ldx, size_t M, size_t K, int8_t *q, size_t ldq,
                              float *scale) {
    const __m512 hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-127.0f);
    size_t bad = 0;
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * ldx;
        int8_t *qm = q + m * ldq;
        int vbad;
        const float amax = row_amax_avx512(x, K, &vbad);
        float s;
        bad += (size_t)row_scale(amax, vbad != 0, qm, K, &scale[m], &s);
        if (vbad || s == 0) continue;
        const __m512 vs = _mm512_set1_ps(s);
        for (size_t k = 0; k < K; k += 16) {
            const __mmask16 live = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
            __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(live, x + k), vs);
            v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
            const __m512i i32 = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            _mm512_mask_cvtepi32_storeu_epi8(qm + k, live, i32);
        }
    }
    return bad;
}
#endif

#if SITO_ARM
// NEON (baseline, no attribute): 4 lanes; fdiv is IEEE-exact per lane, fcvtns rounds to nearest even
// regardless of FPCR, so each element is exactly quant1's value. Max is exact in any order.
static size_t quantize_neon(const float *X, size_t ldx, size_t M, size_t K, int8_t *q, size_t ldq, float *scale) {
    const float32x4_t hi = vdupq_n_f32(127.0f), lo = vdupq_n_f32(-127.0f);
    size_t bad = 0;
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * ldx;
        int8_t *qm = q + m * ldq;
        int nonfinite;
        const float amax = row_amax_neon(x, K, &nonfinite);
        float s;
        bad += (size_t)row_scale(amax, nonfinite, qm, K, &scale[m], &s);
        if (nonfinite || s == 0) continue;
        const float32x4_t vs = vdupq_n_f32(s);
        size_t k = 0;
        for (; k + 8 <= K; k += 8) {
            const float32x4_t v0 = vminq_f32(vmaxq_f32(vdivq_f32(vld1q_f32(x + k), vs), lo), hi);
            const float32x4_t v1 = vminq_f32(vmaxq_f32(vdivq_f32(vld1q_f32(x + k + 4), vs), lo), hi);
            const int16x8_t i16 = vcombine_s16(vmovn_s32(vcvtnq_s32_f32(v0)), vmovn_s32(vcvtnq_s32_f32(v1)));
            vst1_s8(qm + k, vmovn_s16(i16));                            // |values| ≤ 127: plain narrowing
        }
        for (; k < K; k++) qm[k] = quant1(x[k], s);
    }
    return bad;
}
#endif

// MARK: - int16 row quantization (the int8-a16 scheme): the int8 rule with ±levels, into int16

static size_t quantize_i16_scalar(const float *X, size_t ldx, size_t M, size_t K, float levels, int16_t *q,
                                  size_t ldq, float *scale) {
    size_t bad = 0;
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * ldx;
        int16_t *qm = q + m * ldq;
        int nonfinite;
        const float amax = row_amax_scalar(x, K, &nonfinite);
        float s;
        bad += (size_t)row_scale_levels(amax, levels, nonfinite, qm, 2 * K, &scale[m], &s);
        if (nonfinite || s == 0) continue;
        for (size_t k = 0; k < K; k++) qm[k] = quant1_i16(x[k], s, levels);
    }
    return bad;
}

#if SITO_X86
SITO_TARGET_AVX2
static size_t quantize_i16_avx2(const float *X, size_t ldx, size_t M, size_t K, float levels, int16_t *q,
                                size_t ldq, float *scale) {
    const __m256 hi = _mm256_set1_ps(levels), lo = _mm256_set1_ps(-levels);
    size_t bad = 0;
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * ldx;
        int16_t *qm = q + m * ldq;
        int nonfinite;
        const float amax = row_amax_avx2(x, K, &nonfinite);
        float s;
        bad += (size_t)row_scale_levels(amax, levels, nonfinite, qm, 2 * K, &scale[m], &s);
        if (nonfinite || s == 0) continue;
        const __m256 vs = _mm256_set1_ps(s);
        size_t k = 0;
        for (; k + 8 <= K; k += 8) {
            __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + k), vs);
            v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
            const __m256i i32 = _mm256_cvtps_epi32(v);                      // MXCSR: round to nearest even
            _mm_storeu_si128((__m128i *)(qm + k),
                             _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1)));
        }
        for (; k < K; k++) qm[k] = quant1_i16(x[k], s, levels);
    }
    return bad;
}
SITO_TARGET_AVX512
static size_t quantize_i16_avx512(const float *X, size_t ldx, size_t M, size_t K, float levels, int16_t *q,
                                  size_t ldq, float *scale) {
    const __m512 hi = _mm512_set1_ps(levels), lo = _mm512_set1_ps(-levels);
    size_t bad = 0;
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * ldx;
        int16_t *qm = q + m * ldq;
        int vbad;
        const float amax = row_amax_avx512(x, K, &vbad);
        float s;
        bad += (size_t)row_scale_levels(amax, levels, vbad != 0, qm, 2 * K, &scale[m], &s);
        if (vbad || s == 0) continue;
        const __m512 vs = _mm512_set1_ps(s);
        for (size_t k = 0; k < K; k += 16) {
            const __mmask16 live = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
            __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(live, x + k), vs);
            v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
            const __m512i i32 = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            _mm512_mask_cvtepi32_storeu_epi16(qm + k, live, i32);          // |values| ≤ levels: no saturation
        }
    }
    return bad;
}
#endif

#if SITO_ARM
// NEON: as quantize_neon, narrowing int32 → int16 (|values| ≤ levels ≤ 32767: plain narrowing).
static size_t quantize_i16_neon(const float *X, size_t ldx, size_t M, size_t K, float levels, int16_t *q, size_t ldq,
                                float *scale) {
    const float32x4_t hi = vdupq_n_f32(levels), lo = vdupq_n_f32(-levels);
    size_t bad = 0;
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * ldx;
        int16_t *qm = q + m * ldq;
        int nonfinite;
        const float amax = row_amax_neon(x, K, &nonfinite);
        float s;
        bad += (size_t)row_scale_levels(amax, levels, nonfinite, qm, 2 * K, &scale[m], &s);
        if (nonfinite || s == 0) continue;
        const float32x4_t vs = vdupq_n_f32(s);
        size_t k = 0;
        for (; k + 8 <= K; k += 8) {
            const float32x4_t v0 = vminq_f32(vmaxq_f32(vdivq_f32(vld1q_f32(x + k), vs), lo), hi);
            const float32x4_t v1 = vminq_f32(vmaxq_f32(vdivq_f32(vld1q_f32(x + k + 4), vs), lo), hi);
            vst1q_s16(qm + k, vcombine_s16(vmovn_s32(vcvtnq_s32_f32(v0)), vmovn_s32(vcvtnq_s32_f32(v1))));
        }
        for (; k < K; k++) qm[k] = quant1_i16(x[k], s, levels);
    }
    return bad;
}
#endif

size_t sito_quantize_rows_i16_isa(sito_isa isa, const float *X, size_t ldx, size_t M, size_t K, int32_t levels,
                                  int16_t *q, size_t ldq, float *scale) {
    const float l = (float)levels;   // exact: 1 ≤ levels ≤ 32767
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512) return quantize_i16_avx512(X, ldx, M, K, l, q, ldq, scale);
    if (isa >= SITO_ISA_AVX2) return quantize_i16_avx2(X, ldx, M, K, l, q, ldq, scale);
#elif SITO_ARM
    if (isa >= SITO_ISA_NEON) return quantize_i16_neon(X, ldx, M, K, l, q, ldq, scale);
#endif
    return quantize_i16_scalar(X, ldx, M, K, l, q, ldq, scale);
}

size_t sito_quantize_rows_i16(const float *X, size_t ldx, size_t M, size_t K, int32_t levels, int16_t *q,
                              size_t ldq, float *scale) {
    return sito_quantize_rows_i16_isa(sito_kernels_isa(), X, ldx, M, K, levels, q, ldq, scale);
}

size_t sito_quantize_rows_i8_isa(sito_isa isa, const float *X, size_t ldx, size_t M, size_t K,
                                 int8_t *q, size_t ldq, float *scale) {
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512) return quantize_avx512(X, ldx, M, K, q, ldq, scale);
    if (isa >= SITO_ISA_AVX2) return quantize_avx2(X, ldx, M, K, q, ldq, scale);
#elif SITO_ARM
    if (isa >= SITO_ISA_NEON) return quantize_neon(X, ldx, M, K, q, ldq, scale);
#endif
    return quantize_scalar(X, ldx, M, K, q, ldq, scale);
}

size_t sito_quantize_rows_i8(const float *X, size_t ldx, size_t M, size_t K, int8_t *q, size_t ldq,
                             float *scale) {
    return sito_quantize_rows_i8_isa(sito_kernels_isa(), X, ldx, M, K, q, ldq, scale);
}

// MARK: - int8 row sums

#if SITO_X86
SITO_TARGET_AVX2
static int32_t row_sum_avx2(const int8_t *w, size_t K) {
    // Σ (w + 128) over bytes with psadbw (unsigned), minus 128·K.
    const __m256i flip = _mm256_set1_epi8((char)0x80), zero = _mm256_setzero_si256();
    __m256i acc = _mm256_setzero_si256();
    size_t k = 0;
    for (; k + 32 <= K; k += 32)
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + k)), flip), zero));
    int64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, acc);
    int64_t s = lanes[0] + lanes[1] + lanes[2] + lanes[3] - 128 * (int64_t)k;
    for (; k < K; k++) s += w[k];
    return (int32_t)s;
}
#endif

#if SITO_ARM
// NEON: pairwise widening adds (saddlp 8 → 16 bits, sadalp 16 → 32 bits); exact, |partial| ≤ 254 · K/8.
static int32_t row_sum_neon(const int8_t *w, size_t K) {
    int32x4_t acc = vdupq_n_s32(0);
    size_t k = 0;
    for (; k + 16 <= K; k += 16) acc = vpadalq_s16(acc, vpaddlq_s8(vld1q_s8(w + k)));
    int64_t s = vaddlvq_s32(acc);
    for (; k < K; k++) s += w[k];
    return (int32_t)s;
}
#endif

void sito_i8_row_sums(const int8_t *W, size_t ldw, size_t N, size_t K, int32_t *sums) {
#if SITO_X86
    if (sito_isa_family_of(sito_kernels_isa()) == SITO_ISA_FAMILY_X86) {
        for (size_t n = 0; n < N; n++) sums[n] = row_sum_avx2(W + n * ldw, K);
        return;
    }
#elif SITO_ARM
    if (sito_isa_family_of(sito_kernels_isa()) == SITO_ISA_FAMILY_ARM) {
        for (size_t n = 0; n < N; n++) sums[n] = row_sum_neon(W + n * ldw, K);
        return;
    }
#endif
    for (size_t n = 0; n < N; n++) {
        int64_t s = 0;
        for (size_t k = 0; k < K; k++) s += W[n * ldw + k];
        sums[n] = (int32_t)s;
    }
}

// MARK: - bf16 and f16 conversions

static inline uint16_t f32_to_bf16_1(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u);   // NaN: keep, quiet
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

#if SITO_X86
SITO_TARGET_AVX512
static void f32_to_bf16_avx512(const float *src, uint16_t *dst, size_t n) {
    // Integer rounding, not vcvtneps2bf16: that instruction flushes subnormals to zero.
    const __m512i bias = _mm512_set1_epi32(0x7FFF), one = _mm512_set1_epi32(1), quiet = _mm512_set1_epi32(0x40);
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 live = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 v = _mm512_maskz_loadu_ps(live, src + i);
        const __m512i u = _mm512_castps_si512(v);
        const __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, bias),
                                                             _mm512_and_si512(_mm512_srli_epi32(u, 16), one)), 16);
        const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        const __m512i out = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), quiet);
        _mm512_mask_cvtepi32_storeu_epi16(dst + i, live, out);
    }
}
#endif

#if SITO_ARM
// NEON: the same integer rounding as f32_to_bf16_1 (not BFCVT: it is a NEON_BF16 instruction, and its NaN
// and subnormal behaviour depend on FPCR), 8 values per step.
static void f32_to_bf16_neon(const float *src, uint16_t *dst, size_t n) {
    const uint32x4_t bias = vdupq_n_u32(0x7FFF), one = vdupq_n_u32(1), quiet = vdupq_n_u32(0x40);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint16x4_t half[2];
        for (int h = 0; h < 2; h++) {
            const float32x4_t v = vld1q_f32(src + i + 4 * h);
            const uint32x4_t u = vreinterpretq_u32_f32(v);
            const uint32x4_t r = vaddq_u32(vaddq_u32(u, bias), vandq_u32(vshrq_n_u32(u, 16), one));
            const uint32x4_t number = vceqq_f32(v, v);                  // false for NaN
            half[h] = vshrn_n_u32(vbslq_u32(number, r, vorrq_u32(u, vshlq_n_u32(quiet, 16))), 16);
        }
        vst1q_u16(dst + i, vcombine_u16(half[0], half[1]));
    }
    for (; i < n; i++) dst[i] = f32_to_bf16_1(src[i]);
}
#endif

void sito_f32_to_bf16_isa(sito_isa isa, const float *src, uint16_t *dst, size_t n) {
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512) { f32_to_bf16_avx512(src, dst, n); return; }
#elif SITO_ARM
    if (isa >= SITO_ISA_NEON) { f32_to_bf16_neon(src, dst, n); return; }
#endif
    for (size_t i = 0; i < n; i++) dst[i] = f32_to_bf16_1(src[i]);
}

void sito_f32_to_bf16(const float *src, uint16_t *dst, size_t n) {
    sito_f32_to_bf16_isa(sito_kernels_isa(), src, dst, n);
}

void sito_bf16_to_f32(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const uint32_t u = (uint32_t)src[i] << 16;
        memcpy(&dst[i], &u, 4);
    }
}

void sito_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const uint32_t h = src[i];
        const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
        uint32_t u;
        if (exp == 0) {
            const float mag = (float)mant * 0x1p-24f;                    // exact: mant < 2^10, result normal
            memcpy(&u, &mag, 4);
            u |= sign;
        } else if (exp == 31) {
            u = sign | 0x7F800000u | (mant << 13);                       // Inf, or NaN with its payload
        } else {
            u = sign | ((exp + 112u) << 23) | (mant << 13);              // rebias 15 → 127
        }
        memcpy(&dst[i], &u, 4);
    }
}

size_t sito_count_nonfinite_f32(const float *x, size_t n, size_t *first_index) {
    size_t count = 0, first = n;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        if ((u & 0x7F800000u) == 0x7F800000u) {
            if (count == 0) first = i;
            count++;
        }
    }
    if (first_index) *first_index = first;
    return count;
}
