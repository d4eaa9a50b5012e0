// EmbeddingGoldenTests.swift: all-MiniLM-L6-v2 (real trained weights) converted to f32 against
// transformers + sentence-transformers pooling: 0 token mismatches, minimum cosine ≥ 0.99999.
import Foundation
import Sito
import SitoFormat
import SitoTestSupport
import SitoTools
import XCTest

/// Issue 7: all-MiniLM-L6-v2, real trained weights, against transformers + sentence-transformers pooling.
final class EmbeddingGoldenTests: XCTestCase {
    func testMiniLMF32MatchesTransformers() throws {
        let folder = Fixtures.miniLM
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
