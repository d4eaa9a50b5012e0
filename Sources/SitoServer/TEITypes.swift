// TEITypes.swift: the request and response bodies of Hugging Face text-embeddings-inference's routes
// (/rerank, /embed, /info), field for field (formats/serve-api.md).
import Sito

/// `"Right"` (keep the start) or `"Left"` (keep the end), case-insensitive; the runtime's TruncationSide.
enum TruncationDirection: String, Codable, Sendable {
    case right = "Right"
    case left = "Left"

    var side: TruncationSide {
        switch self {
        case .right: return .right
        case .left: return .left
        }
    }

    init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        switch raw.lowercased() {
        case "right": self = .right
        case "left": self = .left
        default: throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "truncation_direction must be \"Right\" or \"Left\" (got \"\(raw)\")"))
        }
    }
}

/// A string or a list of strings (TEI's `inputs`, OpenAI's `input`).
enum OneOrMany: Decodable, Sendable {
    case one(String)
    case many([String])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .one(s); return }
        if let a = try? c.decode([String].self) { self = .many(a); return }
        if (try? c.decode([Int].self)) != nil || (try? c.decode([[Int]].self)) != nil {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "token-id inputs are not supported: send text"))
        }
        throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath, debugDescription: "expected a string or a list of strings"))
    }

    var texts: [String] {
        switch self {
        case .one(let s): return [s]
        case .many(let a): return a
        }
    }
}

/// POST /rerank.
struct TEIRerankRequest: Decodable, Sendable {
    var query: String
    var texts: [String]
    var truncate: Bool?
    var truncation_direction: TruncationDirection?
    var raw_scores: Bool?
    var return_text: Bool?
}

/// One element of /rerank's answer, best first.
struct TEIRank: Encodable, Sendable {
    var index: Int
    var score: Float
    var text: String?
}

/// POST /embed.
struct TEIEmbedRequest: Decodable, Sendable {
    var inputs: OneOrMany
    var truncate: Bool?
    var truncation_direction: TruncationDirection?
    var normalize: Bool?
}

/// GET /info (TEI's fields, and Sito's own after them).
struct TEIInfo: Encodable, Sendable {
    var model_id: String
    var model_sha: String?
    var model_dtype: String
    var model_type: ModelTypeInfo
    var max_concurrent_requests: Int
    var max_input_length: Int
    var max_batch_tokens: Int
    var max_batch_requests: Int?
    var max_client_batch_size: Int
    var auto_truncate: Bool
    var tokenization_workers: Int
    var version: String
    var sha: String?
    var docker_label: String?
    // Sito's own
    var architecture: String
    var task: String
    var quantization: String?
    var ready: Bool

    /// `{"reranker": {"id2label": …}}` or `{"embedding": {"pooling": …}}`, as TEI nests it.
    struct ModelTypeInfo: Encodable, Sendable {
        var reranker: [String: [String: String]]?
        var embedding: [String: String]?
    }
}
