// ErrorStatusTests.swift: every error status as JSON {error, error_type}: 400 (not JSON), 413 (body over
// --payload-limit), 404 (no route), 405 (a route's wrong method), 422 (wrong shape, empty or white-space
// query, over --max-client-batch-size), 429 (queue full).
import NIOHTTP1
import XCTest
@testable import SitoServer
import Sito

final class ErrorStatusTests: XCTestCase {
    func testMalformedShapeEmptyAndTooMany() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        try await withServer(file, { $0.maxClientBatchSize = 3 }) { client, _ in
            for path in ["/rerank", "/v1/rerank", "/embed", "/v1/embeddings"] {
                let r = try await client.post(path, #"{"query": "q", "texts": ["#)
                XCTAssertEqual(r.status, 400, "\(path): \(r.body)")
                XCTAssertEqual(r.errorType, "malformed", path)
            }
            let missing = try await client.post("/rerank", #"{"query": "q"}"#)
            XCTAssertEqual(missing.status, 422, missing.body)
            XCTAssertTrue(missing.body.contains("texts"), missing.body)
            let wrongType = try await client.post("/rerank", #"{"query": "q", "texts": "a"}"#)
            XCTAssertEqual(wrongType.status, 422, wrongType.body)
            let empty = try await client.post("/rerank", #"{"query": "q", "texts": []}"#)
            XCTAssertEqual(empty.status, 422, empty.body)
            XCTAssertTrue(empty.body.contains("cannot be empty"), empty.body)
            let tooMany = try await client.post("/rerank", #"{"query": "q", "texts": ["a", "b", "c", "d"]}"#)
            XCTAssertEqual(tooMany.status, 422, tooMany.body)
            XCTAssertTrue(tooMany.body.contains("batch size 4 > maximum allowed batch size 3"), tooMany.body)
            let emptyQuery = try await client.post("/rerank", #"{"query": "", "texts": ["a"]}"#)
            XCTAssertEqual(emptyQuery.status, 422, emptyQuery.body)
            // Only white space is empty too, as sito-rerank refuses it (SitoCLI.TextRules), on both rerank APIs.
            for (path, body) in [("/rerank", #"{"query": " \t\n\u3000", "texts": ["a"]}"#), ("/v1/rerank", #"{"query": "  ", "documents": ["a"]}"#)] {
                let blank = try await client.post(path, body)
                XCTAssertEqual(blank.status, 422, "\(path): \(blank.body)")
                XCTAssertEqual(blank.errorType, "validation")
                XCTAssertTrue(blank.body.contains("only white space"), blank.body)
            }
            let unknown = try await client.post("/v9/nothing", #"{}"#)
            XCTAssertEqual(unknown.status, 404, unknown.body)
            XCTAssertEqual(unknown.errorType, "not_found")
        }
    }

    /// A known route asked with another method: 405 with `Allow` and the JSON error body (Hummingbird
    /// alone answers 404); an unknown path stays 404, and the routes still answer their own method.
    func testWrongMethodIs405() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        try await withServer(file) { client, _ in
            for (method, path, allow) in [("GET", "/rerank", "POST"), ("GET", "/rerank/", "POST"), ("DELETE", "/v1/embeddings", "POST"),
                                          ("POST", "/health", "GET"), ("PUT", "/metrics", "GET"), ("GET", "/", "POST")] {
                let r = try await client.request(HTTPMethod(rawValue: method), path)
                XCTAssertEqual(r.status, 405, "\(method) \(path): \(r.body)")
                XCTAssertEqual(r.errorType, "method_not_allowed", "\(method) \(path)")
                XCTAssertEqual(r.header("allow"), allow, "\(method) \(path)")
                XCTAssertTrue(r.body.contains("takes \(allow), not \(method)"), r.body)
            }
            let unknown = try await client.get("/v9/nothing")
            XCTAssertEqual(unknown.status, 404, unknown.body)
            XCTAssertEqual(unknown.errorType, "not_found")
            let health = try await client.get("/health")
            XCTAssertEqual(health.status, 200, health.body)
            let ok = try await client.post("/rerank", #"{"query": "q", "texts": ["a"]}"#)
            XCTAssertEqual(ok.status, 200, ok.body)
        }
    }

    func testPayloadLimit() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        try await withServer(file, { $0.payloadLimit = 1000 }) { client, _ in
            let big = #"{"query": "q", "texts": [""# + String(repeating: "a", count: 2000) + #""], "truncate": true}"#
            let r = try await client.post("/rerank", big)
            XCTAssertEqual(r.status, 413, r.body)
            XCTAssertEqual(r.errorType, "payload_too_large")
            let small = try await client.post("/rerank", #"{"query": "q", "texts": ["a"]}"#)
            XCTAssertEqual(small.status, 200, small.body)
        }
    }

    func testQueueLimitGives429() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        let gate = Gate()
        try await withServer(file, { $0.maxConcurrentRequests = 2; $0.hooks.beforeBatch = { gate.pass() } }) { client, server in
            // Two requests hold both permits (the first batch waits at the gate) ...
            async let first = client.post("/rerank", #"{"query": "q", "texts": ["a"]}"#)
            await gate.waitEntered()
            async let second = client.post("/rerank", #"{"query": "q", "texts": ["b"]}"#)
            for _ in 0..<200 where server.engine.requestsInFlight < 2 { try await Task.sleep(for: .milliseconds(10)) }
            XCTAssertEqual(server.engine.requestsInFlight, 2)
            // ... so every further one is refused at once, and nothing more is queued.
            for _ in 0..<5 {
                let r = try await client.post("/rerank", #"{"query": "q", "texts": ["c"]}"#)
                XCTAssertEqual(r.status, 429, r.body)
                XCTAssertEqual(r.errorType, "overloaded")
            }
            gate.open()
            let (a, b) = try await (first, second)
            XCTAssertEqual(a.status, 200, a.body)
            XCTAssertEqual(b.status, 200, b.body)
            let after = try await client.post("/rerank", #"{"query": "q", "texts": ["c"]}"#)
            XCTAssertEqual(after.status, 200, after.body)
        }
    }

    /// A full server answers 429 before reading the body: a request whose body never comes is refused at
    /// once instead of being buffered (memory stays bounded by --max-concurrent-requests bodies).
    func testFullServerRefusesBeforeReadingTheBody() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        let gate = Gate()
        try await withServer(file, { $0.maxConcurrentRequests = 1; $0.hooks.beforeBatch = { gate.pass() } }) { client, server in
            async let first = client.post("/rerank", #"{"query": "q", "texts": ["a"]}"#)
            await gate.waitEntered()
            XCTAssertEqual(server.engine.requestsInFlight, 1)
            let head = "POST /rerank HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            let (answer, _) = try await ExpectContinueTests.exchange(port: client.port, head: head, until: "overloaded")
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 429 "), answer)
            gate.open()
            let a = try await first
            XCTAssertEqual(a.status, 200, a.body)
        }
    }
}
