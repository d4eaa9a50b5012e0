// PlanFileTests.swift: plan files (`sito-quantize --write-plan` / `--plan`; formats/quantization.md,
// "Plan files") and the cost models the search chooses by (CostModel):
//   (a) resolving patterns: exact names first, then the most specific pattern; entries that match no
//       projection and equally specific patterns that disagree are refused, naming the file;
//   (b) a per-projection plan collapses to one `layers.*.<kind>` entry per kind, and back;
//   (c) loading refuses what is not a plan (format, scheme, JSON), naming the file and the entry;
//       writing is atomic and replaces only a plan file;
//   (d) the cost models: each CPU kind's ladder and the estimated cost of a plan.
import Foundation
import SitoFormat
import SitoTestSupport
@testable import SitoTools
import XCTest

final class PlanFileTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = try scratchFolder("plan-files", removedAfter: self)
    }

    private let projections = (0..<3).flatMap { l in ["attn.q", "attn.k", "ffn.down"].map { "layers.\(l).\($0)" } } + ["pooler.dense"]

    // MARK: (a) resolving

    func testExactNamesWinOverPatternsAndTheMostSpecificPatternWins() throws {
        let plan = PlanFile(schemes: ["layers.*": .int8A16, "layers.*.attn.q": .bf16, "layers.1.attn.q": .int8, "pooler.dense": .int8TwoPass])
        let r = try plan.resolve(for: projections, path: "p.json")
        XCTAssertEqual(r["layers.0.attn.q"], .bf16, "layers.*.attn.q is more specific than layers.*")
        XCTAssertEqual(r["layers.1.attn.q"], .int8, "an exact name wins")
        XCTAssertEqual(r["layers.2.ffn.down"], .int8A16)
        XCTAssertEqual(r["pooler.dense"], .int8TwoPass)
        XCTAssertEqual(r.count, projections.count)
        // A projection no entry matches is single-pass int8, written out (activation_passes does not apply).
        XCTAssertEqual(try PlanFile(schemes: ["layers.*.attn.q": .bf16]).resolve(for: projections, path: "p.json")["pooler.dense"], .int8)
    }

    func testEntriesMatchingNothingAndEqualPatternsThatDisagreeAreRefused() {
        XCTAssertThrowsError(try PlanFile(schemes: ["layers.*.attn.v": .bf16]).resolve(for: projections, path: "p.json")) {
            XCTAssertEqual($0 as? PlanFileError, .noMatch(path: "p.json", pattern: "layers.*.attn.v"))
            XCTAssertTrue($0.localizedDescription.hasPrefix("p.json: \"layers.*.attn.v\" names no projection"), $0.localizedDescription)
        }
        // "layers.0.*" and "*.0.attn.q": 9 literal characters each.
        XCTAssertThrowsError(try PlanFile(schemes: ["layers.0.*": .bf16, "*.0.attn.q": .int8]).resolve(for: projections, path: "p.json")) {
            XCTAssertEqual($0 as? PlanFileError, .ambiguous(path: "p.json", projection: "layers.0.attn.q", patterns: ["*.0.attn.q", "layers.0.*"]))
        }
        // Equally specific but agreeing: fine; a longer pattern wins over a shorter one.
        XCTAssertEqual(try PlanFile(schemes: ["layers.0.*": .bf16, "*.0.attn.q": .bf16]).resolve(for: projections, path: "p.json")["layers.0.attn.q"], .bf16)
        XCTAssertEqual(try PlanFile(schemes: ["layers.0.*": .bf16, "*.attn.q": .int8]).resolve(for: projections, path: "p.json")["layers.0.attn.q"], .bf16)
    }

    // MARK: (b) per kind

    func testAPerKindPlanCollapsesToPatternsAndResolvesBack() throws {
        var plan: [String: ProjectionScheme] = ["pooler.dense": .int8]
        for p in projections where p.hasPrefix("layers.") {
            plan[p] = p.hasSuffix("attn.q") ? .bf16 : p.hasSuffix("ffn.down") ? .int8A16 : .int8TwoPass
        }
        let patterns = PlanFile.patterns(of: plan)
        XCTAssertEqual(patterns, ["layers.*.attn.q": .bf16, "layers.*.attn.k": .int8TwoPass, "layers.*.ffn.down": .int8A16, "pooler.dense": .int8])
        XCTAssertEqual(try PlanFile(schemes: patterns).resolve(for: projections, path: "p.json"), plan)
        // More layers: the same schemes per kind.
        let deeper = (0..<24).flatMap { l in ["attn.q", "attn.k", "ffn.down"].map { "layers.\(l).\($0)" } } + ["pooler.dense"]
        let resolved = try PlanFile(schemes: patterns).resolve(for: deeper, path: "p.json")
        XCTAssertEqual(resolved.count, deeper.count)
        XCTAssertEqual(Set(deeper.filter { $0.hasSuffix("ffn.down") }.map { resolved[$0] }), [.int8A16])
        // A kind whose layers differ keeps its projections by name.
        plan["layers.1.attn.k"] = .int8
        let mixed = PlanFile.patterns(of: plan)
        XCTAssertNil(mixed["layers.*.attn.k"])
        XCTAssertEqual(mixed["layers.1.attn.k"], .int8)
        XCTAssertEqual(try PlanFile(schemes: mixed).resolve(for: projections, path: "p.json"), plan)
    }

    // MARK: (c) the file

    func testWriteLoadRoundTripAndRefusals() throws {
        let path = work.appendingPathComponent("plan.json").path
        let source = PlanSource(file: "m.sito", target: AccuracyTarget(minMeanCosine: 0.9995), costModel: .avx2, estimatedCost: 1.2)
        let plan = PlanFile(schemes: ["layers.*.attn.q": .bf16, "layers.*.ffn.up": .int8A16], source: source)
        try plan.write(to: path)
        XCTAssertEqual(try PlanFile.load(path: path), plan)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains("\"format\" : \"sito-plan/1\""), text)
        XCTAssertTrue(text.contains("\"layers.*.ffn.up\" : \"int8-a16\""), text)

        func refused(_ json: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
            let p = work.appendingPathComponent("bad.json").path
            XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data(json.utf8)))
            XCTAssertThrowsError(try PlanFile.load(path: p), file: file, line: line) {
                XCTAssertTrue($0.localizedDescription.hasPrefix(p + ": "), $0.localizedDescription, file: file, line: line)
                XCTAssertTrue($0.localizedDescription.contains(expected), $0.localizedDescription, file: file, line: line)
            }
        }
        refused(#"{"format": "sito-plan/2", "schemes": {}}"#, "\"format\" is \"sito-plan/2\"")
        refused(#"{"format": "sito-plan/1", "schemes": {"layers.*.attn.q": "int4"}}"#, "schemes[\"layers.*.attn.q\"] is not")
        refused(#"{"format": "sito-plan/1", "schemes": {"": "int8"}}"#, "an empty pattern")
        refused(#"{"schemes": {}}"#, "no \"format\"")
        refused("not json", "not a Sito plan file")
        XCTAssertThrowsError(try PlanFile.load(path: work.appendingPathComponent("missing.json").path)) {
            XCTAssertTrue($0.localizedDescription.contains("missing.json: cannot read the plan"), $0.localizedDescription)
        }
    }

    func testWritePlanReplacesOnlyAPlanFile() throws {
        let plan = work.appendingPathComponent("old-plan.json").path
        try PlanFile(schemes: ["layers.*.attn.q": .bf16]).write(to: plan)
        XCTAssertNoThrow(try OutputSafety.check(output: plan, inputs: [], kind: .plan))
        let notes = work.appendingPathComponent("notes.json").path
        XCTAssertTrue(FileManager.default.createFile(atPath: notes, contents: Data(#"{"my": "notes"}"#.utf8)))
        XCTAssertThrowsError(try OutputSafety.check(output: notes, inputs: [], kind: .plan)) {
            XCTAssertEqual($0 as? OutputRefusal, .notPlan(output: notes))
        }
        XCTAssertThrowsError(try OutputSafety.check(output: plan, inputs: [], kind: .sito), "a plan file is not a .sito file")
    }

    // MARK: (d) cost models

    func testEachCostModelsLadderAndCosts() {
        XCTAssertEqual(CostModel.avx2.ladder, [.int8, .int8A16, .bf16], "AVX2: 16-bit activations cost about one pass")
        XCTAssertEqual(CostModel.avx512vnni.ladder, [.int8, .int8TwoPass, .bf16], "VNNI: two int8 passes beat vpdpwssd")
        XCTAssertEqual(CostModel.neonDotprod.ladder, [.int8, .int8TwoPass, .bf16])
        for model in CostModel.allCases {
            XCTAssertEqual(model.cost(.int8), 1)
            for s in ProjectionScheme.allCases where s != .int8 { XCTAssertGreaterThan(model.cost(s), 1, "\(model) \(s)") }
            let ladder = model.ladder.map(model.cost)
            XCTAssertEqual(ladder, ladder.sorted(), "\(model): the ladder climbs in cost")
        }
    }
}
