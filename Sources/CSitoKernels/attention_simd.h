// attention_simd.h: the body of attention.c's avx512 and avx2 paths (f32 scheme, and the bf16 scheme on
// bf16-rounded f32 values), written once over a vector type and included by attention.c once per
// instruction set with these macros defined (a C "template"; private to attention.c):
//   ATT_FN(name)   the name with the path's suffix         ATT_TARGET  the target attribute
//   VEC, W         the f32 vector type and its lanes       QG          query vectors per score tile
//   JR             keys per score tile                     IR, CG      query rows × column vectors per
//                                                                      value tile
//   MASK, V_MASK(n) a mask type and the mask of the first n ≤ W lanes
//   V_LOAD, V_STORE, V_LOADM(p, m) (masked-off lanes 0), V_STOREM(p, m, v), V_SET1, V_ZERO,
//   V_FMA(a, b, c) = a·b + c, V_MUL, V_ADD, V_SUB, V_MAX, V_EXP,
//   V_ROUND_BF16 (each lane to the nearest bf16, nearest even, kept as f32; finite non-NaN lanes only),
//   ATT_PACK_QUERY (pack_query_transposed of attention.c, or a version with the same result that
//   transposes in registers).
// The end of this file undefines every one of them, ready for the next instantiation.
//
// Layout (attention.c, "Scratch"). Scores: queries on the lanes. qt [d][QMAX] = Qᵀ, st [KB][QMAX] = Sᵀ
// then Pᵀ, m/l/c [QMAX]. A query block of bq rows uses nqv = ⌈bq/W⌉ vectors of each row of these,
// processed QG vectors at a time ("a group"); lanes past bq hold Q = 0 (finite, never written out).
// Values: columns of V on the lanes, o [QMAX][dv] (dv = d rounded up to 16) the running output rows.
//   score tile : st[j][g] = scale · Σ_k K[j,k] · qt[k][g]              JR keys × NQ query vectors, k in order
//   softmax    : per lane, vertical over the block's rows (no horizontal reductions)
//   value tile : o[i][cv] = o[i][cv] · c[i] + Σ_j st[j][i] · V[j][cv]  IR rows × NC column vectors, j in order;
//                the last key block writes o[i] · (1 / l[i]) into O instead (no transposition anywhere)
// NQ (≤ QG) and NC (≤ CG) are compile-time constants in every instantiation (the callers switch on them),
// so the accumulator arrays live in registers.

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

/// Scores and the online-softmax step of one key block for one group of NQ query vectors (every pointer
/// already offset to the group's lanes): st becomes the probabilities (rounded to bf16 when `round_p`),
/// m and l are updated and cs gets each lane's rescaling factor c.
ATT_TARGET SITO_INLINE void ATT_FN(scores_softmax)(const int NQ, const float *K, size_t ldk, size_t bk, size_t d,
                                                   float scale, int first, int round_p, const float *qt,
                                                   float *st, float *m, float *l, float *cs) {
    for (size_t j = 0; j < bk; j += JR)
        ATT_FN(score_tile)(NQ, K + j * ldk, ldk, bk - j < JR ? bk - j : JR, qt, d, scale, st + j * QMAX);
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
        V_STORE(cs + (size_t)v * W, c);
    }
}

/// One value tile: query rows [i0, i0 + ir) (ir ≤ IR; rows past ir repeat the last one and are not
/// stored), NC column vectors from column c0 (masks cm; FULL: every vector is whole, plain loads), over
/// keys [0, bk):
///   acc = (first ? 0 : o[i] · cs[i]) + Σ_j st[j][i] · V[j, cols]
/// stored to o, or, for the last key block (inv non-NULL), acc · inv[i] stored to O.
ATT_TARGET SITO_INLINE void ATT_FN(value_tile)(const int NC, const int FULL, const float *V, size_t ldv, size_t bk, size_t i0,
                                               size_t ir, size_t c0, const MASK *cm, const float *st,
                                               const float *cs, int first, const float *inv, float *o, size_t dv,
                                               float *O, size_t ldo) {
    VEC acc[IR][CG];
    size_t row[IR];
    SITO_UNROLL
    for (int r = 0; r < IR; r++) {
        row[r] = i0 + ((size_t)r < ir ? (size_t)r : ir - 1);
        const VEC c = V_SET1(cs[row[r]]);
        SITO_UNROLL
        for (int v = 0; v < NC; v++)
            acc[r][v] = first ? V_ZERO : V_MUL(V_LOAD(o + row[r] * dv + c0 + (size_t)v * W), c);
    }
    for (size_t j = 0; j < bk; j++) {
        VEC x[CG];
        SITO_UNROLL
        for (int v = 0; v < NC; v++)
            x[v] = FULL ? V_LOAD(V + j * ldv + c0 + (size_t)v * W) : V_LOADM(V + j * ldv + c0 + (size_t)v * W, cm[v]);
        SITO_UNROLL
        for (int r = 0; r < IR; r++) {
            const VEC p = V_SET1(st[j * QMAX + row[r]]);
            SITO_UNROLL
            for (int v = 0; v < NC; v++) acc[r][v] = V_FMA(p, x[v], acc[r][v]);
        }
    }
    SITO_UNROLL
    for (int r = 0; r < IR; r++) {
        if ((size_t)r >= ir) break;
        if (inv) {
            const VEC s = V_SET1(inv[row[r]]);
            SITO_UNROLL
            for (int v = 0; v < NC; v++) {
                float *y = O + row[r] * ldo + c0 + (size_t)v * W;
                if (FULL) V_STORE(y, V_MUL(acc[r][v], s));
                else V_STOREM(y, cm[v], V_MUL(acc[r][v], s));
            }
        } else {
            SITO_UNROLL
            for (int v = 0; v < NC; v++) V_STORE(o + row[r] * dv + c0 + (size_t)v * W, acc[r][v]);
        }
    }
}

/// The value tiles of one key block over all bq rows and d columns (see value_tile).
ATT_TARGET SITO_INLINE void ATT_FN(values)(const float *V, size_t ldv, size_t bk, size_t bq, size_t d,
                                           const float *st, const float *cs, int first, const float *inv,
                                           float *o, size_t dv, float *O, size_t ldo) {
    for (size_t c0 = 0; c0 < d; c0 += (size_t)CG * W) {
        MASK cm[CG];
        int nc = 0;
        for (int v = 0; v < CG; v++) {
            const size_t c = c0 + (size_t)v * W;
            cm[v] = V_MASK(c < d ? (d - c < W ? d - c : W) : 0);
            if (c < d) nc = v + 1;
        }
        const int full = d - c0 >= (size_t)CG * W;
        for (size_t i0 = 0; i0 < bq; i0 += IR) {
            const size_t ir = bq - i0 < IR ? bq - i0 : IR;
            if (full) {
                ATT_FN(value_tile)(CG, 1, V, ldv, bk, i0, ir, c0, cm, st, cs, first, inv, o, dv, O, ldo);
                continue;
            }
            switch (nc) {
#define ATT_VALUES(NC)                                                                                       \
    case NC: ATT_FN(value_tile)(NC, 0, V, ldv, bk, i0, ir, c0, cm, st, cs, first, inv, o, dv, O, ldo); break;
                ATT_VALUES(1)
#if CG >= 2
                ATT_VALUES(2)
#endif
#if CG >= 3
                ATT_VALUES(3)
#endif
#if CG >= 4
                ATT_VALUES(4)
#endif
#undef ATT_VALUES
            default: break;
            }
        }
    }
}

/// One query block of bq ≤ QMAX rows. bf16 scheme when kv is non-NULL (K, V, ldk, ldv unused): Q rounded
/// while packed, each key block of K and V widened from kv into f32 scratch, probabilities rounded.
ATT_TARGET static void ATT_FN(query_block)(const float *Q, size_t ldq, const float *K, size_t ldk, const float *V,
                                         size_t ldv, const uint16_t *kv, float *O, size_t ldo, size_t bq,
                                         size_t L, size_t d, float scale, void *scratch) {
    const scratch_layout s = layout(scratch, d);
    const size_t nqv = (bq + W - 1) / W, dv = s.dv;
    const int bf16 = kv != NULL;
    ATT_PACK_QUERY(Q, ldq, bq, nqv * W, d, bf16, s.qt);
    for (size_t j0 = 0; j0 < L; j0 += KB) {
        const size_t bk = L - j0 < KB ? L - j0 : KB;
        const int first = j0 == 0, last = j0 + bk == L;
        if (bf16) {
            widen_kv_block(kv, L, d, j0, bk, s.kf, s.vf);
        } else {
            copy_kv_block(K + j0 * ldk, ldk, V + j0 * ldv, ldv, bk, d, s.kf, s.vf);
            if (!last) {   // the next key block's rows, while this one is computed (rows 4 KiB apart: no
                           // hardware prefetcher follows them)
                const size_t next = L - j0 - bk < KB ? L - j0 - bk : KB;
                prefetch_rows(K + (j0 + bk) * ldk, ldk, next, d, 3);
                prefetch_rows(V + (j0 + bk) * ldv, ldv, next, d, 3);
            }
        }
        for (size_t g = 0; g < nqv; g += QG) {
            const size_t o = g * W;
            switch (nqv - g < QG ? nqv - g : QG) {
#define ATT_GROUP(NQ)                                                                                   \
    case NQ:                                                                                            \
        ATT_FN(scores_softmax)(NQ, s.kf, d, bk, d, scale, first, bf16, s.qt + o, s.st + o, s.m + o,    \
                               s.l + o, s.c + o);                                                       \
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
        if (last)
            for (size_t i = 0; i < bq; i++) s.inv[i] = 1.0f / s.l[i];
        ATT_FN(values)(s.vf, d, bk, bq, d, s.st, s.c, first, last ? s.inv : NULL, s.o, dv, O, ldo);
    }
}

// The template's parameters, undefined for the next instantiation.
#undef ATT_FN
#undef ATT_TARGET
#undef VEC
#undef W
#undef QG
#undef JR
#undef V_LOAD
#undef V_STORE
#undef V_SET1
#undef V_ZERO
#undef V_FMA
#undef V_MUL
#undef V_ADD
#undef V_SUB
#undef V_MAX
#undef V_EXP
#undef V_ROUND_BF16
#undef ATT_PACK_QUERY
#undef IR
#undef CG
#undef MASK
#undef V_MASK
#undef V_LOADM
#undef V_STOREM
