// EmbeddingGoldenTests.swift: all-MiniLM-L6-v2 (real trained weights) converted to f32 against
// transformers + sentence-transformers pooling: 0 token mismatches, minimum cosine ≥ 0.99999; the pooled
// vector before the Normalize module (`EmbeddingOutput.pooled`) and the one normalization function.
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

    /// `output: .pooled` is the vector before the file's Normalize module: not unit length, and the
    /// default output is exactly `Embedder.normalized` of it (bit for bit: one function, in Embedder).
    func testPooledOutputIsBeforeTheNormalizeModule() throws {
        let embedder = try Embedder(contentsOf: try EmbeddingFixture.get())
        XCTAssertTrue(embedder.header.model.normalize)
        let texts = ["Cats sleep on warm stones.", "The river floods in spring.", "Kraków"]
        let pooled = try embedder.embed(texts, output: .pooled)
        let full = try embedder.embed(texts)
        XCTAssertEqual(try embedder.embed(texts, output: .model), full)
        for (p, f) in zip(pooled, full) {
            let norm = p.reduce(0) { $0 + $1 * $1 }.squareRoot()
            XCTAssertGreaterThan(abs(norm - 1), 1e-3, "the pooled vector is not unit length")
            XCTAssertEqual(f.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1, accuracy: 1e-5)
            XCTAssertEqual(embedder.finish(pooled: p), f)
            XCTAssertEqual(Embedder.normalized(p), f)
            for j in p.indices { XCTAssertEqual(f[j] * norm, p[j], accuracy: 1e-6) }
        }
        let ids = try embedder.encode(texts).map(\.ids)
        XCTAssertEqual(try embedder.embed(inputIds: ids, output: .pooled), pooled)
        XCTAssertEqual(Embedder.normalized([0, 0, 0]), [0, 0, 0], "a zero vector stays zero (no NaN)")
    }
}
