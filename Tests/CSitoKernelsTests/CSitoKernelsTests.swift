// CSitoKernelsTests.swift: every SIMD path of Sources/CSitoKernels against its scalar reference, and the
// scalar references against the contracts in sito_kernels.h (restated in KernelTestSupport.swift).
// Paths are forced with the kernels' explicit `_isa` entry points, so the tests run every path this CPU
// has (scalar, avx2, avx512, avx512vnni, avx512bf16 on the development machine) without global state.
import CSitoKernels
import Foundation
import XCTest

final class ISASelectionTests: XCTestCase {
    func testDetectionAndNames() {
        let detected = sito_kernels_detect_isa()
        XCTAssertLessThanOrEqual(sito_kernels_isa().rawValue, detected.rawValue)
        XCTAssertEqual(String(cString: sito_kernels_isa_name(SITO_ISA_SCALAR)), "scalar")
        XCTAssertEqual(String(cString: sito_kernels_isa_name(SITO_ISA_AVX512_BF16)), "avx512bf16")
        XCTAssertEqual(String(cString: sito_kernels_isa_name(sito_isa(rawValue: 99))), "?")
        XCTAssertEqual(String(cString: sito_gemm_i8_path_name(SITO_ISA_SCALAR)), "scalar")
        XCTAssertEqual(String(cString: sito_gemm_bf16_path_name(SITO_ISA_SCALAR)), "scalar")
        print("CSitoKernels: detected \(String(cString: sito_kernels_isa_name(detected))); int8 GEMM path "
              + "\(String(cString: sito_gemm_i8_path_name(detected))), bf16 GEMM path "
              + "\(String(cString: sito_gemm_bf16_path_name(detected)))")
    }

    func testSetISAClampsToDetected() {
        let original = sito_kernels_isa()
        defer { sito_kernels_set_isa(original) }
        XCTAssertEqual(sito_kernels_set_isa(SITO_ISA_SCALAR), SITO_ISA_SCALAR)
        XCTAssertEqual(sito_kernels_isa(), SITO_ISA_SCALAR)
        XCTAssertEqual(sito_kernels_set_isa(SITO_ISA_AVX512_BF16), sito_kernels_detect_isa())
    }

    #if arch(x86_64)
    func testDevelopmentMachineLevel() throws {
        // On a CPU that reports AVX512_BF16 in /proc/cpuinfo the detector must find the top level.
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { throw XCTSkip("no /proc/cpuinfo") }
        let flags = Set(cpuinfo.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
        if flags.contains("avx512_bf16") && flags.contains("avx512_vnni") && flags.contains("avx512bw") {
            XCTAssertEqual(sito_kernels_detect_isa(), SITO_ISA_AVX512_BF16)
        } else if flags.contains("avx2") && flags.contains("fma") {
            XCTAssertGreaterThanOrEqual(sito_kernels_detect_isa().rawValue, SITO_ISA_AVX2.rawValue)
        }
    }
    #endif
}

final class QuantizeTests: XCTestCase {
    /// Quantizes rows [rows, k] with stride ldx at `level`; returns q (stride k + 3 to test ldq) and scales.
    private func quantize(_ level: sito_isa, _ x: [Float], rows: Int, k: Int, ldx: Int) -> (q: [Int8], s: [Float], bad: Int) {
        let ldq = k + 3
        var q = [Int8](repeating: 99, count: max(rows * ldq, 1))
        var s = [Float](repeating: -1, count: max(rows, 1))
        let bad = sito_quantize_rows_i8_isa(level, x, ldx, rows, k, &q, ldq, &s)
        // Compact to [rows, k], and check the stride padding was not touched.
        var out = [Int8]()
        for r in 0..<rows {
            out += q[(r * ldq)..<(r * ldq + k)]
            for p in (r * ldq + k)..<(r * ldq + ldq) { XCTAssertEqual(q[p], 99, "wrote past the row") }
        }
        return (out, Array(s.prefix(rows)), bad)
    }

    func testEveryPathMatchesTheContractBitForBit() {
        var rng = TestRNG(seed: 1)
        for k in [1, 2, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 1024, 1031] {
            let rows = 5, ldx = k + 2
            var x = [Float](repeating: 0, count: rows * ldx)
            for r in 0..<rows {
                let scale: Float = [1, 1e-3, 300, 1e-30, 7][r]
                for c in 0..<k { x[r * ldx + c] = scale * rng.float() }
            }
            var expectQ = [Int8](), expectS = [Float]()
            for r in 0..<rows {
                let (q, s) = contractQuantizeRow(x[(r * ldx)..<(r * ldx + k)])
                expectQ += q
                expectS.append(s)
            }
            for level in availableLevels {
                let (q, s, bad) = quantize(level, x, rows: rows, k: k, ldx: ldx)
                let name = String(cString: sito_kernels_isa_name(level))
                XCTAssertEqual(bad, 0)
                XCTAssertEqual(q, expectQ, "q differs at \(name), K = \(k)")
                XCTAssertEqual(s.map(\.bitPattern), expectS.map(\.bitPattern), "scales differ at \(name), K = \(k)")
                XCTAssertFalse(q.contains(-128))
            }
        }
    }

    func testTiesRoundToEvenAndExtremesClamp() {
        // amax = 127 → scale 1, so q = rint(x): ties go to even.
        let x: [Float] = [127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -127, 3.4999998, 0]
        let expect: [Int8] = [127, 0, 2, 2, 0, -2, -2, 126, -127, 3, 0]
        for level in availableLevels {
            let (q, s, _) = quantize(level, x, rows: 1, k: x.count, ldx: x.count)
            XCTAssertEqual(s, [1])
            XCTAssertEqual(q, expect, String(cString: sito_kernels_isa_name(level)))
        }
    }

    func testZeroNonFiniteAndSubnormalRows() {
        let k = 37
        var x = [Float](repeating: 0, count: 5 * k)                 // row 0: all zero
        for c in 0..<k { x[k + c] = Float(c) - 18 }                 // row 1: ordinary
        x[k + 5] = -18.5
        for c in 0..<k { x[2 * k + c] = 1 }; x[2 * k + 30] = .nan   // row 2: a NaN after 16+ lanes
        for c in 0..<k { x[3 * k + c] = 1 }; x[3 * k + 36] = -.infinity
        for c in 0..<k { x[4 * k + c] = Float.leastNonzeroMagnitude * Float(c % 3) }   // row 4: subnormal amax
        for level in availableLevels {
            let (q, s, bad) = quantize(level, x, rows: 5, k: k, ldx: k)
            let name = String(cString: sito_kernels_isa_name(level))
            XCTAssertEqual(bad, 2, name)
            XCTAssertEqual(s[0], 0, name)
            XCTAssertEqual(Array(q[0..<k]), [Int8](repeating: 0, count: k), name)
            XCTAssertEqual(s[1], 18.5 / 127, name)
            XCTAssertEqual(q[k + 5], -127, name)
            XCTAssertTrue(s[2].isNaN && s[3].isNaN, name)
            XCTAssertEqual(Array(q[(2 * k)..<(4 * k)]), [Int8](repeating: 0, count: 2 * k), name)
            let (eq, es) = contractQuantizeRow(x[(4 * k)..<(5 * k)])
            XCTAssertEqual(s[4].bitPattern, es.bitPattern, name)
            XCTAssertEqual(Array(q[(4 * k)..<(5 * k)]), eq, name)
        }
    }

    func testRowSums() {
        var rng = TestRNG(seed: 2)
        for k in [0, 1, 31, 32, 33, 4096 + 5] {
            let n = 3, ldw = k + 1
            let w = (0..<(n * ldw)).map { _ in Int8(rng.int(-127...127)) }
            var sums = [Int32](repeating: 0, count: n)
            sito_i8_row_sums(w, ldw, n, k, &sums)
            for r in 0..<n { XCTAssertEqual(Int(sums[r]), w[(r * ldw)..<(r * ldw + k)].reduce(0) { $0 + Int($1) }) }
        }
    }

    func testCountNonFinite() {
        var first = 0
        XCTAssertEqual(sito_count_nonfinite_f32([1, 2, 3], 3, &first), 0)
        XCTAssertEqual(first, 3)
        XCTAssertEqual(sito_count_nonfinite_f32([1, .nan, 3, .infinity, -.infinity, .greatestFiniteMagnitude], 6, &first), 3)
        XCTAssertEqual(first, 1)
        XCTAssertEqual(sito_count_nonfinite_f32([], 0, nil), 0)
    }
}

final class Int8GemmTests: XCTestCase {
    struct Problem {
        let m: Int, n: Int, k: Int, ldx: Int, ldw: Int, ldy: Int
        var xq: [Int8], sx: [Float], w: [Int8], sw: [Float], bias: [Float]
    }

    private func problem(_ m: Int, _ n: Int, _ k: Int, rng: inout TestRNG, extreme: Bool = false) -> Problem {
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
        var rng = TestRNG(seed: 3)
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
        var rng = TestRNG(seed: 4)
        let p = problem(5, 6, 4096 + 3, rng: &rng, extreme: true)   // |acc| up to 127²·4099 ≈ 6.6e7
        let expect = contract(p, bias: true)
        for level in availableLevels {
            assertBitIdentical(run(p, level, bias: true, sums: true), expect, String(cString: sito_gemm_i8_path_name(level)))
        }
    }

    func testSplittingNAndMGivesTheSameResult() {
        // Two "threads": rows [0, 10) and [10, 23) of W, same Y with ldy; and M split at 3.
        var rng = TestRNG(seed: 5)
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
        var rng = TestRNG(seed: 6)
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

final class BF16Tests: XCTestCase {
    func testF32ToBF16MatchesTheContractOnSpecialsAndRandomBits() {
        var values: [Float] = [0, -0, 1, -1, .infinity, -.infinity, .nan, -.nan, .greatestFiniteMagnitude,
                               -.greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude,
                               Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000),   // ties → even
                               Float(bitPattern: 0x3F80_8001), Float(bitPattern: 0x3F80_7FFF),
                               Float(bitPattern: 0x7F7F_FFFF), Float(bitPattern: 0x007F_FFFF),   // → Inf; subnormal rounds up
                               Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC1_2345)]   // signalling NaN, payload
        var rng = TestRNG(seed: 7)
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

    private func problem(_ m: Int, _ n: Int, _ k: Int, rng: inout TestRNG) -> Problem {
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
        var rng = TestRNG(seed: 8)
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
        var rng = TestRNG(seed: 9)
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

/// The f32 helpers of the forward pass: every SIMD path against the scalar reference (libm), with the
/// named tolerances of KernelTestSupport.swift, on ragged lengths (not multiples of 8 or 16, and < 8).
final class F32OpsTests: XCTestCase {
    private let raggedLengths = [1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1024 + 5]

    func testExpAgainstLibm() {
        // A dense sweep over the whole useful range, plus the edges and specials.
        var xs: [Float] = [0, -0, 1, -1, 88.7, 88.72, 88.73, 89, 100, -87.3, -87.4, -100, -103.9, -104, -110,
                           .infinity, -.infinity, .nan, 1e-8, -1e-8, .leastNonzeroMagnitude]
        var v: Float = -104
        while v < 89 { xs.append(v); v += 0.000_731 }
        var rng = TestRNG(seed: 20)
        for _ in 0..<50_000 { xs.append(10 * rng.float()) }
        for level in chainLevels {
            for n in raggedLengths + [xs.count] {
                let x = Array(xs.prefix(n))
                var y = [Float](repeating: 7, count: n + 1)
                sito_exp_f32_isa(level, x, &y, n)
                XCTAssertEqual(y[n], 7, "wrote past n")
                var bad = 0, first = ""
                for i in 0..<n where !expWithinTolerance(y[i], expf(x[i])) {
                    if bad == 0 { first = "x = \(x[i]): got \(y[i]), expf \(expf(x[i]))" }
                    bad += 1
                }
                XCTAssertEqual(bad, 0, "\(String(cString: sito_f32ops_path_name(level))) n=\(n): \(bad) outside expToleranceULP; first \(first)")
            }
        }
    }

    func testGeluAgainstErffReference() {
        var xs: [Float] = [0, -0, 1, -1, 5.9, -5.9, 6, -6, 8, -8, 10, -10, 30, -30, 1e-20, -1e-20, 1.312, -1.312]
        var v: Float = -12
        while v < 12 { xs.append(v); v += 0.000_37 }
        var rng = TestRNG(seed: 21)
        for _ in 0..<30_000 { xs.append(4 * rng.float()) }
        let reference = xs.map { x in 0.5 * x * (1 + erff(x * 0.70710678118654752)) }
        for level in chainLevels {
            var y = xs
            sito_gelu_f32_isa(level, &y, y.count)
            var worst: Float = 0
            for i in xs.indices {
                let d = abs(y[i] - reference[i])
                worst = max(worst, d / geluTolerance(x: xs[i]))
                XCTAssertLessThanOrEqual(d, geluTolerance(x: xs[i]), "\(String(cString: sito_f32ops_path_name(level))) x = \(xs[i])")
            }
            for n in raggedLengths {
                var z = [Float](xs.prefix(n)) + [123]
                sito_gelu_f32_isa(level, &z, n)
                XCTAssertEqual(z[n], 123, "wrote past n")
                for i in 0..<n { XCTAssertLessThanOrEqual(abs(z[i] - reference[i]), geluTolerance(x: xs[i])) }
            }
            print("gelu \(String(cString: sito_f32ops_path_name(level))): worst |Δ| / geluTolerance = \(worst)")
        }
        var nan: [Float] = [.nan, .infinity, -.infinity]
        sito_gelu_f32(&nan, 3)
        XCTAssertTrue(nan[0].isNaN)
        XCTAssertEqual(nan[1], .infinity)
    }

    func testAddLayerNormAgainstReference() {
        var rng = TestRNG(seed: 22)
        for n in raggedLengths {
            let m = 3, ldx = n + 2, ldd = n + 5
            // Rows with a large common offset (the case double accumulation is for) and ordinary rows.
            var x = rng.floats(m * ldx, scale: 3)
            for i in 0..<n { x[i] += 1000 }
            let d = rng.floats(m * ldd)
            let w = (0..<n).map { _ in 1 + 0.1 * rng.float() }, b = rng.floats(n, scale: 0.05)
            for withDelta in [true, false] {
                var ref = x
                sito_add_layernorm_f32_isa(SITO_ISA_SCALAR, &ref, ldx, withDelta ? d : nil, ldd, m, n, w, b, 1e-5)
                // The reference is the documented formula.
                for r in 0..<m {
                    let row = (0..<n).map { withDelta ? x[r * ldx + $0] + d[r * ldd + $0] : x[r * ldx + $0] }
                    let mean = Float(row.reduce(0.0) { $0 + Double($1) } / Double(n))
                    let sq = row.reduce(0.0) { $0 + Double($1 - mean) * Double($1 - mean) }
                    let inv = 1 / (Float(sq / Double(n)) + 1e-5).squareRoot()
                    for i in 0..<n { XCTAssertEqual(ref[r * ldx + i], (row[i] - mean) * inv * w[i] + b[i]) }
                    for level in chainLevels {
                        var y = x
                        sito_add_layernorm_f32_isa(level, &y, ldx, withDelta ? d : nil, ldd, m, n, w, b, 1e-5)
                        for i in 0..<n {
                            let tol = layerNormTolerance(normalized: (row[i] - mean) * inv, mean: mean, inv: inv, weight: w[i], bias: b[i])
                            XCTAssertLessThanOrEqual(abs(y[r * ldx + i] - ref[r * ldx + i]), tol,
                                                     "\(String(cString: sito_f32ops_path_name(level))) n=\(n) row \(r) col \(i)")
                        }
                        for i in n..<ldx { XCTAssertEqual(y[r * ldx + i], x[r * ldx + i], "touched the stride padding") }
                    }
                }
            }
        }
    }

    func testSoftmaxUpdateAgainstReferenceAndExactSoftmax() {
        var rng = TestRNG(seed: 23)
        for bk in raggedLengths {
            let bq = 5, lds = bk + 3, d = 19, ldo = d + 2
            let blocks = 3
            let scores = (0..<blocks).map { _ in rng.floats(bq * lds, scale: 6) }
            let values = (0..<blocks).map { _ in rng.floats(bk * d) }
            // Run the recurrence over 3 key blocks with P·V by plain loops.
            func run(_ level: sito_isa) -> (out: [Float], sums: [Float], p: [[Float]]) {
                var mx = [Float](repeating: -.infinity, count: bq), sum = [Float](repeating: 0, count: bq)
                var o = [Float](repeating: 0, count: bq * ldo)
                var ps: [[Float]] = []
                for blk in 0..<blocks {
                    var s = scores[blk]
                    sito_softmax_update_f32_isa(level, &s, lds, bq, bk, &mx, &sum, &o, ldo, d)
                    ps.append(s)
                    for r in 0..<bq { for c in 0..<d { for j in 0..<bk { o[r * ldo + c] += s[r * lds + j] * values[blk][j * d + c] } } }
                }
                var out = [Float](repeating: 0, count: bq * d)
                sito_softmax_finish_f32(o, ldo, sum, &out, d, bq, d)
                return (out, sum, ps)
            }
            let ref = run(SITO_ISA_SCALAR)
            // The scalar recurrence is softmax(S)·V over the concatenated blocks.
            for r in 0..<bq {
                var all: [Double] = []
                for blk in 0..<blocks { all += (0..<bk).map { Double(scores[blk][r * lds + $0]) } }
                let top = all.max()!
                let e = all.map { Foundation.exp($0 - top) }, z = e.reduce(0, +)
                for c in 0..<d {
                    var exact = 0.0, mag = 0.0
                    for (idx, p) in e.enumerated() { let vv = Double(values[idx / bk][(idx % bk) * d + c]); exact += p * vv / z; mag += p * abs(vv) / z }
                    XCTAssertEqual(Double(ref.out[r * d + c]), exact, accuracy: 1e-5 * max(1, mag), "bk=\(bk)")
                }
            }
            for level in chainLevels where level != SITO_ISA_SCALAR {
                let got = run(level)
                for blk in 0..<blocks {
                    for r in 0..<bq {
                        for j in 0..<bk {
                            XCTAssertTrue(expWithinTolerance(got.p[blk][r * lds + j], ref.p[blk][r * lds + j]),
                                          "\(String(cString: sito_f32ops_path_name(level))) bk=\(bk) P")
                        }
                        for j in bk..<lds { XCTAssertEqual(got.p[blk][r * lds + j], scores[blk][r * lds + j], "touched stride padding") }
                    }
                }
                for r in 0..<bq {
                    XCTAssertLessThanOrEqual(abs(got.sums[r] - ref.sums[r]), softmaxSumTolerance(bk: blocks * bk) * ref.sums[r])
                    for c in 0..<d {
                        XCTAssertEqual(got.out[r * d + c], ref.out[r * d + c], accuracy: softmaxSumTolerance(bk: blocks * bk) * 4)
                    }
                }
            }
        }
    }
}
