// QuantizationTests.swift: sito-quantize's library path (issue 4) on the tiny fixtures.
//   (a) the implementation is the scheme: Sito int8 / bf16 against tools/simulate_quant.py's goldens
//       (*.sim-int8/bf16.golden.json), within the bounds derived in formats/quantization.md ("Sito vs the
//       simulation");
//   (b) the scheme is good enough: Sito int8 / bf16 against the f32 transformers goldens, within
//       Tolerance.defaults (the measured basis is formats/quantization.md, "Measured loss");
//   (c) the quantizer's policy and its refusals: which tensors become i8/bf16, --keep-float, NaN/Inf,
//       all-zero rows, the input never modified, already-quantized input.
import Foundation
import Sito
import SitoFormat
@testable import SitoTools
import XCTest

final class QuantizationTests: XCTestCase {
    /// The tiny fixtures converted to f32 once per process, and quantized to int8 and bf16.
    struct Files: Sendable {
        let folder: URL
        func url(_ fixture: String, _ type: String) -> URL { folder.appendingPathComponent("\(fixture).\(type).sito") }
    }

    static let files: Result<Files, any Error> = Result {
        let folder = try Fixtures.temporaryFolder()
        let files = Files(folder: folder)
        for fixture in ["xlmr-tiny", "xlmr-tiny-long"] {
            let model = Fixtures.models.appendingPathComponent(fixture)
            guard FileManager.default.fileExists(atPath: model.appendingPathComponent("config.json").path) else { continue }
            _ = try Converter(folder: model).convert(to: files.url(fixture, "f32").path)
            for type in QuantizationType.allCases {
                _ = try Quantizer(type: type).quantize(input: files.url(fixture, "f32").path, output: files.url(fixture, type.rawValue).path)
            }
        }
        return files
    }

    func file(_ fixture: String, _ type: String) throws -> URL {
        _ = try Fixtures.model(fixture)
        return try QuantizationTests.files.get().url(fixture, type)
    }

    /// Max |Δlogit| per case of `file` against `golden` (each case on the golden's own ids, one run).
    func caseErrors(_ file: URL, golden name: String) throws -> [Double] {
        let golden = try GoldenFile.load(path: Fixtures.golden(name))
        let reranker = try Reranker(contentsOf: file, options: ModelOptions(maxLength: golden.maxLength))
        let cases = golden.cases.filter { $0.logits != nil && $0.inputIds != nil }
        let got = try reranker.logits(inputIds: cases.map { $0.inputIds! })
        let errors = zip(cases, got).map { c, g in zip(c.logits!, g).map { Double(abs($0 - $1)) }.max() ?? 0 }
        let sorted = errors.sorted()
        print(String(format: "%@ vs %@: %d cases, max |Δ| %.3g, mean %.3g, median %.3g, cases > 1e-4: %d",
                     file.lastPathComponent, name, errors.count, sorted.last ?? 0, errors.reduce(0, +) / Double(max(1, errors.count)),
                     sorted.isEmpty ? 0 : sorted[sorted.count / 2], errors.filter { $0 > 1e-4 }.count))
        return errors
    }

    // MARK: (a) the implementation is the scheme
    //
    // The integer parts are exact and the f32 steps are the same operations, so Sito and the simulation
    // differ only where f32 operations run in another order (attention, LayerNorm, the f32 GEMMs, bf16
    // sums): ~1e-6 on a logit, as f32 Sito vs transformers. But every quantizer in the forward pass (int8:
    // rint(x/s) per activation; bf16: rounding each activation to 8 bits of mantissa) turns a 1-ulp f32
    // difference into a one-step difference when the value sits on a rounding boundary ("a flip"). A flip
    // moves one element by one quantization step — as much as the scheme's own rounding of one element —
    // and the logit by up to a few 1e-2 on the tiny model (a flip in the CLS row before the head counts
    // most). transformers shows the same when only its own f32 order changes (sdpa instead of eager: 1 of
    // 303 int8 cases moves by 0.013, 5 of 303 bf16 cases by up to 0.008). formats/quantization.md has the
    // numbers. So the bound has two parts: most cases agree as tightly as f32 does (no flip), and every
    // case stays within a flip budget well below the scheme's own loss (0.33 int8, 0.16 bf16 on tiny).
    struct SchemeBound {
        /// Share of cases allowed to exceed the f32 tolerance 1e-4 (a flip).
        let flippedShare: Double
        /// Bound on every case's |Δlogit| (≈ 3× the largest flip measured on tiny, < 1/3 of the scheme's loss).
        let maxAbs: Double
        /// Bound on the mean |Δlogit| over the cases (measured ≈ 2e-4 on tiny).
        let meanAbs: Double
    }

    static let int8Bound = SchemeBound(flippedShare: 0.05, maxAbs: 0.1, meanAbs: 1e-3)
    static let bf16Bound = SchemeBound(flippedShare: 0.06, maxAbs: 0.05, meanAbs: 1e-3)

    func assertIsTheScheme(_ type: String, _ bound: SchemeBound) throws {
        // xlmr-tiny: 303 short cases, so the share of flipped cases is meaningful.
        let errors = try caseErrors(try file("xlmr-tiny", type), golden: "xlmr-tiny.sim-\(type).golden.json")
        XCTAssertGreaterThanOrEqual(errors.count, 300)
        let flipped = errors.filter { $0 > 1e-4 }.count
        XCTAssertLessThanOrEqual(Double(flipped), bound.flippedShare * Double(errors.count), "\(flipped) cases beyond 1e-4")
        XCTAssertLessThanOrEqual(errors.max() ?? 0, bound.maxAbs)
        XCTAssertLessThanOrEqual(errors.reduce(0, +) / Double(errors.count), bound.meanAbs)
        // The cases without a flip agree like f32 Sito agrees with transformers (measured median 3e-7).
        XCTAssertLessThanOrEqual(errors.sorted()[errors.count / 2], 1e-5)
        // xlmr-tiny-long: 10 cases up to 8192 tokens; a flip somewhere in a long sequence is likely
        // (bf16: 2 of 10 cases moved, by ≤ 0.0046), so only the per-case bound applies.
        let long = try caseErrors(try file("xlmr-tiny-long", type), golden: "xlmr-tiny-long.sim-\(type).golden.json")
        XCTAssertEqual(long.count, 10)
        XCTAssertLessThanOrEqual(long.max() ?? 0, bound.maxAbs)
    }

    func testInt8IsTheSimulatedScheme() throws { try assertIsTheScheme("int8", QuantizationTests.int8Bound) }

    func testBf16IsTheSimulatedScheme() throws { try assertIsTheScheme("bf16", QuantizationTests.bf16Bound) }

    // MARK: (b) the scheme against transformers f32, with sito-verify's defaults

    func verifyDefaults(_ fixture: String, _ type: String) throws -> VerifyReport {
        let path = Fixtures.golden("\(fixture).golden.json")
        let golden = try GoldenFile.load(path: path)
        let reranker = try Reranker(contentsOf: try file(fixture, type), options: ModelOptions(maxLength: golden.maxLength))
        let r = try Verifier.verify(reranker, golden: golden, goldenPath: path)
        print(String(format: "%@ %@ vs f32: max |Δ| %.3g, mean %.3g, spearman %.5f, top1 %.3f, ndcg10 %.5f", fixture, type,
                     r.maxAbsError, r.meanAbsError, r.spearman ?? .nan, r.top1Agreement ?? .nan, r.ndcg10 ?? .nan))
        XCTAssertEqual(r.dtype, type)
        XCTAssertEqual(r.tolerance, Tolerance.defaults(for: Verifier.storageType(reranker.header)))
        XCTAssertEqual(r.tokenMismatches, 0)
        XCTAssertTrue(r.passed, "\(fixture) \(type): " + r.failures.joined(separator: "; "))
        return r
    }

    func testInt8AgainstF32GoldensWithinDefaults() throws {
        let r = try verifyDefaults("xlmr-tiny", "int8")
        // The acceptance: int8 published with its max |Δlogit|; measured 0.33 (formats/quantization.md).
        XCTAssertLessThanOrEqual(r.maxAbsError, 0.5)
    }

    func testBf16AgainstF32GoldensWithinDefaults() throws {
        let r = try verifyDefaults("xlmr-tiny", "bf16")
        // The acceptance on the committed Polish goldens.
        XCTAssertGreaterThanOrEqual(r.spearman ?? 0, 0.995)
        XCTAssertGreaterThanOrEqual(r.top1Agreement ?? 0, 0.98)
    }

    /// xlmr-base (12 × 768, random weights, `python3 tools/make_fixture.py --model xlmr-base`) on the 400
    /// ranking pairs of xlmr-base.rank.golden.json. Slow in a debug build: only with SITO_BASE_TESTS=1.
    /// In 12 layers a flip changes the activations that the next layers quantize, so flips cascade and two
    /// f32 orderings of the same scheme decorrelate partly: transformers eager vs sdpa differ by mean 0.057
    /// (60 cases), Sito vs the simulation by 0.062 (int8). The check is then statistical: Sito's distance
    /// to the simulation stays below 0.6 × the scheme's loss (independent realizations would reach ≈ √2 ×),
    /// and Sito's loss is the simulation's loss within 20%.
    func testBaseRankGoldens() throws {
        guard ProcessInfo.processInfo.environment["SITO_BASE_TESTS"] == "1" else { throw XCTSkip("set SITO_BASE_TESTS=1") }
        let model = try Fixtures.model("xlmr-base")
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let f32 = folder.appendingPathComponent("base.f32.sito").path
        _ = try Converter(folder: model).convert(to: f32)
        let reference = try GoldenFile.load(path: Fixtures.golden("xlmr-base.rank.golden.json"))
        for type in QuantizationType.allCases {
            let out = folder.appendingPathComponent("base.\(type.rawValue).sito")
            _ = try Quantizer(type: type).quantize(input: f32, output: out.path)
            let simName = "xlmr-base.rank.sim-\(type.rawValue).golden.json"
            let sim = try GoldenFile.load(path: Fixtures.golden(simName))
            let schemeLoss = zip(reference.cases, sim.cases).map { Double(abs($0.logits![0] - $1.logits![0])) }.reduce(0, +) / Double(sim.cases.count)
            let toSim = try caseErrors(out, golden: simName)
            let toF32 = try caseErrors(out, golden: "xlmr-base.rank.golden.json")
            let mean = { (xs: [Double]) in xs.reduce(0, +) / Double(xs.count) }
            XCTAssertLessThanOrEqual(mean(toSim), 0.6 * schemeLoss, type.rawValue)
            XCTAssertEqual(mean(toF32), schemeLoss, accuracy: 0.2 * schemeLoss, type.rawValue)
            let path = Fixtures.golden("xlmr-base.rank.golden.json")
            let r = try Verifier.verify(try Reranker(contentsOf: out), golden: reference, goldenPath: path)
            print(String(format: "xlmr-base %@ vs f32: max |Δ| %.3g, mean %.3g, spearman %.5f, top1 %.3f, ndcg10 %.5f", type.rawValue,
                         r.maxAbsError, r.meanAbsError, r.spearman ?? .nan, r.top1Agreement ?? .nan, r.ndcg10 ?? .nan))
            XCTAssertTrue(r.passed, r.failures.joined(separator: "; "))
        }
    }

    // MARK: (c) the quantizer: policy and refusals

    /// Canonical names the policy quantizes (formats/quantization.md, "Policy").
    /// The tensor's elements in row-major order: a blocked16 tensor is read through the index formula of
    /// formats/sito.md ("Layouts"), written out here independently of the kernels' packing code.
    static func rowMajor<T>(_ view: TensorView, as type: T.Type) -> [T] {
        let p = view.pointer(as: T.self)
        guard view.layout == .blocked16 else { return Array(UnsafeBufferPointer(start: p, count: view.count)) }
        let rows = view.shape[0], cols = view.shape[1], g = 4 / MemoryLayout<T>.stride
        return (0..<(rows * cols)).map { i in
            let r = i / cols, c = i % cols
            return p[((r / 16) * (cols / g) + c / g) * 16 * g + (r % 16) * g + c % g]
        }
    }

    static func policyNames(layers: Int) -> Set<String> {
        var names: Set<String> = ["embeddings.word.weight", "head.dense.weight"]
        for i in 0..<layers {
            for p in ["attn.q", "attn.k", "attn.v", "attn.out", "ffn.up", "ffn.down"] { names.insert("layers.\(i).\(p).weight") }
        }
        return names
    }

    func testInt8PolicyAndValues() throws {
        let f32 = try SitoFile(contentsOf: try file("xlmr-tiny", "f32"))
        let q = try SitoFile(contentsOf: try file("xlmr-tiny", "int8"), options: SitoOpenOptions(verifyChecksums: true))
        XCTAssertEqual(q.header.quantization?.type, .int8)
        XCTAssertEqual(q.header.quantization?.scheme, Quantizer.int8Scheme)
        XCTAssertEqual(q.header.quantization?.keepFloat, [])
        let policy = QuantizationTests.policyNames(layers: q.header.model.layers)
        for e in ArchitectureSchema.expectedTensors(for: q.header.model) {
            let t = try q.require(e.name)
            if policy.contains(e.name) {
                XCTAssertEqual(t.dtype, .i8, e.name)
                let s = try q.require(e.name + scaleSuffix)
                XCTAssertEqual(s.dtype, .f32)
                XCTAssertEqual(s.shape, [e.shape[0]], e.name)
            } else {
                XCTAssertEqual(t.dtype, .f32, e.name)
                XCTAssertNil(q.tensor(e.name + scaleSuffix), e.name)
            }
        }
        XCTAssertEqual(q.header.tensors.filter { $0.dtype == .i8 }.count, policy.count)
        XCTAssertEqual(Array(try q.require(q.header.tokenizer.tensor).bytes), Array(try f32.require(f32.header.tokenizer.tensor).bytes))
        // Every row follows the header's rule exactly: scale = amax/127, q = rint(w/scale), |q| ≤ 127.
        for name in ["layers.0.attn.q.weight", "layers.1.ffn.down.weight", "head.dense.weight", "embeddings.word.weight"] {
            let w = try f32.require(name), qt = try q.require(name), st = try q.require(name + scaleSuffix)
            let rows = w.shape[0], cols = w.shape[1]
            XCTAssertEqual(qt.layout, name == "embeddings.word.weight" ? .rowMajor : .blocked16, name)
            let wp = w.pointer(as: Float.self), qp = QuantizationTests.rowMajor(qt, as: Int8.self), sp = st.pointer(as: Float.self)
            var mismatches = 0
            for r in 0..<rows {
                var amax: Float = 0
                for c in 0..<cols { amax = max(amax, abs(wp[r * cols + c])) }
                let scale = amax / 127
                if sp[r].bitPattern != scale.bitPattern { mismatches += 1 }
                for c in 0..<cols {
                    let expected = scale == 0 ? 0 : Int8(max(-127, min(127, (wp[r * cols + c] / scale).rounded(.toNearestOrEven))))
                    if qp[r * cols + c] != expected { mismatches += 1 }
                }
            }
            XCTAssertEqual(mismatches, 0, name)
        }
    }

    func testBf16PolicyAndValues() throws {
        let f32 = try SitoFile(contentsOf: try file("xlmr-tiny", "f32"))
        let b = try SitoFile(contentsOf: try file("xlmr-tiny", "bf16"), options: SitoOpenOptions(verifyChecksums: true))
        XCTAssertEqual(b.header.quantization?.type, .bf16)
        let policy = QuantizationTests.policyNames(layers: b.header.model.layers)
        for e in ArchitectureSchema.expectedTensors(for: b.header.model) {
            let t = try b.require(e.name)
            XCTAssertEqual(t.dtype, policy.contains(e.name) ? .bf16 : .f32, e.name)
            XCTAssertNil(b.tensor(e.name + scaleSuffix))
            if policy.contains(e.name) {
                // Round to nearest even, checked against the bit formula of formats/sito.md.
                XCTAssertEqual(t.layout, e.projection ? .blocked16 : .rowMajor, e.name)
                let src = try f32.require(e.name).pointer(as: Float.self), dst = QuantizationTests.rowMajor(t, as: UInt16.self)
                var mismatches = 0
                for i in 0..<t.count {
                    let u = src[i].bitPattern
                    if dst[i] != UInt16((u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16) { mismatches += 1 }
                }
                XCTAssertEqual(mismatches, 0, e.name)
            }
        }
    }

    /// The layout changes the order of the bytes, not the numbers: a row-major (format 1) int8 file gives
    /// bit-identical logits; bf16 differs only in the order of f32 additions.
    func testBlockedAndRowMajorFilesAgree() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = try file("xlmr-tiny", "f32")
        let golden = try GoldenFile.load(path: Fixtures.golden("xlmr-tiny.golden.json"))
        let ids = golden.cases.compactMap(\.inputIds).prefix(60).map { $0 }
        for type in QuantizationType.allCases {
            var logits: [[[Float]]] = []
            for layout in TensorLayout.allCases {
                let out = folder.appendingPathComponent("\(type)-\(layout).sito")
                _ = try Quantizer(type: type, layout: layout).quantize(input: input.path, output: out.path)
                let f = try SitoFile(contentsOf: out)
                XCTAssertEqual(f.header.sito, layout == .rowMajor ? 1 : 2, "\(type) \(layout)")
                logits.append(try Reranker(contentsOf: out).logits(inputIds: ids))
            }
            let pairs = zip(logits[0].joined(), logits[1].joined())
            if type == .int8 {
                for (x, y) in pairs { XCTAssertEqual(x.bitPattern, y.bitPattern, "int8: blocked16 and row-major must agree bit for bit") }
            } else {
                // A different f32 summation order can flip the bf16 rounding of a later activation, which
                // the network carries on: the two files differ by much less than bf16 itself costs against
                // f32 (sito-verify: max |Δ| ≈ 0.03–0.09 on these models).
                let gaps = pairs.map { abs($0 - $1) }
                print("bf16 blocked16 vs row-major: max |Δlogit| \(gaps.max() ?? 0), mean \(gaps.reduce(0, +) / Float(max(1, gaps.count)))")
                XCTAssertLessThan(gaps.max() ?? 0, 0.02)
            }
        }
    }

    func testKeepFloatPatterns() throws {
        let input = try file("xlmr-tiny", "f32")
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("keep.sito")
        let patterns = ["layers.0.*", "*.ffn.down.weight", "embeddings.word.weight"]
        let summary = try Quantizer(type: .int8, keepFloat: patterns).quantize(input: input.path, output: out.path)
        let kept: Set<String> = ["layers.0.attn.q.weight", "layers.0.attn.k.weight", "layers.0.attn.v.weight", "layers.0.attn.out.weight",
                                 "layers.0.ffn.up.weight", "layers.0.ffn.down.weight", "layers.1.ffn.down.weight", "embeddings.word.weight"]
        XCTAssertEqual(Set(summary.keptFloat), kept)
        XCTAssertEqual(summary.quantizedTensors, QuantizationTests.policyNames(layers: 2).count - kept.count)
        XCTAssertNil(summary.zeroRows["embeddings.word.weight"], "kept in f32: no scale, no zero-row report")
        let f = try SitoFile(contentsOf: out, options: SitoOpenOptions(verifyChecksums: true))
        XCTAssertEqual(f.header.quantization?.keepFloat, patterns)
        for name in kept {
            XCTAssertEqual(f.tensor(name)?.dtype, .f32, name)
            XCTAssertNil(f.tensor(name + scaleSuffix), name)
        }
        XCTAssertEqual(f.tensor("layers.1.attn.q.weight")?.dtype, .i8)
        // The mixed file runs (an f32 layer before int8 ones: the scratch is sized for every layer) and
        // passes the int8 defaults.
        let path = Fixtures.golden("xlmr-tiny.golden.json")
        let r = try Verifier.verify(try Reranker(contentsOf: out), golden: try GoldenFile.load(path: path), goldenPath: path)
        XCTAssertTrue(r.passed, r.failures.joined(separator: "; "))
        // Pattern matching.
        XCTAssertTrue(Quantizer.matches("layers.3.attn.q.weight", "layers.*.attn.*.weight"))
        XCTAssertTrue(Quantizer.matches("head.dense.weight", "*"))
        XCTAssertTrue(Quantizer.matches("head.dense.weight", "head.dense.weight"))
        XCTAssertFalse(Quantizer.matches("head.dense.weight", "head.dense"))
        XCTAssertFalse(Quantizer.matches("layers.10.ffn.up.weight", "layers.1.*"))
        XCTAssertThrowsError(try Quantizer(type: .int8, keepFloat: [""]).quantize(input: input.path, output: out.path + "2")) {
            XCTAssertEqual($0 as? QuantizeError, .badPattern(""))
        }
    }

    /// A copy of the tiny f32 file with `values` written into `tensor` from element `at`.
    func patchedCopy(tensor: String, at: Int, values: [Float], in folder: URL) throws -> URL {
        let source = try file("xlmr-tiny", "f32")
        let copy = folder.appendingPathComponent("patched.sito")
        try FileManager.default.copyItem(at: source, to: copy)
        let f = try SitoFile(contentsOf: copy)
        let entry = try f.require(tensor).entry
        let handle = try FileHandle(forWritingTo: copy)
        try handle.seek(toOffset: UInt64(f.dataOffset + entry.offset + at * 4))
        try handle.write(contentsOf: values.withUnsafeBufferPointer { Data(buffer: $0) })
        try handle.close()
        return copy
    }

    func testNonFiniteInputIsRefusedWithNoOutput() throws {
        for (tensor, at, value) in [("layers.1.ffn.up.weight", 5, Float.nan), ("embeddings.word.weight", 32 * 1000 + 7, .infinity),
                                    ("embeddings.position.weight", 3, -.infinity)] {
            for type in QuantizationType.allCases {
                let folder = try Fixtures.temporaryFolder()
                defer { try? FileManager.default.removeItem(at: folder) }
                let input = try patchedCopy(tensor: tensor, at: at, values: [value], in: folder)
                let out = folder.appendingPathComponent("out.sito")
                XCTAssertThrowsError(try Quantizer(type: type).quantize(input: input.path, output: out.path)) { error in
                    XCTAssertEqual(error as? QuantizeError, .nonFinite(path: input.path, tensor: tensor, index: at))
                    let message = (error as? LocalizedError)?.errorDescription ?? ""
                    XCTAssertTrue(message.contains(tensor) && message.contains("\(at)"), message)
                }
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["patched.sito"],
                               "no output and no temporary file left behind")
            }
        }
    }

    func testAllZeroRowsAreReported() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Row 3 of layers.0.attn.q.weight [32, 32] zeroed. The fixture's word table already has one zero
        // row: the padding row (padding_idx = 1), as in real XLM-R checkpoints.
        let input = try patchedCopy(tensor: "layers.0.attn.q.weight", at: 3 * 32, values: [Float](repeating: 0, count: 32), in: folder)
        let out = folder.appendingPathComponent("out.sito")
        let summary = try Quantizer(type: .int8).quantize(input: input.path, output: out.path)
        XCTAssertEqual(summary.zeroRows, ["layers.0.attn.q.weight": 1, "embeddings.word.weight": 1])
        let f = try SitoFile(contentsOf: out)
        XCTAssertEqual(try f.require("layers.0.attn.q.weight.scale").pointer(as: Float.self)[3], 0)
        XCTAssertEqual(try f.require("embeddings.word.weight.scale").pointer(as: Float.self)[1], 0)
        let q = QuantizationTests.rowMajor(try f.require("layers.0.attn.q.weight"), as: Int8.self)
        XCTAssertTrue((0..<32).allSatisfy { q[3 * 32 + $0] == 0 })
        // A zero row is legal: the file loads and scores finite logits.
        let logits = try Reranker(contentsOf: out).logits(inputIds: [[0, 1, 2], [0, 5000, 6, 2]])
        XCTAssertTrue(logits.joined().allSatisfy(\.isFinite))
        // bf16 has no scales; zero rows are simply zero.
        XCTAssertEqual(try Quantizer(type: .bf16).quantize(input: input.path, output: folder.appendingPathComponent("b.sito").path).zeroRows, [:])
    }

    func testInputIsNeverModified() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("in.sito")
        try FileManager.default.copyItem(at: try file("xlmr-tiny", "f32"), to: input)
        let before = try Data(contentsOf: input)
        let attributes = try FileManager.default.attributesOfItem(atPath: input.path)
        for type in QuantizationType.allCases {
            _ = try Quantizer(type: type).quantize(input: input.path, output: folder.appendingPathComponent("\(type).sito").path)
        }
        XCTAssertEqual(try Data(contentsOf: input), before)
        let after = try FileManager.default.attributesOfItem(atPath: input.path)
        XCTAssertEqual(after[.modificationDate] as? Date, attributes[.modificationDate] as? Date)
        // Writing onto the input itself is refused (AtomicFile compares device and inode).
        XCTAssertThrowsError(try Quantizer(type: .int8).quantize(input: input.path, output: input.path)) { error in
            XCTAssertTrue("\(error)".contains("refusing to overwrite the input"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: input), before)
    }

    func testAlreadyQuantizedInputIsRefused() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for from in QuantizationType.allCases {
            let input = try file("xlmr-tiny", from.rawValue)
            for to in QuantizationType.allCases {
                let out = folder.appendingPathComponent("\(from)-\(to).sito")
                XCTAssertThrowsError(try Quantizer(type: to).quantize(input: input.path, output: out.path)) { error in
                    XCTAssertEqual(error as? QuantizeError, .alreadyQuantized(path: input.path, type: from.rawValue))
                }
                XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
            }
        }
    }
}
