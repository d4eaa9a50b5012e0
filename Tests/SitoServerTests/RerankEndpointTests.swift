// RerankEndpointTests.swift: TEI's POST /rerank on a reranker file: order, scores equal to the runtime's
// (Reranker.score, what sito-rerank prints), raw_scores, return_text, timing headers, truncation.
import XCTest
@testable import SitoServer
import Sito

final class RerankEndpointTests: XCTestCase {
    struct Rank: Decodable { var index: Int; var score: Float; var text: String? }

    let query = "Where do cats sleep?"
    let documents = ["Cats sleep on warm stones.", "The river floods in spring.", "A cat sleeps anywhere it likes.", "Kraków is an old town."]

    func testScoresEqualTheRuntimeBestFirst() async throws {
        for name in ["xlmr-tiny", "bert-tiny-cls"] {
            let file = try ServerFixtures.sito(name)
            let expected = try Reranker(contentsOf: file).score(query: query, documents: documents)
            let (q, docs) = (query, documents)
            let answer = try await withServer(file) { client, _ in
                try await client.post("/rerank", json: ["query": .init(q), "texts": .init(docs), "raw_scores": .init(true)] as [String: AnyEncodable])
            }
            XCTAssertEqual(answer.status, 200, answer.body)
            let ranks = try answer.decode([Rank].self)
            XCTAssertEqual(ranks.count, documents.count)
            let order = expected.sorted { $0.logit != $1.logit ? $0.logit > $1.logit : $0.index < $1.index }.map(\.index)
            XCTAssertEqual(ranks.map(\.index), order, name)
            for r in ranks {
                XCTAssertEqual(r.score, expected[r.index].logit, "\(name) document \(r.index): raw score must be the logit, bit for bit")
                XCTAssertNil(r.text)
            }
        }
    }

    func testScoreIsTheActivationUnlessRawScoresAndReturnText() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        let expected = try Reranker(contentsOf: file).score(query: query, documents: documents)
        let (q, docs) = (query, documents)
        let answer = try await withServer(file) { client, _ in
            try await client.post("/rerank", json: ["query": .init(q), "texts": .init(docs), "return_text": .init(true)] as [String: AnyEncodable])
        }
        XCTAssertEqual(answer.status, 200, answer.body)
        for r in try answer.decode([Rank].self) {
            XCTAssertEqual(r.score, expected[r.index].probability)
            XCTAssertEqual(r.text, documents[r.index])
        }
        for h in ["x-total-time", "x-tokenization-time", "x-queue-time", "x-inference-time"] {
            XCTAssertNotNil(answer.header(h).flatMap { Int($0) }, "header \(h)")
        }
    }

    func testTruncation() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        let long = longText(2000)
        let reranker = try Reranker(contentsOf: file)
        let expected = try reranker.score(query: query, documents: [long, "short"])
        XCTAssertTrue(expected[0].truncated)
        let q = query
        try await withServer(file) { client, _ in
            // Not allowed by default (TEI): 422 naming the document.
            let refused = try await client.post("/rerank", json: ["query": .init(q), "texts": .init([long, "short"])] as [String: AnyEncodable])
            XCTAssertEqual(refused.status, 422, refused.body)
            XCTAssertEqual(refused.errorType, "validation")
            XCTAssertTrue(refused.body.contains("document 0 is too long"), refused.body)
            // Allowed by the request: the truncated pair's score is the runtime's.
            let cut = try await client.post("/rerank", json: ["query": .init(q), "texts": .init([long, "short"]), "truncate": .init(true), "raw_scores": .init(true)] as [String: AnyEncodable])
            XCTAssertEqual(cut.status, 200, cut.body)
            let ranks = try cut.decode([Rank].self)
            XCTAssertEqual(ranks.first { $0.index == 0 }?.score, expected[0].logit)
            // Inputs that fit are served whatever the direction.
            let fits = try await client.post("/rerank", json: ["query": .init(q), "texts": .init(["short"]), "truncation_direction": .init("Left"), "raw_scores": .init(true)] as [String: AnyEncodable])
            XCTAssertEqual(fits.status, 200, fits.body)
            XCTAssertEqual(try fits.decode([Rank].self).first?.score, try reranker.score(query: q, documents: ["short"])[0].logit)
        }
        // --auto-truncate: the request that says nothing is truncated.
        try await withServer(file, { $0.autoTruncate = true }) { client, _ in
            let r = try await client.post("/rerank", json: ["query": .init(q), "texts": .init([long])] as [String: AnyEncodable])
            XCTAssertEqual(r.status, 200, r.body)
            let refused = try await client.post("/rerank", json: ["query": .init(q), "texts": .init([long]), "truncate": .init(false)] as [String: AnyEncodable])
            XCTAssertEqual(refused.status, 422, refused.body)
        }
        // --no-truncate: never, whatever the request says.
        try await withServer(file, { $0.truncation = .never }) { client, _ in
            let r = try await client.post("/rerank", json: ["query": .init(q), "texts": .init([long]), "truncate": .init(true)] as [String: AnyEncodable])
            XCTAssertEqual(r.status, 422, r.body)
        }
    }

    /// The scores of a 200 answer, in input order.
    static func scores(_ r: HTTPAnswer) throws -> [Float] {
        XCTAssertEqual(r.status, 200, r.body)
        return try r.decode([Rank].self).sorted { $0.index < $1.index }.map(\.score)
    }

    /// `truncation_direction: "Left"` keeps the end of each too-long pair: the scores are the runtime's
    /// with `truncationSide: .left` (sito-rerank --truncation-direction left), for a joined-pair (XLM-R) and
    /// a pair (BERT) recipe; `--truncation-direction left` makes it the default of requests that do not say.
    func testLeftTruncation() async throws {
        let long = longText(2000)
        let q = query
        for name in ["xlmr-tiny", "bert-tiny-cls"] {
            let file = try ServerFixtures.sito(name)
            let reranker = try Reranker(contentsOf: file)
            let left = try reranker.score(query: query, documents: [long, "short"], truncationSide: .left)
            let right = try reranker.score(query: query, documents: [long, "short"])
            XCTAssertTrue(left[0].truncated)
            XCTAssertNotEqual(left[0].logit, right[0].logit, "\(name): the two ends of the document score differently")
            try await withServer(file) { client, _ in
                let answer = try await client.post("/rerank", json: ["query": .init(q), "texts": .init([long, "short"]), "truncate": .init(true), "truncation_direction": .init("Left"), "raw_scores": .init(true)] as [String: AnyEncodable])
                XCTAssertEqual(try Self.scores(answer), left.map(\.logit), name)
                let refused = try await client.post("/rerank", json: ["query": .init(q), "texts": .init([long]), "truncation_direction": .init("Left")] as [String: AnyEncodable])
                XCTAssertEqual(refused.status, 422, "truncate is still needed: \(refused.body)")
            }
            try await withServer(file, { $0.truncationSide = .left; $0.autoTruncate = true }) { client, _ in
                let unsaid = try await client.post("/rerank", json: ["query": .init(q), "texts": .init([long, "short"]), "raw_scores": .init(true)] as [String: AnyEncodable])
                XCTAssertEqual(try Self.scores(unsaid), left.map(\.logit), name)
                let said = try await client.post("/rerank", json: ["query": .init(q), "texts": .init([long, "short"]), "raw_scores": .init(true), "truncation_direction": .init("Right")] as [String: AnyEncodable])
                XCTAssertEqual(try Self.scores(said), right.map(\.logit), name)
            }
        }
    }

    func testEmbeddingModelRanksByCosineAsSitoRerankDoes() async throws {
        let file = try ServerFixtures.sito("all-minilm-l6-v2")
        let embedder = try Embedder(contentsOf: file)
        let q = try embedder.embed([query])[0]
        let vectors = try embedder.embed(documents)
        let (qq, docs) = (query, documents)
        let answer = try await withServer(file) { client, _ in
            try await client.post("/rerank", json: ["query": .init(qq), "texts": .init(docs)] as [String: AnyEncodable])
        }
        XCTAssertEqual(answer.status, 200, answer.body)
        let ranks = try answer.decode([Rank].self)
        XCTAssertEqual(ranks.count, documents.count)
        // sito-rerank embeds the query alone and the documents together; the server runs them in one batch:
        // equal to f32 GEMM precision (BatchIndependenceTests).
        for r in ranks { XCTAssertEqual(r.score, Embedder.cosine(q, vectors[r.index]), accuracy: 1e-5) }
        XCTAssertEqual(ranks.map(\.score), ranks.map(\.score).sorted(by: >))
    }
}

/// Heterogeneous JSON bodies in tests.
struct AnyEncodable: Encodable, Sendable {
    private let encodeBody: @Sendable (any Encoder) throws -> Void
    init<T: Encodable & Sendable>(_ value: T) { encodeBody = { try value.encode(to: $0) } }
    func encode(to encoder: any Encoder) throws { try encodeBody(encoder) }
}
