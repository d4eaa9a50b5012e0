// BF16Tests.swift: f32 → bf16 rounding and f16 → f32 widening against the contract, and sito_gemm_bf16:
// the scalar reference is the in-order sum, every path is within the named bound bf16GemmTolerance.
import CSitoKernels
import Foundation
import SitoTestSupport
import XCTest

final class BF16Tests: XCTestCase {
    func testF32ToBF16MatchesTheContractOnSpecialsAndRandomBits() {
        var values: [Float] = [0, -0, 1, -1, .infinity, -.infinity, .nan, -.nan, .greatestFiniteMagnitude,
                               -.greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude,
                               Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000),   // ties → even
                               Float(bitPattern: 0x3F80_8001), Float(bitPattern: 0x3F80_7FFF),
                               Float(bitPattern: 0x7F7F_FFFF), Float(bitPattern: 0x007F_FFFF),   // → Inf; subnormal rounds up
                               Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC1_2345)]   // signalling NaN, payload
        var rng = SplitMix64(seed: 7)
        for _ in 0..<100_003 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        let expect = values.map(contractBF16)
        XCTAssertEqual(expect[13], 0x3F82)  // 0x3F81_8000 ties to even (up)
        XCTAssertEqual(expect[12], 0x3F80)  // 0x3F80_8000 ties to even (down)
        XCTAssertEqual(expect[16], 0x7F80)  // largest finite f32 rounds to +Inf
        for level in availableLevels {
            var out = [UInt16](repeating: 0, count: values.count)
            sito_f32_to_bf16_isa(level, values, &out, values.count)
            XCTAssertEqual(out, expect, String(cString: sito_kernels_isa_name(level)))
            for (i, v) in values.enumerated() where v.isNaN { XCTAssertTrue(widenBF16(out[i]).isNaN) }
        }
        var back = [Float](repeating: 0, count: expect.count)
        sito_bf16_to_f32(expect, &back, expect.count)
        XCTAssertEqual(back.map(\.bitPattern), expect.map { UInt32($0) << 16 })
    }

    #if arch(x86_64) || arch(arm64)
    func testF16ToF32IsExactForEveryBitPattern() {
        let all = (0...0xFFFF).map { UInt16($0) }
        var out = [Float](repeating: 0, count: all.count)
        sito_f16_to_f32(all, &out, all.count)
        for h in all {
            let f = out[Int(h)], ref = Float(Float16(bitPattern: h))
            if ref.isNaN {
                // numpy's rule: sign kept, payload << 13, quiet bit not forced.
                XCTAssertEqual(f.bitPattern, (UInt32(h & 0x8000) << 16) | 0x7F80_0000 | (UInt32(h & 0x3FF) << 13))
            } else {
                XCTAssertEqual(f.bitPattern, ref.bitPattern, "f16 0x\(String(h, radix: 16))")
            }
        }
    }
    #endif

    private struct Problem {
        let m: Int, n: Int, k: Int, ldx: Int, ldw: Int, ldy: Int
        var xb: [UInt16], w: [UInt16], bias: [Float]
    }

    private func problem(_ m: Int, _ n: Int, _ k: Int, rng: inout SplitMix64) -> Problem {
        let ldx = k + 2, ldw = k + 1, ldy = n + 2
        let x = rng.floats(m * ldx, scale: 2), wf = rng.floats(n * ldw, scale: 0.05)
        var xb = [UInt16](repeating: 0, count: m * ldx), w = [UInt16](repeating: 0, count: n * ldw)
        sito_f32_to_bf16(x, &xb, x.count)
        sito_f32_to_bf16(wf, &w, wf.count)
        return Problem(m: m, n: n, k: k, ldx: ldx, ldw: ldw, ldy: ldy, xb: xb, w: w, bias: rng.floats(n))
    }

    private func run(_ p: Problem, _ level: sito_isa, bias: Bool) -> [Float] {
        var y = [Float](repeating: 12345, count: p.m * p.ldy)
        p.bias.withUnsafeBufferPointer { b in
            sito_gemm_bf16_isa(level, p.xb, p.ldx, p.w, p.ldw, bias ? b.baseAddress : nil, &y, p.ldy, p.m, p.n, p.k)
        }
        for r in 0..<p.m { for c in p.n..<p.ldy { XCTAssertEqual(y[r * p.ldy + c], 12345, "wrote past N") } }
        return y
    }

    func testScalarReferenceIsTheInOrderSum() {
        var rng = SplitMix64(seed: 8)
        let p = problem(3, 5, 77, rng: &rng)
        let y = run(p, SITO_ISA_SCALAR, bias: true)
        for r in 0..<p.m {
            for c in 0..<p.n {
                var acc: Float = 0
                for t in 0..<p.k { acc = acc + widenBF16(p.xb[r * p.ldx + t]) * widenBF16(p.w[c * p.ldw + t]) }
                XCTAssertEqual(y[r * p.ldy + c].bitPattern, (acc + p.bias[c]).bitPattern)
            }
        }
    }

    func testEveryPathWithinBF16GemmToleranceOnRaggedShapes() {
        var rng = SplitMix64(seed: 9)
        var worstRatio = 0.0
        for shape in raggedShapes {
            let p = problem(shape.m, shape.n, shape.k, rng: &rng)
            for withBias in [true, false] {
                let ref = run(p, SITO_ISA_SCALAR, bias: withBias)
                for level in availableLevels where level != SITO_ISA_SCALAR {
                    let y = run(p, level, bias: withBias)
                    let again = run(p, level, bias: withBias)
                    assertBitIdentical(y, again, "\(String(cString: sito_gemm_bf16_path_name(level))) is not deterministic")
                    for r in 0..<p.m {
                        for c in 0..<p.n {
                            var mag = 0.0
                            for t in 0..<p.k { mag += abs(Double(widenBF16(p.xb[r * p.ldx + t])) * Double(widenBF16(p.w[c * p.ldw + t]))) }
                            let tol = bf16GemmTolerance(k: p.k, sumAbsProducts: mag, bias: withBias ? p.bias[c] : 0)
                            let d = abs(Double(y[r * p.ldy + c]) - Double(ref[r * p.ldy + c]))
                            worstRatio = max(worstRatio, d / tol)
                            XCTAssertLessThanOrEqual(d, tol, "\(String(cString: sito_gemm_bf16_path_name(level))) "
                                                     + "M=\(p.m) N=\(p.n) K=\(p.k) at (\(r), \(c))")
                        }
                    }
                }
            }
        }
        print("bf16 GEMM: worst |Δ| / bf16GemmTolerance over all paths and shapes = \(worstRatio)")
    }
}
