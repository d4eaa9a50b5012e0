// OpenAITypes.swift: OpenAI's embeddings API, POST /v1/embeddings (formats/serve-api.md).

enum EncodingFormat: String, Codable, Sendable {
    case float
    /// Little-endian float32s, base64 (what the openai Python client asks for by default).
    case base64
}

struct OpenAIEmbeddingsRequest: Decodable, Sendable {
    var input: OneOrMany
    var model: String?
    var encoding_format: EncodingFormat?
    var dimensions: Int?
    var user: String?
}

/// An embedding as floats or as base64.
enum EmbeddingValue: Encodable, Sendable {
    case floats([Float])
    case base64(String)

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .floats(let v): try c.encode(v)
        case .base64(let s): try c.encode(s)
        }
    }
}

struct OpenAIEmbeddingsResponse: Encodable, Sendable {
    struct Item: Encodable, Sendable {
        var object = "embedding"
        var embedding: EmbeddingValue
        var index: Int
    }
    struct Usage: Encodable, Sendable {
        var prompt_tokens: Int
        var total_tokens: Int
    }
    var object = "list"
    var data: [Item]
    var model: String
    var usage: Usage
}
