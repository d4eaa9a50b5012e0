// gemm_f32.c: Y = X · Wᵀ + bias for f32 weights, the runtime's own f32 GEMM (used when Sito is built
// without OpenBLAS). The scalar reference is a plain k-ordered sum per element; SIMD paths are chosen at
// run time (sito_kernels.h, "f32 GEMM").
#include "kernels_internal.h"

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

const char *sito_gemm_f32_path_name(sito_isa level) {
    (void)level;
    return "scalar";
}

void sito_gemm_f32_isa(sito_isa isa, const float *X, size_t ldx, const float *W, size_t ldw,
                       const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    (void)isa;
    gemm_f32_scalar(X, ldx, W, ldw, bias, Y, ldy, M, N, K);
}

void sito_gemm_f32(const float *X, size_t ldx, const float *W, size_t ldw, const float *bias,
                   float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    sito_gemm_f32_isa(sito_kernels_isa(), X, ldx, W, ldw, bias, Y, ldy, M, N, K);
}
