// QuantizeTests.swift: sito_quantize_rows_i8 (with its row sums) and the non-finite count on every path
// against the scalar reference and the header's formula (KernelTestSupport.swift's contractQuantizeRow).
import CSitoKernels
import Foundation
import SitoTestSupport
import XCTest

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
        var rng = SplitMix64(seed: 1)
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
        var rng = SplitMix64(seed: 2)
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
