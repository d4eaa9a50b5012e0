// Reranker.swift: the runtime's public API for cross-encoder rerankers (and, in Embedder, for embedding
// models), over one shared loaded model (LoadedModel).
//
//   let reranker = try Reranker(contentsOf: URL(fileURLWithPath: "model.sito"))
//   let scores = try reranker.score(query: "Jak dożyć 100 lat?", documents: docs)   // input order kept
//
// One loaded Reranker may be used from any number of threads at once: it holds only immutable state
// (the mapping, the weights' views, the tokenizer), and every call allocates its own activations.
import Foundation
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

/// How a model is loaded and run (Reranker and Embedder).
public struct RerankerOptions: Sendable {
    /// Check every tensor's XXH64 while loading (reads the whole file once).
    public var verifyChecksums: Bool
    /// Tokens per pair; nil: the file's `input.max_length`. Larger than the file's maximum is an error.
    public var maxLength: Int?
    public var overflow: OverflowPolicy
    /// Upper bound of tokens run through the encoder at once (pairs are packed without padding).
    public var maxBatchTokens: Int
    /// Which operands self-attention multiplies; `.automatic`: bf16 in the layers whose Q, K, V weights
    /// are bf16 or int8, f32 elsewhere (formats/quantization.md, "Runtime scheme").
    public var attention: AttentionPrecision

    public init(verifyChecksums: Bool = false, maxLength: Int? = nil, overflow: OverflowPolicy = .truncate, maxBatchTokens: Int = 4096,
                attention: AttentionPrecision = .automatic) {
        self.verifyChecksums = verifyChecksums
        self.maxLength = maxLength
        self.overflow = overflow
        self.maxBatchTokens = maxBatchTokens
        self.attention = attention
    }
}

public enum RerankerError: Error, LocalizedError, Equatable {
    case notAReranker(path: String, task: String)
    case notAnEmbedder(path: String, task: String)
    case maxLengthTooLarge(requested: Int, limit: Int)
    case maxLengthTooSmall(requested: Int)
    case inputTooLong(index: Int, tokens: Int, limit: Int)
    case tokenOutOfRange(sequence: Int, id: Int32, vocab: Int)
    case sequenceTooLong(sequence: Int, tokens: Int, limit: Int)
    case emptySequence(sequence: Int)

    public var errorDescription: String? {
        switch self {
        case let .notAReranker(path, task): return "\(path): this is a \(task) model, not a reranker (sequence-classification)"
        case let .notAnEmbedder(path, task): return "\(path): this is a \(task) model, not an embedding model"
        case let .maxLengthTooLarge(requested, limit): return "max length \(requested) exceeds the model's limit of \(limit) tokens"
        case let .maxLengthTooSmall(requested): return "max length \(requested) is too small: at least 4 tokens (the special tokens and some text)"
        case let .inputTooLong(index, tokens, limit): return "document \(index): the pair is \(tokens) tokens, longer than the maximum \(limit) (truncation was not allowed)"
        case let .tokenOutOfRange(sequence, id, vocab): return "sequence \(sequence): token id \(id) is outside the vocabulary 0..<\(vocab)"
        case let .sequenceTooLong(sequence, tokens, limit): return "sequence \(sequence): \(tokens) tokens exceed the model's \(limit) positions"
        case let .emptySequence(sequence): return "sequence \(sequence) has no tokens"
        }
    }
}

/// A `.sito` file opened for inference: the mapping, the tokenizer, the encoder, and the batching that
/// packs sequences without padding. Shared by Reranker and Embedder.
final class LoadedModel: Sendable {
    let file: SitoFile
    let tokenizer: Tokenizer
    let options: RerankerOptions
    /// Tokens per sequence in effect.
    let maxLength: Int
    let encoder: Encoder

    convenience init(contentsOf url: URL, options: RerankerOptions) throws {
        try self.init(file: try SitoFile(contentsOf: url, options: SitoOpenOptions(verifyChecksums: options.verifyChecksums)), options: options)
    }

    /// A file already opened (its checksums verified then, or not: `options.verifyChecksums` is not consulted).
    init(file: SitoFile, options: RerankerOptions) throws {
        let h = file.header
        let limit = h.input.maxLength
        if let requested = options.maxLength {
            if requested > limit { throw RerankerError.maxLengthTooLarge(requested: requested, limit: limit) }
            if requested < 4 { throw RerankerError.maxLengthTooSmall(requested: requested) }
        }
        self.file = file
        self.options = options
        self.maxLength = options.maxLength ?? limit
        let blob = try file.require(h.tokenizer.tensor)
        self.tokenizer = try Tokenizer(info: h.tokenizer, input: h.input, bytes: blob.bytes)
        self.encoder = try Encoder(file: file, attention: options.attention)
    }

    /// Runs the encoder on sequences, in batches of at most `maxBatchTokens` tokens packed longest
    /// first; returns each sequence's output (logits or embedding) in input order.
    func run(_ sequences: [([Int32], [Int32]?)]) throws -> [[Float]] {
        let m = file.header.model
        let positions = m.maxPositions - m.positionOffset
        for (i, s) in sequences.enumerated() {
            if s.0.isEmpty { throw RerankerError.emptySequence(sequence: i) }
            if s.0.count > positions { throw RerankerError.sequenceTooLong(sequence: i, tokens: s.0.count, limit: positions) }
            if let bad = s.0.first(where: { $0 < 0 || Int($0) >= m.vocab }) {
                throw RerankerError.tokenOutOfRange(sequence: i, id: bad, vocab: m.vocab)
            }
            if let types = s.1, types.count != s.0.count || types.contains(where: { $0 < 0 || Int($0) >= m.typeVocab }) {
                throw RerankerError.tokenOutOfRange(sequence: i, id: types.first { $0 < 0 || Int($0) >= m.typeVocab } ?? -1, vocab: m.typeVocab)
            }
        }
        let order = sequences.indices.sorted { sequences[$0].0.count > sequences[$1].0.count }
        var results = [[Float]](repeating: [], count: sequences.count)
        var batch = PackedBatch()
        var members: [Int] = []
        func flush() {
            if members.isEmpty { return }
            let out = encoder.forward(batch)
            for (j, i) in members.enumerated() { results[i] = out[j] }
            batch = PackedBatch()
            members = []
        }
        for i in order {
            let s = sequences[i]
            if !members.isEmpty && batch.tokens + s.0.count > options.maxBatchTokens { flush() }
            batch.append(ids: s.0, typeIds: s.1)
            members.append(i)
        }
        flush()
        return results
    }
}

public final class Reranker: Sendable {
    let model: LoadedModel

    public var file: SitoFile { model.file }
    public var tokenizer: Tokenizer { model.tokenizer }
    public var options: RerankerOptions { model.options }
    /// Tokens per pair in effect.
    public var maxLength: Int { model.maxLength }
    public var header: SitoHeader { model.file.header }

    public init(contentsOf url: URL, options: RerankerOptions = RerankerOptions()) throws {
        model = try LoadedModel(contentsOf: url, options: options)
        guard header.task == "sequence-classification" else { throw RerankerError.notAReranker(path: file.path, task: header.task) }
    }

    /// A reranker over a file already opened (`options.verifyChecksums` is not consulted: the file was opened with or without it).
    public init(file: SitoFile, options: RerankerOptions = RerankerOptions()) throws {
        model = try LoadedModel(file: file, options: options)
        guard header.task == "sequence-classification" else { throw RerankerError.notAReranker(path: file.path, task: header.task) }
    }

    /// Token ids of the pair as the model sees them.
    public func encode(query: String, document: String) throws -> Encoding {
        try tokenizer.encodePair(query: query, document: document, maxLength: maxLength, onOverflow: options.overflow)
    }

    /// Scores every document against the query; the result is in input order.
    public func score(query: String, documents: [String]) throws -> [Score] {
        var encodings: [Encoding] = []
        encodings.reserveCapacity(documents.count)
        for (i, d) in documents.enumerated() {
            do {
                encodings.append(try encode(query: query, document: d))
            } catch let error as TokenizerError {
                if case .tooLong(let tokens, let limit) = error { throw RerankerError.inputTooLong(index: i, tokens: tokens, limit: limit) }
                throw error
            }
        }
        let logits = try model.run(encodings.map { ($0.ids, $0.typeIds) })
        return encodings.indices.map { i in
            let l = logits[i]
            return Score(index: i, logit: l[l.count - 1], probability: probability(l), tokens: encodings[i].ids.count, truncated: encodings[i].truncated)
        }
    }

    /// Runs the model on pre-tokenized sequences; returns each sequence's logits, in input order.
    public func logits(inputIds: [[Int32]], typeIds: [[Int32]]? = nil) throws -> [[Float]] {
        try model.run(inputIds.indices.map { (inputIds[$0], typeIds?[$0]) })
    }

    /// Sigmoid of a one-label model's logit, or the softmax probability of the last label.
    public func probability(_ logits: [Float]) -> Float {
        switch header.model.outputActivation {
        case "sigmoid": return 1 / (1 + expf(-logits[logits.count - 1]))
        case "softmax":
            let mx = logits.max() ?? 0
            let e = logits.map { expf($0 - mx) }
            return e[e.count - 1] / e.reduce(0, +)
        default: return logits[logits.count - 1]
        }
    }
}

/// Embedding models (sentence-transformers: pooled, optionally normalized encoder outputs).
///
///   let embedder = try Embedder(contentsOf: URL(fileURLWithPath: "minilm.sito"))
///   let vectors = try embedder.embed(["Ala ma kota.", "Kot ma Alę."])     // [[Float]], input order
public final class Embedder: Sendable {
    let model: LoadedModel

    public var file: SitoFile { model.file }
    public var tokenizer: Tokenizer { model.tokenizer }
    public var header: SitoHeader { model.file.header }
    public var maxLength: Int { model.maxLength }
    /// Length of each embedding.
    public var dimension: Int { header.model.hidden }

    public init(contentsOf url: URL, options: RerankerOptions = RerankerOptions()) throws {
        model = try LoadedModel(contentsOf: url, options: options)
        guard header.task == "embedding" else { throw RerankerError.notAnEmbedder(path: file.path, task: header.task) }
    }

    /// An embedder over a file already opened (`options.verifyChecksums` is not consulted).
    public init(file: SitoFile, options: RerankerOptions = RerankerOptions()) throws {
        model = try LoadedModel(file: file, options: options)
        guard header.task == "embedding" else { throw RerankerError.notAnEmbedder(path: file.path, task: header.task) }
    }

    /// Token ids of one text as the model sees them.
    public func encode(_ text: String) throws -> Encoding {
        try tokenizer.encodeSingle(text: text, maxLength: maxLength, onOverflow: model.options.overflow)
    }

    /// One embedding per text, in input order.
    public func embed(_ texts: [String]) throws -> [[Float]] {
        var encodings: [Encoding] = []
        for (i, t) in texts.enumerated() {
            do {
                encodings.append(try encode(t))
            } catch let error as TokenizerError {
                if case .tooLong(let tokens, let limit) = error { throw RerankerError.inputTooLong(index: i, tokens: tokens, limit: limit) }
                throw error
            }
        }
        return try model.run(encodings.map { ($0.ids, $0.typeIds) })
    }

    /// Embeddings of pre-tokenized sequences, in input order.
    public func embed(inputIds: [[Int32]]) throws -> [[Float]] {
        try model.run(inputIds.map { ($0, nil) })
    }

    /// Cosine similarity of two vectors (1 for identical directions).
    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for i in 0..<min(a.count, b.count) {
            dot += a[i] * b[i]
            na += a[i] * a[i]
            nb += b[i] * b[i]
        }
        let d = (na * nb).squareRoot()
        return d > 0 ? dot / d : 0
    }
}
