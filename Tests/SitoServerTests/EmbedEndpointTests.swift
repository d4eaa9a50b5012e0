// EmbedEndpointTests.swift: TEI's POST /embed: one string or a list, equal to Embedder.embed, normalize
// (true and false), truncation (right and left), and a reranker file's 422.
import XCTest
@testable import SitoServer
import Sito

final class EmbedEndpointTests: XCTestCase {
    let texts = ["Cats sleep on warm stones.", "The river floods in spring.", "Kraków is an old town."]

    func testEmbeddingsEqualTheRuntime() async throws {
        let file = try ServerFixtures.sito("all-minilm-l6-v2")
        let expected = try Embedder(contentsOf: file).embed(texts)
        let alone = try Embedder(contentsOf: file).embed([texts[1]])
        let t = texts
        try await withServer(file) { client, _ in
            let many = try await client.post("/embed", json: ["inputs": AnyEncodable(t)])
            XCTAssertEqual(many.status, 200, many.body)
            XCTAssertEqual(try many.decode([[Float]].self), expected)
            let one = try await client.post("/embed", json: ["inputs": AnyEncodable(t[1])])
            XCTAssertEqual(one.status, 200, one.body)
            // Alone, as the runtime alone (f32 GEMM results depend on the batch's size: BatchIndependenceTests).
            XCTAssertEqual(try one.decode([[Float]].self), alone)
            XCTAssertNotNil(one.header("x-inference-time"))
            let root = try await client.post("/", json: ["inputs": AnyEncodable(t[1])])
            XCTAssertEqual(try root.decode([[Float]].self), alone, "POST / is /embed (TEI's root route)")
        }
    }

    func testNormalizedByDefault() async throws {
        let file = try ServerFixtures.sito("all-minilm-l6-v2")
        let t = texts
        let vectors = try await withServer(file) { client, _ in
            try await client.post("/embed", json: ["inputs": AnyEncodable(t), "normalize": AnyEncodable(true)]).decode([[Float]].self)
        }
        for v in vectors { XCTAssertEqual(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1, accuracy: 1e-5) }
    }

    /// `normalize: false` on a file with a Normalize module (all-MiniLM-L6-v2) gives the pooled vector, as
    /// TEI: not unit length, the runtime's `output: .pooled`, and the default answer times its norm; the
    /// default answer is `Embedder.normalized` of it, bit for bit.
    func testNormalizeFalseGivesThePooledVector() async throws {
        let file = try ServerFixtures.sito("all-minilm-l6-v2")
        let embedder = try Embedder(contentsOf: file)
        let t = texts
        let alone = try embedder.embed([t[0]], output: .pooled)[0]
        let (raw, unit) = try await withServer(file) { client, _ in
            let raw = try await client.post("/embed", json: ["inputs": AnyEncodable(t[0]), "normalize": AnyEncodable(false)])
            XCTAssertEqual(raw.status, 200, raw.body)
            let unit = try await client.post("/embed", json: ["inputs": AnyEncodable(t[0])])
            XCTAssertEqual(unit.status, 200, unit.body)
            return (try raw.decode([[Float]].self)[0], try unit.decode([[Float]].self)[0])
        }
        XCTAssertEqual(raw, alone)
        XCTAssertEqual(unit, try embedder.embed([t[0]])[0])
        XCTAssertEqual(unit, Embedder.normalized(raw))
        let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertGreaterThan(abs(norm - 1), 1e-3)
        for j in raw.indices { XCTAssertEqual(unit[j] * norm, raw[j], accuracy: 1e-6) }
    }

    func testTooLongTextsAre422UnlessTruncated() async throws {
        let file = try ServerFixtures.sito("all-minilm-l6-v2")
        let long = longText(1000)
        try await withServer(file) { client, _ in
            let refused = try await client.post("/embed", json: ["inputs": AnyEncodable([long])])
            XCTAssertEqual(refused.status, 422, refused.body)
            XCTAssertTrue(refused.body.contains("text 0 is too long"), refused.body)
            let cut = try await client.post("/embed", json: ["inputs": AnyEncodable([long]), "truncate": AnyEncodable(true)])
            XCTAssertEqual(cut.status, 200, cut.body)
            let fits = try await client.post("/embed", json: ["inputs": AnyEncodable(["short"]), "truncation_direction": AnyEncodable("Left")])
            XCTAssertEqual(fits.status, 200, fits.body)
        }
    }

    /// `truncation_direction: "Left"` embeds the end of a too-long text: the runtime's vector with
    /// `truncationSide: .left` (sito-embed --truncation-direction left), not the start's.
    func testLeftTruncationEmbedsTheEnd() async throws {
        let file = try ServerFixtures.sito("all-minilm-l6-v2")
        let long = longText(1000)
        let embedder = try Embedder(contentsOf: file)
        let left = try embedder.embed([long], truncationSide: .left)
        let right = try embedder.embed([long])
        XCTAssertNotEqual(left, right)
        try await withServer(file) { client, _ in
            let r = try await client.post("/embed", json: ["inputs": AnyEncodable([long]), "truncate": AnyEncodable(true), "truncation_direction": AnyEncodable("Left")])
            XCTAssertEqual(r.status, 200, r.body)
            XCTAssertEqual(try r.decode([[Float]].self), left)
            let refused = try await client.post("/embed", json: ["inputs": AnyEncodable([long]), "truncation_direction": AnyEncodable("left")])
            XCTAssertEqual(refused.status, 422, "truncate is still needed: \(refused.body)")
        }
    }

    func testARerankerRefusesEmbed() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        try await withServer(file) { client, _ in
            for path in ["/embed", "/v1/embeddings"] {
                let body = path == "/embed" ? #"{"inputs": ["a"]}"# : #"{"input": ["a"]}"#
                let r = try await client.post(path, body)
                XCTAssertEqual(r.status, 422, r.body)
                XCTAssertEqual(r.errorType, "validation")
                XCTAssertTrue(r.body.contains("reranker"), r.body)
            }
        }
    }
}
