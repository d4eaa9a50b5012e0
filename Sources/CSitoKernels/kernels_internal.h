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
