// AttentionTests.swift: the fused attention kernels (sito_attention_f32 / sito_attention_bf16, attention.c):
// the scalar references against softmax(scale·Q·Kᵀ)·V computed in double, the bf16 packing against the
// bf16 contract, and every SIMD path this CPU has against its scalar reference on ragged shapes, with
// the named tolerances of KernelTestSupport.swift.
import CSitoKernels
import Foundation
import XCTest

final class AttentionTests: XCTestCase {
    /// One head of one sequence: Q [nq, d], K and V [L, d], each with its own row stride > d (stride
    /// padding is filled with NaN, which must never be read).
    struct Problem {
        let nq: Int, keys: Int, d: Int, ldq: Int, ldk: Int, ldv: Int
        var q: [Float], k: [Float], v: [Float]
        var scale: Float { 1 / Float(d).squareRoot() }
    }

    /// Scores with a trend across the keys (K[j, 0] grows with j and Q[i, 0] > 0), so the running maximum
    /// rises from block to block and every rescaling step is exercised.
    static func problem(nq: Int, keys: Int, d: Int, rng: inout TestRNG) -> Problem {
        let ldq = d + 3, ldk = d + 5, ldv = d + 1
        var q = [Float](repeating: .nan, count: nq * ldq), k = [Float](repeating: .nan, count: keys * ldk)
        var v = [Float](repeating: .nan, count: keys * ldv)
        for i in 0..<nq { for c in 0..<d { q[i * ldq + c] = 2 * rng.float() } }
        for j in 0..<keys { for c in 0..<d { k[j * ldk + c] = 2 * rng.float(); v[j * ldv + c] = rng.float() } }
        for i in 0..<nq { q[i * ldq] = 1 + abs(q[i * ldq]) }
        for j in 0..<keys { k[j * ldk] += 6 * Float(j) / Float(max(1, keys - 1)) }
        return Problem(nq: nq, keys: keys, d: d, ldq: ldq, ldk: ldk, ldv: ldv, q: q, k: k, v: v)
    }

    /// Per output element (i, c): the exact attention in double of the given (possibly bf16-rounded)
    /// operands, its magnitude A (see attentionTolerance) and, per row, the score-sum error bound.
    struct Exact {
        var out: [Double], magnitude: [Double], scoreError: [Double]
    }

    static func exact(_ p: Problem, round: Bool) -> Exact {
        let r: (Float) -> Double = { round ? Double(widenBF16(contractBF16($0))) : Double($0) }
        let q = p.q.map(r), k = p.k.map(r), v = p.v.map(r)
        let scale = Double(p.scale)
        var out = [Double](repeating: 0, count: p.nq * p.d), mag = out, err = [Double](repeating: 0, count: p.nq)
        var s = [Double](repeating: 0, count: p.keys)
        for i in 0..<p.nq {
            var top = -Double.infinity, worstAbs = 0.0
            for j in 0..<p.keys {
                var dot = 0.0, abs = 0.0
                for c in 0..<p.d {
                    dot += q[i * p.ldq + c] * k[j * p.ldk + c]
                    abs += Swift.abs(q[i * p.ldq + c] * k[j * p.ldk + c])
                }
                s[j] = dot * scale
                top = max(top, s[j])
                worstAbs = max(worstAbs, abs)
            }
            err[i] = Double(p.d + 2) * 0x1p-24 * scale * worstAbs
            var z = 0.0
            for j in 0..<p.keys { s[j] = Foundation.exp(s[j] - top); z += s[j] }
            for c in 0..<p.d {
                var o = 0.0, m = 0.0
                for j in 0..<p.keys { o += s[j] * v[j * p.ldv + c]; m += s[j] * Swift.abs(v[j * p.ldv + c]) }
                out[i * p.d + c] = o / z
                mag[i * p.d + c] = m / z
            }
        }
        return Exact(out: out, magnitude: mag, scoreError: err)
    }

    /// Runs one path; O has row stride d + 2 with NaN-free sentinel padding that must stay untouched.
    static func run(_ p: Problem, _ level: sito_isa, bf16: Bool) -> [Float] {
        let ldo = p.d + 2
        var o = [Float](repeating: 777, count: p.nq * ldo)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: sito_attention_scratch_bytes(p.d), alignment: 64)
        defer { scratch.deallocate() }
        if bf16 {
            var kv = [UInt16](repeating: 0xFFFF, count: sito_attention_kv_bf16_elements(p.keys, p.d))
            sito_attention_pack_kv_bf16(p.k, p.ldk, p.v, p.ldv, p.keys, p.d, &kv)
            sito_attention_bf16_isa(level, p.q, p.ldq, kv, &o, ldo, p.nq, p.keys, p.d, p.scale, scratch)
        } else {
            sito_attention_f32_isa(level, p.q, p.ldq, p.k, p.ldk, p.v, p.ldv, &o, ldo, p.nq, p.keys, p.d, p.scale, scratch)
        }
        var out = [Float]()
        for i in 0..<p.nq {
            out += o[(i * ldo)..<(i * ldo + p.d)]
            for c in p.d..<ldo { XCTAssertEqual(o[i * ldo + c], 777, "wrote past d") }
        }
        return out
    }

    /// The lowest level of each SIMD path this CPU has (several levels select the same path).
    static func distinctPaths(bf16: Bool) -> [sito_isa] {
        var seen: Set<String> = ["scalar"]
        return chainLevels.filter { seen.insert(String(cString: sito_attention_path_name($0, bf16 ? 1 : 0))).inserted }
    }

    static let keyCounts = [1, 2, 63, 64, 65, 511, 513, 1000]
    /// (queries, head dim): full and ragged query blocks (the lanes of one and several vectors) and
    /// several blocks (130 = 2 · 64 + 2); the large model's d = 64, d = 32, the tiny fixtures' d = 8 and an
    /// odd d (not a multiple of any width).
    static let blocks: [(nq: Int, d: Int)] = [(64, 64), (17, 64), (130, 64), (1, 32), (33, 32), (5, 8), (64, 3)]

    func testScalarReferencesAreTheSchemes() {
        var rng = TestRNG(seed: 40)
        for keys in [1, 65, 513] {
            for (nq, d) in AttentionTests.blocks {
                let p = AttentionTests.problem(nq: nq, keys: keys, d: d, rng: &rng)
                // f32: the reference is softmax attention within one path's rounding.
                let e = AttentionTests.exact(p, round: false)
                let got = AttentionTests.run(p, SITO_ISA_SCALAR, bf16: false)
                for t in got.indices {
                    let tol = attentionTolerance(magnitude: e.magnitude[t], scoreError: e.scoreError[t / d], keys: keys) / 2
                    XCTAssertLessThanOrEqual(abs(Double(got[t]) - e.out[t]), tol, "f32 scalar L=\(keys) nq=\(nq) d=\(d) at \(t)")
                }
                // bf16: softmax attention of the rounded operands, except that each weight is rounded to
                // bf16 too (≤ 2^-8 relative, a half ulp): ≤ 2 · 2^-8 · A more.
                let eb = AttentionTests.exact(p, round: true)
                let gotb = AttentionTests.run(p, SITO_ISA_SCALAR, bf16: true)
                for t in gotb.indices {
                    let tol = attentionTolerance(magnitude: eb.magnitude[t], scoreError: eb.scoreError[t / d], keys: keys) / 2
                        + 2 * 0x1p-8 * eb.magnitude[t]
                    XCTAssertLessThanOrEqual(abs(Double(gotb[t]) - eb.out[t]), tol, "bf16 scalar L=\(keys) nq=\(nq) d=\(d) at \(t)")
                }
            }
        }
    }

    func testPackedKVFollowsTheLayoutBitForBitOnEveryPath() {
        var rng = TestRNG(seed: 41)
        // Ties (0x...8000 patterns), the largest finite values (round to Inf), ±Inf, NaNs, subnormals, -0.
        let specials: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, -(1 + 0x1p-8), .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                 .infinity, -.infinity, .nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC1_2345),
                                 .leastNonzeroMagnitude, 0x1p-130 * 1.5, -0.0, 0]
        for (keys, d) in [(1, 8), (2, 3), (5, 64), (64, 32), (67, 300), (9, 33)] {
            var p = AttentionTests.problem(nq: 1, keys: keys, d: d, rng: &rng)
            for (n, x) in specials.enumerated() where n < keys * d {
                p.k[(n % keys) * p.ldk + (n * 7) % d] = x
                p.v[(n % keys) * p.ldv + (n * 5) % d] = x
            }
            let count = sito_attention_kv_bf16_elements(keys, d)
            XCTAssertEqual(count, keys * d + (keys + 1) / 2 * 2 * d)
            for level in chainLevels {
                let name = String(cString: sito_kernels_isa_name(level))
                var kv = [UInt16](repeating: 0xFFFF, count: count + 1)
                sito_attention_pack_kv_bf16_isa(level, p.k, p.ldk, p.v, p.ldv, keys, d, &kv)
                XCTAssertEqual(kv[count], 0xFFFF, "\(name): wrote past the end")
                for j in 0..<keys {
                    for c in 0..<d {
                        XCTAssertEqual(kv[j * d + c], contractBF16(p.k[j * p.ldk + c]), "\(name) K[\(j), \(c)]")
                        XCTAssertEqual(kv[keys * d + (j / 2) * 2 * d + 2 * c + j % 2], contractBF16(p.v[j * p.ldv + c]),
                                       "\(name) V[\(j), \(c)]")
                    }
                }
                if keys % 2 == 1 {
                    for c in 0..<d { XCTAssertEqual(kv[keys * d + (keys / 2) * 2 * d + 2 * c + 1], 0, "\(name): padding key") }
                }
            }
        }
    }

    func testEveryPathWithinToleranceOfTheReferenceOnRaggedShapes() {
        var rng = TestRNG(seed: 42)
        var worst: [String: Double] = [:]
        // The bf16 tolerance allows a flipped rounding on every weight; flips are in fact rare, so the bf16
        // paths must also agree within the f32 tolerance almost everywhere (measured: 1 element in ~10^5).
        var flips: [String: (beyond: Int, total: Int)] = [:]
        for keys in AttentionTests.keyCounts {
            for (nq, d) in AttentionTests.blocks {
                let p = AttentionTests.problem(nq: nq, keys: keys, d: d, rng: &rng)
                for bf16 in [false, true] {
                    let e = AttentionTests.exact(p, round: bf16)
                    let ref = AttentionTests.run(p, SITO_ISA_SCALAR, bf16: bf16)
                    for level in AttentionTests.distinctPaths(bf16: bf16) {
                        let name = String(cString: sito_attention_path_name(level, bf16 ? 1 : 0)) + (bf16 ? " (bf16)" : " (f32)")
                        let got = AttentionTests.run(p, level, bf16: bf16)
                        var bad = 0, first = "", beyondF32 = 0
                        for t in got.indices {
                            if abs(Double(got[t]) - Double(ref[t])) > attentionTolerance(magnitude: e.magnitude[t], scoreError: e.scoreError[t / d], keys: keys) { beyondF32 += 1 }
                            let tol = bf16
                                ? attentionBF16Tolerance(magnitude: e.magnitude[t], scoreError: e.scoreError[t / d], keys: keys)
                                : attentionTolerance(magnitude: e.magnitude[t], scoreError: e.scoreError[t / d], keys: keys)
                            let delta = abs(Double(got[t]) - Double(ref[t]))
                            worst[name] = max(worst[name] ?? 0, delta / tol)
                            if !(delta <= tol) {
                                if bad == 0 { first = "element \(t): got \(got[t]), reference \(ref[t]), tolerance \(tol)" }
                                bad += 1
                            }
                        }
                        XCTAssertEqual(bad, 0, "\(name) L=\(keys) nq=\(nq) d=\(d): \(bad) outside tolerance; first \(first)")
                        flips[name, default: (0, 0)].beyond += beyondF32
                        flips[name, default: (0, 0)].total += got.count
                    }
                }
            }
        }
        for (name, ratio) in worst.sorted(by: { $0.key < $1.key }) {
            let f = flips[name]!
            print("attention \(name): worst |Δ| / tolerance = \(ratio); beyond the f32 tolerance: \(f.beyond) of \(f.total)")
            XCTAssertLessThanOrEqual(Double(f.beyond), 0.01 * Double(f.total), name)
        }
    }

    func testOutputMayOverwriteTheQueries() {
        var rng = TestRNG(seed: 43)
        let p = AttentionTests.problem(nq: 150, keys: 130, d: 64, rng: &rng)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: sito_attention_scratch_bytes(p.d), alignment: 64)
        defer { scratch.deallocate() }
        var kv = [UInt16](repeating: 0, count: sito_attention_kv_bf16_elements(p.keys, p.d))
        sito_attention_pack_kv_bf16(p.k, p.ldk, p.v, p.ldv, p.keys, p.d, &kv)
        for level in chainLevels {
            for bf16 in [false, true] {
                var separate = [Float](repeating: 0, count: p.nq * p.ldq), inPlace = p.q
                if bf16 {
                    sito_attention_bf16_isa(level, p.q, p.ldq, kv, &separate, p.ldq, p.nq, p.keys, p.d, p.scale, scratch)
                    inPlace.withUnsafeMutableBufferPointer { b in
                        sito_attention_bf16_isa(level, b.baseAddress, p.ldq, kv, b.baseAddress, p.ldq, p.nq, p.keys, p.d, p.scale, scratch)
                    }
                } else {
                    sito_attention_f32_isa(level, p.q, p.ldq, p.k, p.ldk, p.v, p.ldv, &separate, p.ldq, p.nq, p.keys, p.d, p.scale, scratch)
                    inPlace.withUnsafeMutableBufferPointer { b in
                        sito_attention_f32_isa(level, b.baseAddress, p.ldq, p.k, p.ldk, p.v, p.ldv, b.baseAddress, p.ldq, p.nq, p.keys, p.d, p.scale, scratch)
                    }
                }
                for i in 0..<p.nq {
                    for c in 0..<p.d {
                        XCTAssertEqual(inPlace[i * p.ldq + c].bitPattern, separate[i * p.ldq + c].bitPattern,
                                       "\(String(cString: sito_attention_path_name(level, bf16 ? 1 : 0))) bf16=\(bf16)")
                    }
                }
            }
        }
    }

    func testEmptyShapesWriteNothing() {
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: sito_attention_scratch_bytes(8), alignment: 64)
        defer { scratch.deallocate() }
        var o = [Float](repeating: 5, count: 8)
        let x = [Float](repeating: 1, count: 8)
        for level in chainLevels {
            sito_attention_f32_isa(level, x, 8, x, 8, x, 8, &o, 8, 1, 0, 8, 1, scratch)
            sito_attention_f32_isa(level, x, 8, x, 8, x, 8, &o, 8, 0, 1, 8, 1, scratch)
            sito_attention_bf16_isa(level, x, 8, [UInt16](repeating: 0, count: 16), &o, 8, 0, 1, 8, 1, scratch)
            XCTAssertEqual(o, [Float](repeating: 5, count: 8))
        }
    }

    func testPathNames() {
        XCTAssertEqual(String(cString: sito_attention_path_name(SITO_ISA_SCALAR, 0)), "scalar")
        XCTAssertEqual(String(cString: sito_attention_path_name(SITO_ISA_SCALAR, 1)), "scalar")
        let top = sito_kernels_detect_isa()
        if top == SITO_ISA_AVX512_BF16 {
            XCTAssertEqual(String(cString: sito_attention_path_name(top, 1)), "avx512bf16")
            XCTAssertEqual(String(cString: sito_attention_path_name(top, 0)), "avx512")
        }
        if sito_isa_family_of(top) == SITO_ISA_FAMILY_ARM {
            XCTAssertEqual(String(cString: sito_attention_path_name(SITO_ISA_NEON, 0)), "neon")
            XCTAssertEqual(String(cString: sito_attention_path_name(SITO_ISA_NEON, 1)), "neon")
        }
        // A level of the other architecture's chain runs the reference.
        let foreign = sito_isa_family_of(top) == SITO_ISA_FAMILY_ARM ? SITO_ISA_AVX2 : SITO_ISA_NEON
        XCTAssertEqual(String(cString: sito_attention_path_name(foreign, 0)), "scalar")
        XCTAssertEqual(String(cString: sito_f32ops_path_name(foreign)), "scalar")
        print("attention paths here: f32 \(String(cString: sito_attention_path_name(top, 0))), bf16 \(String(cString: sito_attention_path_name(top, 1)))")
    }
}
