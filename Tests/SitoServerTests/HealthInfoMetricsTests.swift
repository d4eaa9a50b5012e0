// HealthInfoMetricsTests.swift: GET /health (503 while the model loads, then 200), GET /info, and
// GET /metrics after some requests.
import XCTest
@testable import SitoServer
import Sito

final class HealthInfoMetricsTests: XCTestCase {
    func testHealthIs503WhileLoading() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        let gate = Gate()
        try await withServer(file, ready: false, { $0.hooks.beforeLoad = { gate.pass() } }) { client, _ in
            await gate.waitEntered()
            let loading = try await client.get("/health")
            XCTAssertEqual(loading.status, 503, loading.body)
            XCTAssertEqual(loading.errorType, "unhealthy")
            let rerank = try await client.post("/rerank", #"{"query": "q", "texts": ["a"]}"#)
            XCTAssertEqual(rerank.status, 503, rerank.body)
            let info = try await client.get("/info")
            XCTAssertEqual(info.status, 200)
            XCTAssertEqual((try info.json() as? [String: Any])?["ready"] as? Bool, false)
            gate.open()
            try await client.waitReady()
            let health = try await client.get("/health")
            XCTAssertEqual(health.status, 200)
        }
    }

    func testInfo() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        let info = try await withServer(file, { $0.maxClientBatchSize = 7 }) { client, _ in try await client.get("/info") }
        XCTAssertEqual(info.status, 200, info.body)
        let json = try XCTUnwrap(try info.json() as? [String: Any])
        XCTAssertEqual(json["model_id"] as? String, "xlmr-tiny")
        XCTAssertEqual(json["max_client_batch_size"] as? Int, 7)
        XCTAssertEqual(json["max_input_length"] as? Int, try Reranker(contentsOf: file).maxLength)
        XCTAssertEqual(json["architecture"] as? String, "xlm-roberta")
        XCTAssertNotNil((json["model_type"] as? [String: Any])?["reranker"])
        XCTAssertEqual(json["version"] as? String, sitoServeVersion)
        XCTAssertEqual(json["ready"] as? Bool, true)
    }

    func testMetrics() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        let text = try await withServer(file) { client, _ in
            _ = try await client.post("/rerank", #"{"query": "q", "texts": ["a", "b"]}"#)
            _ = try await client.post("/rerank", #"{"query": "q", "texts": []}"#)
            let m = try await client.get("/metrics")
            XCTAssertEqual(m.status, 200)
            XCTAssertTrue(m.header("content-type")?.hasPrefix("text/plain") ?? false)
            return m.body
        }
        for needle in [#"te_request_count{endpoint="/rerank",status="200"} 1"#, #"te_request_count{endpoint="/rerank",status="422"} 1"#,
                       "te_request_duration_bucket", "te_request_queue_duration_bucket", "te_request_inference_duration_bucket",
                       "te_request_tokenization_duration_bucket", "te_batch_next_size_bucket", "te_batch_next_tokens_bucket",
                       "te_request_input_length_bucket", "te_batch_inference_duration_bucket", "te_queue_size"] {
            XCTAssertTrue(text.contains(needle), "missing \(needle) in:\n\(text)")
        }
    }
}
