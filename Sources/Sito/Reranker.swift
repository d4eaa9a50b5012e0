// Reranker.swift: the runtime's public API for cross-encoder rerankers.
//
//   let reranker = try Reranker(contentsOf: URL(fileURLWithPath: "model.sito"))
//   let scores = try reranker.score(query: "Jak dożyć 100 lat?", documents: docs)   // input order kept
//
// One loaded Reranker may be used from any number of threads at once (see Model.swift).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SitoFormat

/// One document's score.
public struct Score: Sendable, Equatable, Codable {
    /// Position of the document in the input list.
    public let index: Int
    /// The model's raw output (for one-label rerankers: the logit transformers returns).
    public let logit: Float
    /// `output_activation` applied to the logit: sigmoid for one-label models.
    public let probability: Float
    /// Tokens the model saw, special tokens included.
    public let tokens: Int
    /// Whether the pair was cut to the maximum length.
    public let truncated: Bool
}

public final class Reranker: Sendable {
    let model: LoadedModel

    public var file: SitoFile { model.file }
    public var tokenizer: Tokenizer { model.tokenizer }
    public var options: ModelOptions { model.options }
    /// Tokens per pair in effect.
    public var maxLength: Int { model.maxLength }
    public var header: SitoHeader { model.file.header }

    public convenience init(contentsOf url: URL, options: ModelOptions = ModelOptions()) throws {
        try self.init(loaded: try LoadedModel(contentsOf: url, options: options))
    }

    /// A reranker over a file already opened (`options.verifyChecksums` is not consulted: the file was opened
    /// with or without it).
    public convenience init(file: SitoFile, options: ModelOptions = ModelOptions()) throws {
        try self.init(loaded: try LoadedModel(file: file, options: options))
    }

    init(loaded: LoadedModel) throws {
        model = loaded
        guard header.task == .sequenceClassification else { throw ModelError.notAReranker(path: file.path, task: header.task) }
    }

    /// Token ids of the pair as the model sees them; a pair too long for the maximum is cut on
    /// `truncationSide` (Tokenizer.encodePair).
    public func encode(query: String, document: String, truncationSide: TruncationSide = .right) throws -> Encoding {
        try tokenizer.encodePair(query: query, document: document, maxLength: maxLength, onOverflow: options.overflow,
                                 truncationSide: truncationSide)
    }

    /// Scores every document against the query; the result is in input order. Pairs too long for the
    /// maximum are cut on `truncationSide`.
    public func score(query: String, documents: [String], truncationSide: TruncationSide = .right) throws -> [Score] {
        var encodings: [Encoding] = []
        encodings.reserveCapacity(documents.count)
        for (i, d) in documents.enumerated() {
            do {
                encodings.append(try encode(query: query, document: d, truncationSide: truncationSide))
            } catch let error as TokenizerError {
                if case .tooLong(let tokens, let limit) = error {
                    throw ModelError.inputTooLong(index: i, part: queryFits(query) ? .document : .query, tokens: tokens, limit: limit)
                }
                throw error
            }
        }
        let logits = try model.run(encodings.map { ($0.ids, $0.typeIds) })
        return encodings.indices.map { i in
            let l = logits[i]
            return Score(index: i, logit: l[l.count - 1], probability: probability(l), tokens: encodings[i].ids.count, truncated: encodings[i].truncated)
        }
    }

    /// Whether the query leaves room for a document within the maximum length.
    public func queryFits(_ query: String) -> Bool {
        guard let e = try? tokenizer.encodePair(query: query, document: "", maxLength: maxLength, onOverflow: .truncate) else { return false }
        return e.untruncatedLength < maxLength
    }

    /// Runs the model on pre-tokenized sequences; returns each sequence's logits, in input order.
    public func logits(inputIds: [[Int32]], typeIds: [[Int32]]? = nil) throws -> [[Float]] {
        try model.run(inputIds.indices.map { (inputIds[$0], typeIds?[$0]) })
    }

    /// Sigmoid of a one-label model's logit, or the softmax probability of the last label.
    public func probability(_ logits: [Float]) -> Float {
        switch header.model.outputActivation {
        case .sigmoid: return 1 / (1 + expf(-logits[logits.count - 1]))
        case .softmax:
            let mx = logits.max() ?? 0
            let e = logits.map { expf($0 - mx) }
            return e[e.count - 1] / e.reduce(0, +)
        case .none: return logits[logits.count - 1]
        }
    }
}

