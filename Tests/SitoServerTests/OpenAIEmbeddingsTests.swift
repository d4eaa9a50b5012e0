// OpenAIEmbeddingsTests.swift: OpenAI's POST /v1/embeddings: floats and base64, usage, token-id inputs
// refused.
import XCTest
@testable import SitoServer
import Sito

final class OpenAIEmbeddingsTests: XCTestCase {
    struct Answer: Decodable {
        struct Item: Decodable { var object: String; var index: Int; var embedding: [Float] }
        struct Usage: Decodable { var prompt_tokens: Int; var total_tokens: Int }
        var object: String
        var data: [Item]
        var usage: Usage
    }
    struct Base64Answer: Decodable {
        struct Item: Decodable { var index: Int; var embedding: String }
        var data: [Item]
    }

    func testFloatsAndBase64() async throws {
        let file = try ServerFixtures.sito("all-minilm-l6-v2")
        let texts = ["first text", "second, longer text about cats"]
        let expected = try Embedder(contentsOf: file).embed(texts)
        let alone = try Embedder(contentsOf: file).embed([texts[0]])
        try await withServer(file) { client, _ in
            let r = try await client.post("/v1/embeddings", json: ["input": AnyEncodable(texts), "model": AnyEncodable("minilm")])
            XCTAssertEqual(r.status, 200, r.body)
            let answer = try r.decode(Answer.self)
            XCTAssertEqual(answer.object, "list")
            XCTAssertEqual(answer.data.map(\.index), [0, 1])
            XCTAssertEqual(answer.data.map(\.embedding), expected)
            XCTAssertGreaterThan(answer.usage.prompt_tokens, 4)

            let b = try await client.post("/v1/embeddings", json: ["input": AnyEncodable(texts[0]), "encoding_format": AnyEncodable("base64")])
            XCTAssertEqual(b.status, 200, b.body)
            let encoded = try b.decode(Base64Answer.self).data[0].embedding
            let bytes = try XCTUnwrap(Data(base64Encoded: encoded))
            let floats = bytes.withUnsafeBytes { raw in (0..<(bytes.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) } }
            XCTAssertEqual(floats, alone[0])

            let ids = try await client.post("/v1/embeddings", #"{"input": [1, 2, 3]}"#)
            XCTAssertEqual(ids.status, 422, ids.body)
            let empty = try await client.post("/v1/embeddings", #"{"input": []}"#)
            XCTAssertEqual(empty.status, 422, empty.body)
            XCTAssertTrue(empty.body.contains("`input` cannot be empty"), "OpenAI's field is `input`: \(empty.body)")
            let dims = try await client.post("/v1/embeddings", #"{"input": "a", "dimensions": 12}"#)
            XCTAssertEqual(dims.status, 422, dims.body)
        }
    }
}
