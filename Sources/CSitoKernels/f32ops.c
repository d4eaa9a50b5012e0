// f32ops.c: the f32 helpers of the encoder's forward pass: e^x, exact-erf GELU, residual add +
// LayerNorm over rows, and the online-softmax row update and finish of the tiled attention as it was
// before the fused kernel (attention.c; kept as the kernel benchmark's baseline). Contracts and
// tolerances: sito_kernels.h, "f32 helpers".
//
// Paths: scalar (the reference: libm expf / erff, double accumulation exactly as the Swift code had it),
// avx2, avx512, neon (aarch64: every ARM level; 4-lane versions of the avx2 code, and LayerNorm as the
// avx512 path on 2 × 2 double lanes). The SIMD paths use
//   - e^x: exp16 / exp8 of simd_exp.h (shared with attention.c): Cody–Waite reduction, Cephes' degree-5
//     polynomial, measured ≤ 2 ulp from libm's correctly rounded expf over [-104, 89] (expToleranceULP).
//   - erf: the two-piece approximation published by Norbert Juffa (max 0.995 ulp with an exact exp; an
//     odd polynomial in a for |a| ≤ 0.9277, 1 - e^{p(|a|)} above, p a degree-7 polynomial). With the
//     vector e^x above the error near erf ≈ ±1 is ~1 ulp of 1, i.e. what torch's own vectorized erf
//     (Abramowitz–Stegun 7.1.26, 1.5e-7 absolute) already differs from libm by.
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "kernels_internal.h"
#include "simd_exp.h"
#include <float.h>
#include <math.h>

#define SITO_INV_SQRT2 0.70710678118654752f

const char *sito_f32ops_path_name(sito_isa level) {
    level = sito_clamp_isa(level);
    switch (sito_isa_family_of(level)) {
    case SITO_ISA_FAMILY_X86: return level >= SITO_ISA_AVX512 ? "avx512" : "avx2";
    case SITO_ISA_FAMILY_ARM: return "neon";
    default: return "scalar";
    }
}

#if SITO_ARM
/// Whether a clamped level selects the NEON path (every level of the ARM chain).
static inline int is_arm(sito_isa level) { return sito_isa_family_of(level) == SITO_ISA_FAMILY_ARM; }
#endif

// MARK: - scalar references

static float gelu1(float v) { return 0.5f * v * (1.0f + erff(v * SITO_INV_SQRT2)); }

static void exp_scalar(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

static void gelu_scalar(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = gelu1(x[i]);
}

/// Mean and 1/σ of one row, in the reference's arithmetic: double sums, f32 mean, f32 deviations squared
/// in double, f32 inverse standard deviation.
static void row_stats_scalar(const float *row, size_t N, float eps, float *mean_out, float *inv_out) {
    double sum = 0;
    for (size_t i = 0; i < N; i++) sum += (double)row[i];
    const float mean = (float)(sum / (double)N);
    double sq = 0;
    for (size_t i = 0; i < N; i++) {
        const double d = (double)(row[i] - mean);
        sq += d * d;
    }
    *mean_out = mean;
    *inv_out = 1.0f / sqrtf((float)(sq / (double)N) + eps);
}

static void add_layernorm_scalar(float *X, size_t ldx, const float *D, size_t ldd, size_t M, size_t N,
                                 const float *weight, const float *bias, float eps) {
    for (size_t m = 0; m < M; m++) {
        float *row = X + m * ldx;
        if (D)
            for (size_t i = 0; i < N; i++) row[i] = row[i] + D[m * ldd + i];
        float mean, inv;
        row_stats_scalar(row, N, eps, &mean, &inv);
        for (size_t i = 0; i < N; i++) row[i] = (row[i] - mean) * inv * weight[i] + bias[i];
    }
}

static void softmax_update_scalar(float *S, size_t lds, size_t bq, size_t bk, float *row_max, float *row_sum,
                                  float *O, size_t ldo, size_t d) {
    for (size_t r = 0; r < bq; r++) {
        float *s = S + r * lds;
        float mx = row_max[r];
        for (size_t j = 0; j < bk; j++) mx = s[j] > mx ? s[j] : mx;
        const float c = expf(row_max[r] - mx);
        float sum = 0;
        for (size_t j = 0; j < bk; j++) {
            const float p = expf(s[j] - mx);
            s[j] = p;
            sum += p;
        }
        row_sum[r] = row_sum[r] * c + sum;
        row_max[r] = mx;
        if (c != 1.0f) {
            float *o = O + r * ldo;
            for (size_t i = 0; i < d; i++) o[i] *= c;
        }
    }
}

#if SITO_X86
// MARK: - AVX-512

/// erf(a), 16 lanes (Juffa's two pieces, both evaluated, blended by |a| > 0.927734375).
SITO_TARGET_AVX512 SITO_INLINE __m512 erf16(__m512 a) {
    const __m512 t = _mm512_abs_ps(a), s = _mm512_mul_ps(a, a);
    // |a| > 0.9277: erf = sign(a) · (1 - e^{q(t)})
    __m512 r = _mm512_fmadd_ps(_mm512_set1_ps(-1.72853470e-5f), t, _mm512_set1_ps(3.83197126e-4f));
    const __m512 u = _mm512_fmadd_ps(_mm512_set1_ps(-3.88396438e-3f), t, _mm512_set1_ps(2.42546219e-2f));
    r = _mm512_fmadd_ps(r, s, u);
    r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(-1.06777877e-1f));
    r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(-6.34846687e-1f));
    r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(-1.28717512e-1f));
    r = _mm512_fmadd_ps(r, t, _mm512_sub_ps(_mm512_setzero_ps(), t));
    r = _mm512_sub_ps(_mm512_set1_ps(1.0f), exp16(r));
    const __m512i sign = _mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32((int)0x80000000u));
    const __m512 big = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(r), sign));
    // |a| ≤ 0.9277: erf = a + a · p(a²)
    __m512 q = _mm512_set1_ps(-5.96761703e-4f);
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(4.99119423e-3f));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(-2.67681349e-2f));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(1.12819925e-1f));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(-3.76125336e-1f));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(1.28379166e-1f));
    const __m512 small = _mm512_fmadd_ps(q, a, a);
    const __mmask16 isbig = _mm512_cmp_ps_mask(t, _mm512_set1_ps(0.927734375f), _CMP_GT_OQ);
    return _mm512_mask_blend_ps(isbig, small, big);
}

SITO_TARGET_AVX512 SITO_INLINE __m512 gelu16(__m512 v) {
    const __m512 e = erf16(_mm512_mul_ps(v, _mm512_set1_ps(SITO_INV_SQRT2)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

SITO_TARGET_AVX512 SITO_INLINE __mmask16 live16(size_t left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

SITO_TARGET_AVX512
static void exp_avx512(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 live = live16(n - i);
        _mm512_mask_storeu_ps(y + i, live, exp16(_mm512_maskz_loadu_ps(live, x + i)));
    }
}

SITO_TARGET_AVX512
static void gelu_avx512(float *x, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {   // two independent chains per iteration
        const __m512 a = gelu16(_mm512_loadu_ps(x + i)), b = gelu16(_mm512_loadu_ps(x + i + 16));
        _mm512_storeu_ps(x + i, a);
        _mm512_storeu_ps(x + i + 16, b);
    }
    for (; i < n; i += 16) {
        const __mmask16 live = live16(n - i);
        _mm512_mask_storeu_ps(x + i, live, gelu16(_mm512_maskz_loadu_ps(live, x + i)));
    }
}

SITO_TARGET_AVX512 SITO_INLINE double hsum8d(__m512d v) { return _mm512_reduce_add_pd(v); }

SITO_TARGET_AVX512
static void add_layernorm_avx512(float *X, size_t ldx, const float *D, size_t ldd, size_t M, size_t N,
                                 const float *weight, const float *bias, float eps) {
    for (size_t m = 0; m < M; m++) {
        float *row = X + m * ldx;
        // Pass 1: residual add (f32, as the reference) and the double sum, 8 lanes × 2 chains.
        __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
        for (size_t i = 0; i < N; i += 16) {
            const __mmask16 live = live16(N - i);
            __m512 v = _mm512_maskz_loadu_ps(live, row + i);
            if (D) {
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(live, D + m * ldd + i));
                _mm512_mask_storeu_ps(row + i, live, v);
            }
            s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
            s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
        }
        const float mean = (float)(hsum8d(_mm512_add_pd(s0, s1)) / (double)N);
        // Pass 2: Σ (double)(x - mean)², the deviation rounded to f32 first as in the reference.
        const __m512 vmean = _mm512_set1_ps(mean);
        __m512d q0 = _mm512_setzero_pd(), q1 = _mm512_setzero_pd();
        for (size_t i = 0; i < N; i += 16) {
            const __mmask16 live = live16(N - i);
            const __m512 dv = _mm512_maskz_sub_ps(live, _mm512_maskz_loadu_ps(live, row + i), vmean);
            const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(dv));
            const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(dv), 1)));
            q0 = _mm512_fmadd_pd(lo, lo, q0);
            q1 = _mm512_fmadd_pd(hi, hi, q1);
        }
        const float inv = 1.0f / sqrtf((float)(hsum8d(_mm512_add_pd(q0, q1)) / (double)N) + eps);
        // Pass 3: ((x - mean) · inv) · w + b, every operation rounded separately as in the reference.
        const __m512 vinv = _mm512_set1_ps(inv);
        for (size_t i = 0; i < N; i += 16) {
            const __mmask16 live = live16(N - i);
            __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, row + i), vmean), vinv);
            v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(live, weight + i));
            __asm__("" : "+v"(v));
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(live, bias + i));
            _mm512_mask_storeu_ps(row + i, live, v);
        }
    }
}

SITO_TARGET_AVX512
static void softmax_update_avx512(float *S, size_t lds, size_t bq, size_t bk, float *row_max, float *row_sum,
                                  float *O, size_t ldo, size_t d) {
    for (size_t r = 0; r < bq; r++) {
        float *s = S + r * lds;
        __m512 vmax = _mm512_set1_ps(row_max[r]);
        for (size_t j = 0; j < bk; j += 16) {
            const __mmask16 live = live16(bk - j);
            vmax = _mm512_mask_max_ps(vmax, live, vmax, _mm512_maskz_loadu_ps(live, s + j));
        }
        const float mx = _mm512_reduce_max_ps(vmax);
        const float c = expf(row_max[r] - mx);   // one per row: libm, exactly as the reference
        const __m512 vmx = _mm512_set1_ps(mx);
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
        size_t j = 0;
        for (; j + 32 <= bk; j += 32) {
            const __m512 p0 = exp16(_mm512_sub_ps(_mm512_loadu_ps(s + j), vmx));
            const __m512 p1 = exp16(_mm512_sub_ps(_mm512_loadu_ps(s + j + 16), vmx));
            _mm512_storeu_ps(s + j, p0);
            _mm512_storeu_ps(s + j + 16, p1);
            acc0 = _mm512_add_ps(acc0, p0);
            acc1 = _mm512_add_ps(acc1, p1);
        }
        for (; j < bk; j += 16) {
            const __mmask16 live = live16(bk - j);
            const __m512 p = _mm512_maskz_mov_ps(live, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, s + j), vmx)));
            _mm512_mask_storeu_ps(s + j, live, p);
            acc0 = _mm512_add_ps(acc0, p);
        }
        const float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
        row_sum[r] = row_sum[r] * c + sum;
        row_max[r] = mx;
        if (c != 1.0f) {
            float *o = O + r * ldo;
            const __m512 vc = _mm512_set1_ps(c);
            for (size_t i = 0; i < d; i += 16) {
                const __mmask16 live = live16(d - i);
                _mm512_mask_storeu_ps(o + i, live, _mm512_mul_ps(_mm512_maskz_loadu_ps(live, o + i), vc));
            }
        }
    }
}

// MARK: - AVX2

SITO_TARGET_AVX2 SITO_INLINE __m256 erf8(__m256 a) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 t = _mm256_and_ps(a, absmask), s = _mm256_mul_ps(a, a);
    __m256 r = _mm256_fmadd_ps(_mm256_set1_ps(-1.72853470e-5f), t, _mm256_set1_ps(3.83197126e-4f));
    const __m256 u = _mm256_fmadd_ps(_mm256_set1_ps(-3.88396438e-3f), t, _mm256_set1_ps(2.42546219e-2f));
    r = _mm256_fmadd_ps(r, s, u);
    r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(-1.06777877e-1f));
    r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(-6.34846687e-1f));
    r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(-1.28717512e-1f));
    r = _mm256_fmadd_ps(r, t, _mm256_sub_ps(_mm256_setzero_ps(), t));
    r = _mm256_sub_ps(_mm256_set1_ps(1.0f), exp8(r));
    const __m256 big = _mm256_or_ps(r, _mm256_andnot_ps(absmask, a));
    __m256 q = _mm256_set1_ps(-5.96761703e-4f);
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(4.99119423e-3f));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(-2.67681349e-2f));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(1.12819925e-1f));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(-3.76125336e-1f));
    q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(1.28379166e-1f));
    const __m256 small = _mm256_fmadd_ps(q, a, a);
    return _mm256_blendv_ps(small, big, _mm256_cmp_ps(t, _mm256_set1_ps(0.927734375f), _CMP_GT_OQ));
}

SITO_TARGET_AVX2 SITO_INLINE __m256 gelu8(__m256 v) {
    const __m256 e = erf8(_mm256_mul_ps(v, _mm256_set1_ps(SITO_INV_SQRT2)));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

/// Loads the first `left` (< 8) floats of p, zeros elsewhere, without reading past them.
SITO_TARGET_AVX2 SITO_INLINE __m256 load_partial8(const float *p, size_t left) {
    float tmp[8] = {0};
    memcpy(tmp, p, left * sizeof(float));
    return _mm256_loadu_ps(tmp);
}

SITO_TARGET_AVX2 SITO_INLINE void store_partial8(float *p, __m256 v, size_t left) {
    float tmp[8];
    _mm256_storeu_ps(tmp, v);
    memcpy(p, tmp, left * sizeof(float));
}

SITO_TARGET_AVX2
static void exp_avx2(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp8(_mm256_loadu_ps(x + i)));
    if (i < n) store_partial8(y + i, exp8(load_partial8(x + i, n - i)), n - i);
}

SITO_TARGET_AVX2
static void gelu_avx2(float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu8(_mm256_loadu_ps(x + i)));
    if (i < n) store_partial8(x + i, gelu8(load_partial8(x + i, n - i)), n - i);
}

SITO_TARGET_AVX2
static void softmax_update_avx2(float *S, size_t lds, size_t bq, size_t bk, float *row_max, float *row_sum,
                                float *O, size_t ldo, size_t d) {
    for (size_t r = 0; r < bq; r++) {
        float *s = S + r * lds;
        float mx = row_max[r];
        size_t j = 0;
        __m256 vmax = _mm256_set1_ps(mx);
        for (; j + 8 <= bk; j += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(s + j));
        float lanes[8];
        _mm256_storeu_ps(lanes, vmax);
        for (int l = 0; l < 8; l++) mx = lanes[l] > mx ? lanes[l] : mx;
        for (; j < bk; j++) mx = s[j] > mx ? s[j] : mx;
        const float c = expf(row_max[r] - mx);
        const __m256 vmx = _mm256_set1_ps(mx);
        __m256 acc = _mm256_setzero_ps();
        j = 0;
        for (; j + 8 <= bk; j += 8) {
            const __m256 p = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmx));
            _mm256_storeu_ps(s + j, p);
            acc = _mm256_add_ps(acc, p);
        }
        _mm256_storeu_ps(lanes, acc);
        float sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
        for (; j < bk; j++) {
            const float p = expf(s[j] - mx);
            s[j] = p;
            sum += p;
        }
        row_sum[r] = row_sum[r] * c + sum;
        row_max[r] = mx;
        if (c != 1.0f) {
            float *o = O + r * ldo;
            for (size_t i = 0; i < d; i++) o[i] *= c;
        }
    }
}
#endif

#if SITO_ARM
// MARK: - NEON (baseline on aarch64: every ARM level)

/// erf(a), 4 lanes: erf8's two pieces, both evaluated, blended by |a| > 0.927734375.
SITO_INLINE float32x4_t erf4(float32x4_t a) {
    const float32x4_t t = vabsq_f32(a), s = vmulq_f32(a, a);
    float32x4_t r = vfmaq_f32(vdupq_n_f32(3.83197126e-4f), vdupq_n_f32(-1.72853470e-5f), t);
    const float32x4_t u = vfmaq_f32(vdupq_n_f32(2.42546219e-2f), vdupq_n_f32(-3.88396438e-3f), t);
    r = vfmaq_f32(u, r, s);
    r = vfmaq_f32(vdupq_n_f32(-1.06777877e-1f), r, t);
    r = vfmaq_f32(vdupq_n_f32(-6.34846687e-1f), r, t);
    r = vfmaq_f32(vdupq_n_f32(-1.28717512e-1f), r, t);
    r = vfmaq_f32(vnegq_f32(t), r, t);
    r = vsubq_f32(vdupq_n_f32(1.0f), exp4(r));
    const uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(a), vdupq_n_u32(0x80000000u));
    const float32x4_t big = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(r), sign));
    float32x4_t q = vdupq_n_f32(-5.96761703e-4f);
    q = vfmaq_f32(vdupq_n_f32(4.99119423e-3f), q, s);
    q = vfmaq_f32(vdupq_n_f32(-2.67681349e-2f), q, s);
    q = vfmaq_f32(vdupq_n_f32(1.12819925e-1f), q, s);
    q = vfmaq_f32(vdupq_n_f32(-3.76125336e-1f), q, s);
    q = vfmaq_f32(vdupq_n_f32(1.28379166e-1f), q, s);
    const float32x4_t small = vfmaq_f32(a, q, a);
    return vbslq_f32(vcgtq_f32(t, vdupq_n_f32(0.927734375f)), big, small);
}

SITO_INLINE float32x4_t gelu4(float32x4_t v) {
    const float32x4_t e = erf4(vmulq_f32(v, vdupq_n_f32(SITO_INV_SQRT2)));
    return vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), v), vaddq_f32(vdupq_n_f32(1.0f), e));
}

/// The first `left` (< 4) floats of p, zeros elsewhere, without reading past them; and the store.
SITO_INLINE float32x4_t load_partial4(const float *p, size_t left) {
    float tmp[4] = {0};
    memcpy(tmp, p, left * sizeof(float));
    return vld1q_f32(tmp);
}

SITO_INLINE void store_partial4(float *p, float32x4_t v, size_t left) {
    float tmp[4];
    vst1q_f32(tmp, v);
    memcpy(p, tmp, left * sizeof(float));
}

static void exp_neon(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {   // two independent chains per iteration
        const float32x4_t a = exp4(vld1q_f32(x + i)), b = exp4(vld1q_f32(x + i + 4));
        vst1q_f32(y + i, a);
        vst1q_f32(y + i + 4, b);
    }
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, exp4(vld1q_f32(x + i)));
    if (i < n) store_partial4(y + i, exp4(load_partial4(x + i, n - i)), n - i);
}

static void gelu_neon(float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float32x4_t a = gelu4(vld1q_f32(x + i)), b = gelu4(vld1q_f32(x + i + 4));
        vst1q_f32(x + i, a);
        vst1q_f32(x + i + 4, b);
    }
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, gelu4(vld1q_f32(x + i)));
    if (i < n) store_partial4(x + i, gelu4(load_partial4(x + i, n - i)), n - i);
}

/// add_layernorm_avx512's three passes on 4 lanes: the double sums in 2 × 2 lanes (the tail, past the last
/// whole vector, summed in order after them), the normalization with every operation rounded separately.
static void add_layernorm_neon(float *X, size_t ldx, const float *D, size_t ldd, size_t M, size_t N,
                               const float *weight, const float *bias, float eps) {
    const size_t whole = N / 4 * 4;
    for (size_t m = 0; m < M; m++) {
        float *row = X + m * ldx;
        float64x2_t s0 = vdupq_n_f64(0), s1 = vdupq_n_f64(0);
        for (size_t i = 0; i < whole; i += 4) {
            float32x4_t v = vld1q_f32(row + i);
            if (D) {
                v = vaddq_f32(v, vld1q_f32(D + m * ldd + i));
                vst1q_f32(row + i, v);
            }
            s0 = vaddq_f64(s0, vcvt_f64_f32(vget_low_f32(v)));
            s1 = vaddq_f64(s1, vcvt_high_f64_f32(v));
        }
        double sum = vaddvq_f64(vaddq_f64(s0, s1));
        for (size_t i = whole; i < N; i++) {
            if (D) row[i] = row[i] + D[m * ldd + i];
            sum += (double)row[i];
        }
        const float mean = (float)(sum / (double)N);
        const float32x4_t vmean = vdupq_n_f32(mean);
        float64x2_t q0 = vdupq_n_f64(0), q1 = vdupq_n_f64(0);
        for (size_t i = 0; i < whole; i += 4) {
            const float32x4_t dv = vsubq_f32(vld1q_f32(row + i), vmean);
            const float64x2_t lo = vcvt_f64_f32(vget_low_f32(dv)), hi = vcvt_high_f64_f32(dv);
            q0 = vfmaq_f64(q0, lo, lo);
            q1 = vfmaq_f64(q1, hi, hi);
        }
        double sq = vaddvq_f64(vaddq_f64(q0, q1));
        for (size_t i = whole; i < N; i++) {
            const double dd = (double)(row[i] - mean);
            sq += dd * dd;
        }
        const float inv = 1.0f / sqrtf((float)(sq / (double)N) + eps);
        const float32x4_t vinv = vdupq_n_f32(inv);
        for (size_t i = 0; i < whole; i += 4) {
            float32x4_t v = vmulq_f32(vsubq_f32(vld1q_f32(row + i), vmean), vinv);
            v = vmulq_f32(v, vld1q_f32(weight + i));
            __asm__("" : "+w"(v));   // no contraction of the multiplication into the addition
            vst1q_f32(row + i, vaddq_f32(v, vld1q_f32(bias + i)));
        }
        for (size_t i = whole; i < N; i++) row[i] = sito_opaque_f32((row[i] - mean) * inv * weight[i]) + bias[i];
    }
}

static void softmax_update_neon(float *S, size_t lds, size_t bq, size_t bk, float *row_max, float *row_sum,
                                float *O, size_t ldo, size_t d) {
    for (size_t r = 0; r < bq; r++) {
        float *s = S + r * lds;
        float mx = row_max[r];
        size_t j = 0;
        float32x4_t vmax = vdupq_n_f32(mx);
        for (; j + 4 <= bk; j += 4) vmax = vmaxq_f32(vmax, vld1q_f32(s + j));
        mx = vmaxvq_f32(vmax);
        for (; j < bk; j++) mx = s[j] > mx ? s[j] : mx;
        const float c = expf(row_max[r] - mx);   // one per row: libm, exactly as the reference
        const float32x4_t vmx = vdupq_n_f32(mx);
        float32x4_t acc = vdupq_n_f32(0.0f);
        for (j = 0; j + 4 <= bk; j += 4) {
            const float32x4_t p = exp4(vsubq_f32(vld1q_f32(s + j), vmx));
            vst1q_f32(s + j, p);
            acc = vaddq_f32(acc, p);
        }
        float lanes[4];
        vst1q_f32(lanes, acc);
        float sum = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
        for (; j < bk; j++) {
            const float p = expf(s[j] - mx);
            s[j] = p;
            sum += p;
        }
        row_sum[r] = row_sum[r] * c + sum;
        row_max[r] = mx;
        if (c != 1.0f) {
            float *o = O + r * ldo;
            for (size_t i = 0; i < d; i++) o[i] *= c;
        }
    }
}
#endif

// MARK: - dispatch

void sito_exp_f32_isa(sito_isa isa, const float *x, float *y, size_t n) {
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512) { exp_avx512(x, y, n); return; }
    if (isa >= SITO_ISA_AVX2) { exp_avx2(x, y, n); return; }
#endif
#if SITO_ARM
    if (is_arm(isa)) { exp_neon(x, y, n); return; }
#endif
    exp_scalar(x, y, n);
}

void sito_exp_f32(const float *x, float *y, size_t n) { sito_exp_f32_isa(sito_kernels_isa(), x, y, n); }

void sito_gelu_f32_isa(sito_isa isa, float *x, size_t n) {
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512) { gelu_avx512(x, n); return; }
    if (isa >= SITO_ISA_AVX2) { gelu_avx2(x, n); return; }
#endif
#if SITO_ARM
    if (is_arm(isa)) { gelu_neon(x, n); return; }
#endif
    gelu_scalar(x, n);
}

void sito_gelu_f32(float *x, size_t n) { sito_gelu_f32_isa(sito_kernels_isa(), x, n); }

void sito_add_layernorm_f32_isa(sito_isa isa, float *X, size_t ldx, const float *D, size_t ldd, size_t M,
                                size_t N, const float *weight, const float *bias, float eps) {
    if (M == 0 || N == 0) return;
    isa = sito_clamp_isa(isa);
#if SITO_X86
    // AVX2 has no double-precision advantage worth a separate path here: it uses the reference.
    if (isa >= SITO_ISA_AVX512) { add_layernorm_avx512(X, ldx, D, ldd, M, N, weight, bias, eps); return; }
#endif
#if SITO_ARM
    if (is_arm(isa)) { add_layernorm_neon(X, ldx, D, ldd, M, N, weight, bias, eps); return; }
#endif
    add_layernorm_scalar(X, ldx, D, ldd, M, N, weight, bias, eps);
}

void sito_add_layernorm_f32(float *X, size_t ldx, const float *D, size_t ldd, size_t M, size_t N,
                            const float *weight, const float *bias, float eps) {
    sito_add_layernorm_f32_isa(sito_kernels_isa(), X, ldx, D, ldd, M, N, weight, bias, eps);
}

void sito_softmax_update_f32_isa(sito_isa isa, float *S, size_t lds, size_t bq, size_t bk, float *row_max,
                                 float *row_sum, float *O, size_t ldo, size_t d) {
    if (bq == 0 || bk == 0) return;
    isa = sito_clamp_isa(isa);
#if SITO_X86
    if (isa >= SITO_ISA_AVX512) { softmax_update_avx512(S, lds, bq, bk, row_max, row_sum, O, ldo, d); return; }
    if (isa >= SITO_ISA_AVX2) { softmax_update_avx2(S, lds, bq, bk, row_max, row_sum, O, ldo, d); return; }
#endif
#if SITO_ARM
    if (is_arm(isa)) { softmax_update_neon(S, lds, bq, bk, row_max, row_sum, O, ldo, d); return; }
#endif
    softmax_update_scalar(S, lds, bq, bk, row_max, row_sum, O, ldo, d);
}

void sito_softmax_update_f32(float *S, size_t lds, size_t bq, size_t bk, float *row_max, float *row_sum,
                             float *O, size_t ldo, size_t d) {
    sito_softmax_update_f32_isa(sito_kernels_isa(), S, lds, bq, bk, row_max, row_sum, O, ldo, d);
}

void sito_softmax_finish_f32(const float *O, size_t ldo, const float *row_sum, float *dst, size_t ldd,
                             size_t bq, size_t d) {
    for (size_t r = 0; r < bq; r++) {
        const float inv = 1.0f / row_sum[r];
        const float *o = O + r * ldo;
        float *y = dst + r * ldd;
        for (size_t i = 0; i < d; i++) y[i] = o[i] * inv;
    }
}
