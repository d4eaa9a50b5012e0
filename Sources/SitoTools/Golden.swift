// Golden.swift: the golden/1 reference files written by tools/make_goldens.py (schema: formats/golden.md).
import Foundation
import SitoFormat

/// One reference case: a pair (query + document), an ids-only sequence, or a single text (embeddings).
public struct GoldenCase: Codable, Sendable {
    /// A name for reports, e.g. `edge:empty-document`.
    public var tag: String?
    public var query: String?
    public var document: String?
    public var text: String?
    public var inputIds: [Int32]?
    /// The reference's token-type ids (BERT pairs: 0 then 1); absent: all 0.
    public var tokenTypeIds: [Int32]?
    public var logits: [Float]?
    public var embedding: [Float]?

    enum CodingKeys: String, CodingKey {
        case tag, query, document, text, inputIds = "input_ids", tokenTypeIds = "token_type_ids", logits, embedding
    }
}

/// The kind of model a golden is for (`task`, default sequence-classification) and a `.sito` file is (its header's task).
extension ModelTask {
    /// For messages: "a reranker (sequence-classification)", "an embedding model".
    public var described: String {
        switch self {
        case .sequenceClassification: return "a reranker (sequence-classification)"
        case .embedding: return "an embedding model"
        }
    }
}

/// `reference`: provenance, free-form; read leniently (a key of another type is as good as absent).
public struct GoldenReference: Codable, Sendable {
    /// The transformers tokenizer class, e.g. `XLMRobertaTokenizer`, `BertTokenizer`.
    public var tokenizerClass: String?
    /// `sito-int8` / `sito-bf16` in simulation goldens.
    public var scheme: String?

    enum CodingKeys: String, CodingKey {
        case tokenizerClass = "tokenizer_class", scheme
    }

    public init(from decoder: Decoder) throws {
        let c = try? decoder.container(keyedBy: CodingKeys.self)
        tokenizerClass = (try? c?.decodeIfPresent(String.self, forKey: .tokenizerClass)) ?? nil
        scheme = (try? c?.decodeIfPresent(String.self, forKey: .scheme)) ?? nil
    }
}

/// `recipe`: how text became ids (informative), read leniently.
public struct GoldenRecipe: Codable, Sendable {
    /// `{query}</s></s>{document}`, `pair` (BERT), `{text}` (embeddings).
    public var template: String?
    /// Embeddings: `mean` or `cls`, and whether the vector is L2-normalized.
    public var pooling: String?
    public var normalize: Bool?

    public init(from decoder: Decoder) throws {
        let c = try? decoder.container(keyedBy: CodingKeys.self)
        template = (try? c?.decodeIfPresent(String.self, forKey: .template)) ?? nil
        pooling = (try? c?.decodeIfPresent(String.self, forKey: .pooling)) ?? nil
        normalize = (try? c?.decodeIfPresent(Bool.self, forKey: .normalize)) ?? nil
    }
}

public struct GoldenFile: Codable, Sendable {
    public var format: String
    public var model: String?
    /// As written; `modelTask` is its meaning (load refuses other values).
    public var task: String?
    public var reference: GoldenReference?
    public var recipe: GoldenRecipe?
    public var maxLength: Int?
    public var cases: [GoldenCase]

    enum CodingKeys: String, CodingKey {
        case format, model, task, reference, recipe, maxLength = "max_length", cases
    }

    /// The kind of model the golden is for (formats/golden.md: `task`, default sequence-classification).
    public var modelTask: ModelTask { task.flatMap(ModelTask.init(rawValue:)) ?? .sequenceClassification }
}

public enum GoldenError: Error, LocalizedError, Equatable {
    case unreadable(path: String, reason: String)
    case invalid(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read golden file: \(reason)"
        case let .invalid(path, reason): return "\(path): not a valid golden/1 file: \(reason)"
        }
    }
}

extension GoldenFile {
    /// Reads and checks a golden file: format tag, and every case holds text or ids.
    public static func load(path: String) throws -> GoldenFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GoldenError.unreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file")
        }
        let golden: GoldenFile
        do {
            golden = try JSONDecoder().decode(GoldenFile.self, from: data)
        } catch {
            throw GoldenError.invalid(path: path, reason: "\(error)")
        }
        guard golden.format == "golden/1" else {
            throw GoldenError.invalid(path: path, reason: "format is \"\(golden.format)\"; this Sito reads \"golden/1\"")
        }
        if let task = golden.task, ModelTask(rawValue: task) == nil {
            throw GoldenError.invalid(path: path, reason: "task is \"\(task)\"; golden/1 knows \(ModelTask.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " and "))")
        }
        for (i, c) in golden.cases.enumerated() {
            let hasPair = c.query != nil && c.document != nil
            let hasText = c.text != nil
            if (c.query == nil) != (c.document == nil) {
                throw GoldenError.invalid(path: path, reason: "case \(i) has a query without a document or a document without a query")
            }
            if !hasPair && !hasText && c.inputIds == nil {
                throw GoldenError.invalid(path: path, reason: "case \(i) has neither text nor input_ids")
            }
            if !hasPair && !hasText && c.logits == nil && c.embedding == nil {
                throw GoldenError.invalid(path: path, reason: "case \(i) has input_ids but nothing to check (no text, logits or embedding)")
            }
            if hasPair && hasText { throw GoldenError.invalid(path: path, reason: "case \(i) has both a pair and a single text") }
            if let ids = c.inputIds, ids.isEmpty { throw GoldenError.invalid(path: path, reason: "case \(i) has empty input_ids") }
            if let types = c.tokenTypeIds, types.count != c.inputIds?.count {
                throw GoldenError.invalid(path: path, reason: "case \(i) has token_type_ids without input_ids of the same length")
            }
            if let l = c.logits, l.isEmpty || l.contains(where: { !$0.isFinite }) {
                throw GoldenError.invalid(path: path, reason: "case \(i) has empty or non-finite logits")
            }
            if let e = c.embedding, e.isEmpty || e.contains(where: { !$0.isFinite }) {
                throw GoldenError.invalid(path: path, reason: "case \(i) has an empty or non-finite embedding")
            }
        }
        return golden
    }
}
