// CohereRerankTests.swift: Cohere's and Jina's POST /v1/rerank: documents as strings or {text}, top_n,
// return_documents, relevance_score = the activation, usage.
import XCTest
@testable import SitoServer
import Sito

final class CohereRerankTests: XCTestCase {
    struct Answer: Decodable {
        struct Result: Decodable {
            struct Document: Decodable { var text: String }
            var index: Int
            var relevance_score: Float
            var document: Document?
        }
        struct Usage: Decodable { var total_tokens: Int }
        var model: String
        var results: [Result]
        var usage: Usage
    }

    let query = "Where do cats sleep?"
    let documents = ["Cats sleep on warm stones.", "The river floods in spring.", "A cat sleeps anywhere it likes.", "Kraków is an old town."]

    func testTopNAndDocuments() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        let expected = try Reranker(contentsOf: file).score(query: query, documents: documents)
        let best = expected.sorted { $0.logit != $1.logit ? $0.logit > $1.logit : $0.index < $1.index }
        let (q, docs) = (query, documents)
        try await withServer(file) { client, _ in
            let objects = docs.map { ["text": $0] }
            let r = try await client.post("/v1/rerank", json: ["model": AnyEncodable("x"), "query": AnyEncodable(q), "documents": AnyEncodable(objects),
                                                               "top_n": AnyEncodable(2), "return_documents": AnyEncodable(true)])
            XCTAssertEqual(r.status, 200, r.body)
            let answer = try r.decode(Answer.self)
            XCTAssertEqual(answer.model, "x")
            XCTAssertEqual(answer.results.map(\.index), best.prefix(2).map(\.index))
            for result in answer.results {
                XCTAssertEqual(result.relevance_score, expected[result.index].probability)
                XCTAssertEqual(result.document?.text, docs[result.index])
            }
            XCTAssertEqual(answer.usage.total_tokens, expected.reduce(0) { $0 + $1.tokens })

            let plain = try await client.post("/v1/rerank", json: ["query": AnyEncodable(q), "documents": AnyEncodable(docs)])
            XCTAssertEqual(plain.status, 200, plain.body)
            let all = try plain.decode(Answer.self)
            XCTAssertEqual(all.results.count, docs.count)
            XCTAssertNil(all.results[0].document)
            XCTAssertEqual(all.model, "xlmr-tiny")

            let v2 = try await client.post("/v2/rerank", json: ["model": AnyEncodable("x"), "query": AnyEncodable(q), "documents": AnyEncodable(docs), "top_n": AnyEncodable(2)])
            XCTAssertEqual(try v2.decode(Answer.self).results.map(\.index), best.prefix(2).map(\.index))
            let badTop = try await client.post("/v1/rerank", json: ["query": AnyEncodable(q), "documents": AnyEncodable(docs), "top_n": AnyEncodable(0)])
            XCTAssertEqual(badTop.status, 422, badTop.body)
            let empty = try await client.post("/v1/rerank", json: ["query": AnyEncodable(q), "documents": AnyEncodable([String]())])
            XCTAssertEqual(empty.status, 422, empty.body)
        }
    }
}
