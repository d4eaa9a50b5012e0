// F32OpsTests.swift: the f32 helpers of the forward pass (exp, GELU, add + LayerNorm, online softmax) on every path
// against the scalar reference (libm), within the named tolerances of KernelTestSupport.swift.
import CSitoKernels
import Foundation
import SitoTestSupport
import XCTest

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
        var rng = SplitMix64(seed: 20)
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
        var rng = SplitMix64(seed: 21)
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
        var rng = SplitMix64(seed: 22)
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
        var rng = SplitMix64(seed: 23)
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
