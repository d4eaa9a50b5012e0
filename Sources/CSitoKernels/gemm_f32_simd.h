// gemm_f32_simd.h: the body of gemm_f32.c's SIMD paths (avx2, avx512, neon), written once over a vector
// type and included by gemm_f32.c once per instruction set with these macros defined (a C "template",
// like attention_simd.h; private to gemm_f32.c):
//   GF_FN(name)  the name with the path's suffix        GF_TARGET  the target attribute (may be empty)
//   VEC, W       the f32 vector type and its lanes       NV         vectors per tile row (NR = NV·W columns)
//   MR           rows of X per register tile             KC, NC     cache block: k per block, columns per
//                                                                   packed chunk (NC a multiple of NR)
//   V_LOAD(p), V_STORE(p, v), V_BCAST(p) (*p on every lane), V_ZERO, V_FMA(a, b, c) = a·b + c, V_ADD
//   GF_PACK(W, ldw, nr, kc, dst)  optional: a faster pack with the result of GF_FN(pack_ref)
//   GF_FMA_LANE(acc, w, xv, L)    optional: acc + w · xv[L] (lane L of a vector of 4 k of one X row), W == 4
// KC · NC ≤ GEMM_F32_PACK_FLOATS (gemm_f32.c).
// The end of this file undefines every one of them, ready for the next instantiation.
//
// Scheme (Y [M, N] = X [M, K] · Wᵀ + bias, W [N, K] row-major as stored):
//   for each block of KC k, for each chunk of NC columns: the chunk of W (NC rows × KC k) is packed into
//   the thread's buffer (gemm_f32_pack_buffer) as panels of NR columns, k-major (panel[k][j] =
//   W[n0 + j][k0 + k]; columns past N are 0);
//   then for each MR rows of X, for each panel: a register tile of MR × NV vectors accumulates
//   Σ_k X[m][k] · panel[k][:] by FMA (X's elements broadcast straight from its rows; no packing of X).
//   The first k block starts from 0, later ones from Y (the partial sums), and the last one adds the bias
//   after the whole sum, as the reference does.
//   Each output element is one f32 accumulator summing k in order with fused multiply-adds: it differs
//   from the reference only by the rounding of the products.
//   Small M (M < MR / 2; e.g. one query): packing W would cost more than the product, so each output is
//   instead a dot product of a row of X and a row of W, on W partial sums along k (rows of X in groups of
//   up to 3 against 4 rows of W), combined in a fixed order, then + bias.

#define NR (NV * W)

#ifndef GF_PACK
/// Packs W rows [0, nr) (nr ≤ NC), k [0, kc) into ⌈nr / NR⌉ panels of kc × NR floats (panel p at
/// dst + p·kc·NR): dst[p·kc·NR + k·NR + j] = W[(p·NR + j)·ldw + k], 0 for p·NR + j ≥ nr.
GF_TARGET static void GF_FN(pack_ref)(const float *Wt, size_t ldw, size_t nr, size_t kc, float *dst) {
    for (size_t p = 0; p * NR < nr; p++) {
        float *d = dst + p * kc * NR;
        const size_t cols = nr - p * NR < NR ? nr - p * NR : NR;
        for (size_t j = 0; j < cols; j++) {
            const float *w = Wt + (p * NR + j) * ldw;
            for (size_t k = 0; k < kc; k++) d[k * NR + j] = w[k];
        }
        for (size_t j = cols; j < NR; j++)
            for (size_t k = 0; k < kc; k++) d[k * NR + j] = 0.0f;
    }
}
#define GF_PACK(Wt, ldw, nr, kc, dst) GF_FN(pack_ref)(Wt, ldw, nr, kc, dst)
#endif

/// One register tile: rows [0, MT) of X (row stride ldx, already offset to the block's k0), one packed
/// panel P (kc × NR), columns [0, nr) of Y (FULL: nr == NR). Y = (first ? 0 : Y) + Σ_k X·P, then + bias
/// (non-NULL only for the last k block).
GF_TARGET SITO_INLINE void GF_FN(tile)(const int MT, const int FULL, const float *X, size_t ldx, const float *P,
                                       size_t kc, float *Y, size_t ldy, size_t nr, int first, const float *bias) {
    VEC acc[MR][NV];
    const float *x[MR];
    SITO_UNROLL
    for (int r = 0; r < MT; r++) {
        x[r] = X + (size_t)r * ldx;
        SITO_UNROLL
        for (int v = 0; v < NV; v++) acc[r][v] = V_ZERO;
        if (!first) {
            if (FULL) {
                SITO_UNROLL
                for (int v = 0; v < NV; v++) acc[r][v] = V_LOAD(Y + (size_t)r * ldy + (size_t)v * W);
            } else {
                float tmp[NR] = {0};
                memcpy(tmp, Y + (size_t)r * ldy, nr * sizeof(float));
                SITO_UNROLL
                for (int v = 0; v < NV; v++) acc[r][v] = V_LOAD(tmp + v * W);
            }
        }
    }
    size_t k0 = 0;
#ifdef GF_FMA_LANE
    // X's rows loaded 4 k at a time, each k taken by lane (NEON's fmla by element): 1 load per row and 4 k
    // instead of 4 broadcasts.
    for (; k0 + 4 <= kc; k0 += 4) {
        VEC xv[MR];
        SITO_UNROLL
        for (int r = 0; r < MT; r++) xv[r] = V_LOAD(x[r] + k0);
#define GF_K_STEP(L)                                                                                        \
    {                                                                                                      \
        VEC w[NV];                                                                                         \
        SITO_UNROLL                                                                                        \
        for (int v = 0; v < NV; v++) w[v] = V_LOAD(P + (k0 + L) * NR + (size_t)v * W);                     \
        SITO_UNROLL                                                                                        \
        for (int r = 0; r < MT; r++) {                                                                     \
            SITO_UNROLL                                                                                    \
            for (int v = 0; v < NV; v++) acc[r][v] = GF_FMA_LANE(acc[r][v], w[v], xv[r], L);               \
        }                                                                                                  \
    }
        GF_K_STEP(0)
        GF_K_STEP(1)
        GF_K_STEP(2)
        GF_K_STEP(3)
#undef GF_K_STEP
    }
#endif
    _Pragma("GCC unroll 4")
    for (size_t k = k0; k < kc; k++) {
        VEC w[NV];
        SITO_UNROLL
        for (int v = 0; v < NV; v++) w[v] = V_LOAD(P + k * NR + (size_t)v * W);
        SITO_UNROLL
        for (int r = 0; r < MT; r++) {
            const VEC b = V_BCAST(x[r] + k);
            SITO_UNROLL
            for (int v = 0; v < NV; v++) acc[r][v] = V_FMA(b, w[v], acc[r][v]);
        }
    }
    VEC bv[NV];
    if (bias) {
        if (FULL) {
            SITO_UNROLL
            for (int v = 0; v < NV; v++) bv[v] = V_LOAD(bias + (size_t)v * W);
        } else {
            float tmp[NR] = {0};
            memcpy(tmp, bias, nr * sizeof(float));
            SITO_UNROLL
            for (int v = 0; v < NV; v++) bv[v] = V_LOAD(tmp + v * W);
        }
    }
    SITO_UNROLL
    for (int r = 0; r < MT; r++) {
        if (bias) {
            SITO_UNROLL
            for (int v = 0; v < NV; v++) acc[r][v] = V_ADD(acc[r][v], bv[v]);
        }
        if (FULL) {
            SITO_UNROLL
            for (int v = 0; v < NV; v++) V_STORE(Y + (size_t)r * ldy + (size_t)v * W, acc[r][v]);
        } else {
            float tmp[NR];
            SITO_UNROLL
            for (int v = 0; v < NV; v++) V_STORE(tmp + v * W, acc[r][v]);
            memcpy(Y + (size_t)r * ldy, tmp, nr * sizeof(float));
        }
    }
}

/// Dot-product tile for small M: rows [0, MT) of X (MT ≤ 3) against rows [0, NT) of W (NT ≤ 4), all K.
/// Y[r][j] = (Σ over lanes, in a fixed order, of the lane partial sums + the in-order sum of the k tail)
/// + bias[j].
GF_TARGET SITO_INLINE void GF_FN(dot_tile)(const int MT, const float *X, size_t ldx, const float *Wt, size_t ldw,
                                           size_t NT, const float *bias, float *Y, size_t ldy, size_t K) {
    VEC acc[3][4];
    const float *w[4];
    SITO_UNROLL
    for (int j = 0; j < 4; j++) {
        w[j] = Wt + ((size_t)j < NT ? (size_t)j : NT - 1) * ldw;
        SITO_UNROLL
        for (int r = 0; r < MT; r++) acc[r][j] = V_ZERO;
    }
    size_t k = 0;
    for (; k + W <= K; k += W) {
        VEC xv[3];
        SITO_UNROLL
        for (int r = 0; r < MT; r++) xv[r] = V_LOAD(X + (size_t)r * ldx + k);
        SITO_UNROLL
        for (int j = 0; j < 4; j++) {
            const VEC wv = V_LOAD(w[j] + k);
            SITO_UNROLL
            for (int r = 0; r < MT; r++) acc[r][j] = V_FMA(xv[r], wv, acc[r][j]);
        }
    }
    SITO_UNROLL
    for (int r = 0; r < MT; r++) {
        const float *xr = X + (size_t)r * ldx;
        SITO_UNROLL
        for (int j = 0; j < 4; j++) {
            if ((size_t)j >= NT) break;
            float lanes[W];
            V_STORE(lanes, acc[r][j]);
            for (int h = W / 2; h >= 1; h /= 2)   // pairwise tree over the lanes
                for (int l = 0; l < h; l++) lanes[l] = lanes[l] + lanes[l + h];
            float s = lanes[0];
            for (size_t t = k; t < K; t++) s = s + xr[t] * w[j][t];
            Y[(size_t)r * ldy + (size_t)j] = bias ? s + bias[j] : s;
        }
    }
}

GF_TARGET static void GF_FN(gemm_dot)(const float *X, size_t ldx, const float *Wt, size_t ldw, const float *bias,
                                      float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    for (size_t m0 = 0; m0 < M; m0 += 3) {
        const size_t mt = M - m0 < 3 ? M - m0 : 3;
        for (size_t n0 = 0; n0 < N; n0 += 4) {
            const size_t nt = N - n0 < 4 ? N - n0 : 4;
            const float *x = X + m0 * ldx, *w = Wt + n0 * ldw, *b = bias ? bias + n0 : NULL;
            float *y = Y + m0 * ldy + n0;
            switch (mt) {
            case 1: GF_FN(dot_tile)(1, x, ldx, w, ldw, nt, b, y, ldy, K); break;
            case 2: GF_FN(dot_tile)(2, x, ldx, w, ldw, nt, b, y, ldy, K); break;
            default: GF_FN(dot_tile)(3, x, ldx, w, ldw, nt, b, y, ldy, K); break;
            }
        }
    }
}

/// The path: Y = X · Wᵀ + bias for M, N, K ≥ 1 (see the scheme above).
GF_TARGET static void GF_FN(gemm)(const float *X, size_t ldx, const float *Wt, size_t ldw, const float *bias,
                                  float *Y, size_t ldy, size_t M, size_t N, size_t K) {
    if (2 * M < MR) {
        GF_FN(gemm_dot)(X, ldx, Wt, ldw, bias, Y, ldy, M, N, K);
        return;
    }
    float *pack = gemm_f32_pack_buffer();
    if (!pack) {   // no memory for the packed chunk: the kernel that needs none
        GF_FN(gemm_dot)(X, ldx, Wt, ldw, bias, Y, ldy, M, N, K);
        return;
    }
    for (size_t k0 = 0; k0 < K; k0 += KC) {
        const size_t kc = K - k0 < KC ? K - k0 : KC;
        const int first = k0 == 0, last = k0 + kc == K;
        for (size_t n0 = 0; n0 < N; n0 += NC) {
            const size_t nc = N - n0 < NC ? N - n0 : NC;
            GF_PACK(Wt + n0 * ldw + k0, ldw, nc, kc, pack);
            for (size_t m0 = 0; m0 < M; m0 += MR) {
                const size_t mt = M - m0 < MR ? M - m0 : MR;
                const float *x = X + m0 * ldx + k0;
                // The next tile's rows of X and of Y, while this one runs over the chunk's panels (rows
                // K and N apart: several streams no hardware prefetcher follows; with many rows, Y's
                // partial sums come back from memory at every k block).
                for (size_t r = m0 + MR; r < m0 + 2 * MR && r < M; r++) {
                    for (size_t k = 0; k < kc; k += 16) __builtin_prefetch(X + r * ldx + k0 + k, 0, 3);
                    for (size_t c = 0; c < nc; c += 16) __builtin_prefetch(Y + r * ldy + n0 + c, 1, 3);
                }
                for (size_t p = 0; p * NR < nc; p++) {
                    const size_t nr = nc - p * NR < NR ? nc - p * NR : NR;
                    const float *panel = pack + p * kc * NR, *b = last && bias ? bias + n0 + p * NR : NULL;
                    float *y = Y + m0 * ldy + n0 + p * NR;
                    if (mt == MR && nr == NR) {
                        GF_FN(tile)(MR, 1, x, ldx, panel, kc, y, ldy, NR, first, b);
                        continue;
                    }
                    switch (mt) {
#define GF_TAIL(MT) \
    case MT: GF_FN(tile)(MT, 0, x, ldx, panel, kc, y, ldy, nr, first, b); break;
                        GF_TAIL(1) GF_TAIL(2) GF_TAIL(3) GF_TAIL(4) GF_TAIL(5) GF_TAIL(6)
#if MR > 6
                        GF_TAIL(7) GF_TAIL(8)
#endif
#if MR > 8
                        GF_TAIL(9) GF_TAIL(10) GF_TAIL(11) GF_TAIL(12)
#endif
#undef GF_TAIL
                    default: break;
                    }
                }
            }
        }
    }
}

#undef NR
#undef GF_FN
#undef GF_TARGET
#undef VEC
#undef W
#undef NV
#undef MR
#undef KC
#undef NC
#undef V_LOAD
#undef V_STORE
#undef V_BCAST
#undef V_ZERO
#undef V_FMA
#undef V_ADD
#undef GF_PACK
#undef GF_FMA_LANE
