// BertGoldenTests.swift: BertForSequenceClassification (issue 7) against transformers. The fixture
// bert-tiny-cls (tools/make_fixture.py: random weights, the real all-MiniLM-L6-v2 WordPiece vocabulary)
// is converted and run on Tests/Fixtures/goldens/bert-tiny-cls.golden.json (tools/make_goldens.py: the
// tokenizer's pair recipe with LongestFirst truncation and its token-type ids): f32 must give 0 token
// (and token-type) mismatches and max |Δlogit| ≤ 1e-4. int8 and bf16 files from the Quantizer must load
// and score (no accuracy bound here: formats/quantization.md measures the loss on the XLM-R fixtures).
import Foundation
import Sito
import SitoFormat
import SitoTools
import XCTest

final class BertGoldenTests: XCTestCase {
    static let fixture = "bert-tiny-cls"
    static let goldenName = "bert-tiny-cls.golden.json"

    /// The fixture converted to f32 in a fresh folder; the caller removes the folder.
    func convert() throws -> URL {
        let folder = try Fixtures.model(BertGoldenTests.fixture)
        let out = try Fixtures.temporaryFolder().appendingPathComponent("\(BertGoldenTests.fixture).sito")
        _ = try Converter(folder: folder).convert(to: out.path)
        return out
    }

    func testHeaderDescribesABertCrossEncoder() throws {
        let out = try convert()
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let h = try SitoFile(contentsOf: out).header
        XCTAssertEqual(h.architecture, .bert)
        XCTAssertEqual(h.task, .sequenceClassification)
        XCTAssertEqual(h.model.head, .bertPooler)
        XCTAssertEqual(h.model.positionOffset, 0)
        XCTAssertEqual(h.model.typeVocab, 2)
        XCTAssertEqual(h.model.numLabels, 1)
        XCTAssertEqual(h.model.outputActivation, .sigmoid)
        XCTAssertEqual(h.model.layerNormEps, 1e-12)
        XCTAssertEqual(h.input.recipe, .pair)
        XCTAssertEqual(h.input.truncation, .longestFirst)
        XCTAssertEqual(h.input.maxLength, 512)
        XCTAssertEqual(h.tokenizer.kind, .wordpiece)
        XCTAssertEqual(h.tokenizer.modelVocab, 30522)
        XCTAssertNotNil(h.tensors.first { $0.name == "pooler.dense.weight" })
        XCTAssertNotNil(h.tensors.first { $0.name == "head.out_proj.weight" })
    }

    func testF32MatchesTransformers() throws {
        let out = try convert()
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let goldenPath = Fixtures.golden(BertGoldenTests.goldenName)
        let golden = try GoldenFile.load(path: goldenPath)
        XCTAssertEqual(golden.maxLength, 512)
        let reranker = try Reranker(contentsOf: out, options: ModelOptions(maxLength: golden.maxLength))
        let r = try Verifier.verify(reranker, golden: golden, goldenPath: goldenPath)
        print("bert-tiny-cls f32: \(r.cases) cases, \(r.tokenChecked) tokenized, \(r.tokenMismatches) token mismatches, max |Δ| \(r.maxAbsError) (case \(r.worstCase ?? -1)), mean |Δ| \(r.meanAbsError), spearman \(r.spearman ?? -1), top1 \(r.top1Agreement ?? -1)")
        for m in r.firstMismatches {
            print("case \(m.caseIndex) [\(golden.cases[m.caseIndex].tag ?? "")]: first difference at \(m.firstDifference): expected \(m.expected.prefix(40)) got \(m.actual.prefix(40))")
        }
        XCTAssertGreaterThanOrEqual(r.cases, 380)
        XCTAssertEqual(r.tokenChecked, golden.cases.filter { $0.query != nil }.count)
        XCTAssertEqual(r.tokenMismatches, 0)
        XCTAssertLessThanOrEqual(r.maxAbsError, 1e-4)
        XCTAssertTrue(r.passed, r.failures.joined(separator: "; "))
    }

    /// The golden exercises what BERT pairs add: token types of both values in every pair case, and
    /// LongestFirst truncation cutting the query, the document, and both.
    func testGoldenCoversTypeIdsAndLongestFirst() throws {
        let golden = try GoldenFile.load(path: Fixtures.golden(BertGoldenTests.goldenName))
        let pairs = golden.cases.filter { $0.query != nil }
        XCTAssertTrue(pairs.allSatisfy { $0.tokenTypeIds?.count == $0.inputIds?.count })
        XCTAssertTrue(pairs.allSatisfy { $0.tokenTypeIds?.last == 1 })
        var cutQuery = false, cutDocument = false, cutBoth = false
        for c in pairs where c.inputIds!.count == 512 {
            let types = c.tokenTypeIds!
            let a = types.filter { $0 == 0 }.count - 2, b = types.filter { $0 == 1 }.count - 1
            // Only the written word counts of the longest-first cases are known without a tokenizer.
            guard let tag = c.tag, tag.hasPrefix("longest-first:") else { continue }
            let n = tag.dropFirst("longest-first:".count).split(separator: "+").map { Int($0)! }
            if a < n[0] && b == n[1] { cutQuery = true }
            if a == n[0] && b < n[1] { cutDocument = true }
            if a < n[0] && b < n[1] { cutBoth = true }
        }
        XCTAssertTrue(cutQuery && cutDocument && cutBoth, "query cut \(cutQuery), document cut \(cutDocument), both cut \(cutBoth)")
    }

    /// Sito's LongestFirst on the golden's exact-length cases, through the public tokenizer API.
    func testLongestFirstLengthsMatchTheGolden() throws {
        let out = try convert()
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let reranker = try Reranker(contentsOf: out)
        let golden = try GoldenFile.load(path: Fixtures.golden(BertGoldenTests.goldenName))
        var checked = 0
        for c in golden.cases where c.tag?.hasPrefix("longest-first:") == true {
            let e = try reranker.encode(query: c.query!, document: c.document!)
            XCTAssertEqual(e.ids, c.inputIds, c.tag!)
            XCTAssertEqual(e.typeIds, c.tokenTypeIds, c.tag!)
            XCTAssertTrue(e.truncated || e.ids.count < 512 || c.tag == "longest-first:254+255", c.tag!)
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 10)
    }

    /// Token types matter: the same ids with all-zero types give other logits (a runtime that dropped
    /// them would fail the golden, not pass it by luck).
    func testTokenTypesChangeTheLogits() throws {
        let out = try convert()
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let reranker = try Reranker(contentsOf: out)
        let golden = try GoldenFile.load(path: Fixtures.golden(BertGoldenTests.goldenName))
        let cases = golden.cases.filter { $0.tag?.hasPrefix("real:") == true }.prefix(40)
        let ids = cases.map { $0.inputIds! }
        let withTypes = try reranker.logits(inputIds: ids, typeIds: cases.map { $0.tokenTypeIds! })
        let zeros = try reranker.logits(inputIds: ids)
        let meanShift = zip(withTypes, zeros).map { Double(abs($0[0] - $1[0])) }.reduce(0, +) / Double(ids.count)
        print("bert-tiny-cls: mean |logit(types) − logit(zeros)| = \(meanShift)")
        XCTAssertGreaterThan(meanShift, 0.1)
    }

    /// int8 and bf16 through the Quantizer API: the files load, score every golden case with finite
    /// logits, and keep the pair recipe.
    func testQuantizedFilesLoadAndScore() throws {
        let out = try convert()
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let goldenPath = Fixtures.golden(BertGoldenTests.goldenName)
        let golden = try GoldenFile.load(path: goldenPath)
        for type in [QuantizationType.int8, .bf16] {
            let q = out.deletingLastPathComponent().appendingPathComponent("\(BertGoldenTests.fixture).\(type.rawValue).sito")
            _ = try Quantizer(type: type).quantize(input: out.path, output: q.path)
            let reranker = try Reranker(contentsOf: q, options: ModelOptions(verifyChecksums: true))
            XCTAssertEqual(reranker.header.architecture, .bert)
            XCTAssertEqual(reranker.header.model.head, .bertPooler)
            XCTAssertEqual(reranker.header.input.recipe, .pair)
            XCTAssertEqual(Verifier.storageType(reranker.header).description, type.rawValue)
            let scores = try reranker.score(query: "What is the capital of France?",
                                            documents: ["Paris is the capital and most populous city of France.",
                                                        "The Eiffel Tower was built for the 1889 World's Fair.", ""])
            XCTAssertEqual(scores.count, 3)
            XCTAssertTrue(scores.allSatisfy { $0.logit.isFinite && $0.probability >= 0 && $0.probability <= 1 })
            let r = try Verifier.verify(reranker, golden: golden, goldenPath: goldenPath)
            print("bert-tiny-cls \(type.rawValue): \(r.cases) cases, \(r.tokenMismatches) token mismatches, max |Δ| \(r.maxAbsError), mean |Δ| \(r.meanAbsError), spearman \(r.spearman ?? -1), top1 \(r.top1Agreement ?? -1)")
            XCTAssertEqual(r.tokenMismatches, 0)
            XCTAssertEqual(r.logitsChecked, golden.cases.count)
            XCTAssertTrue(r.maxAbsError.isFinite)
        }
    }
}
