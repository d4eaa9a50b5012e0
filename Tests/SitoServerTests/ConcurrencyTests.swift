// ConcurrencyTests.swift: 64 clients at once, each with its own query and documents, get exactly the
// scores of serial scoring (Reranker.score one request at a time: what sito-rerank computes), although
// the server batches their pairs together. On an int8 file (Sito's own kernels: bit-identical whatever
// the batch, BatchIndependenceTests); an f32 file agrees to 1e-5 relative.
import XCTest
@testable import SitoServer
import Sito

final class ConcurrencyTests: XCTestCase {
    struct Rank: Decodable { var index: Int; var score: Float }

    func test64ConcurrentClientsGetSerialAnswers() async throws {
        let file = try ServerFixtures.int8("xlmr-tiny")
        let reranker = try Reranker(contentsOf: file)
        let requests: [(String, [String])] = (0..<64).map { i in
            ("query \(i) about \(longText(3, seed: i))", (0..<(1 + i % 8)).map { longText(5 + (i * 13 + $0 * 7) % 60, seed: i + $0) })
        }
        let serial = try requests.map { q, docs in try reranker.score(query: q, documents: docs) }
        let answers = try await withServer(file, { $0.maxBatchTokens = 2048 }) { client, server in
            let answers = try await withThrowingTaskGroup(of: (Int, HTTPAnswer).self) { group in
                for (i, (q, docs)) in requests.enumerated() {
                    group.addTask { (i, try await client.post("/rerank", json: ["query": AnyEncodable(q), "texts": AnyEncodable(docs), "raw_scores": AnyEncodable(true)])) }
                }
                var out = [HTTPAnswer?](repeating: nil, count: requests.count)
                for try await (i, a) in group { out[i] = a }
                return out.map { $0! }
            }
            let metrics = try await client.get("/metrics").body
            return (answers, metrics)
        }
        for (i, answer) in answers.0.enumerated() {
            XCTAssertEqual(answer.status, 200, answer.body)
            let ranks = try answer.decode([Rank].self)
            XCTAssertEqual(ranks.count, serial[i].count)
            for r in ranks { XCTAssertEqual(r.score, serial[i][r.index].logit, "request \(i) document \(r.index)") }
        }
        // Pairs of different requests did share batches (more than one sequence per batch on average).
        func value(_ name: String) -> Double? {
            answers.1.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        let pairs = Double(requests.reduce(0) { $0 + $1.1.count })
        XCTAssertEqual(value("te_batch_next_size_sum"), pairs)
        let batches = try XCTUnwrap(value("te_batch_next_size_count"))
        XCTAssertLessThan(batches, pairs, "every batch held one pair: no cross-request batching")
    }
}
