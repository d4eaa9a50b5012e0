// CalibratedQuantizationTests.swift: per-projection plans and `sito-quantize --calibrate` (issue 15;
// formats/quantization.md, "Per-projection plans").
//   (a) a plan's file: every projection stored and run as its scheme — uniform plans give exactly the
//       file-wide schemes' outputs, int8-a16 is as accurate as two passes in either layout, a mixed plan
//       stores each tensor as its scheme's file does and runs;
//   (b) the quantizer refuses plans that name no projection, or fight --keep-float;
//   (c) the CLI: --calibrate writes the plan and its measurements, sito-inspect shows them, --write-plan
//       and --plan carry a plan to another file (refusing bad plan files, naming them), and bad input
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

    func testInt8A16PlanIsAsAccurateAsTwoPassesInEitherLayout() throws {
        let input = try f32("xlmr-tiny")
        let model = try SitoFile(contentsOf: input).header.model
        let a16 = try quantize(input, "a16.sito", Quantizer(type: .int8, activations: .twoPass, plan: uniform(model, .int8A16)))
        let a16RowMajor = try quantize(input, "a16-rm.sito", Quantizer(type: .int8, activations: .twoPass, layout: .rowMajor,
                                                                        plan: uniform(model, .int8A16)))
        XCTAssertEqual(try SitoFile(contentsOf: a16RowMajor).tensor("layers.0.attn.q.weight")?.layout, .rowMajor)
        XCTAssertEqual(try logits(a16), try logits(a16RowMajor), "blocked16 and row-major kernels: bit-identical")
        // The weights are the int8 file's bytes; only the activations differ.
        let int8 = try quantize(input, "int8.sito", Quantizer(type: .int8))
        let twoPass = try quantize(input, "int8x2.sito", Quantizer(type: .int8, activations: .twoPass))
        XCTAssertEqual(try SitoFile(contentsOf: a16).tensor("layers.1.ffn.down.weight")?.entry.xxh64,
                       try SitoFile(contentsOf: int8).tensor("layers.1.ffn.down.weight")?.entry.xxh64)
        // Against transformers f32: as close as two passes (both far finer than the int8 weights' error),
        // closer than one pass.
        let path = Fixtures.golden("xlmr-tiny.golden.json")
        let golden = try GoldenFile.load(path: path)
        func maxError(_ file: URL) throws -> Double {
            try Verifier.verify(try Reranker(contentsOf: file), golden: golden, goldenPath: path).maxAbsError
        }
        let e16 = try maxError(a16), e2 = try maxError(twoPass), e1 = try maxError(int8)
        XCTAssertLessThan(e16, e1, "16-bit activations beat one int8 pass")
        XCTAssertLessThan(abs(e16 - e2), 0.25 * e2, "int8-a16 \(e16) vs two passes \(e2)")
    }

    func testMixedPlanStoresEachProjectionAsItsSchemeAndRuns() throws {
        let input = try f32("xlmr-tiny")
        let int8 = try SitoFile(contentsOf: try quantize(input, "int8.sito", Quantizer(type: .int8)))
        let bf16 = try SitoFile(contentsOf: try quantize(input, "bf16.sito", Quantizer(type: .bf16)))
        // Layer 0's attention mixes all three schemes (Q, K, V prepared separately), layer 1 is bf16 in
        // its attention (bf16 attention there: all of Q, K, V low precision) and int8 in its FFN.
        let plan: [String: ProjectionScheme] = [
            "layers.0.attn.q": .int8TwoPass, "layers.0.attn.k": .int8, "layers.0.attn.v": .bf16, "layers.0.attn.out": .int8A16,
            "layers.0.ffn.up": .bf16, "layers.0.ffn.down": .int8A16,
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
        for cm in CostModel.allCases {
            for s in ProjectionScheme.allCases {
                XCTAssertEqual(Calibrator.estimatedCost(uniform(model, s), model: model, costModel: cm), cm.cost(s), accuracy: 1e-12, "\(cm) \(s)")
            }
        }
        // Weighted by multiply-adds: one layer's FFN (2 × 4·H·H of 12·H·H per layer) in bf16 on AVX2.
        var plan = uniform(model, .int8)
        plan["layers.0.ffn.up"] = .bf16
        plan["layers.0.ffn.down"] = .bf16
        let macs = ArchitectureSchema.quantizableProjections(for: model).map { Double($0.shape[0] * $0.shape[1]) }
        let ffn0 = ArchitectureSchema.quantizableProjections(for: model).filter { $0.name.hasPrefix("layers.0.ffn.") }.map { Double($0.shape[0] * $0.shape[1]) }
        let expected = 1 + (CostModel.avx2.cost(.bf16) - 1) * ffn0.reduce(0, +) / macs.reduce(0, +)
        XCTAssertEqual(Calibrator.estimatedCost(plan, model: model, costModel: .avx2), expected, accuracy: 1e-12)
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
                                                "evaluation_meets_target", "cost_model"])
        XCTAssertEqual(calibration["cost_model"] as? String, CostModel.thisMachine.rawValue)
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
        XCTAssertEqual(c.costModel, CostModel.thisMachine)
        XCTAssertEqual(c.estimatedCost, Calibrator.estimatedCost(plan, model: file.header.model, costModel: .thisMachine), accuracy: 1e-12)
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

    func testWritePlanThenPlanGivesTheCalibratedFile() throws {
        let input = try f32("roberta-tiny-embed")
        let golden = Fixtures.golden("roberta-tiny-embed.golden.json")
        let calibrated = work.appendingPathComponent("calibrated.sito").path
        let planPath = work.appendingPathComponent("plan.json").path
        let r = try ToolRunner.run("sito-quantize", [input.path, "-o", calibrated, "--type", "int8", "--calibrate", golden,
                                                     "--min-mean-cosine", "0.9999", "--cost-model", "avx2", "--write-plan", planPath])
        XCTAssertEqual(r.status, 0, r.stderr)
        let plan = try PlanFile.load(path: planPath)
        XCTAssertTrue(plan.schemes.keys.allSatisfy { !$0.hasPrefix("layers.") || $0.hasPrefix("layers.*.") }, "by kind: \(plan.schemes)")
        XCTAssertEqual(plan.source?.costModel, .avx2)
        XCTAssertEqual(plan.source?.target, AccuracyTarget(minMeanCosine: 0.9999))
        let header = try SitoFile(contentsOf: URL(fileURLWithPath: calibrated)).header
        XCTAssertEqual(header.quantization?.calibration?.costModel, .avx2)
        XCTAssertEqual(try plan.resolve(for: Quantizer.projections(of: header.model), path: planPath), header.quantization?.plan)
        // --plan applies it: the same schemes, the same tensor bytes, the same embeddings.
        let applied = work.appendingPathComponent("applied.sito").path
        let a = try ToolRunner.run("sito-quantize", [input.path, "-o", applied, "--type", "int8", "--plan", planPath])
        XCTAssertEqual(a.status, 0, a.stderr)
        let one = try SitoFile(contentsOf: URL(fileURLWithPath: calibrated)), two = try SitoFile(contentsOf: URL(fileURLWithPath: applied))
        XCTAssertEqual(two.header.quantization?.plan, one.header.quantization?.plan)
        XCTAssertEqual(two.header.quantization?.activations, one.header.quantization?.activations)
        XCTAssertNil(two.header.quantization?.calibration, "measured nothing: no calibration record")
        XCTAssertEqual(two.header.tensors.map(\.xxh64), one.header.tensors.map(\.xxh64))
    }

    func testPlanAndWritePlanRefuseBadInputAndWriteNothing() throws {
        let embed = try f32("roberta-tiny-embed").path
        let golden = Fixtures.golden("roberta-tiny-embed.golden.json")
        let out = work.appendingPathComponent("never.sito").path
        func refused(_ args: [String], _ phrases: [String], line: UInt = #line) throws {
            let r = try ToolRunner.run("sito-quantize", [embed, "-o", out, "--type", "int8"] + args)
            ToolRunner.assertBadInput(r, phrases, args.joined(separator: " "), line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written", line: line)
        }
        let bad = work.appendingPathComponent("bad-plan.json").path
        XCTAssertTrue(FileManager.default.createFile(atPath: bad, contents: Data(#"{"format": "sito-plan/1", "schemes": {"layers.*.attn.q": "int4"}}"#.utf8)))
        try refused(["--plan", bad], [bad, "is not"])
        let elsewhere = work.appendingPathComponent("elsewhere.json").path
        try PlanFile(schemes: ["layers.*.attn.q": .bf16, "layers.9.ffn.up": .int8A16]).write(to: elsewhere)
        try refused(["--plan", elsewhere], [elsewhere, "\"layers.9.ffn.up\" names no projection"])
        try refused(["--plan", work.appendingPathComponent("missing.json").path], ["missing.json", "cannot read the plan"])
        try refused(["--plan", elsewhere, "--calibrate", golden, "--min-top1", "0.9"], ["--plan", "--calibrate"])
        try refused(["--write-plan", elsewhere], ["--write-plan applies with --calibrate only"])
        try refused(["--plan", elsewhere, "--keep-float", "layers.0.*"], ["--plan", "--keep-float"])
        // --write-plan never replaces an input or a file that is not a plan; checked before any work.
        try refused(["--calibrate", golden, "--min-mean-cosine", "0.9", "--write-plan", golden], [golden, "refusing to overwrite the input"])
        let notes = work.appendingPathComponent("notes.txt").path
        XCTAssertTrue(FileManager.default.createFile(atPath: notes, contents: Data("keep me".utf8)))
        try refused(["--calibrate", golden, "--min-mean-cosine", "0.9", "--write-plan", notes], [notes, "not a Sito plan file"])
        XCTAssertEqual(try String(contentsOfFile: notes, encoding: .utf8), "keep me")
        try refused(["--calibrate", golden, "--min-mean-cosine", "0.9", "--cost-model", "avx9"], ["--cost-model", "avx9"])
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
