// DisconnectTests.swift: a client that goes away while its request waits in the queue: its work is
// dropped before it starts, and the server goes on serving the others.
import XCTest
@testable import SitoServer
import Sito

final class DisconnectTests: XCTestCase {
    func testWorkOfAGoneClientIsDropped() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        let gate = Gate()
        try await withServer(file, { $0.hooks.beforeBatch = { gate.pass() } }) { client, server in
            // The first request's batch waits at the gate; the second is queued behind it.
            async let first = client.post("/rerank", #"{"query": "q", "texts": ["a"]}"#)
            await gate.waitEntered()
            let leaving = try await client.send(.POST, "/rerank", body: #"{"query": "q", "texts": ["b", "c"]}"#)
            for _ in 0..<200 where server.engine.requestsInFlight < 2 { try await Task.sleep(for: .milliseconds(10)) }
            XCTAssertEqual(server.engine.requestsInFlight, 2)
            try await leaving.leave()
            try await Task.sleep(for: .milliseconds(100))
            gate.open()
            let a = try await first
            XCTAssertEqual(a.status, 200, a.body)
            for _ in 0..<200 where server.engine.droppedRequests < 1 { try await Task.sleep(for: .milliseconds(10)) }
            XCTAssertEqual(server.engine.droppedRequests, 1)
            let metrics = try await client.get("/metrics").body
            // Only the first request's pair ran (plus none of the gone one's two).
            XCTAssertTrue(metrics.contains("te_batch_next_size_sum 1"), metrics)
        }
    }
}
