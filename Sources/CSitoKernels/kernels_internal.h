// kernels_internal.h: private helpers shared by the CSitoKernels sources (not part of the module's API).
// Target-attribute spellings for the SIMD paths, the FMA-contraction guard and small scalar helpers.
#pragma once
#include "include/sito_kernels.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define SITO_X86 1
#include <immintrin.h>
// One spelling per level; a function compiled with one of these is only ever called after
// sito_kernels_detect_isa() has confirmed the features (cpuid + xgetbv).
#define SITO_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define SITO_TARGET_AVX512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl")))
#define SITO_TARGET_VNNI __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))
#define SITO_TARGET_BF16 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni,avx512bf16")))
#define SITO_ARM 0
#elif defined(__aarch64__)
#define SITO_X86 0
#define SITO_ARM 1
#include <arm_neon.h>
// aarch64: NEON (ARMv8.0 Advanced SIMD) is the baseline, always on. The extensions are per function, and
// each is only called after sito_kernels_detect_isa() saw its HWCAP bit. These spellings are the ones both
// clang and GCC accept.
#define SITO_TARGET_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define SITO_TARGET_I8MM __attribute__((target("arch=armv8.6-a+dotprod+i8mm")))
#define SITO_TARGET_NEON_BF16 __attribute__((target("arch=armv8.6-a+dotprod+i8mm+bf16")))
#else
#define SITO_X86 0
#define SITO_ARM 0
#endif

#define SITO_INLINE static inline __attribute__((always_inline))

/// Resolves a requested level against the CPU: never above the detected one, and SCALAR for a level of
/// another architecture's chain (sito_kernels.h, "Instruction-set selection").
static inline sito_isa sito_clamp_isa(sito_isa isa) {
    sito_isa have = sito_kernels_detect_isa();
    if ((int)isa <= 0 || sito_isa_family_of(isa) != sito_isa_family_of(have)) return SITO_ISA_SCALAR;
    return (int)isa > (int)have ? have : isa;
}

/// Returns x unchanged but opaque to the optimizer, so `a * b` followed by `+ c` can never be contracted
/// into one fused multiply-add (GCC contracts across statements by default in GNU mode; clang honours
/// the FP_CONTRACT pragma in each source file, this guard is for everyone else). The int8 GEMM contract
/// (sito_kernels.h) requires each multiplication and the bias addition to be rounded separately.
static inline float sito_opaque_f32(float x) {
#if defined(__GNUC__) && defined(__x86_64__)
    __asm__("" : "+x"(x));
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__("" : "+w"(x));
#else
    volatile float v = x;
    x = v;
#endif
    return x;
}

/// The int8 GEMM epilogue for one element, exactly as documented at sito_gemm_i8.
static inline float sito_i8_dequant(int32_t acc, float sx, float sw, const float *bias, size_t n) {
    float t = (float)acc;
    t = sito_opaque_f32(t * sx);
    t = sito_opaque_f32(t * sw);
    if (bias) t = t + bias[n];
    return t;
}

/// Fully unrolls the small fixed-trip loops of the register tiles, so their accumulator arrays live in
/// registers (GCC at -O2 does not unroll them by itself; clang does). Both compilers read this pragma.
#define SITO_UNROLL _Pragma("GCC unroll 16")

// MARK: - vector epilogue and reduction pieces shared by the int8 and int8-a16 GEMMs

#if SITO_X86
/// Reduces 16 vectors of 16 int32 to one vector whose element t is the sum of v[t]'s 16 lanes: a fixed
/// tree (45 instructions) instead of 16 separate horizontal sums (~130). Exact: wrapping int32 additions
/// of an exact total. (AVX-512F; callable from the VNNI paths, whose target includes it.)
SITO_TARGET_AVX512 SITO_INLINE __m512i sito_reduce16_epi32(const __m512i v[16]) {
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
#endif

#if SITO_ARM
/// sito_i8_dequant on 4 columns (scvtf rounds to nearest even; two separately rounded multiplications,
/// then the bias; the empty asm keeps GCC from contracting).
static inline float32x4_t sito_dequant4_neon(int32x4_t acc, float sx, const float *sw, const float *bias) {
    float32x4_t y = vmulq_f32(vcvtq_f32_s32(acc), vdupq_n_f32(sx));
    __asm__("" : "+w"(y));
    y = vmulq_f32(y, vld1q_f32(sw));
    __asm__("" : "+w"(y));
    if (bias) y = vaddq_f32(y, vld1q_f32(bias));
    return y;
}
#endif
