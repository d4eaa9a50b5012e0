// GemmF32Tests.swift: the runtime's own f32 GEMM (sito_gemm_f32, sito_kernels.h "f32 GEMM"): the scalar
// reference against the documented in-order sum, every path this machine has against the reference on
// ragged shapes with the named tolerance `gemmF32Tolerance`, and the splitting rule the runtime relies on.
// Also defines `chainLevels`, the family-aware list of levels the f32 kernels' tests iterate.
import CSitoKernels
import XCTest

/// SCALAR and every level of this CPU's own chain up to the detected one (x86: avx2…; aarch64: neon…):
/// the levels that select distinct code here. (Levels of the other architecture's chain clamp to SCALAR.)
let chainLevels: [sito_isa] = {
    let top = sito_kernels_detect_isa()
    let family = sito_isa_family_of(top)
    return [SITO_ISA_SCALAR] + (0...Int(top.rawValue)).dropFirst().map { sito_isa(rawValue: UInt32($0)) }
        .filter { sito_isa_family_of($0) == family && $0.rawValue <= top.rawValue }
}()

/// f32 GEMM, between any path and the scalar reference, per element (sito_kernels.h, sito_gemm_f32):
/// 1e-5 · Σ_k |x_k · w_k| (any summation order, and FMA's unrounded products) + |bias| · 2^-23 (the final
/// bias addition rounds a slightly different sum) + 1e-30.
func gemmF32Tolerance(sumAbsProducts: Double, bias: Float) -> Double {
    1e-5 * sumAbsProducts + Double(abs(bias)) * 0x1p-23 + 1e-30
}

final class GemmF32Tests: XCTestCase {
    private struct Problem {
        let m: Int, n: Int, k: Int, ldx: Int, ldw: Int, ldy: Int
        let x: [Float], w: [Float], bias: [Float]
    }

    private static func problem(_ m: Int, _ n: Int, _ k: Int, pad: Int, rng: inout TestRNG) -> Problem {
        let ldx = k + pad, ldw = k + 2 * pad, ldy = n + 3 * pad
        return Problem(m: m, n: n, k: k, ldx: ldx, ldw: ldw, ldy: ldy, x: rng.floats(m * ldx, scale: 2),
                       w: rng.floats(n * ldw, scale: 0.1), bias: rng.floats(n))
    }

    /// Y [m, ldy] filled with a sentinel, then the GEMM at `level`; columns past n must keep the sentinel.
    private static func run(_ p: Problem, _ level: sito_isa, bias: Bool) -> [Float] {
        var y = [Float](repeating: 12345, count: p.m * p.ldy)
        p.bias.withUnsafeBufferPointer { b in
            sito_gemm_f32_isa(level, p.x, p.ldx, p.w, p.ldw, bias ? b.baseAddress : nil, &y, p.ldy, p.m, p.n, p.k)
        }
        return y
    }

    func testScalarReferenceIsTheInOrderSum() {
        var rng = TestRNG(seed: 31)
        let p = GemmF32Tests.problem(3, 5, 77, pad: 3, rng: &rng)
        let y = GemmF32Tests.run(p, SITO_ISA_SCALAR, bias: true)
        for r in 0..<p.m {
            for c in 0..<p.n {
                var acc: Float = 0
                for t in 0..<p.k { acc += p.x[r * p.ldx + t] * p.w[c * p.ldw + t] }
                XCTAssertEqual(y[r * p.ldy + c].bitPattern, (acc + p.bias[c]).bitPattern)
            }
        }
    }

    func testEveryPathWithinToleranceOfTheReferenceOnRaggedShapes() {
        var rng = TestRNG(seed: 32)
        // raggedShapes plus: rows around the tile heights (6, 12, 8) and the small-M kernel's limit,
        // columns around the panel widths (16, 32, 12) and chunks (128, 96), K across the cache block
        // (256) and up to 4096.
        let shapes = raggedShapes + [
            (m: 2, n: 70, k: 300), (m: 3, n: 129, k: 257), (m: 6, n: 16, k: 256), (m: 12, n: 32, k: 512),
            (m: 13, n: 97, k: 255), (m: 25, n: 130, k: 513), (m: 8, n: 12, k: 4096), (m: 1, n: 40, k: 4096),
            (m: 40, n: 33, k: 4096 - 3), (m: 130, n: 200, k: 64),
        ]
        for s in shapes {
            for pad in [0, 5] {
                let p = GemmF32Tests.problem(s.m, s.n, s.k, pad: pad, rng: &rng)
                for bias in [false, true] {
                    let ref = GemmF32Tests.run(p, SITO_ISA_SCALAR, bias: bias)
                    for level in chainLevels where level != SITO_ISA_SCALAR {
                        let name = String(cString: sito_gemm_f32_path_name(level))
                        let y = GemmF32Tests.run(p, level, bias: bias)
                        var worst = 0.0
                        for r in 0..<p.m {
                            for c in 0..<p.ldy {
                                let i = r * p.ldy + c
                                if c >= p.n {
                                    XCTAssertEqual(y[i], 12345, "\(name) wrote past N (M=\(s.m) N=\(s.n) K=\(s.k))")
                                    continue
                                }
                                var mag = 0.0
                                for t in 0..<p.k { mag += abs(Double(p.x[r * p.ldx + t]) * Double(p.w[c * p.ldw + t])) }
                                let tol = gemmF32Tolerance(sumAbsProducts: mag, bias: bias ? p.bias[c] : 0)
                                worst = max(worst, abs(Double(y[i]) - Double(ref[i])) / tol)
                            }
                        }
                        XCTAssertLessThanOrEqual(worst, 1, "\(name) M=\(s.m) N=\(s.n) K=\(s.k) pad=\(pad) bias=\(bias): "
                                                 + "worst |Δ| / gemmF32Tolerance = \(worst)")
                    }
                }
            }
        }
    }

    /// Linear.swift splits N over cores in blocks of 16 rows of W: every path gives each element the same
    /// bits whichever block computes it.
    func testSplittingNGivesTheSameBits() {
        var rng = TestRNG(seed: 33)
        for m in [1, 7, 64] {
            let p = GemmF32Tests.problem(m, 100, 520, pad: 4, rng: &rng)
            for level in chainLevels {
                let whole = GemmF32Tests.run(p, level, bias: true)
                var split = [Float](repeating: 12345, count: p.m * p.ldy)
                for (n0, n1) in [(0, 16), (16, 48), (48, 96), (96, 100)] {
                    p.w.withUnsafeBufferPointer { w in
                        p.bias.withUnsafeBufferPointer { b in
                            split.withUnsafeMutableBufferPointer { y in
                                sito_gemm_f32_isa(level, p.x, p.ldx, w.baseAddress! + n0 * p.ldw, p.ldw, b.baseAddress! + n0,
                                                  y.baseAddress! + n0, p.ldy, p.m, n1 - n0, p.k)
                            }
                        }
                    }
                }
                assertBitIdentical(split, whole, "\(String(cString: sito_gemm_f32_path_name(level))) M=\(m)")
            }
        }
    }

    func testEmptyShapes() {
        let x: [Float] = [1, 2, 3, 4], w: [Float] = [1, 1, 1, 1], bias: [Float] = [0.5, -2]
        for level in chainLevels {
            var y = [Float](repeating: 7, count: 4)
            sito_gemm_f32_isa(level, x, 2, w, 2, bias, &y, 2, 0, 2, 2)   // M = 0
            sito_gemm_f32_isa(level, x, 2, w, 2, bias, &y, 2, 2, 0, 2)   // N = 0
            XCTAssertEqual(y, [7, 7, 7, 7])
            sito_gemm_f32_isa(level, x, 2, w, 2, bias, &y, 2, 2, 2, 0)   // K = 0: the empty sum, + bias
            XCTAssertEqual(y, [0.5, -2, 0.5, -2])
            sito_gemm_f32_isa(level, x, 2, w, 2, nil, &y, 2, 2, 2, 0)
            XCTAssertEqual(y, [0, 0, 0, 0])
        }
    }

    func testPathNames() {
        XCTAssertEqual(String(cString: sito_gemm_f32_path_name(SITO_ISA_SCALAR)), "scalar")
        let top = sito_kernels_detect_isa()
        let expected: String
        switch sito_isa_family_of(top) {
        case SITO_ISA_FAMILY_X86: expected = top.rawValue >= SITO_ISA_AVX512.rawValue ? "avx512" : "avx2"
        case SITO_ISA_FAMILY_ARM: expected = "neon"
        default: expected = "scalar"
        }
        XCTAssertEqual(String(cString: sito_gemm_f32_path_name(top)), expected)
        // A level of the other architecture's chain runs the reference.
        let foreign = sito_isa_family_of(top) == SITO_ISA_FAMILY_ARM ? SITO_ISA_AVX2 : SITO_ISA_NEON
        XCTAssertEqual(String(cString: sito_gemm_f32_path_name(foreign)), "scalar")
        print("f32 GEMM path here: \(expected); levels tested: \(chainLevels.map { String(cString: sito_kernels_isa_name($0)) })")
    }
}
