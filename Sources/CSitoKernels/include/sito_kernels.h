// sito_kernels.h: the compute kernels of Sito's runtime: int8 and bf16 GEMMs,
// per-row int8 quantization, bf16/f16 conversions, run-time instruction-set selection, the f32
// helpers of the forward pass (e^x, GELU, residual add + LayerNorm, online-softmax steps), and the fused
// attention of a query block (f32 or bf16 operands).
//
// Plain C11. Every SIMD path is compiled per function with __attribute__((target(...))) and chosen at
// RUN time from cpuid/xgetbv; nothing here needs -march or unsafeFlags. Every kernel has a portable
// scalar reference, and tests (Tests/CSitoKernelsTests) compare every path the machine has against it.
//
// Conventions
//   - Matrices are row-major. A "row stride" (ldx, ldw, ldy, …) is in ELEMENTS, not bytes, and is ≥ the
//     row length. Shapes are written [rows, cols].
//   - Pointers are non-null unless documented "nullable". Sizes may be 0 (the call then does nothing).
//   - GEMMs are single-threaded and reentrant. To use several threads, split the output: a thread that
//     takes weight rows [n0, n1) passes W + n0*ldw, w_scale + n0, w_sums + n0, bias + n0, Y + n0 and
//     N = n1 - n0 (the same ldy); splitting over M offsets X, x_scale and Y by m0 rows.
//
// CROSS-LANGUAGE CONTRACT: the numerical schemes below are simulated exactly by tools/simulate_quant.py
// (numpy/torch float32 arithmetic). Every rounding step is spelled out; change one and the simulation
// must change with it. formats/sito.md ("Dtypes") and formats/quantization.md state the same convention
// for the weights stored in files: value = q × scale, scale = step = amax / 127, q ∈ [-127, 127].
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Instruction-set selection ------------------------------------------------------------------

/// Instruction-set levels, ordered: a level implies every lower one. A CPU's level is the highest one
/// whose features it (and the OS, via xgetbv) supports.
///   SCALAR         portable C; the reference for every kernel.
///   AVX2           AVX2 + FMA.
///   AVX512         AVX-512 F, BW, VL (DQ not required).
///   AVX512_VNNI    AVX512 + AVX512_VNNI (vpdpbusd).
///   AVX512_BF16    AVX512_VNNI + AVX512_BF16 (vdpbf16ps).
/// Which kernel path a level selects (x86 rows; the aarch64 rows follow the aarch64 levels below):
///   int8 GEMM       : ≥ AVX512_VNNI → "avx512vnni"; ≥ AVX2 → "avx2"; else "scalar".
///   int8-a16 GEMM   : ≥ AVX512_VNNI → "avx512vnni"; ≥ AVX512 → "avx512"; ≥ AVX2 → "avx2"; else "scalar"
///                     (sito_gemm_i8_a16_path_name; row-major and blocked16 alike).
///   bf16 GEMM       : ≥ AVX512_BF16 → "avx512bf16"; ≥ AVX512 → "avx512"; ≥ AVX2 → "avx2"; else "scalar".
///   quantize / convert: ≥ AVX512 → "avx512"; ≥ AVX2 → "avx2" (quantize only); else "scalar" (quantize:
///                     sito_quantize_rows_i8 and sito_quantize_rows_i16 alike).
///   attention       : f32 ≥ AVX512 → "avx512"; ≥ AVX2 → "avx2"; any ARM level → "neon"; bf16 also
///                     ≥ AVX512_BF16 → "avx512bf16", ≥ NEON_BF16 → "neon-bf16" (sito_attention_path_name);
///                     else "scalar".
///   f32 helpers, f32 GEMM: ≥ AVX512 → "avx512"; ≥ AVX2 → "avx2"; any ARM level → "neon"; else "scalar".
/// All paths of the quantize and convert kernels, and all paths of the int8 and int8-a16 GEMMs, give
/// BIT-IDENTICAL results; bf16 GEMM paths differ only as documented at sito_gemm_bf16 (both architectures).
///
/// aarch64 has its own chain of levels, after the x86 ones; a binary is built for one architecture, so
/// a process only ever sees SCALAR and the levels of its own chain (sito_kernels_detect_isa never returns
/// another chain's level, and the _isa entry points clamp a foreign level to SCALAR). Compare levels only
/// within a chain (sito_isa_family), never across.
///   NEON           ARMv8.0 Advanced SIMD: every aarch64 CPU (Cortex-A53, Raspberry Pi 3/4).
///   NEON_DOTPROD   NEON + SDOT/UDOT (ARMv8.2 dotprod; Linux HWCAP_ASIMDDP): Cortex-A76/A78, Neoverse N1,
///                  Raspberry Pi 5, Graviton2, Apple M1.
///   NEON_I8MM      NEON_DOTPROD + SMMLA/USMMLA (HWCAP2_I8MM).
///   NEON_BF16      NEON_I8MM + BFDOT/BFMMLA (HWCAP2_BF16): Neoverse V1/N2, Graviton3/4, Apple M2+.
/// Selection on Linux: getauxval(AT_HWCAP / AT_HWCAP2). A CPU with bf16 but no i8mm gets NEON_DOTPROD.
/// Which kernel path an aarch64 level selects (row-major and blocked16 weights alike):
///   int8 GEMM       : ≥ NEON_I8MM → "neon-i8mm" (SMMLA); ≥ NEON_DOTPROD → "neon-dotprod" (SDOT);
///                     NEON → "neon" (SMULL/SMLAL + SADALP).
///   int8-a16 GEMM   : every level → "neon" (SXTL + SMLAL/SMLAL2 by lane).
///   bf16 GEMM       : NEON_BF16 → "neon-bf16" (BFMMLA row-major, BFDOT blocked16); else "neon" (widen
///                     by a 16-bit shift, FMA in f32).
///   quantize / convert: every level → "neon".
/// Tests and tools/edge/test-aarch64.sh (qemu: Cortex-A53, Cortex-A76, max) run every one of them.
typedef enum {
    SITO_ISA_SCALAR = 0,
    SITO_ISA_AVX2 = 1,
    SITO_ISA_AVX512 = 2,
    SITO_ISA_AVX512_VNNI = 3,
    SITO_ISA_AVX512_BF16 = 4,
    SITO_ISA_NEON = 5,
    SITO_ISA_NEON_DOTPROD = 6,
    SITO_ISA_NEON_I8MM = 7,
    SITO_ISA_NEON_BF16 = 8,
} sito_isa;

/// Which chain a level belongs to: SCALAR is PORTABLE; AVX2…AVX512_BF16 are X86; NEON…NEON_BF16 are ARM.
typedef enum {
    SITO_ISA_FAMILY_PORTABLE = 0,
    SITO_ISA_FAMILY_X86 = 1,
    SITO_ISA_FAMILY_ARM = 2,
} sito_isa_family;
sito_isa_family sito_isa_family_of(sito_isa level);

/// The highest level this CPU supports (x86: cpuid + xgetbv; aarch64 Linux: getauxval; Apple: sysctlbyname,
/// untested; SCALAR elsewhere). Cached.
sito_isa sito_kernels_detect_isa(void);

/// The level the un-suffixed kernels use. Initially the detected level, lowered by the environment
/// variable SITO_ISA (one of the names below, e.g. SITO_ISA=avx2) when it is set at first use.
sito_isa sito_kernels_isa(void);

/// Forces the level of the un-suffixed kernels (clamped to the detected level; returns the level now in
/// effect). Process-wide: meant for tests and benchmarks. Kernels with an explicit `isa` argument ignore it.
sito_isa sito_kernels_set_isa(sito_isa level);

/// "scalar", "avx2", "avx512", "avx512vnni", "avx512bf16", "neon", "neon-dotprod", "neon-i8mm", "neon-bf16"
/// (the names SITO_ISA accepts); "?" otherwise.
const char *sito_kernels_isa_name(sito_isa level);

/// The name of the path the int8 / bf16 GEMM takes at `level` (see the tables above), e.g. "avx2",
/// "neon-dotprod"; `level` is clamped to this CPU first (a level of another chain gives "scalar").
const char *sito_gemm_i8_path_name(sito_isa level);
const char *sito_gemm_bf16_path_name(sito_isa level);
/// The same for sito_quantize_rows_i8 and for sito_f32_to_bf16 ("convert").
const char *sito_quantize_path_name(sito_isa level);
const char *sito_convert_path_name(sito_isa level);

// MARK: - int8: per-row symmetric quantization --------------------------------------------------------

/// Quantizes each row of X [M, K] (row stride ldx) to int8 with one f32 step scale per row. Used for
/// BOTH the weights (by sito-quantize, once) and the activations (per token, dynamically, by the runtime).
///
/// Exactly, for each row m, in IEEE binary32 arithmetic with round-to-nearest-even:
///   amax      = max_k |X[m,k]|
///   scale[m]  = amax / 127.0f                         (one f32 division)
///   q[m,k]    = scale[m] == 0 ? 0
///             : (int8) clamp(rint(X[m,k] / scale[m]), -127, 127)
///               (one f32 division per element — NOT a multiplication by 127/amax or by 1/scale;
///                rint = round half to even, i.e. nearbyintf in the default rounding mode, numpy.rint)
/// So q ∈ [-127, 127] (-128 never occurs) and q[m,k] × scale[m] approximates X[m,k]. A row of zeros has
/// scale 0 and q = 0. (A row whose amax is subnormal may get scale 0 too: then q = 0, by the same rule.)
/// Non-finite input: a row containing a NaN or ±Inf gets scale[m] = NaN and q[m,:] = 0, so anything
/// computed from it is NaN, never a silently wrong finite number; such rows are counted.
///
/// q [M, K] has row stride ldq. Returns the number of rows that contained a NaN or Inf.
/// Python (tools/simulate_quant.py), with float32 arrays:
///   s = np.abs(x).max(-1, keepdims=True) / np.float32(127)
///   q = np.where(s == 0, 0, np.clip(np.rint(x / np.where(s == 0, 1, s)), -127, 127))
size_t sito_quantize_rows_i8(const float *X, size_t ldx, size_t M, size_t K,
                             int8_t *q, size_t ldq, float *scale);
size_t sito_quantize_rows_i8_isa(sito_isa isa, const float *X, size_t ldx, size_t M, size_t K,
                                 int8_t *q, size_t ldq, float *scale);

/// sums[n] = Σ_k W[n,k] for W [N, K] int8 (row stride ldw). The VNNI GEMM needs these (see below); the
/// runtime computes them once per weight matrix (≈ one read of the matrix) and keeps them.
void sito_i8_row_sums(const int8_t *W, size_t ldw, size_t N, size_t K, int32_t *sums);

// MARK: - int8 GEMM ------------------------------------------------------------------------------------

/// Y [M, N] (row stride ldy) = dequantized product of pre-quantized activations and int8 weights:
///   xq      [M, K] int8 (row stride ldxq), x_scale [M]   — from sito_quantize_rows_i8
///   W       [N, K] int8 (row stride ldw),  w_scale [N]   — a `.sito` i8 tensor and its `.scale`, in place
///   w_sums  [N] int32 = sito_i8_row_sums(W), or NULL     — nullable: computed on the fly (costs one extra
///                                                          pass over W per call, ~1/M of the GEMM)
///   bias    [N] f32, nullable
/// Exactly, for each (m, n):
///   acc     = Σ_k xq[m,k] · W[n,k]                       (exact integer sum; requires |acc| < 2^31,
///                                                          guaranteed for K ≤ 131072)
///   Y[m,n]  = ((float)acc * x_scale[m]) * w_scale[n]      (int32 → f32 rounds to nearest even; then two
///                                                          f32 multiplications, in this order)
///             + bias[n]                                   (one f32 addition, if bias is non-NULL)
/// No fused multiply-add anywhere: every operation is rounded to f32 separately. All paths (scalar,
/// avx2, avx512vnni; neon, neon-dotprod, neon-i8mm) produce bit-identical Y.
/// Python: ((acc.astype(np.float32) * sx[:, None]) * sw[None, :]) + b, all float32.
/// Preconditions: W contains no -128 (formats/sito.md forbids it; the avx2 path relies on it),
/// xq ∈ [-127, 127] (what sito_quantize_rows_i8 produces).
/// Why w_sums: vpdpbusd multiplies UNSIGNED by signed bytes, so the VNNI path feeds xq + 128 (a sign-bit
/// flip) and subtracts 128 · Σ_k W[n,k] from each sum. This keeps W untouched (mmapped, zero-copy) and
/// costs nothing per product, unlike the |x| × sign(x)·w trick, which needs two extra operations per
/// 64-byte product step in AVX-512 (there is no 512-bit vpsignb). The other paths ignore w_sums (the
/// aarch64 ones multiply signed by signed: smull, sdot, smmla).
void sito_gemm_i8(const int8_t *xq, size_t ldxq, const float *x_scale,
                  const int8_t *W, size_t ldw, const float *w_scale, const int32_t *w_sums,
                  const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K);
void sito_gemm_i8_isa(sito_isa isa,
                      const int8_t *xq, size_t ldxq, const float *x_scale,
                      const int8_t *W, size_t ldw, const float *w_scale, const int32_t *w_sums,
                      const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K);

// MARK: - bf16 -----------------------------------------------------------------------------------------

/// bf16 is the upper half of an IEEE binary32 (formats/sito.md); stored as uint16_t.
/// f32 → bf16, round to nearest even: bits = (u + 0x7FFF + ((u >> 16) & 1)) >> 16 for non-NaN u (±Inf
/// stay ±Inf; values that round past the largest finite bf16 become ±Inf; subnormals are rounded, not
/// flushed). NaN stays NaN: (u >> 16) | 0x0040 (sign and top payload kept, quiet bit set).
/// This equals torch's `.to(torch.bfloat16)` for every non-NaN input. All paths are bit-identical.
void sito_f32_to_bf16(const float *src, uint16_t *dst, size_t n);
void sito_f32_to_bf16_isa(sito_isa isa, const float *src, uint16_t *dst, size_t n);

/// bf16 → f32: bits << 16. Exact.
void sito_bf16_to_f32(const uint16_t *src, float *dst, size_t n);

/// IEEE binary16 → f32, exact for every input (subnormals become normal f32; ±Inf stay ±Inf; a NaN keeps
/// its sign and its payload shifted left by 13, without setting the quiet bit — numpy's
/// npy_halfbits_to_floatbits). Used by sito-convert to widen F16 source tensors.
void sito_f16_to_f32(const uint16_t *src, float *dst, size_t n);

/// Number of NaN or ±Inf among x[0..<n]; *first_index (nullable) gets the index of the first one
/// (n if there is none).
size_t sito_count_nonfinite_f32(const float *x, size_t n, size_t *first_index);

/// Y [M, N] (row stride ldy) = X · Wᵀ (+ bias) with
///   xb   [M, K] bf16 (row stride ldxb): the activations ALREADY rounded to bf16 with sito_f32_to_bf16
///        (the runtime converts once and reuses the result for Q, K and V),
///   W    [N, K] bf16 (row stride ldw), a `.sito` bf16 tensor in place,
///   bias [N] f32, nullable.
/// Scheme: Y[m,n] = Σ_k f32(xb[m,k]) · f32(W[n,k]) accumulated in f32, then + bias[n]. Each product of two
/// bf16 values is EXACT in f32, so the paths differ only in the order of the f32 additions:
///   scalar      sums k = 0, 1, …, K-1 in order (fmaf-free: acc = acc + p), then + bias.
///   avx512bf16  vdpbf16ps: 16 lane partial sums per (m, n) and per chunk of ≤ 2048 k, lanes combined by
///               a fixed tree, chunks added in order; vdpbf16ps treats subnormal inputs/outputs as zero
///               (irrelevant for |values| ≥ 2^-126).
///   avx512      widen bf16 → f32 and FMA into 16 lane partial sums, otherwise as avx512bf16.
///   avx2        widen bf16 → f32 and FMA into 8 lane partial sums, combined by a fixed tree.
///   neon        widen bf16 → f32 (shll) and FMA into 4 lane partial sums, combined by a fixed tree, then
///               the K % 4 tail in order.
///   neon-bf16   bfmmla (2 rows × 4 k by 2 rows × 4 k). With FPCR.EBF = 0 (the default) bfmmla/bfdot round
///               every pair sum and every accumulation to odd, not to nearest (relative error < 2^-23 instead
///               of 2^-24), and treat subnormal inputs/products as zero; so each output keeps two partial
///               sums (the alternate 4-k halves of every 8 k), added at the end, which keeps the path's error
///               within its half of the tolerance below. Then the K % 4 tail in order.
/// Each path is deterministic (same inputs → same bits). Tolerance between any two paths, used by the
/// tests as `bf16GemmTolerance`: |Y_a - Y_b| ≤ 2 · (K + 2) · 2^-24 · Σ_k |x_k · w_k| + |bias| · 2^-23
/// (the classical bound on recursive f32 summation error, applied to both orders).
void sito_gemm_bf16(const uint16_t *xb, size_t ldxb,
                    const uint16_t *W, size_t ldw, const float *bias,
                    float *Y, size_t ldy, size_t M, size_t N, size_t K);
void sito_gemm_bf16_isa(sito_isa isa, const uint16_t *xb, size_t ldxb,
                        const uint16_t *W, size_t ldw, const float *bias,
                        float *Y, size_t ldy, size_t M, size_t N, size_t K);

// MARK: - blocked16 weights (gemm_blocked16.c) ------------------------------------------------------------

/// The `blocked16` layout of a weight matrix W [N, K] (formats/sito.md, "Layouts"): N % 16 == 0 and
/// K % G == 0, G = 4 / element_size (int8: 4, bf16: 2); element (n, k) is element number
///   ((n / 16) · (K / G) + k / G) · 16G + (n % 16) · G + k % G,
/// i.e. each 64-byte group holds G consecutive k of 16 consecutive rows. A 16-row block is contiguous, so
/// rows [n0, n1) with n0 % 16 == 0 start at element n0 · K (the same offset as row-major): the threading
/// rule above holds with W + n0 * K when n0 is a multiple of 16.
/// Packs row-major `src` (row stride `ld` elements) into `dst` (N · K elements); and back.
void sito_pack_blocked16(const void *src, size_t ld, size_t element_size, size_t N, size_t K, void *dst);
void sito_unpack_blocked16(const void *src, size_t element_size, size_t N, size_t K, void *dst, size_t ld);

/// sums[n] = Σ_k W[n, k] for a blocked16 int8 W [N, K] (what sito_i8_row_sums gives for the row-major W).
void sito_i8_row_sums_blocked16(const int8_t *W, size_t N, size_t K, int32_t *sums);

/// sito_gemm_i8 with a blocked16 W (no row stride): the same contract, and BIT-IDENTICAL results to
/// sito_gemm_i8 on the row-major W, on every path (scalar, avx2, avx512vnni, neon, neon-dotprod,
/// neon-i8mm; tables above).
/// Preconditions as sito_gemm_i8, plus N % 16 == 0 and K % 4 == 0.
void sito_gemm_i8_blocked16(const int8_t *xq, size_t ldxq, const float *x_scale,
                            const int8_t *W, const float *w_scale, const int32_t *w_sums,
                            const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K);
void sito_gemm_i8_blocked16_isa(sito_isa isa, const int8_t *xq, size_t ldxq, const float *x_scale,
                                const int8_t *W, const float *w_scale, const int32_t *w_sums,
                                const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K);

/// Two activation passes of the same rows against one blocked16 W, each weight group read once for both
/// (formats/quantization.md, "Two-pass activations"): (xq1, x_scale1) = quantize(x), (xq2, x_scale2) =
/// quantize(the residual), both [M, K] with row stride ldxq. Exactly, for each (m, n):
///   Y[m,n] = sito_gemm_i8(xq1, x_scale1, …, bias)[m,n] + sito_gemm_i8(xq2, x_scale2, …, NULL)[m,n]
/// i.e. (((float)acc1 * s1) * sw + bias) + (((float)acc2 * s2) * sw), every operation rounded to f32, the
/// final addition last: BIT-IDENTICAL to two sito_gemm_i8(_blocked16) calls followed by y += y2, on every
/// path (scalar, avx2, avx512vnni, neon, neon-dotprod, neon-i8mm). Preconditions as sito_gemm_i8_blocked16.
/// One call per projection and pass count: a file whose projections have different activation schemes
/// calls this for its two-pass ones and sito_gemm_i8_blocked16 for the others.
void sito_gemm_i8_blocked16_2pass(const int8_t *xq1, const float *x_scale1, const int8_t *xq2,
                                  const float *x_scale2, size_t ldxq, const int8_t *W, const float *w_scale,
                                  const int32_t *w_sums, const float *bias, float *Y, size_t ldy,
                                  size_t M, size_t N, size_t K);
void sito_gemm_i8_blocked16_2pass_isa(sito_isa isa, const int8_t *xq1, const float *x_scale1, const int8_t *xq2,
                                      const float *x_scale2, size_t ldxq, const int8_t *W, const float *w_scale,
                                      const int32_t *w_sums, const float *bias, float *Y, size_t ldy,
                                      size_t M, size_t N, size_t K);

/// sito_gemm_bf16 with a blocked16 W: the same scheme and the same tolerance between any two paths
/// (`bf16GemmTolerance`), here including the row-major kernels. Each output is ONE f32 accumulator
/// summing k in order (vdpbf16ps adds two products per step; the avx512/avx2/neon paths do the two FMAs of
/// a pair in order, so neon equals the scalar reference bit for bit), then + bias. Except neon-bf16: bfdot
/// rounds to odd (see sito_gemm_bf16), so it keeps two accumulators per output (the alternate 4-k halves
/// of every 8 k), added before the bias. N % 16 == 0 and K % 2 == 0.
void sito_gemm_bf16_blocked16(const uint16_t *xb, size_t ldxb, const uint16_t *W, const float *bias,
                              float *Y, size_t ldy, size_t M, size_t N, size_t K);
void sito_gemm_bf16_blocked16_isa(sito_isa isa, const uint16_t *xb, size_t ldxb, const uint16_t *W,
                                  const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K);

// MARK: - int8 weights × 16-bit activations: the `int8-a16` scheme (gemm_a16.c, quant.c) -----------------

/// The int8 weights of a `.sito` file (sito_quantize_rows_i8, row-major or blocked16, in place) against
/// activations quantized per row to int16 with `levels` steps each side instead of 127. The activation
/// step is amax / levels: amax / 32767 for K ≤ 516, amax / 16513 at K = 1024, amax / 4128 at K = 4096,
/// against amax / 127 for one int8 pass and at most amax / 32258 for two (the residual pass's step, amax
/// of a residual ≤ half a step, / 127): as fine as two passes up to K = 516, about 2× coarser at K = 1024,
/// 8× at K = 4096 — still 32–258× finer than one pass. Cost: on AVX2 the int16 product (vpmaddwd + vpaddd)
/// costs about what the exact int8 one (vpsignb + vpmaddubsw + vpmaddwd + vpaddd) does, so one a16 call
/// takes about one int8 pass's time (BENCHMARKS.md, "int8-a16 kernel on AVX2").
///
/// sito_a16_levels(K) = min(32767, floor((2^31 − 1) / (127 · K))) for K ≥ 1 (32767 for K = 0): the
/// largest activation level for which every sum Σ_k xq·w of K products with |xq| ≤ levels, |w| ≤ 127 fits
/// in int32 (|acc| ≤ 127 · K · levels ≤ 2^31 − 1). E.g. K = 384 → 32767 (so every K ≤ 516), 1024 → 16513
/// (127 · 1024 · 16513 = 2147482624), 1536 → 11008, 4096 → 4128. The runtime quantizes a projection's
/// activations with sito_a16_levels(its K); any smaller level count is valid input to the GEMMs too.
int32_t sito_a16_levels(size_t K);

/// sito_quantize_rows_i8 with `levels` (1 ≤ levels ≤ 32767) in place of 127, into int16. Exactly, for
/// each row m, in IEEE binary32 arithmetic with round-to-nearest-even:
///   amax      = max_k |X[m,k]|
///   scale[m]  = amax / (float)levels                     (one f32 division)
///   q[m,k]    = scale[m] == 0 ? 0
///             : (int16) clamp(rint(X[m,k] / scale[m]), -levels, levels)
///               (one f32 division per element; rint = round half to even)
/// A row of zeros (or of subnormal amax small enough that amax / levels rounds to 0) gets scale 0 and
/// q = 0; a row containing a NaN or ±Inf gets scale NaN and q = 0, and is counted in the return value.
/// X [M, K] row stride ldx; q [M, K] int16, row stride ldq (elements). Paths: scalar, avx2, avx512, neon
/// (as sito_quantize_path_name), BIT-IDENTICAL. With levels = 127 the q values equal sito_quantize_rows_i8's.
/// Python (float32 arrays, L = np.float32(levels); the rule for tools/simulate_quant.py):
///   s = np.abs(x).max(-1, keepdims=True) / L
///   q = np.where(s == 0, 0, np.clip(np.rint(x / np.where(s == 0, 1, s)), -L, L))
size_t sito_quantize_rows_i16(const float *X, size_t ldx, size_t M, size_t K, int32_t levels,
                              int16_t *q, size_t ldq, float *scale);
size_t sito_quantize_rows_i16_isa(sito_isa isa, const float *X, size_t ldx, size_t M, size_t K, int32_t levels,
                                  int16_t *q, size_t ldq, float *scale);

/// Y [M, N] (row stride ldy) from int16 activations and a blocked16 int8 W (the layout above, N % 16 == 0,
/// K % 4 == 0, untouched):
///   xq      [M, K] int16 (row stride ldxq), x_scale [M]   — from sito_quantize_rows_i16(…, sito_a16_levels(K), …)
///   W       blocked16 int8 [N, K], w_scale [N]            — a `.sito` i8 tensor and its `.scale`, in place
///   bias    [N] f32, nullable
/// Exactly, for each (m, n):
///   acc     = Σ_k xq[m,k] · W[n,k]                        (exact int32 sum)
///   Y[m,n]  = ((float)acc * x_scale[m]) * w_scale[n] + bias[n]
/// the epilogue of sito_gemm_i8: int32 → f32 to nearest even, two f32 multiplications in this order, then
/// the bias (if non-NULL); no fused multiply-add. BIT-IDENTICAL on every path: scalar, avx2 (vpmovsxbw
/// widens each weight quarter once for 2 activation rows; vpmaddwd + vpaddd), avx512 (the same on zmm:
/// AVX512BW vpmaddwd, 8 rows), avx512vnni (vpdpwssd), neon (every aarch64 level: sxtl + smlal/smlal2).
/// Threading as for the other GEMMs: split N at multiples of 16 (W + n0 · K, w_scale + n0, bias + n0,
/// Y + n0); each output is the same whatever the split.
/// Preconditions: |xq| ≤ sito_a16_levels(K) and W contains no -128 (formats/sito.md), which together keep
/// every partial and final sum within int32.
void sito_gemm_i8_blocked16_a16(const int16_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                                const float *w_scale, const float *bias, float *Y, size_t ldy,
                                size_t M, size_t N, size_t K);
void sito_gemm_i8_blocked16_a16_isa(sito_isa isa, const int16_t *xq, size_t ldxq, const float *x_scale,
                                    const int8_t *W, const float *w_scale, const float *bias, float *Y, size_t ldy,
                                    size_t M, size_t N, size_t K);

/// The same scheme on a row-major int8 W [N, K] (row stride ldw; any N and K), for files written with
/// `--layout row-major`: BIT-IDENTICAL to sito_gemm_i8_blocked16_a16 on the blocked W, on every path
/// (scalar, avx2, avx512, avx512vnni, neon). Preconditions as sito_gemm_i8_blocked16_a16, without the
/// N and K multiples.
void sito_gemm_i8_a16(const int16_t *xq, size_t ldxq, const float *x_scale, const int8_t *W, size_t ldw,
                      const float *w_scale, const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K);
void sito_gemm_i8_a16_isa(sito_isa isa, const int16_t *xq, size_t ldxq, const float *x_scale, const int8_t *W,
                          size_t ldw, const float *w_scale, const float *bias, float *Y, size_t ldy,
                          size_t M, size_t N, size_t K);

/// The name of the path both a16 GEMMs take at `level` (clamped to this CPU first): ≥ AVX512_VNNI →
/// "avx512vnni"; ≥ AVX512 → "avx512"; ≥ AVX2 → "avx2"; any ARM level → "neon"; else "scalar".
/// sito_quantize_rows_i16 takes sito_quantize_path_name's paths.
const char *sito_gemm_i8_a16_path_name(sito_isa level);

// MARK: - f32 helpers of the forward pass ------------------------------------------------------

/// Path the f32 helpers below take at `level`: ≥ AVX512 → "avx512"; ≥ AVX2 → "avx2"; any level of the ARM
/// chain → "neon" (NEON is baseline on aarch64); else "scalar" (sito_add_layernorm_f32 has no avx2 path:
/// at AVX2 it runs the scalar reference; its neon path sums in 2 × 2 double lanes like the avx512 one).
/// Unlike the int8 kernels these paths are NOT bit-identical: each SIMD path is within the named
/// tolerance stated at each function of its scalar reference (tests: Tests/CSitoKernelsTests,
/// F32OpsTests). The scalar references are exactly the Swift code the encoder used before (libm expf and
/// erff, double accumulation in LayerNorm), which the golden tests hold to transformers within 1e-4.
const char *sito_f32ops_path_name(sito_isa level);

/// y[i] = e^{x[i]} for i < n (y may equal x). scalar: libm expf (correctly rounded in glibc ≥ 2.28).
/// SIMD: Cody–Waite reduction + degree-5 minimax polynomial; tolerance `expToleranceULP` = 2 ulp of the
/// reference, or an absolute 2^-126 where the result is below the smallest normal float. x ≥ 89 → +Inf,
/// x ≤ -104 → 0, NaN → NaN.
void sito_exp_f32(const float *x, float *y, size_t n);
void sito_exp_f32_isa(sito_isa isa, const float *x, float *y, size_t n);

/// In place exact (erf) GELU, torch.nn.functional.gelu(approximate='none'), for x[0..<n]:
///   x = (0.5 · x) · (1 + erf(x · 0.70710678f))
/// scalar: libm erff. SIMD: a 1-ulp erf approximation (f32ops.c) with the vector e^x; tolerance
/// `geluTolerance`: |Δ| ≤ 2^-22 · |x| + 2^-126 (≈ 2 ulp of 1 in the bracket, scaled by 0.5·|x|; the bracket
/// is where torch's own vectorized erf differs from libm by about as much).
void sito_gelu_f32(float *x, size_t n);
void sito_gelu_f32_isa(sito_isa isa, float *x, size_t n);

/// Residual add + LayerNorm, in place, over the rows of X [M, N] (row stride ldx):
///   if D (nullable) [M, N] (row stride ldd): X[m,:] = X[m,:] + D[m,:]     (f32 additions)
///   mean  = (float)(Σ (double)X[m,i] / N)
///   var   = Σ (double)(X[m,i] - mean)² / N                              (biased, as torch; the difference
///                                                                       rounded to f32 before widening)
///   inv   = 1.0f / sqrtf((float)var + eps)
///   X[m,i] = ((X[m,i] - mean) · inv) · weight[i] + bias[i]             (f32, each operation rounded)
/// weight, bias: [N]. The SIMD path sums the doubles in 16 lanes instead of in order; with the same mean
/// and inv it is bit-identical, and mean/inv differ from the reference by at most 1 ulp, so the named
/// tolerance `layerNormTolerance` is |Δ| ≤ 2^-21 · (|weight[i]| · (|X̂| + |mean| · inv) + |bias[i]|).
void sito_add_layernorm_f32(float *X, size_t ldx, const float *D, size_t ldd, size_t M, size_t N,
                            const float *weight, const float *bias, float eps);
void sito_add_layernorm_f32_isa(sito_isa isa, float *X, size_t ldx, const float *D, size_t ldd, size_t M,
                                size_t N, const float *weight, const float *bias, float eps);

/// One step of the online softmax of tiled attention: what Attention.swift ran between two cblas_sgemm per
/// block before the fused kernel (sito_attention_f32); kept as the baseline of tools/bench/kernels/bench.c's
/// attention section. For each row r < bq of the score
/// block S [bq, bk] (row stride lds), with the running row_max [bq], row_sum [bq] and the output
/// accumulator O [bq, d] (row stride ldo):
///   mx         = max(row_max[r], max_j S[r,j])
///   c          = expf(row_max[r] - mx)            (libm in every path; 0 when row_max[r] = -inf)
///   S[r,j]     = e^{S[r,j] - mx}                  (in place: the probabilities P for P·V)
///   row_sum[r] = row_sum[r] · c + Σ_j S[r,j]
///   row_max[r] = mx
///   O[r,:]    *= c                                (skipped when c == 1)
/// Start a query block with row_max = -inf, row_sum = 0, O = 0. S must be finite.
/// Tolerances (SIMD vs scalar): each P within `expToleranceULP`; Σ_j within
/// `softmaxSumTolerance(bk)` = (bk + 2) · 2^-23 relative (different summation order, ≤ 2-ulp terms).
void sito_softmax_update_f32(float *S, size_t lds, size_t bq, size_t bk, float *row_max, float *row_sum,
                             float *O, size_t ldo, size_t d);
void sito_softmax_update_f32_isa(sito_isa isa, float *S, size_t lds, size_t bq, size_t bk, float *row_max,
                                 float *row_sum, float *O, size_t ldo, size_t d);

/// The end of a query block: dst[r, i] = O[r, i] · (1.0f / row_sum[r]) for r < bq, i < d
/// (row strides ldo, ldd). One path (the compiler vectorizes it).
void sito_softmax_finish_f32(const float *O, size_t ldo, const float *row_sum, float *dst, size_t ldd,
                             size_t bq, size_t d);

// MARK: - Fused attention (attention.c) -----------------------------------------------------------------

/// Keys are taken in blocks of SITO_ATTENTION_KEY_BLOCK, which is part of the bf16 scheme (the running
/// maximum each probability is rounded against depends on it); queries in blocks of
/// SITO_ATTENTION_QUERY_BLOCK (the SIMD paths' unit of work; the results do not depend on it).
enum {
    SITO_ATTENTION_QUERY_BLOCK = 64,
    SITO_ATTENTION_KEY_BLOCK = 64,
};

/// Path the attention kernels take at `level`, f32 scheme: ≥ AVX512 → "avx512"; ≥ AVX2 → "avx2"; any ARM
/// level → "neon" (the avx2/avx512 code on 4 lanes); else "scalar". bf16 scheme (bf16 != 0):
/// ≥ AVX512_BF16 → "avx512bf16" (vdpbf16ps; "avx512" when d is odd); ≥ NEON_BF16 → "neon-bf16" (BFDOT;
/// "neon" when d % 8 != 0); ≥ AVX512 → "avx512", ≥ AVX2 → "avx2" and the other ARM levels → "neon" (the f32
/// code on bf16-rounded operands: same scheme, no bf16 instructions); else "scalar". Every level computes
/// the same scheme; paths differ only as stated at each function.
const char *sito_attention_path_name(sito_isa level, int bf16);

/// Bytes of per-thread scratch one call needs for head dimension d, for either scheme (91 KB at d = 64;
/// about 1 KB more per unit of d). `scratch` must be 64-byte aligned; a thread may reuse it for any number
/// of calls.
size_t sito_attention_scratch_bytes(size_t d);

/// Fused attention of nq queries over one head of one sequence, f32 scheme:
///   O = softmax(scale · Q · Kᵀ) · V     Q [nq, d] (row stride ldq), K, V [L, d] (ldk, ldv), O [nq, d] (ldo)
/// (nq, L or d = 0: nothing is written); inputs must be finite. Memory is the scratch, independent of nq
/// and L: never [nq, L]. O may alias Q exactly (same pointer and stride): each query block's rows of Q
/// are read completely before its rows of O are written. Single-threaded; split nq over threads freely.
/// Scheme (the scalar reference, per query row i; FlashAttention's online softmax), keys in blocks
/// B = [j0, j0 + SITO_ATTENTION_KEY_BLOCK) ∩ [0, L), in order, starting from m = -inf, l = 0, o = 0:
///   s_j = (Σ_k Q[i,k]·K[j,k]) · scale                    f32, k in order, j ∈ B
///   m'  = max(m, max_j s_j);  c = expf(m - m')            (0 for the first block)
///   p_j = expf(s_j - m')
///   l   = l·c + Σ_j p_j;  o = o·c + Σ_j p_j·V[j,:];  m = m'   (sums in order of j)
///   O[i,:] = o · (1 / l)
/// SIMD paths: queries on the vector lanes for the scores, V's columns for the values, products by FMA,
/// e^x within 2 ulp (simd_exp.h). Tolerance between two paths (tests: attentionTolerance), per element:
///   |O_a - O_b| ≤ A · (2ε + 2(L + 4) · 2^-24),   A = Σ_j p_j |V[j,c]| / Σ_j p_j,
///   ε = 2Δs + 3·2^-23 bounds the relative change of any weight p_j, where
///   Δs = 2(d + 2)·2^-24·scale·max_j Σ_k |Q[i,k]·K[j,k]| bounds a score's change (two summation orders;
///   it enters twice, through the score and through the maximum) and 3·2^-23 the exps.
void sito_attention_f32(const float *Q, size_t ldq, const float *K, size_t ldk, const float *V, size_t ldv,
                        float *O, size_t ldo, size_t nq, size_t L, size_t d, float scale, void *scratch);
void sito_attention_f32_isa(sito_isa isa, const float *Q, size_t ldq, const float *K, size_t ldk,
                            const float *V, size_t ldv, float *O, size_t ldo, size_t nq, size_t L, size_t d,
                            float scale, void *scratch);

/// The bf16 operands of one head of one sequence, packed once per layer and read by every query:
///   K part: [L, d] bf16, row-major (K[j,k] at kv[j·d + k])
///   V part: [⌈L/2⌉, d, 2] bf16 at kv + L·d: keys in pairs, V[j,c] at kv[L·d + (j/2)·2d + 2c + j%2]
///           (with L odd, the last pair's second key is +0)
/// Each value is sito_f32_to_bf16 of the f32 one (every path: scalar, avx512, neon; bit-identical).
/// Elements: sito_attention_kv_bf16_elements(L, d).
size_t sito_attention_kv_bf16_elements(size_t L, size_t d);
void sito_attention_pack_kv_bf16(const float *K, size_t ldk, const float *V, size_t ldv, size_t L, size_t d,
                                 uint16_t *kv);
void sito_attention_pack_kv_bf16_isa(sito_isa isa, const float *K, size_t ldk, const float *V, size_t ldv,
                                     size_t L, size_t d, uint16_t *kv);

/// sito_attention_f32's recurrence with bf16 operands (bf16 and int8 files, formats/quantization.md):
/// Q, K, V and every probability are rounded to bf16 (nearest even, as sito_f32_to_bf16):
///   s_j = (Σ_k bf16(Q[i,k])·bf16(K[j,k])) · scale          products exact in f32, f32 sums
///   p_j = bf16(expf(s_j - m'))                              rounded right after the exp
///   l   = l·c + Σ_j p_j                                     the ROUNDED p_j: the weights sum to 1
///   o   = o·c + Σ_j p_j·bf16(V[j,:])                        products exact in f32, f32 sums
/// (m', c and O as in sito_attention_f32.) kv from sito_attention_pack_kv_bf16 (L, d).
/// Paths: avx512bf16 (vdpbf16ps: each step adds two exact products, odd element first; subnormal bf16
/// inputs count as 0, which only matters for |values| < 2^-126), neon-bf16 (BFDOT, the same structure on
/// 4 lanes; each step adds a pair of products with the Arm BFDOT rounding, within the same tolerance),
/// avx512/avx2/neon (the f32 code on the rounded values, bit-identical sums in the reference's order; only
/// e^x differs). Because e^x differs by ≤ 2 ulp, a probability near a bf16 rounding boundary may round the
/// other way (one bf16 ulp, ≤ 2^-7 relative): tolerance (tests: attentionBF16Tolerance) as
/// sito_attention_f32's with ε + 2^-7.
void sito_attention_bf16(const float *Q, size_t ldq, const uint16_t *kv, float *O, size_t ldo, size_t nq,
                         size_t L, size_t d, float scale, void *scratch);
void sito_attention_bf16_isa(sito_isa isa, const float *Q, size_t ldq, const uint16_t *kv, float *O,
                             size_t ldo, size_t nq, size_t L, size_t d, float scale, void *scratch);

// MARK: - f32 GEMM (the runtime's own; OpenBLAS is optional) -------------------------------------------

/// Y [M, N] (row stride ldy) = X [M, K] (row stride ldx) · Wᵀ + bias, for f32 weights W [N, K] (row
/// stride ldw, a `.sito` f32 projection in place) and bias [N] (nullable). Single-threaded; split N (or
/// M) over threads as for the other GEMMs. This is what the runtime calls for f32 projections when it is
/// built without OpenBLAS (the `OpenBLAS` package trait off).
/// Summation order is the path's own: paths differ from the scalar reference (a plain k-ordered f32 sum
/// per element, then + bias) by at most `gemmF32Tolerance` (Tests/CSitoKernelsTests): |Δ| ≤ 1e-5 ·
/// Σ_k |x_k·w_k| + |bias[n]| · 2^-23 + 1e-30 per element (the first term: what f32 summation in another
/// order, with or without FMA, moves a sum of K ≤ 8192 terms of mixed signs by in practice — it is not the
/// worst-case bound, K · 2^-24, which only same-signed terms approach; the second: the final bias addition
/// rounding a slightly different sum).
/// Paths: "avx512" (≥ AVX512), "avx2" (≥ AVX2), "neon" (every aarch64 level), "scalar". In every path each
/// output element is computed the same way whichever N (or split of N over threads) it is part of, so
/// splitting N gives bit-identical results; splitting M may not (fewer than ~4 rows take another kernel).
/// SIMD paths: for M ≥ 3-6 rows (path-dependent) W is packed per call into a per-thread buffer of 128 KiB
/// (allocated at a thread's first call, freed at its exit) and each element sums k in order, one FMA per
/// product; fewer rows take dot products (lane partial sums along k, combined by a fixed tree).
void sito_gemm_f32(const float *X, size_t ldx, const float *W, size_t ldw, const float *bias,
                   float *Y, size_t ldy, size_t M, size_t N, size_t K);
void sito_gemm_f32_isa(sito_isa isa, const float *X, size_t ldx, const float *W, size_t ldw,
                       const float *bias, float *Y, size_t ldy, size_t M, size_t N, size_t K);

/// The name of the path sito_gemm_f32 takes at `level`, e.g. "avx512", "neon", "scalar".
const char *sito_gemm_f32_path_name(sito_isa level);

#ifdef __cplusplus
}
#endif
