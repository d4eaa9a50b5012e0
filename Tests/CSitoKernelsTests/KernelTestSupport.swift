// KernelTestSupport.swift: shared helpers for the CSitoKernels tests: the list of instruction-set levels
// this machine can run, Swift re-statements of the kernel contracts in sito_kernels.h (independent of the
// C code, so the scalar reference itself is checked against the documented scheme), and the named
// tolerances. The deterministic RNG is SitoTestSupport's SplitMix64.
//
// The kernel tests check every SIMD path of Sources/CSitoKernels against its scalar reference, and the
// scalar references against these contracts. Paths are forced with the kernels' explicit `_isa` entry
// points, so the tests run every path this CPU has (scalar, avx2, avx512, avx512vnni, avx512bf16 on the
// development machine) without global state. One class per file: ISASelectionTests, QuantizeTests,
// Int8GemmTests, BF16Tests, F32OpsTests, GemmF32Tests, Blocked16Tests, Int8A16Tests, AttentionTests,
// Aarch64ConformanceTests.
import CSitoKernels
import XCTest

/// Every level from scalar up to what this CPU supports: each kernel is run at each of them.
let availableLevels: [sito_isa] = (0...Int(sito_kernels_detect_isa().rawValue)).map { sito_isa(rawValue: UInt32($0)) }

/// Ragged GEMM shapes (M, N, K): M = 1, N = 1, K not a multiple of any vector width (8, 16, 32, 64),
/// K below one vector, tiles cut at every edge (M, N not multiples of 4), and a few exact multiples.
let raggedShapes: [(m: Int, n: Int, k: Int)] = [
    (1, 1, 1), (1, 1, 7), (1, 5, 3), (2, 3, 17), (3, 7, 65), (4, 4, 64), (4, 4, 128), (5, 9, 130),
    (1, 33, 1000), (7, 1, 100), (6, 6, 31), (9, 13, 257), (17, 19, 96), (8, 12, 2048 + 13),
]

// MARK: - The contracts, restated in Swift

/// sito_quantize_rows_i8 for one row, straight from the header's formula.
func contractQuantizeRow(_ x: ArraySlice<Float>) -> (q: [Int8], scale: Float) {
    if x.contains(where: { !$0.isFinite }) { return ([Int8](repeating: 0, count: x.count), .nan) }
    let amax = x.reduce(Float(0)) { max($0, abs($1)) }
    let s = amax / 127
    if s == 0 { return ([Int8](repeating: 0, count: x.count), s) }
    return (x.map { v in
        let r = (v / s).rounded(.toNearestOrEven)
        return Int8(min(max(r, -127), 127))
    }, s)
}

/// sito_gemm_i8's epilogue: ((Float(acc) * sx) * sw) + bias, each operation rounded separately.
func contractDequant(_ acc: Int64, _ sx: Float, _ sw: Float, _ bias: Float?) -> Float {
    var t = Float(acc) * sx
    t = t * sw
    if let b = bias { t = t + b }
    return t
}

/// f32 → bf16 round to nearest even, NaN → quiet NaN keeping sign and top payload.
func contractBF16(_ f: Float) -> UInt16 {
    let u = f.bitPattern
    if f.isNaN { return UInt16(truncatingIfNeeded: u >> 16) | 0x0040 }
    return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
}

func widenBF16(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

// MARK: - Named tolerances

/// int8 GEMM: every path must equal the scalar reference bit for bit (the integer sums are exact and the
/// epilogue is the same sequence of f32 operations).
let int8GemmToleranceULP = 0

/// bf16 GEMM, between any two paths (sito_kernels.h, sito_gemm_bf16): the bound on recursive f32
/// summation error of K + 2 terms, for both orders, plus the final bias addition's rounding.
func bf16GemmTolerance(k: Int, sumAbsProducts: Double, bias: Float) -> Double {
    2 * Double(k + 2) * 0x1p-24 * sumAbsProducts + Double(abs(bias)) * 0x1p-23
}

/// Asserts two f32 arrays are identical bit for bit; on failure names the first differing index, both
/// values and how many differ (instead of printing whole arrays).
func assertBitIdentical(_ got: [Float], _ expected: [Float], _ context: @autoclosure () -> String,
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, expected.count, context(), file: file, line: line)
    let differing = zip(got, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
    if let first = differing.first {
        XCTFail("\(context()): \(differing.count) of \(got.count) values differ; first at index \(first.offset): "
                + "got \(first.element.0), expected \(first.element.1)", file: file, line: line)
    }
}

// MARK: - f32 helpers (sito_kernels.h, "f32 helpers of the forward pass")

/// e^x: a SIMD path within 2 ulp of libm's expf, or within 2^-126 where the result is subnormal.
let expToleranceULP: Float = 2

/// The distance between `v` and the next float away from zero.
func ulp(_ v: Float) -> Float { abs(v).nextUp - abs(v) }

func expWithinTolerance(_ got: Float, _ ref: Float) -> Bool {
    if ref.isNaN { return got.isNaN }
    if ref.isInfinite { return got == ref }
    if ref < .leastNormalMagnitude { return abs(got - ref) <= 0x1p-126 }
    return abs(got - ref) <= expToleranceULP * ulp(ref)
}

/// GELU: |Δ| ≤ 2^-22 · |x| + 2^-126 — about 2 ulp of 1 inside (1 + erf), scaled by 0.5 · |x|.
func geluTolerance(x: Float) -> Float { 0x1p-22 * abs(x) + 0x1p-126 }

/// LayerNorm: mean and 1/σ may differ by an ulp between summation orders (sito_kernels.h).
func layerNormTolerance(normalized: Float, mean: Float, inv: Float, weight: Float, bias: Float) -> Float {
    0x1p-21 * (abs(weight) * (abs(normalized) + abs(mean) * inv) + abs(bias))
}

/// Online softmax row sums: a different summation order of bk terms each within 2 ulp.
func softmaxSumTolerance(bk: Int) -> Float { Float(bk + 2) * 0x1p-23 }

// MARK: - Fused attention (sito_kernels.h, "Fused attention")

/// Attention, one output element, between two paths of the f32 scheme (sito_kernels.h, sito_attention_f32):
/// with A = Σ_j p_j |V[j,c]| / Σ_j p_j (the magnitude of the weighted average) and scoreError =
/// (d + 2) · 2^-24 · scale · max_j Σ_k |Q[i,k]·K[j,k]| (one order's bound on a score sum; Δs = 2 · scoreError),
/// each weight p_j moves by at most ε = 2Δs (the score and the maximum) + 3 · 2^-23 (the exps) relatively,
/// which moves the average by 2ε · A; the sums over L keys add 2 (L + 4) · 2^-24 · A.
func attentionTolerance(magnitude a: Double, scoreError: Double, keys: Int) -> Double {
    let epsilon = 4 * scoreError + 3 * 0x1p-23
    return a * (2 * epsilon + 2 * Double(keys + 4) * 0x1p-24)
}

/// The bf16 scheme between two paths: as attentionTolerance, plus one bf16 ulp (≤ 2^-7 relative) on any
/// weight whose rounding flips because the exps differ by an ulp.
func attentionBF16Tolerance(magnitude a: Double, scoreError: Double, keys: Int) -> Double {
    attentionTolerance(magnitude: a, scoreError: scoreError, keys: keys) + 2 * 0x1p-7 * a
}
