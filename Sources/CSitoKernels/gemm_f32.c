// gemm_f32.c: Y = X · Wᵀ + bias for f32 weights, the runtime's own f32 GEMM (used when Sito is built
// without OpenBLAS). The scalar reference is a plain k-ordered sum per element; SIMD paths are chosen at
// run time (sito_kernels.h, "f32 GEMM").
//
// Paths
//   scalar   the reference.
//   avx2     gemm_f32_simd.h with 8-lane vectors: register tile 6 rows × 16 columns (12 accumulators),
//            W packed per call into 16-column panels of 256 k (4 panels per 64 KiB chunk, on the stack).
//   avx512   the same template with 16-lane vectors: tile 12 rows × 32 columns (24 accumulators).
//   neon     the same template with 4-lane vectors: tile 6 rows × 12 columns (18 accumulators), X's rows
//            loaded 4 k at a time and each k taken by lane (fmla by element; 27 of the 32 registers).
//            NEON is baseline on aarch64: every ARM level (dotprod, i8mm, bf16) takes this path.
// Small M (fewer than half a tile's rows) takes the template's dot-product kernel instead (no packing).
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "kernels_internal.h"
#include <pthread.h>
#include <stdlib.h>

/// Floats of the per-thread packed-W buffer: KC · NC of every instantiation (256 · 128 = 128 KiB).
enum { GEMM_F32_PACK_FLOATS = 256 * 128 };

static pthread_key_t pack_key;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;
static int pack_key_ok;
static void pack_key_init(void) { pack_key_ok = pthread_key_create(&pack_key, free) == 0; }

/// This thread's 64-byte-aligned buffer of GEMM_F32_PACK_FLOATS floats, allocated at its first use and
/// freed when the thread exits; NULL if it cannot be allocated.
static float *gemm_f32_pack_buffer(void) {
    pthread_once(&pack_once, pack_key_init);
    if (!pack_key_ok) return NULL;
    float *p = pthread_getspecific(pack_key);
    if (!p) {
        p = aligned_alloc(64, GEMM_F32_PACK_FLOATS * sizeof(float));
        if (p && pthread_setspecific(pack_key, p) != 0) {
            free(p);
            p = NULL;
        }
    }
    return p;
}

static void gemm_f32_scalar(const float *X, size_t ldx, const float *W, size_t ldw, const float *bias,
                            float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * ldx;
        for (size_t n = 0; n < N; n++) {
            const float *w = W + n * ldw;
            float acc = 0.0f;
            for (size_t k = 0; k < K; k++) acc += x[k] * w[k];
            Y[m * ldy + n] = bias ? acc + bias[n] : acc;
        }
    }
}

#if SITO_X86
/// The packing of gemm_f32_simd.h (GF_FN(pack_ref): panels of nrp columns, k-major, zero columns past nr)
/// by 8 × 8 transposes in registers; nrp a multiple of 8. Shared by the avx2 and avx512 instantiations.
SITO_TARGET_AVX2 static void pack_t8(const float *Wt, size_t ldw, size_t nr, size_t kc, float *dst, size_t nrp) {
    for (size_t c0 = 0; c0 < nr; c0 += 8) {
        float *d = dst + (c0 / nrp) * kc * nrp + c0 % nrp;
        const float *w = Wt + c0 * ldw;
        const size_t rows = nr - c0 < 8 ? nr - c0 : 8;
        size_t k = 0;
        if (rows == 8)
            for (; k + 8 <= kc; k += 8) {
                __m256 r[8], t[8];
                SITO_UNROLL
                for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(w + (size_t)i * ldw + k);
                SITO_UNROLL
                for (int i = 0; i < 8; i += 2) {
                    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
                    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
                }
                SITO_UNROLL
                for (int i = 0; i < 8; i += 4) {
                    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
                    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
                    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
                    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
                }
                // r[0..3]: k+0, k+1, k+2, k+3 of rows 0-3 (low 128) and k+4..k+7 (high); r[4..7]: rows 4-7.
                SITO_UNROLL
                for (int j = 0; j < 4; j++) {
                    _mm256_storeu_ps(d + (k + (size_t)j) * nrp, _mm256_permute2f128_ps(r[j], r[j + 4], 0x20));
                    _mm256_storeu_ps(d + (k + 4 + (size_t)j) * nrp, _mm256_permute2f128_ps(r[j], r[j + 4], 0x31));
                }
            }
        for (; k < kc; k++)
            for (size_t i = 0; i < 8; i++) d[k * nrp + i] = i < rows ? w[i * ldw + k] : 0.0f;
    }
    // The rest of the last panel: zero columns.
    const size_t used = (nr + 7) / 8 * 8;
    if (used % nrp) {
        float *d = dst + (used / nrp) * kc * nrp;
        for (size_t k = 0; k < kc; k++)
            for (size_t j = used % nrp; j < nrp; j++) d[k * nrp + j] = 0.0f;
    }
}

// MARK: - avx2
#define GF_FN(name) name##_avx2
#define GF_TARGET SITO_TARGET_AVX2
#define VEC __m256
#define W 8
#define NV 2
#define MR 6
#define KC 256
#define NC 128
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_BCAST(p) _mm256_broadcast_ss(p)
#define V_ZERO _mm256_setzero_ps()
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define GF_PACK(Wt, ldw, nr, kc, dst) pack_t8(Wt, ldw, nr, kc, dst, 16)
#include "gemm_f32_simd.h"

// MARK: - avx512
#define GF_FN(name) name##_avx512
#define GF_TARGET SITO_TARGET_AVX512
#define VEC __m512
#define W 16
#define NV 2
#define MR 12
#define KC 256
#define NC 128
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_BCAST(p) _mm512_set1_ps(*(p))
#define V_ZERO _mm512_setzero_ps()
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define GF_PACK(Wt, ldw, nr, kc, dst) pack_t8(Wt, ldw, nr, kc, dst, 32)
#include "gemm_f32_simd.h"
#endif

#if SITO_ARM
// MARK: - neon
#define GF_FN(name) name##_neon
#define GF_TARGET
#define VEC float32x4_t
#define W 4
#define NV 3
#define MR 6
#define KC 256
#define NC 96
#define V_LOAD(p) vld1q_f32(p)
#define V_STORE(p, v) vst1q_f32(p, v)
#define V_BCAST(p) vld1q_dup_f32(p)
#define V_ZERO vdupq_n_f32(0.0f)
#define V_FMA(a, b, c) vfmaq_f32(c, a, b)
#define V_ADD(a, b) vaddq_f32(a, b)
#define GF_FMA_LANE(acc, w, xv, L) vfmaq_laneq_f32(acc, w, xv, L)
#include "gemm_f32_simd.h"
#endif

// MARK: - dispatch

const char *sito_gemm_f32_path_name(sito_isa level) {
    level = sito_clamp_isa(level);
    switch (sito_isa_family_of(level)) {
    case SITO_ISA_FAMILY_X86: return level >= SITO_ISA_AVX512 ? "avx512" : "avx2";
    case SITO_ISA_FAMILY_ARM: return "neon";
    default: return "scalar";
    }
}

void sito_gemm_f32_isa(sito_isa isa, const float *X, size_t ldx, const float *W, size_t ldw,
                       const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    if (M == 0 || N == 0) return;
    isa = sito_clamp_isa(isa);
    if (K == 0) {   // the empty sum: Y = 0 + bias
        for (size_t m = 0; m < M; m++)
            for (size_t n = 0; n < N; n++) Y[m * ldy + n] = bias ? 0.0f + bias[n] : 0.0f;
        return;
    }
#if SITO_X86
    if (isa >= SITO_ISA_AVX512) { gemm_avx512(X, ldx, W, ldw, bias, Y, ldy, M, N, K); return; }
    if (isa >= SITO_ISA_AVX2) { gemm_avx2(X, ldx, W, ldw, bias, Y, ldy, M, N, K); return; }
#endif
#if SITO_ARM
    if (sito_isa_family_of(isa) == SITO_ISA_FAMILY_ARM) { gemm_neon(X, ldx, W, ldw, bias, Y, ldy, M, N, K); return; }
#endif
    gemm_f32_scalar(X, ldx, W, ldw, bias, Y, ldy, M, N, K);
}

void sito_gemm_f32(const float *X, size_t ldx, const float *W, size_t ldw, const float *bias,
                   float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    sito_gemm_f32_isa(sito_kernels_isa(), X, ldx, W, ldw, bias, Y, ldy, M, N, K);
}
