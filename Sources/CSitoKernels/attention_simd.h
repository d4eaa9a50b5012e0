// attention_simd.h: the body of attention.c's avx512 and avx2 paths (f32 scheme, and the bf16 scheme on
// bf16-rounded f32 values), written once over a vector type and included by attention.c once per
// instruction set with these macros defined (a C "template"; private to attention.c):
//   ATT_FN(name)   the name with the path's suffix         ATT_TARGET  the target attribute
//   VEC, W         the f32 vector type and its lanes       QG          query vectors per register tile
//   JR             keys per score tile                     CR          V columns per value tile
//   V_LOAD, V_STORE, V_SET1, V_ZERO, V_FMA(a, b, c) = a·b + c, V_MUL, V_ADD, V_SUB, V_MAX, V_EXP,
//   V_ROUND_BF16 (each lane to the nearest bf16, nearest even, kept as f32; finite non-NaN lanes only),
//   ATT_PACK_QUERY, ATT_WRITE_OUTPUT (pack_query_transposed and write_output of attention.c, or versions
//   with the same results that transpose in registers).
//
// Layout (attention.c, "Scratch"): queries on the lanes. qt [d][QMAX] = Qᵀ, st [KB][QMAX] = Sᵀ then Pᵀ,
// ot [d][QMAX] = Oᵀ, m/l/c [QMAX]. A query block of bq rows uses nqv = ⌈bq/W⌉ vectors of each row of
// these, processed QG vectors at a time ("a group"); lanes past bq hold Q = 0 (finite, never written out).
//   score tile : st[j][g] = scale · Σ_k K[j,k] · qt[k][g]            JR keys × NQ vectors, k in order
//   softmax    : per lane, vertical over the block's rows (no horizontal reductions)
//   value tile : ot[c][g] = ot[c][g] · c[g] + Σ_j V[j,c] · st[j][g]   CR columns × NQ vectors, j in order
// NQ (≤ QG) is a compile-time constant in every instantiation (the callers switch on it), so the
// accumulator arrays live in registers.

/// One score tile: keys [0, jr) of K (rows at K + j·ldk; jr ≤ JR; rows past jr repeat the last one and
/// are not stored), NQ query vectors of qt.
ATT_TARGET SITO_INLINE void ATT_FN(score_tile)(const int NQ, const float *K, size_t ldk, size_t jr,
                                               const float *qt, size_t d, float scale, float *st) {
    VEC acc[JR][QG];
    const float *krow[JR];
    SITO_UNROLL
    for (int r = 0; r < JR; r++) {
        krow[r] = K + ((size_t)r < jr ? (size_t)r : jr - 1) * ldk;
        SITO_UNROLL
        for (int v = 0; v < NQ; v++) acc[r][v] = V_ZERO;
    }
    for (size_t k = 0; k < d; k++) {
        VEC q[QG];
        SITO_UNROLL
        for (int v = 0; v < NQ; v++) q[v] = V_LOAD(qt + k * QMAX + (size_t)v * W);
        SITO_UNROLL
        for (int r = 0; r < JR; r++) {
            const VEC kb = V_SET1(krow[r][k]);
            SITO_UNROLL
            for (int v = 0; v < NQ; v++) acc[r][v] = V_FMA(kb, q[v], acc[r][v]);
        }
    }
    const VEC vs = V_SET1(scale);
    SITO_UNROLL
    for (int r = 0; r < JR; r++) {
        if ((size_t)r >= jr) break;
        SITO_UNROLL
        for (int v = 0; v < NQ; v++) V_STORE(st + (size_t)r * QMAX + (size_t)v * W, V_MUL(acc[r][v], vs));
    }
}

/// One value tile: columns [c0, c0 + cr) of V (cr ≤ CR; columns past cr repeat the last one and are not
/// stored) over keys [0, bk): ot = (first ? 0 : ot · cs) + Σ_j V[j,c] · st[j].
ATT_TARGET SITO_INLINE void ATT_FN(value_tile)(const int NQ, const float *V, size_t ldv, size_t bk, size_t c0,
                                               size_t cr, const float *st, const VEC *cs, int first,
                                               float *ot) {
    VEC acc[CR][QG];
    size_t col[CR];
    SITO_UNROLL
    for (int r = 0; r < CR; r++) {
        col[r] = c0 + ((size_t)r < cr ? (size_t)r : cr - 1);
        SITO_UNROLL
        for (int v = 0; v < NQ; v++)
            acc[r][v] = first ? V_ZERO : V_MUL(V_LOAD(ot + col[r] * QMAX + (size_t)v * W), cs[v]);
    }
    for (size_t j = 0; j < bk; j++) {
        VEC p[QG];
        SITO_UNROLL
        for (int v = 0; v < NQ; v++) p[v] = V_LOAD(st + j * QMAX + (size_t)v * W);
        const float *vr = V + j * ldv;
        SITO_UNROLL
        for (int r = 0; r < CR; r++) {
            const VEC vb = V_SET1(vr[col[r]]);
            SITO_UNROLL
            for (int v = 0; v < NQ; v++) acc[r][v] = V_FMA(vb, p[v], acc[r][v]);
        }
    }
    SITO_UNROLL
    for (int r = 0; r < CR; r++) {
        if ((size_t)r >= cr) break;
        SITO_UNROLL
        for (int v = 0; v < NQ; v++) V_STORE(ot + col[r] * QMAX + (size_t)v * W, acc[r][v]);
    }
}

/// One key block for one group of NQ query vectors (every pointer already offset to the group's lanes):
/// scores, the online-softmax step (probabilities rounded to bf16 when `round_p`), the value tiles.
ATT_TARGET SITO_INLINE void ATT_FN(group_block)(const int NQ, const float *K, size_t ldk, const float *V,
                                                size_t ldv, size_t bk, size_t d, float scale, int first,
                                                int round_p, const float *qt, float *st, float *ot, float *m,
                                                float *l) {
    for (size_t j = 0; j < bk; j += JR)
        ATT_FN(score_tile)(NQ, K + j * ldk, ldk, bk - j < JR ? bk - j : JR, qt, d, scale, st + j * QMAX);
    VEC cs[QG];
    SITO_UNROLL
    for (int v = 0; v < NQ; v++) {
        float *s = st + (size_t)v * W;
        const VEC mold = first ? V_SET1(-INFINITY) : V_LOAD(m + (size_t)v * W);
        VEC mx = mold;
        for (size_t j = 0; j < bk; j++) mx = V_MAX(mx, V_LOAD(s + j * QMAX));
        const VEC c = first ? V_ZERO : V_EXP(V_SUB(mold, mx));
        VEC sum = V_ZERO;
        for (size_t j = 0; j < bk; j++) {
            VEC p = V_EXP(V_SUB(V_LOAD(s + j * QMAX), mx));
            if (round_p) p = V_ROUND_BF16(p);
            V_STORE(s + j * QMAX, p);
            sum = V_ADD(sum, p);
        }
        // l·c + Σ p (a multiply, then an add: as the reference)
        const VEC lnew = first ? sum : V_ADD(V_MUL(V_LOAD(l + (size_t)v * W), c), sum);
        V_STORE(l + (size_t)v * W, lnew);
        V_STORE(m + (size_t)v * W, mx);
        cs[v] = c;
    }
    for (size_t c0 = 0; c0 < d; c0 += CR)
        ATT_FN(value_tile)(NQ, V, ldv, bk, c0, d - c0 < CR ? d - c0 : CR, st, cs, first, ot);
}

/// The path's driver. bf16 scheme when kv is non-NULL (K, V, ldk, ldv unused): Q rounded while packed,
/// each key block of K and V widened from kv into f32 scratch, probabilities rounded.
ATT_TARGET static void ATT_FN(attention)(const float *Q, size_t ldq, const float *K, size_t ldk, const float *V,
                                         size_t ldv, const uint16_t *kv, float *O, size_t ldo, size_t bq,
                                         size_t L, size_t d, float scale, void *scratch) {
    const scratch_layout s = layout(scratch, d);
    const size_t nqv = (bq + W - 1) / W;
    const int bf16 = kv != NULL;
    ATT_PACK_QUERY(Q, ldq, bq, nqv * W, d, bf16, s.qt);
    for (size_t j0 = 0; j0 < L; j0 += KB) {
        const size_t bk = L - j0 < KB ? L - j0 : KB;
        const float *Kb = K + j0 * ldk, *Vb = V + j0 * ldv;
        size_t ldkb = ldk, ldvb = ldv;
        if (bf16) widen_kv_block(kv, L, d, j0, bk, s.kf, s.vf);
        else copy_kv_block(Kb, ldk, Vb, ldv, bk, d, s.kf, s.vf);
        Kb = s.kf;
        Vb = s.vf;
        ldkb = ldvb = d;
        for (size_t g = 0; g < nqv; g += QG) {
            const size_t o = g * W;
            switch (nqv - g < QG ? nqv - g : QG) {
#define ATT_GROUP(NQ)                                                                                    \
    case NQ:                                                                                             \
        ATT_FN(group_block)(NQ, Kb, ldkb, Vb, ldvb, bk, d, scale, j0 == 0, bf16, s.qt + o, s.st + o,    \
                            s.ot + o, s.m + o, s.l + o);                                                 \
        break;
                ATT_GROUP(1)
#if QG >= 2
                ATT_GROUP(2)
#endif
#if QG >= 3
                ATT_GROUP(3)
#endif
#if QG >= 4
                ATT_GROUP(4)
#endif
#undef ATT_GROUP
            default: break;
            }
        }
    }
    ATT_WRITE_OUTPUT(s.ot, s.l, bq, d, O, ldo);
}
