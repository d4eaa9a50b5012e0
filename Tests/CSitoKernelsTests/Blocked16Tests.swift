// Blocked16Tests.swift: the blocked16 weight layout (gemm_blocked16.c): packing round trip and index
// formula, row sums, and every int8 / bf16 path on blocked weights against the row-major kernels —
// int8 bit-identical to the contract, bf16 within bf16GemmTolerance of the scalar reference.
import CSitoKernels
import SitoTestSupport
import XCTest

final class Blocked16Tests: XCTestCase {
    /// N multiples of 16 (one block, a partial tile of blocks, several panels' worth), K multiples of 4,
    /// M covering every row-tail of the 6-row tile and a second 96-row group.
    private let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 16, 4), (2, 32, 8), (3, 48, 12), (5, 80, 100), (6, 64, 64), (7, 16, 256), (13, 112, 36),
        (20, 64, 1024), (97, 48, 20), (200, 144, 44),
    ]

    func testPackIsThePermutationTheFormatDescribes() {
        var rng = SplitMix64(seed: 21)
        for (n, k, size) in [(16, 4, 1), (32, 12, 1), (48, 8, 2), (16, 2, 2)] {
            let ld = k + 3
            let src = (0..<(n * ld * size)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var packed = [UInt8](repeating: 0, count: n * k * size)
            sito_pack_blocked16(src, ld, size, n, k, &packed)
            let g = 4 / size
            for r in 0..<n {
                for c in 0..<k {
                    let index = ((r / 16) * (k / g) + c / g) * 16 * g + (r % 16) * g + c % g
                    for b in 0..<size {
                        XCTAssertEqual(packed[index * size + b], src[(r * ld + c) * size + b], "n=\(n) k=\(k) size=\(size) (\(r), \(c))")
                    }
                }
            }
            var back = [UInt8](repeating: 0, count: n * ld * size)
            sito_unpack_blocked16(packed, size, n, k, &back, ld)
            for r in 0..<n {
                XCTAssertEqual(back[(r * ld * size)..<((r * ld + k) * size)], src[(r * ld * size)..<((r * ld + k) * size)])
            }
        }
    }

    func testRowSumsMatchTheRowMajorSums() {
        var rng = SplitMix64(seed: 22)
        let n = 48, k = 1028
        let w = (0..<(n * k)).map { _ in Int8(rng.int(-127...127)) }
        var packed = [Int8](repeating: 0, count: n * k)
        sito_pack_blocked16(w, k, 1, n, k, &packed)
        var expect = [Int32](repeating: 0, count: n), got = [Int32](repeating: 0, count: n)
        sito_i8_row_sums(w, k, n, k, &expect)
        sito_i8_row_sums_blocked16(packed, n, k, &got)
        XCTAssertEqual(got, expect)
    }

    func testInt8EveryPathIsBitIdenticalToTheRowMajorKernel() {
        var rng = SplitMix64(seed: 23)
        for s in shapes {
            let ldx = s.k + 5, ldy = s.n + 3
            let x = rng.floats(s.m * ldx, scale: 3)
            var xq = [Int8](repeating: 0, count: s.m * ldx), sx = [Float](repeating: 0, count: s.m)
            sito_quantize_rows_i8(x, ldx, s.m, s.k, &xq, ldx, &sx)
            let w = (0..<(s.n * s.k)).map { _ in Int8(rng.int(-127...127)) }
            let sw = (0..<s.n).map { _ in 1e-3 * (1 + rng.float()) }
            let bias = rng.floats(s.n)
            var packed = [Int8](repeating: 0, count: s.n * s.k)
            sito_pack_blocked16(w, s.k, 1, s.n, s.k, &packed)
            var sums = [Int32](repeating: 0, count: s.n)
            sito_i8_row_sums(w, s.k, s.n, s.k, &sums)
            for withBias in [true, false] {
                var expect = [Float](repeating: 12345, count: s.m * ldy)
                bias.withUnsafeBufferPointer { b in
                    sito_gemm_i8_isa(SITO_ISA_SCALAR, xq, ldx, sx, w, s.k, sw, sums, withBias ? b.baseAddress : nil,
                                     &expect, ldy, s.m, s.n, s.k)
                }
                for level in availableLevels {
                    for withSums in [true, false] {
                        var y = [Float](repeating: 12345, count: s.m * ldy)
                        bias.withUnsafeBufferPointer { b in
                            sums.withUnsafeBufferPointer { sp in
                                sito_gemm_i8_blocked16_isa(level, xq, ldx, sx, packed, sw, withSums ? sp.baseAddress : nil,
                                                           withBias ? b.baseAddress : nil, &y, ldy, s.m, s.n, s.k)
                            }
                        }
                        assertBitIdentical(y, expect, "i8 blocked16 \(String(cString: sito_gemm_i8_path_name(level))) "
                                           + "M=\(s.m) N=\(s.n) K=\(s.k) bias=\(withBias) sums=\(withSums)")
                    }
                }
            }
        }
    }

    /// The fused two-pass kernel against what Linear did before it: two scalar row-major GEMMs (pass 1 with
    /// the bias, pass 2 without) and one f32 addition per element, bit for bit on every path. Pass 2 is the
    /// quantized residual, as in Linear.prepare, so its scales are ~1/127 of pass 1's.
    func testInt8TwoPassFusedIsBitIdenticalToTwoGemmsAndAnAdd() {
        var rng = SplitMix64(seed: 25)
        for s in shapes {
            let ldx = s.k + 5, ldy = s.n + 3
            let x = rng.floats(s.m * ldx, scale: 3)
            var xq = [Int8](repeating: 0, count: s.m * ldx), sx = [Float](repeating: 0, count: s.m)
            sito_quantize_rows_i8(x, ldx, s.m, s.k, &xq, ldx, &sx)
            var residual = [Float](repeating: 0, count: s.m * ldx)
            for r in 0..<s.m {
                for i in 0..<s.k {
                    let back = Float(xq[r * ldx + i]) * sx[r]
                    residual[r * ldx + i] = x[r * ldx + i] - back
                }
            }
            var rq = [Int8](repeating: 0, count: s.m * ldx), rs = [Float](repeating: 0, count: s.m)
            sito_quantize_rows_i8(residual, ldx, s.m, s.k, &rq, ldx, &rs)
            let w = (0..<(s.n * s.k)).map { _ in Int8(rng.int(-127...127)) }
            let sw = (0..<s.n).map { _ in 1e-3 * (1 + rng.float()) }
            let bias = rng.floats(s.n)
            var packed = [Int8](repeating: 0, count: s.n * s.k)
            sito_pack_blocked16(w, s.k, 1, s.n, s.k, &packed)
            var sums = [Int32](repeating: 0, count: s.n)
            sito_i8_row_sums(w, s.k, s.n, s.k, &sums)
            for withBias in [true, false] {
                var expect = [Float](repeating: 12345, count: s.m * ldy)
                var second = [Float](repeating: 0, count: s.m * ldy)
                bias.withUnsafeBufferPointer { b in
                    sito_gemm_i8_isa(SITO_ISA_SCALAR, xq, ldx, sx, w, s.k, sw, sums, withBias ? b.baseAddress : nil,
                                     &expect, ldy, s.m, s.n, s.k)
                }
                sito_gemm_i8_isa(SITO_ISA_SCALAR, rq, ldx, rs, w, s.k, sw, sums, nil, &second, ldy, s.m, s.n, s.k)
                for r in 0..<s.m {
                    for c in 0..<s.n { expect[r * ldy + c] += second[r * ldy + c] }
                }
                for level in availableLevels {
                    for withSums in [true, false] {
                        var y = [Float](repeating: 12345, count: s.m * ldy)
                        bias.withUnsafeBufferPointer { b in
                            sums.withUnsafeBufferPointer { sp in
                                sito_gemm_i8_blocked16_2pass_isa(level, xq, sx, rq, rs, ldx, packed, sw,
                                                                 withSums ? sp.baseAddress : nil,
                                                                 withBias ? b.baseAddress : nil, &y, ldy, s.m, s.n, s.k)
                            }
                        }
                        assertBitIdentical(y, expect, "i8 blocked16 two-pass \(String(cString: sito_gemm_i8_path_name(level))) "
                                           + "M=\(s.m) N=\(s.n) K=\(s.k) bias=\(withBias) sums=\(withSums)")
                    }
                }
            }
        }
    }

    func testInt8SplittingNAtBlockBoundaries() {
        // Two "threads" taking W rows [0, 32) and [32, 80): W + n0 · K, as for row-major weights.
        var rng = SplitMix64(seed: 24)
        let m = 9, n = 80, k = 64
        let x = rng.floats(m * k)
        var xq = [Int8](repeating: 0, count: m * k), sx = [Float](repeating: 0, count: m)
        sito_quantize_rows_i8(x, k, m, k, &xq, k, &sx)
        let w = (0..<(n * k)).map { _ in Int8(rng.int(-127...127)) }
        let sw = (0..<n).map { _ in 1e-3 * (1 + rng.float()) }
        var packed = [Int8](repeating: 0, count: n * k)
        sito_pack_blocked16(w, k, 1, n, k, &packed)
        var whole = [Float](repeating: 0, count: m * n), split = [Float](repeating: 0, count: m * n)
        sito_gemm_i8_blocked16(xq, k, sx, packed, sw, nil, nil, &whole, n, m, n, k)
        packed.withUnsafeBufferPointer { wp in
            sw.withUnsafeBufferPointer { s in
                split.withUnsafeMutableBufferPointer { y in
                    for (n0, n1) in [(0, 32), (32, 80)] {
                        sito_gemm_i8_blocked16(xq, k, sx, wp.baseAddress! + n0 * k, s.baseAddress! + n0, nil, nil,
                                               y.baseAddress! + n0, n, m, n1 - n0, k)
                    }
                }
            }
        }
        assertBitIdentical(split, whole, "split over N")
    }

    func testBF16EveryPathWithinToleranceOfTheScalarReference() {
        var rng = SplitMix64(seed: 25)
        var worstRatio = 0.0
        for s in shapes {
            let ldx = s.k + 2, ldy = s.n + 1
            let x = rng.floats(s.m * ldx, scale: 2), wf = rng.floats(s.n * s.k, scale: 0.05)
            var xb = [UInt16](repeating: 0, count: x.count), w = [UInt16](repeating: 0, count: wf.count)
            sito_f32_to_bf16(x, &xb, x.count)
            sito_f32_to_bf16(wf, &w, wf.count)
            var packed = [UInt16](repeating: 0, count: w.count)
            sito_pack_blocked16(w, s.k, 2, s.n, s.k, &packed)
            let bias = rng.floats(s.n)
            var ref = [Float](repeating: 0, count: s.m * ldy)
            sito_gemm_bf16_isa(SITO_ISA_SCALAR, xb, ldx, w, s.k, bias, &ref, ldy, s.m, s.n, s.k)
            for level in availableLevels {
                var y = [Float](repeating: 12345, count: s.m * ldy), again = y
                sito_gemm_bf16_blocked16_isa(level, xb, ldx, packed, bias, &y, ldy, s.m, s.n, s.k)
                sito_gemm_bf16_blocked16_isa(level, xb, ldx, packed, bias, &again, ldy, s.m, s.n, s.k)
                assertBitIdentical(y, again, "bf16 blocked16 \(String(cString: sito_gemm_bf16_path_name(level))) is not deterministic")
                for r in 0..<s.m {
                    XCTAssertEqual(y[r * ldy + s.n], 12345, "wrote past N")
                    for c in 0..<s.n {
                        var mag = 0.0
                        for t in 0..<s.k { mag += abs(Double(widenBF16(xb[r * ldx + t])) * Double(widenBF16(w[c * s.k + t]))) }
                        let tol = bf16GemmTolerance(k: s.k, sumAbsProducts: mag, bias: bias[c])
                        let d = abs(Double(y[r * ldy + c]) - Double(ref[r * ldy + c]))
                        worstRatio = max(worstRatio, d / tol)
                        XCTAssertLessThanOrEqual(d, tol, "bf16 blocked16 \(String(cString: sito_gemm_bf16_path_name(level))) "
                                                 + "M=\(s.m) N=\(s.n) K=\(s.k) at (\(r), \(c))")
                    }
                }
            }
        }
        print("bf16 blocked16 GEMM: worst |Δ| / bf16GemmTolerance = \(worstRatio)")
    }
}
