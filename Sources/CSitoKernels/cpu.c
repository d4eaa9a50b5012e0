// cpu.c: run-time instruction-set detection (x86: cpuid + xgetbv; aarch64: getauxval / sysctlbyname), the
// process-wide level used by the un-suffixed kernels, and the names of the paths each level selects.
// See sito_kernels.h, "Instruction-set selection".
#include "kernels_internal.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if SITO_X86
#include <cpuid.h>
#elif SITO_ARM && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#elif SITO_ARM && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

static const char *const isa_names[] = {"scalar", "avx2", "avx512", "avx512vnni", "avx512bf16",
                                        "neon", "neon-dotprod", "neon-i8mm", "neon-bf16"};

const char *sito_kernels_isa_name(sito_isa level) {
    if ((int)level < 0 || (int)level > (int)SITO_ISA_NEON_BF16) return "?";
    return isa_names[level];
}

sito_isa_family sito_isa_family_of(sito_isa level) {
    if ((int)level >= (int)SITO_ISA_AVX2 && (int)level <= (int)SITO_ISA_AVX512_BF16) return SITO_ISA_FAMILY_X86;
    if ((int)level >= (int)SITO_ISA_NEON && (int)level <= (int)SITO_ISA_NEON_BF16) return SITO_ISA_FAMILY_ARM;
    return SITO_ISA_FAMILY_PORTABLE;
}

#if SITO_X86
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static sito_isa detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return SITO_ISA_SCALAR;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx) return SITO_ISA_SCALAR;
    const uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return SITO_ISA_SCALAR;                  // XMM and YMM state enabled by the OS
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return SITO_ISA_SCALAR;
    const int avx2 = (b >> 5) & 1;
    const int avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    const int vnni = (c >> 11) & 1;
    unsigned a1 = 0, b1, c1, d1;
    if (a >= 1) __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1);          // leaf 7 sub-leaf 1 exists
    const int bf16 = (a1 >> 5) & 1;
    if (!avx2 || !fma) return SITO_ISA_SCALAR;
    const int zmm_os = (xcr0 & 0xE0) == 0xE0;                          // opmask, ZMM0-15 high, ZMM16-31
    if (!(avx512f && avx512bw && avx512vl && zmm_os)) return SITO_ISA_AVX2;
    if (!vnni) return SITO_ISA_AVX512;
    if (!bf16) return SITO_ISA_AVX512_VNNI;
    return SITO_ISA_AVX512_BF16;
}
#elif SITO_ARM && defined(__linux__)
// Linux reports the features the kernel lets user space use; the bits are the kernel's uapi.
static sito_isa detect(void) {
    const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    if (!(hw & HWCAP_ASIMD)) return SITO_ISA_SCALAR;
    if (!(hw & HWCAP_ASIMDDP)) return SITO_ISA_NEON;
    if (!(hw2 & HWCAP2_I8MM)) return SITO_ISA_NEON_DOTPROD;
    if (!(hw2 & HWCAP2_BF16)) return SITO_ISA_NEON_I8MM;
    return SITO_ISA_NEON_BF16;
}
#elif SITO_ARM && defined(__APPLE__)
// UNTESTED (no Apple machine here): Apple's documented sysctl names for the same features.
static int apple_feature(const char *name) {
    int value = 0;
    size_t size = sizeof value;
    return sysctlbyname(name, &value, &size, NULL, 0) == 0 && value != 0;
}
static sito_isa detect(void) {
    if (!apple_feature("hw.optional.arm.FEAT_DotProd")) return SITO_ISA_NEON;
    if (!apple_feature("hw.optional.arm.FEAT_I8MM")) return SITO_ISA_NEON_DOTPROD;
    if (!apple_feature("hw.optional.arm.FEAT_BF16")) return SITO_ISA_NEON_I8MM;
    return SITO_ISA_NEON_BF16;
}
#elif SITO_ARM
static sito_isa detect(void) { return SITO_ISA_NEON; }   // NEON is part of the aarch64 baseline
#else
static sito_isa detect(void) { return SITO_ISA_SCALAR; }
#endif

static _Atomic int detected = -1;
static _Atomic int current = -1;

sito_isa sito_kernels_detect_isa(void) {
    int v = atomic_load_explicit(&detected, memory_order_relaxed);
    if (v < 0) {
        v = (int)detect();
        atomic_store_explicit(&detected, v, memory_order_relaxed);
    }
    return (sito_isa)v;
}

sito_isa sito_kernels_isa(void) {
    int v = atomic_load_explicit(&current, memory_order_relaxed);
    if (v < 0) {
        sito_isa level = sito_kernels_detect_isa();
        const char *env = getenv("SITO_ISA");
        if (env && *env) {
            for (int i = 0; i <= (int)SITO_ISA_NEON_BF16; i++)
                if (strcmp(env, isa_names[i]) == 0 && i < (int)level) level = sito_clamp_isa((sito_isa)i);
        }
        int expected = -1;
        atomic_compare_exchange_strong(&current, &expected, (int)level);
        v = atomic_load_explicit(&current, memory_order_relaxed);
    }
    return (sito_isa)v;
}

sito_isa sito_kernels_set_isa(sito_isa level) {
    sito_isa l = sito_clamp_isa(level);
    atomic_store_explicit(&current, (int)l, memory_order_relaxed);
    return l;
}

// Path names: one chain per architecture (sito_isa_family_of), so an ARM level never compares against an
// x86 one. The levels are clamped first, as the kernels do, so the name is what a call at `level` runs.

const char *sito_gemm_i8_path_name(sito_isa level) {
    level = sito_clamp_isa(level);
    switch (sito_isa_family_of(level)) {
    case SITO_ISA_FAMILY_X86: return level >= SITO_ISA_AVX512_VNNI ? "avx512vnni" : "avx2";
    case SITO_ISA_FAMILY_ARM:
        return level >= SITO_ISA_NEON_I8MM ? "neon-i8mm" : (level >= SITO_ISA_NEON_DOTPROD ? "neon-dotprod" : "neon");
    default: return "scalar";
    }
}

const char *sito_gemm_bf16_path_name(sito_isa level) {
    level = sito_clamp_isa(level);
    switch (sito_isa_family_of(level)) {
    case SITO_ISA_FAMILY_X86:
        return level >= SITO_ISA_AVX512_BF16 ? "avx512bf16" : (level >= SITO_ISA_AVX512 ? "avx512" : "avx2");
    case SITO_ISA_FAMILY_ARM: return level >= SITO_ISA_NEON_BF16 ? "neon-bf16" : "neon";
    default: return "scalar";
    }
}

const char *sito_quantize_path_name(sito_isa level) {
    level = sito_clamp_isa(level);
    switch (sito_isa_family_of(level)) {
    case SITO_ISA_FAMILY_X86: return level >= SITO_ISA_AVX512 ? "avx512" : "avx2";
    case SITO_ISA_FAMILY_ARM: return "neon";
    default: return "scalar";
    }
}

const char *sito_convert_path_name(sito_isa level) {
    level = sito_clamp_isa(level);
    switch (sito_isa_family_of(level)) {
    case SITO_ISA_FAMILY_X86: return level >= SITO_ISA_AVX512 ? "avx512" : "scalar";
    case SITO_ISA_FAMILY_ARM: return "neon";
    default: return "scalar";
    }
}
