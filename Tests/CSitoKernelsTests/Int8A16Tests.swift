// Int8A16Tests.swift: the int8-a16 scheme (int8 weights × int16 activations, gemm_a16.c and quant.c):
// sito_a16_levels, sito_quantize_rows_i16 on every path against the header's formula (restated below),
// and both GEMMs (blocked16 and row-major) on every path bit for bit against the scalar reference, the
// scalar reference against the exact integer sums and sito_gemm_i8's epilogue, and blocked16 against
// row-major. Shapes are kept small: the C target is compiled at -O0 in debug builds.
import CSitoKernels
import Foundation
import SitoTestSupport
import XCTest

/// sito_quantize_rows_i16 for one row, straight from the header's formula.
func contractQuantizeRowI16(_ x: ArraySlice<Float>, levels: Int32) -> (q: [Int16], scale: Float) {
    if x.contains(where: { !$0.isFinite }) { return ([Int16](repeating: 0, count: x.count), .nan) }
    let amax = x.reduce(Float(0)) { max($0, abs($1)) }
    let l = Float(levels)
    let s = amax / l
    if s == 0 { return ([Int16](repeating: 0, count: x.count), s) }
    return (x.map { v in Int16(min(max((v / s).rounded(.toNearestOrEven), -l), l)) }, s)
}

final class Int8A16Tests: XCTestCase {
    private func pathName(_ level: sito_isa) -> String { String(cString: sito_gemm_i8_a16_path_name(level)) }

    // MARK: - levels

    func testLevelsAreTheLargestThatCannotOverflow() {
        XCTAssertEqual(sito_a16_levels(0), 32767)
        XCTAssertEqual(sito_a16_levels(1), 32767)
        XCTAssertEqual(sito_a16_levels(384), 32767)
        XCTAssertEqual(sito_a16_levels(1024), 16513)   // 127 · 1024 · 16513 = 2147482624 ≤ 2^31 − 1
        XCTAssertEqual(sito_a16_levels(1536), 11008)
        XCTAssertEqual(sito_a16_levels(4096), 4128)
        let limit = Int64(Int32.max)
        for k in [1, 2, 3, 100, 516, 517, 768, 1000, 1024, 1536, 3072, 4096, 8192, 65536, 1 << 20] {
            let l = Int64(sito_a16_levels(k))
            XCTAssertLessThanOrEqual(127 * Int64(k) * l, limit, "K = \(k)")
            if l < 32767 { XCTAssertGreaterThan(127 * Int64(k) * (l + 1), limit, "K = \(k): not the largest") }
        }
    }

    // MARK: - quantizer

    private func quantize(_ level: sito_isa, _ x: [Float], rows: Int, k: Int, ldx: Int, levels: Int32)
        -> (q: [Int16], s: [Float], bad: Int)
    {
        let ldq = k + 3
        var q = [Int16](repeating: 99, count: max(rows * ldq, 1))
        var s = [Float](repeating: -1, count: max(rows, 1))
        let bad = sito_quantize_rows_i16_isa(level, x, ldx, rows, k, levels, &q, ldq, &s)
        var out = [Int16]()
        for r in 0..<rows {
            out += q[(r * ldq)..<(r * ldq + k)]
            for p in (r * ldq + k)..<(r * ldq + ldq) { XCTAssertEqual(q[p], 99, "wrote past the row") }
        }
        return (out, Array(s.prefix(rows)), bad)
    }

    func testQuantizerEveryPathMatchesTheContractBitForBit() {
        var rng = SplitMix64(seed: 161)
        for k in [1, 7, 8, 15, 16, 17, 33, 64, 65, 388, 1031] {
            let rows = 5, ldx = k + 2
            var x = [Float](repeating: 0, count: rows * ldx)
            for r in 0..<rows {
                let scale: Float = [1, 1e-3, 300, 1e-30, 7][r]
                for c in 0..<k { x[r * ldx + c] = scale * rng.float() }
            }
            for levels in [Int32(127), 4128, sito_a16_levels(k), 32767] {
                var expectQ = [Int16](), expectS = [Float]()
                for r in 0..<rows {
                    let (q, s) = contractQuantizeRowI16(x[(r * ldx)..<(r * ldx + k)], levels: levels)
                    expectQ += q
                    expectS.append(s)
                }
                for level in availableLevels {
                    let (q, s, bad) = quantize(level, x, rows: rows, k: k, ldx: ldx, levels: levels)
                    let name = "\(String(cString: sito_quantize_path_name(level))) K = \(k) levels = \(levels)"
                    XCTAssertEqual(bad, 0, name)
                    XCTAssertEqual(q, expectQ, "q differs: \(name)")
                    XCTAssertEqual(s.map(\.bitPattern), expectS.map(\.bitPattern), "scales differ: \(name)")
                }
            }
            // levels = 127 is sito_quantize_rows_i8's rule.
            var q8 = [Int8](repeating: 0, count: rows * k), s8 = [Float](repeating: 0, count: rows)
            sito_quantize_rows_i8_isa(SITO_ISA_SCALAR, x, ldx, rows, k, &q8, k, &s8)
            let (q16, s16, _) = quantize(SITO_ISA_SCALAR, x, rows: rows, k: k, ldx: ldx, levels: 127)
            XCTAssertEqual(q16, q8.map { Int16($0) }, "K = \(k)")
            XCTAssertEqual(s16.map(\.bitPattern), s8.map(\.bitPattern), "K = \(k)")
        }
    }

    func testQuantizerTiesRoundToEvenAndExtremesClamp() {
        // amax = levels → scale 1, so q = rint(x): ties go to even.
        let x: [Float] = [4128, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 4127.5, -4128, 3.4999998, 0, 1000.5, -1001.5]
        let expect: [Int16] = [4128, 0, 2, 2, 0, -2, -2, 4128, -4128, 3, 0, 1000, -1002]
        for level in availableLevels {
            let (q, s, _) = quantize(level, x, rows: 1, k: x.count, ldx: x.count, levels: 4128)
            XCTAssertEqual(s, [1])
            XCTAssertEqual(q, expect, String(cString: sito_quantize_path_name(level)))
        }
    }

    func testQuantizerZeroNonFiniteAndSubnormalRows() {
        let k = 37, levels: Int32 = 4128
        var x = [Float](repeating: 0, count: 6 * k)                 // row 0: all zero
        for c in 0..<k { x[k + c] = Float(c) - 18 }                 // row 1: ordinary
        x[k + 5] = -18.5
        for c in 0..<k { x[2 * k + c] = 1 }; x[2 * k + 30] = .nan   // row 2: a NaN after 16+ lanes
        for c in 0..<k { x[3 * k + c] = 1 }; x[3 * k + 36] = -.infinity
        for c in 0..<k { x[4 * k + c] = Float.leastNonzeroMagnitude * Float(c % 3) }   // row 4: scale rounds to 0
        for c in 0..<k { x[5 * k + c] = 0x1p-127 * Float(c % 7 - 3) / 3 }             // row 5: subnormal amax, scale ≠ 0
        for level in availableLevels {
            let (q, s, bad) = quantize(level, x, rows: 6, k: k, ldx: k, levels: levels)
            let name = String(cString: sito_quantize_path_name(level))
            XCTAssertEqual(bad, 2, name)
            XCTAssertEqual(s[0], 0, name)
            XCTAssertEqual(Array(q[0..<k]), [Int16](repeating: 0, count: k), name)
            XCTAssertEqual(s[1], 18.5 / 4128, name)
            XCTAssertEqual(q[k + 5], -4128, name)
            XCTAssertTrue(s[2].isNaN && s[3].isNaN, name)
            XCTAssertEqual(Array(q[(2 * k)..<(4 * k)]), [Int16](repeating: 0, count: 2 * k), name)
            XCTAssertEqual(s[4], 0, name)
            for r in 4..<6 {
                let (eq, es) = contractQuantizeRowI16(x[(r * k)..<((r + 1) * k)], levels: levels)
                XCTAssertEqual(s[r].bitPattern, es.bitPattern, "\(name) row \(r)")
                XCTAssertEqual(Array(q[(r * k)..<((r + 1) * k)]), eq, "\(name) row \(r)")
            }
            XCTAssertTrue(s[5] > 0 && s[5] < .leastNormalMagnitude, name)
        }
    }

    // MARK: - GEMMs

    struct Problem {
        let m: Int, n: Int, k: Int, ldx: Int, ldw: Int, ldy: Int
        var xq: [Int16], sx: [Float], w: [Int8], packed: [Int8], sw: [Float], bias: [Float]
    }

    /// Activations through the real quantizer with sito_a16_levels(K); weights random in [-127, 127].
    /// `extreme`: q = ±levels against |w| = 127, signs chosen so the sums reach ±127 · K · levels.
    private func problem(_ m: Int, _ n: Int, _ k: Int, rng: inout SplitMix64, extreme: Bool = false) -> Problem {
        let ldx = k + 5, ldw = k + 3, ldy = n + 3
        let x = rng.floats(m * ldx, scale: 3)
        var xq = [Int16](repeating: 0, count: m * ldx), sx = [Float](repeating: 0, count: m)
        sito_quantize_rows_i16_isa(SITO_ISA_SCALAR, x, ldx, m, k, sito_a16_levels(k), &xq, ldx, &sx)
        var w = (0..<(n * ldw)).map { _ in Int8(rng.int(-127...127)) }
        if extreme {
            let l = Int16(sito_a16_levels(k))
            for r in 0..<m { for c in 0..<k { xq[r * ldx + c] = r % 3 == 0 ? l : (r % 3 == 1 ? -l : (c % 2 == 0 ? l : -l)) } }
            for r in 0..<n { for c in 0..<k { w[r * ldw + c] = r % 3 == 0 ? 127 : (r % 3 == 1 ? -127 : (c % 2 == 0 ? 127 : -127)) } }
        }
        var packed = [Int8]()
        if n % 16 == 0 && k % 4 == 0 {
            packed = [Int8](repeating: 0, count: n * k)
            sito_pack_blocked16(w, ldw, 1, n, k, &packed)
        }
        let sw = (0..<n).map { _ in 1e-3 * (1 + rng.float()) }
        return Problem(m: m, n: n, k: k, ldx: ldx, ldw: ldw, ldy: ldy, xq: xq, sx: sx, w: w, packed: packed, sw: sw,
                       bias: rng.floats(n))
    }

    private func blocked(_ p: Problem, _ level: sito_isa, bias: Bool) -> [Float] {
        var y = [Float](repeating: 12345, count: p.m * p.ldy)
        p.bias.withUnsafeBufferPointer { b in
            sito_gemm_i8_blocked16_a16_isa(level, p.xq, p.ldx, p.sx, p.packed, p.sw, bias ? b.baseAddress : nil, &y, p.ldy,
                                           p.m, p.n, p.k)
        }
        return y
    }

    private func rowMajor(_ p: Problem, _ level: sito_isa, bias: Bool) -> [Float] {
        var y = [Float](repeating: 12345, count: p.m * p.ldy)
        p.bias.withUnsafeBufferPointer { b in
            sito_gemm_i8_a16_isa(level, p.xq, p.ldx, p.sx, p.w, p.ldw, p.sw, bias ? b.baseAddress : nil, &y, p.ldy,
                                 p.m, p.n, p.k)
        }
        return y
    }

    /// The contract: exact Int64 sums (asserted to fit in int32), then sito_gemm_i8's epilogue.
    private func contract(_ p: Problem, bias: Bool) -> [Float] {
        var y = [Float](repeating: 12345, count: p.m * p.ldy)
        for r in 0..<p.m {
            for c in 0..<p.n {
                var acc: Int64 = 0
                for t in 0..<p.k { acc += Int64(p.xq[r * p.ldx + t]) * Int64(p.w[c * p.ldw + t]) }
                XCTAssertLessThanOrEqual(abs(acc), Int64(Int32.max), "the sum overflows int32")
                y[r * p.ldy + c] = contractDequant(acc, p.sx[r], p.sw[c], bias ? p.bias[c] : nil)
            }
        }
        return y
    }

    /// M = 1, 3, 17 (every row tail of the 2-, 4- and 8-row tiles), 37 (a second row group at K = 4096);
    /// N = 16, 48; K = 4, 12, 388, 4096. Blocked16 = row-major = the scalar reference on every path, the
    /// scalar reference = the contract (checked in Swift up to K = 388: the Swift loop is slow in debug).
    func testBlocked16AndRowMajorEveryPathBitIdentical() {
        var rng = SplitMix64(seed: 162)
        var shapes: [(Int, Int, Int)] = []
        for m in [1, 3, 17] { for n in [16, 48] { for k in [4, 12, 388, 4096] { shapes.append((m, n, k)) } } }
        shapes.append((37, 16, 4096))
        for (m, n, k) in shapes {
            let p = problem(m, n, k, rng: &rng)
            for withBias in [true, false] {
                let reference = blocked(p, SITO_ISA_SCALAR, bias: withBias)
                if k <= 388 && m * n <= 17 * 16 {
                    assertBitIdentical(reference, contract(p, bias: withBias), "scalar vs contract M=\(m) N=\(n) K=\(k)")
                }
                for level in availableLevels {
                    let context = "\(pathName(level)) M=\(m) N=\(n) K=\(k) bias=\(withBias)"
                    assertBitIdentical(blocked(p, level, bias: withBias), reference, "blocked16 " + context)
                    assertBitIdentical(rowMajor(p, level, bias: withBias), reference, "row-major " + context)
                }
            }
        }
    }

    /// Row-major on shapes blocked16 cannot take: N and K not multiples of anything (K below one vector,
    /// K % 8, % 16, % 32 tails), against the row-major scalar reference and the contract.
    func testRowMajorRaggedShapes() {
        var rng = SplitMix64(seed: 163)
        for (m, n, k) in [(1, 1, 1), (1, 5, 3), (2, 3, 17), (3, 7, 65), (5, 9, 130), (6, 6, 31), (9, 13, 257), (4, 5, 1000 + 7)] {
            let p = problem(m, n, k, rng: &rng)
            for withBias in [true, false] {
                let reference = rowMajor(p, SITO_ISA_SCALAR, bias: withBias)
                assertBitIdentical(reference, contract(p, bias: withBias), "scalar vs contract M=\(m) N=\(n) K=\(k)")
                for level in availableLevels {
                    assertBitIdentical(rowMajor(p, level, bias: withBias), reference,
                                       "row-major \(pathName(level)) M=\(m) N=\(n) K=\(k) bias=\(withBias)")
                }
            }
        }
    }

    /// q = ±levels against |w| = 127 at K = 4096: sums of ±127 · 4096 · 4128 = ±2147352576, within 2^17
    /// of int32's limit; any path that overflowed (or saturated) an intermediate would differ.
    func testExtremeValuesDoNotOverflow() {
        var rng = SplitMix64(seed: 164)
        let k = 4096
        let p = problem(3, 16, k, rng: &rng, extreme: true)
        let expect = contract(p, bias: true)
        let top = Int64(127 * k) * Int64(sito_a16_levels(k))   // row 0 (all +levels) · W row 0 (all +127)
        XCTAssertEqual(top, 2_147_352_576)
        XCTAssertEqual(expect[0], contractDequant(top, p.sx[0], p.sw[0], p.bias[0]))
        for level in availableLevels {
            assertBitIdentical(blocked(p, level, bias: true), expect, "blocked16 \(pathName(level)) extreme")
            assertBitIdentical(rowMajor(p, level, bias: true), expect, "row-major \(pathName(level)) extreme")
        }
    }

    func testSplittingNAtBlockBoundaries() {
        var rng = SplitMix64(seed: 165)
        let p = problem(5, 80, 64, rng: &rng)
        for level in availableLevels {
            let whole = blocked(p, level, bias: true)
            var split = [Float](repeating: 12345, count: p.m * p.ldy)
            p.packed.withUnsafeBufferPointer { wp in
                p.sw.withUnsafeBufferPointer { s in
                    p.bias.withUnsafeBufferPointer { b in
                        split.withUnsafeMutableBufferPointer { y in
                            for (n0, n1) in [(0, 32), (32, 80)] {
                                sito_gemm_i8_blocked16_a16_isa(level, p.xq, p.ldx, p.sx, wp.baseAddress! + n0 * p.k,
                                                               s.baseAddress! + n0, b.baseAddress! + n0,
                                                               y.baseAddress! + n0, p.ldy, p.m, n1 - n0, p.k)
                            }
                        }
                    }
                }
            }
            assertBitIdentical(split, whole, "split over N, \(pathName(level))")
        }
    }

    func testPathNames() {
        XCTAssertEqual(pathName(SITO_ISA_SCALAR), "scalar")
        let top = sito_kernels_detect_isa()
        if sito_isa_family_of(top) == SITO_ISA_FAMILY_X86 {
            XCTAssertEqual(pathName(SITO_ISA_AVX2), "avx2")
            if top.rawValue >= SITO_ISA_AVX512.rawValue { XCTAssertEqual(pathName(SITO_ISA_AVX512), "avx512") }
            if top.rawValue >= SITO_ISA_AVX512_VNNI.rawValue { XCTAssertEqual(pathName(SITO_ISA_AVX512_VNNI), "avx512vnni") }
            XCTAssertEqual(pathName(SITO_ISA_NEON), "scalar")   // another chain's level
        } else if sito_isa_family_of(top) == SITO_ISA_FAMILY_ARM {
            XCTAssertEqual(pathName(SITO_ISA_NEON), "neon")
            XCTAssertEqual(pathName(top), "neon")
        }
    }
}
