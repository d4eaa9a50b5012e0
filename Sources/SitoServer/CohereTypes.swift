// CohereTypes.swift: the rerank API of Cohere and Jina (and Infinity, vLLM): POST /v1/rerank
// (formats/serve-api.md).

/// A document: a string, or an object with a `text` field (Cohere's v1 and Jina's form).
struct CohereDocument: Codable, Sendable {
    var text: String

    init(text: String) { self.text = text }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            text = s
            return
        }
        struct Object: Decodable { var text: String }
        guard let o = try? c.decode(Object.self) else {
            throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath, debugDescription: "a document is a string or an object with a \"text\" string"))
        }
        text = o.text
    }
}

struct CohereRerankRequest: Decodable, Sendable {
    var model: String?
    var query: String
    var documents: [CohereDocument]
    var top_n: Int?
    var return_documents: Bool?
    var truncate: Bool?
    var raw_scores: Bool?
}

struct CohereRerankResponse: Encodable, Sendable {
    struct Result: Encodable, Sendable {
        var index: Int
        var relevance_score: Float
        var document: CohereDocument?
    }
    struct Meta: Encodable, Sendable {
        struct APIVersion: Encodable, Sendable { var version = "2" }
        struct BilledUnits: Encodable, Sendable { var search_units = 1 }
        var api_version = APIVersion()
        var billed_units = BilledUnits()
    }
    struct Usage: Encodable, Sendable {
        var total_tokens: Int
    }
    var id: String
    var model: String
    var results: [Result]
    var meta = Meta()
    var usage: Usage
}
