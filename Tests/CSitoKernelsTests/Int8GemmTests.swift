// Int8GemmTests.swift: sito_gemm_i8 on every path against the scalar reference, bit for bit, and the
// scalar reference against the exact integer sums and the documented epilogue.
import CSitoKernels
import Foundation
import SitoTestSupport
import XCTest

final class Int8GemmTests: XCTestCase {
    struct Problem {
        let m: Int, n: Int, k: Int, ldx: Int, ldw: Int, ldy: Int
        var xq: [Int8], sx: [Float], w: [Int8], sw: [Float], bias: [Float]
    }

    private func problem(_ m: Int, _ n: Int, _ k: Int, rng: inout SplitMix64, extreme: Bool = false) -> Problem {
        let ldx = k + 1, ldw = k + 2, ldy = n + 3
        // Activations through the real quantizer (so they are what the runtime feeds), weights random.
        let x = rng.floats(m * ldx, scale: 3)
        var xq = [Int8](repeating: 0, count: m * ldx), sx = [Float](repeating: 0, count: m)
        sito_quantize_rows_i8_isa(SITO_ISA_SCALAR, x, ldx, m, k, &xq, ldx, &sx)
        var w = (0..<(n * ldw)).map { _ in Int8(rng.int(-127...127)) }
        if extreme {   // |sums| far above 2^24: the int32 → f32 rounding of the epilogue matters
            for i in xq.indices { xq[i] = i % 2 == 0 ? 127 : -127 }
            for i in w.indices { w[i] = (i / ldw) % 2 == 0 ? (i % 2 == 0 ? 127 : -127) : -127 }
        }
        let sw = (0..<n).map { _ in 1e-3 * (1 + rng.float()) }
        let bias = rng.floats(n)
        return Problem(m: m, n: n, k: k, ldx: ldx, ldw: ldw, ldy: ldy, xq: xq, sx: sx, w: w, sw: sw, bias: bias)
    }

    private func run(_ p: Problem, _ level: sito_isa, bias: Bool, sums: Bool) -> [Float] {
        var y = [Float](repeating: 12345, count: p.m * p.ldy)
        var ws = [Int32](repeating: 0, count: p.n)
        sito_i8_row_sums(p.w, p.ldw, p.n, p.k, &ws)
        p.bias.withUnsafeBufferPointer { b in
            ws.withUnsafeBufferPointer { s in
                sito_gemm_i8_isa(level, p.xq, p.ldx, p.sx, p.w, p.ldw, p.sw, sums ? s.baseAddress : nil,
                                 bias ? b.baseAddress : nil, &y, p.ldy, p.m, p.n, p.k)
            }
        }
        for r in 0..<p.m { for c in p.n..<p.ldy { XCTAssertEqual(y[r * p.ldy + c], 12345, "wrote past N") } }
        return y
    }

    private func contract(_ p: Problem, bias: Bool) -> [Float] {
        var y = [Float](repeating: 12345, count: p.m * p.ldy)
        for r in 0..<p.m {
            for c in 0..<p.n {
                var acc: Int64 = 0
                for t in 0..<p.k { acc += Int64(p.xq[r * p.ldx + t]) * Int64(p.w[c * p.ldw + t]) }
                y[r * p.ldy + c] = contractDequant(acc, p.sx[r], p.sw[c], bias ? p.bias[c] : nil)
            }
        }
        return y
    }

    func testEveryPathIsBitIdenticalToTheContractOnRaggedShapes() {
        var rng = SplitMix64(seed: 3)
        for shape in raggedShapes {
            let p = problem(shape.m, shape.n, shape.k, rng: &rng)
            for withBias in [true, false] {
                let expect = contract(p, bias: withBias)
                for level in availableLevels {
                    for withSums in [true, false] {
                        let y = run(p, level, bias: withBias, sums: withSums)
                        assertBitIdentical(y, expect,
                                           "\(String(cString: sito_gemm_i8_path_name(level))) M=\(p.m) N=\(p.n) K=\(p.k) "
                                           + "bias=\(withBias) sums=\(withSums); tolerance int8GemmToleranceULP = \(int8GemmToleranceULP)")
                    }
                }
            }
        }
    }

    func testLargeSumsAboveTwoToTheTwentyFour() {
        var rng = SplitMix64(seed: 4)
        let p = problem(5, 6, 4096 + 3, rng: &rng, extreme: true)   // |acc| up to 127²·4099 ≈ 6.6e7
        let expect = contract(p, bias: true)
        for level in availableLevels {
            assertBitIdentical(run(p, level, bias: true, sums: true), expect, String(cString: sito_gemm_i8_path_name(level)))
        }
    }

    func testSplittingNAndMGivesTheSameResult() {
        // Two "threads": rows [0, 10) and [10, 23) of W, same Y with ldy; and M split at 3.
        var rng = SplitMix64(seed: 5)
        let p = problem(7, 23, 200, rng: &rng)
        let whole = run(p, sito_kernels_detect_isa(), bias: true, sums: true)
        var y = [Float](repeating: 0, count: p.m * p.ldy)
        var ws = [Int32](repeating: 0, count: p.n)
        sito_i8_row_sums(p.w, p.ldw, p.n, p.k, &ws)
        p.xq.withUnsafeBufferPointer { x in p.w.withUnsafeBufferPointer { w in p.sw.withUnsafeBufferPointer { sw in
            p.bias.withUnsafeBufferPointer { b in ws.withUnsafeBufferPointer { s in y.withUnsafeMutableBufferPointer { yy in
                for (m0, m1) in [(0, 3), (3, 7)] {
                    for (n0, n1) in [(0, 10), (10, 23)] {
                        sito_gemm_i8(x.baseAddress! + m0 * p.ldx, p.ldx, Array(p.sx[m0..<m1]),
                                     w.baseAddress! + n0 * p.ldw, p.ldw, sw.baseAddress! + n0, s.baseAddress! + n0,
                                     b.baseAddress! + n0, yy.baseAddress! + m0 * p.ldy + n0, p.ldy, m1 - m0, n1 - n0, p.k)
                    }
                }
            }}}}}}
        for r in 0..<p.m { for c in 0..<p.n { XCTAssertEqual(y[r * p.ldy + c].bitPattern, whole[r * p.ldy + c].bitPattern) } }
    }

    func testEndToEndApproximatesTheFloatProduct() {
        // Sanity of the scheme itself (not a path comparison): quantize X and W, multiply, compare with f32.
        var rng = SplitMix64(seed: 6)
        let m = 3, n = 5, k = 300
        let x = rng.floats(m * k), wf = rng.floats(n * k, scale: 0.1)
        var xq = [Int8](repeating: 0, count: m * k), sx = [Float](repeating: 0, count: m)
        var wq = [Int8](repeating: 0, count: n * k), sw = [Float](repeating: 0, count: n)
        sito_quantize_rows_i8(x, k, m, k, &xq, k, &sx)
        sito_quantize_rows_i8(wf, k, n, k, &wq, k, &sw)
        var y = [Float](repeating: 0, count: m * n)
        sito_gemm_i8(xq, k, sx, wq, k, sw, nil, nil, &y, n, m, n, k)
        for r in 0..<m {
            for c in 0..<n {
                var exact: Double = 0, mag: Double = 0
                for t in 0..<k { exact += Double(x[r * k + t]) * Double(wf[c * k + t]); mag += abs(Double(x[r * k + t]) * Double(wf[c * k + t])) }
                XCTAssertEqual(Double(y[r * n + c]), exact, accuracy: 0.02 * mag)
            }
        }
    }
}
