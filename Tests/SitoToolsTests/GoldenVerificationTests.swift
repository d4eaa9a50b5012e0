// GoldenVerificationTests.swift: the fidelity bar of issue 3 — convert the fixtures, run sito-verify's
// library path on the committed transformers goldens: f32 zero token mismatches, max |Δlogit| ≤ 1e-4.
import Foundation
import Sito
import SitoFormat
import SitoTools
import XCTest

final class GoldenVerificationTests: XCTestCase {
    func verify(fixture: String, golden: String, dtype: ConvertDType = .f32) throws -> VerifyReport {
        let folder = try Fixtures.model(fixture)
        let out = try Fixtures.temporaryFolder().appendingPathComponent("\(fixture).sito")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        _ = try Converter(folder: folder, dtype: dtype).convert(to: out.path)
        let goldenPath = Fixtures.golden(golden)
        let g = try GoldenFile.load(path: goldenPath)
        let reranker = try Reranker(contentsOf: out, options: ModelOptions(maxLength: g.maxLength))
        let report = try Verifier.verify(reranker, golden: g, goldenPath: goldenPath)
        print("\(fixture) \(dtype): \(report.cases) cases, \(report.tokenMismatches) token mismatches, max |Δ| \(report.maxAbsError), mean |Δ| \(report.meanAbsError), spearman \(report.spearman ?? -1), top1 \(report.top1Agreement ?? -1)")
        for m in report.firstMismatches {
            print("case \(m.caseIndex): expected \(m.expected.prefix(40)) got \(m.actual.prefix(40))")
        }
        return report
    }

    func testTinyF32MatchesTransformers() throws {
        let r = try verify(fixture: "xlmr-tiny", golden: "xlmr-tiny.golden.json")
        XCTAssertGreaterThanOrEqual(r.cases, 200)
        XCTAssertEqual(r.tokenMismatches, 0)
        XCTAssertLessThanOrEqual(r.maxAbsError, 1e-4)
        XCTAssertTrue(r.passed, r.failures.joined(separator: "; "))
    }

    func testLongF32MatchesTransformers() throws {
        let r = try verify(fixture: "xlmr-tiny-long", golden: "xlmr-tiny-long.golden.json")
        XCTAssertEqual(r.tokenMismatches, 0)
        XCTAssertLessThanOrEqual(r.maxAbsError, 1e-4)
        XCTAssertTrue(r.passed, r.failures.joined(separator: "; "))
    }
}

/// Issue 7: all-MiniLM-L6-v2, real trained weights, against transformers + sentence-transformers pooling.
final class EmbeddingGoldenTests: XCTestCase {
    func testMiniLMF32MatchesTransformers() throws {
        let folder = Fixtures.root.appendingPathComponent(".cache/fixtures/all-minilm-l6-v2")
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) else {
            return XCTFail("fixture \(folder.path) is missing: run tools/setup.sh")
        }
        let out = try Fixtures.temporaryFolder().appendingPathComponent("minilm.sito")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        _ = try Converter(folder: folder).convert(to: out.path)
        let goldenPath = Fixtures.golden("all-minilm-l6-v2.golden.json")
        let golden = try GoldenFile.load(path: goldenPath)
        let embedder = try Embedder(contentsOf: out)
        XCTAssertEqual(embedder.header.model.pooling, .mean)
        XCTAssertTrue(embedder.header.model.normalize)
        XCTAssertEqual(embedder.maxLength, 256)
        let r = try EmbeddingVerifier.verify(embedder, golden: golden, goldenPath: goldenPath)
        print("all-MiniLM-L6-v2 f32: \(r.cases) cases, \(r.tokenMismatches) token mismatches, cosine min \(r.minCosine) mean \(r.meanCosine), retrieval top-1 \(r.retrievalTop1 ?? -1)")
        XCTAssertGreaterThanOrEqual(r.cases, 500)
        XCTAssertEqual(r.tokenMismatches, 0)
        XCTAssertGreaterThanOrEqual(r.minCosine, 0.99999)
        XCTAssertTrue(r.passed, r.failures.joined(separator: "; "))
    }
}

/// Issue 7's int8 bar on real weights: two activation passes keep all-MiniLM-L6-v2 at mean cosine ≥ 0.999
/// and retrieval top-1 ≥ 0.97 (measured 0.99952 / 0.981; single-pass int8 gives 0.99694 / 0.919).
final class RealWeightQuantizationTests: XCTestCase {
    func testMiniLMInt8TwoPassMeetsTheBar() throws {
        let folder = Fixtures.root.appendingPathComponent(".cache/fixtures/all-minilm-l6-v2")
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) else {
            return XCTFail("fixture \(folder.path) is missing: run tools/setup.sh")
        }
        let dir = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f32 = dir.appendingPathComponent("minilm.sito"), int8 = dir.appendingPathComponent("minilm-int8x2.sito")
        _ = try Converter(folder: folder).convert(to: f32.path)
        _ = try Quantizer(type: .int8, activations: .twoPass).quantize(input: f32.path, output: int8.path)
        let goldenPath = Fixtures.golden("all-minilm-l6-v2.golden.json")
        let embedder = try Embedder(contentsOf: int8)
        XCTAssertEqual(embedder.header.quantization?.activations, .twoPass)
        let r = try EmbeddingVerifier.verify(embedder, golden: try GoldenFile.load(path: goldenPath), goldenPath: goldenPath)
        print("all-MiniLM-L6-v2 int8 two-pass: cosine min \(r.minCosine) mean \(r.meanCosine), retrieval top-1 \(r.retrievalTop1 ?? -1), NDCG@10 \(r.retrievalNdcg10 ?? -1)")
        XCTAssertEqual(r.tokenMismatches, 0)
        XCTAssertGreaterThanOrEqual(r.meanCosine, 0.999)
        XCTAssertGreaterThanOrEqual(r.retrievalTop1 ?? 0, 0.97)
        XCTAssertTrue(r.passed, r.failures.joined(separator: "; "))
    }
}
