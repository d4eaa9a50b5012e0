// CalibratedQuantizationTests.swift: per-projection plans and `sito-quantize --calibrate` (issue 15;
// formats/quantization.md, "Per-projection plans").
//   (a) a plan's file: every projection stored and run as its scheme — uniform plans give exactly the
//       file-wide schemes' outputs, a mixed plan stores each tensor as its scheme's file does and runs;
//   (b) the quantizer refuses plans that name no projection, or fight --keep-float;
//   (c) the CLI: --calibrate writes the plan and its measurements, sito-inspect shows them, and bad input
//       (missing golden, a golden for another kind of model, a reranker, no target, a target no plan
//       meets) exits 2 with nothing written.
import Foundation
import Sito
import SitoFormat
import SitoTestSupport
@testable import SitoTools
import XCTest

final class CalibratedQuantizationTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = try scratchFolder("calibrated-quantization", removedAfter: self)
    }

    /// A fixture converted to f32 in this test's scratch folder.
    private func f32(_ fixture: String) throws -> URL {
        let out = work.appendingPathComponent("\(fixture).f32.sito")
        if !FileManager.default.fileExists(atPath: out.path) {
            _ = try Converter(folder: try Fixtures.model(fixture)).convert(to: out.path)
        }
        return out
    }

    private func quantize(_ input: URL, _ name: String, _ q: Quantizer) throws -> URL {
        let out = work.appendingPathComponent(name)
        _ = try q.quantize(input: input.path, output: out.path)
        return out
    }

    /// Logits of every case of the xlmr-tiny golden (on its own ids).
    private func logits(_ file: URL) throws -> [[Float]] {
        let golden = try GoldenFile.load(path: Fixtures.golden("xlmr-tiny.golden.json"))
        let reranker = try Reranker(contentsOf: file, options: ModelOptions(maxLength: golden.maxLength))
        return try reranker.logits(inputIds: golden.cases.compactMap(\.inputIds))
    }

    private func uniform(_ model: ModelHyperparameters, _ s: ProjectionScheme) -> [String: ProjectionScheme] {
        Dictionary(uniqueKeysWithValues: Quantizer.projections(of: model).map { ($0, s) })
    }

    // MARK: (a) a plan's file is its schemes

    func testUniformPlansGiveTheFileWideSchemesExactly() throws {
        let input = try f32("xlmr-tiny")
        let model = try SitoFile(contentsOf: input).header.model
        XCTAssertEqual(Quantizer.projections(of: model).count, 2 * 6 + 1, "6 per layer and head.dense")
        let int8 = try quantize(input, "int8.sito", Quantizer(type: .int8))
        let twoPass = try quantize(input, "int8x2.sito", Quantizer(type: .int8, activations: .twoPass))
        let planned1 = try quantize(input, "plan-int8.sito", Quantizer(type: .int8, activations: .twoPass, plan: uniform(model, .int8)))
        let planned2 = try quantize(input, "plan-int8x2.sito", Quantizer(type: .int8, plan: uniform(model, .int8TwoPass)))
        // The plan wins over activation_passes in both directions; the results are bit-identical.
        XCTAssertEqual(try logits(planned1), try logits(int8))
        XCTAssertEqual(try logits(planned2), try logits(twoPass))
        XCTAssertNotEqual(try logits(int8), try logits(twoPass), "the two schemes differ on this fixture")
        let h = try SitoFile(contentsOf: planned2).header.quantization
        XCTAssertEqual(h?.plan, uniform(model, .int8TwoPass))
        XCTAssertEqual(h?.scheme, Quantizer.plannedScheme)
    }

    func testMixedPlanStoresEachProjectionAsItsSchemeAndRuns() throws {
        let input = try f32("xlmr-tiny")
        let int8 = try SitoFile(contentsOf: try quantize(input, "int8.sito", Quantizer(type: .int8)))
        let bf16 = try SitoFile(contentsOf: try quantize(input, "bf16.sito", Quantizer(type: .bf16)))
        // Layer 0's attention mixes all three schemes (Q, K, V prepared separately), layer 1 is bf16 in
        // its attention (bf16 attention there: all of Q, K, V low precision) and int8 in its FFN.
        let plan: [String: ProjectionScheme] = [
            "layers.0.attn.q": .int8TwoPass, "layers.0.attn.k": .int8, "layers.0.attn.v": .bf16, "layers.0.attn.out": .int8TwoPass,
            "layers.0.ffn.up": .bf16, "layers.0.ffn.down": .int8TwoPass,
            "layers.1.attn.q": .bf16, "layers.1.attn.k": .bf16, "layers.1.attn.v": .bf16, "layers.1.attn.out": .bf16,
            "layers.1.ffn.up": .int8, "layers.1.ffn.down": .int8, "head.dense": .bf16,
        ]
        let mixedURL = try quantize(input, "mixed.sito", Quantizer(type: .int8, plan: plan))
        let mixed = try SitoFile(contentsOf: mixedURL, options: SitoOpenOptions(verifyChecksums: true))
        XCTAssertEqual(mixed.header.quantization?.plan, plan)
        for (name, scheme) in plan {
            let reference = scheme == .bf16 ? bf16 : int8
            let w = try XCTUnwrap(mixed.tensor(name + ".weight"))
            XCTAssertEqual(w.dtype, scheme.weightDType, name)
            XCTAssertEqual(w.entry.xxh64, reference.tensor(name + ".weight")?.entry.xxh64, "\(name): the same bytes as the \(scheme.weightDType) file's")
            XCTAssertEqual(mixed.tensor(name + ".weight" + scaleSuffix) != nil, scheme != .bf16, name)
        }
        XCTAssertEqual(mixed.tensor("embeddings.word.weight")?.dtype, .i8, "outside the plan: the type's policy")
        // It runs, and stays within the int8 defaults against transformers f32.
        let path = Fixtures.golden("xlmr-tiny.golden.json")
        let r = try Verifier.verify(try Reranker(contentsOf: mixedURL), golden: try GoldenFile.load(path: path), goldenPath: path)
        XCTAssertTrue(r.passed, r.failures.joined(separator: "; "))
        XCTAssertEqual(r.tokenMismatches, 0)
    }

    // MARK: (b) refusals of the library

    func testPlansThatNameNoProjectionOrFightKeepFloatAreRefused() throws {
        let input = try f32("xlmr-tiny")
        let out = work.appendingPathComponent("refused.sito").path
        XCTAssertThrowsError(try Quantizer(type: .int8, plan: ["layers.7.attn.q": .int8]).quantize(input: input.path, output: out)) {
            XCTAssertEqual($0 as? QuantizeError, .planUnknownProjection("layers.7.attn.q"))
        }
        XCTAssertThrowsError(try Quantizer(type: .int8, plan: ["embeddings.word": .int8]).quantize(input: input.path, output: out)) {
            XCTAssertEqual($0 as? QuantizeError, .planUnknownProjection("embeddings.word"))
        }
        XCTAssertThrowsError(try Quantizer(type: .int8, keepFloat: ["layers.0.*"], plan: ["layers.0.attn.q": .bf16]).quantize(input: input.path, output: out)) {
            XCTAssertEqual($0 as? QuantizeError, .planKeptFloat(projection: "layers.0.attn.q", pattern: "layers.0.*"))
        }
        XCTAssertThrowsError(try Quantizer(type: .bf16, plan: ["layers.0.attn.q": .bf16]).quantize(input: input.path, output: out)) {
            XCTAssertEqual($0 as? QuantizeError, .planNeedsInt8(.bf16))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testCostModelAndGroups() throws {
        let model = try SitoFile(contentsOf: try f32("xlmr-tiny")).header.model
        XCTAssertEqual(Calibrator.estimatedCost(uniform(model, .int8), model: model), 1, accuracy: 1e-12)
        XCTAssertEqual(Calibrator.estimatedCost(uniform(model, .int8TwoPass), model: model), ProjectionScheme.int8TwoPass.estimatedCost, accuracy: 1e-12)
        XCTAssertEqual(Calibrator.estimatedCost(uniform(model, .bf16), model: model), ProjectionScheme.bf16.estimatedCost, accuracy: 1e-12)
        XCTAssertLessThan(ProjectionScheme.int8.estimatedCost, ProjectionScheme.int8TwoPass.estimatedCost)
        XCTAssertLessThan(ProjectionScheme.int8TwoPass.estimatedCost, ProjectionScheme.bf16.estimatedCost)
        let groups = Calibrator.groups(Quantizer.projections(of: model))
        XCTAssertEqual(groups.map(\.count), [2, 2, 2, 2, 2, 2, 1])
        XCTAssertEqual(groups[0], ["layers.0.attn.q", "layers.1.attn.q"])
        XCTAssertEqual(groups.last, ["head.dense"])
    }

    // MARK: (c) the CLI

    func testCalibrateWritesThePlanAndInspectShowsIt() throws {
        let input = try f32("roberta-tiny-embed")
        let golden = Fixtures.golden("roberta-tiny-embed.golden.json")
        let out = work.appendingPathComponent("calibrated.sito")
        // A target between all-int8 and all-bf16 on this fixture, so the search has to choose.
        let r = try ToolRunner.run("sito-quantize", [input.path, "-o", out.path, "--type", "int8", "--calibrate", golden,
                                                     "--min-mean-cosine", "0.9999", "--evaluate", golden, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let calibration = try XCTUnwrap(summary?["calibration"] as? [String: Any], r.stdout)
        XCTAssertEqual(Set(calibration.keys), ["plan", "target", "calibration", "evaluation", "estimated_cost", "evaluations",
                                                "evaluation_meets_target"])
        let file = try SitoFile(contentsOf: out, options: SitoOpenOptions(verifyChecksums: true))
        let q = try XCTUnwrap(file.header.quantization)
        let plan = try XCTUnwrap(q.plan)
        XCTAssertEqual(Set(plan.keys), Set(Quantizer.projections(of: file.header.model)))
        let c = try XCTUnwrap(q.calibration)
        XCTAssertEqual(c.target, AccuracyTarget(minMeanCosine: 0.9999))
        XCTAssertGreaterThanOrEqual(c.calibration.meanCosine, 0.9999, "never a file that misses the target")
        XCTAssertEqual(c.calibration.golden, "roberta-tiny-embed.golden.json")
        XCTAssertEqual(c.calibration.goldenXXH64.count, 16)
        XCTAssertEqual(c.evaluation?.meanCosine, c.calibration.meanCosine, "the same golden measured twice: the same file")
        XCTAssertEqual(c.estimatedCost, Calibrator.estimatedCost(plan, model: file.header.model), accuracy: 1e-12)
        // The file measures what its header says.
        let report = try EmbeddingVerifier.verify(try Embedder(contentsOf: out), golden: try GoldenFile.load(path: golden), goldenPath: golden,
                                                  tolerance: EmbeddingTolerance(minCosine: -1))
        XCTAssertEqual(report.meanCosine, c.calibration.meanCosine, accuracy: 1e-12)
        // sito-inspect: the plan and the calibration, in text and JSON.
        let text = try ToolRunner.run("sito-inspect", [out.path])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("plan "), text.stdout)
        XCTAssertTrue(text.stdout.contains("layers.0: attn.k "), text.stdout)
        XCTAssertTrue(text.stdout.contains("calibrated    for mean cosine ≥ 0.9999"), text.stdout)
        XCTAssertTrue(text.stdout.contains("evaluation roberta-tiny-embed.golden.json"), text.stdout)
        let json = try ToolRunner.run("sito-inspect", [out.path, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let shown = (object?["quantization"] as? [String: Any])?["plan"] as? [String: String]
        XCTAssertEqual(shown, plan.mapValues(\.rawValue))
    }

    func testCalibrateRefusesBadInputAndWritesNothing() throws {
        let embed = try f32("roberta-tiny-embed").path
        let reranker = try f32("xlmr-tiny").path
        let golden = Fixtures.golden("roberta-tiny-embed.golden.json")
        let out = work.appendingPathComponent("never.sito").path
        func refused(_ args: [String], _ phrases: [String], line: UInt = #line) throws {
            let r = try ToolRunner.run("sito-quantize", ["-o", out, "--type", "int8"] + args)
            ToolRunner.assertBadInput(r, phrases, args.joined(separator: " "), line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written", line: line)
        }
        let missing = work.appendingPathComponent("missing.golden.json").path
        try refused([embed, "--calibrate", missing, "--min-mean-cosine", "0.9"], [missing, "no such file"])
        try refused([embed, "--calibrate", golden, "--min-mean-cosine", "0.9", "--evaluate", missing], [missing, "no such file"])
        try refused([embed, "--calibrate", Fixtures.golden("xlmr-tiny.golden.json"), "--min-mean-cosine", "0.9"],
                    ["xlmr-tiny.golden.json", "golden is for a reranker"])
        try refused([reranker, "--calibrate", golden, "--min-mean-cosine", "0.9"], [reranker, "embedding models"])
        try refused([embed, "--calibrate", golden], ["needs a target"])
        try refused([embed, "--calibrate", golden, "--min-top1", "1.5"], ["--min-top1", "[0, 1]"])
        try refused([embed, "--min-top1", "0.9"], ["--min-top1 applies with --calibrate only"])
        try refused([embed, "--calibrate", golden, "--min-cosine", "0.9", "--two-pass-activations"], ["--two-pass-activations"])
        // A target no plan meets: even all-bf16 has cosines below 1.
        try refused([embed, "--calibrate", golden, "--min-cosine", "1"], [golden, "cannot be met even with every projection in bf16", "best reached: mean cosine"])
    }
}
