// Model.swift: what Reranker and Embedder share: how a `.sito` file is loaded and run (ModelOptions),
// its errors (ModelError), the loaded model itself (LoadedModel: mapping, tokenizer, encoder, batching),
// and `Model`, which opens a file once and gives whichever of the two its task calls for.
//
// A loaded model may be used from any number of threads at once: it holds only immutable state (the
// mapping, the weights' views, the tokenizer), and every call allocates its own activations.
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

/// How a model is loaded and run (Reranker and Embedder alike: the options are the file's, not the task's).
public struct ModelOptions: Sendable {
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
    /// Threads one forward pass runs on at once (every product, attention and LayerNorm is split into this
    /// many blocks); nil: one per core of the machine. Values below 1 are taken as 1. Results do not
    /// depend on it for int8 and bf16 files (each output element is summed in the same order); f32 files
    /// multiply through OpenBLAS, whose blocking may round differently when the column blocks change.
    public var threads: Int?

    public init(verifyChecksums: Bool = false, maxLength: Int? = nil, overflow: OverflowPolicy = .truncate, maxBatchTokens: Int = 4096,
                attention: AttentionPrecision = .automatic, threads: Int? = nil) {
        self.verifyChecksums = verifyChecksums
        self.maxLength = maxLength
        self.overflow = overflow
        self.maxBatchTokens = maxBatchTokens
        self.attention = attention
        self.threads = threads
    }
}

/// Which input of a call was too long (ModelError.inputTooLong).
public enum InputPart: String, Sendable, Equatable, Codable {
    /// The query of a pair: too long whatever the document.
    case query
    /// The document of a pair (the query alone fits).
    case document
    /// A single text (embedding models).
    case text
}

public enum ModelError: Error, LocalizedError, Equatable {
    case notAReranker(path: String, task: ModelTask)
    case notAnEmbedder(path: String, task: ModelTask)
    /// Input `index` of the call (a document of score(), a text of embed()) is longer than the maximum
    /// and truncation was not allowed.
    case inputTooLong(index: Int, part: InputPart, tokens: Int, limit: Int)
    case tokenOutOfRange(sequence: Int, id: Int32, vocab: Int)
    case sequenceTooLong(sequence: Int, tokens: Int, limit: Int)
    case emptySequence(sequence: Int)

    public var errorDescription: String? {
        switch self {
        case let .notAReranker(path, task): return "\(path): this is a \(task) model, not a reranker (sequence-classification)"
        case let .notAnEmbedder(path, task): return "\(path): this is a \(task) model, not an embedding model"
        case let .inputTooLong(index, part, tokens, limit):
            switch part {
            case .query: return "the query is too long: with document \(index) the pair is \(tokens) tokens, and the query alone leaves no room within the maximum \(limit) (truncation was not allowed)"
            case .document: return "document \(index) is too long: the pair is \(tokens) tokens, longer than the maximum \(limit) (truncation was not allowed)"
            case .text: return "text \(index) is too long: \(tokens) tokens, longer than the maximum \(limit) (truncation was not allowed)"
            }
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
    let options: ModelOptions
    /// Tokens per sequence in effect.
    let maxLength: Int
    let encoder: Encoder

    convenience init(contentsOf url: URL, options: ModelOptions) throws {
        try self.init(file: try SitoFile(contentsOf: url, options: SitoOpenOptions(verifyChecksums: options.verifyChecksums)), options: options)
    }

    /// A file already opened (its checksums verified then, or not: `options.verifyChecksums` is not consulted).
    init(file: SitoFile, options: ModelOptions) throws {
        let h = file.header
        self.maxLength = try h.input.checkedMaxLength(options.maxLength)
        self.file = file
        self.options = options
        let blob = try file.require(h.tokenizer.tensor)
        self.tokenizer = try Tokenizer(info: h.tokenizer, input: h.input, bytes: blob.bytes)
        self.encoder = try Encoder(file: file, attention: options.attention, workers: options.threads ?? runtimeCores)
    }

    /// Runs the encoder on sequences, in batches of at most `maxBatchTokens` tokens packed longest
    /// first; returns each sequence's output (logits or embedding) in input order.
    func run(_ sequences: [([Int32], [Int32]?)]) throws -> [[Float]] {
        let m = file.header.model
        let positions = m.maxPositions - m.positionOffset
        for (i, s) in sequences.enumerated() {
            if s.0.isEmpty { throw ModelError.emptySequence(sequence: i) }
            if s.0.count > positions { throw ModelError.sequenceTooLong(sequence: i, tokens: s.0.count, limit: positions) }
            if let bad = s.0.first(where: { $0 < 0 || Int($0) >= m.vocab }) {
                throw ModelError.tokenOutOfRange(sequence: i, id: bad, vocab: m.vocab)
            }
            if let types = s.1, types.count != s.0.count || types.contains(where: { $0 < 0 || Int($0) >= m.typeVocab }) {
                throw ModelError.tokenOutOfRange(sequence: i, id: types.first { $0 < 0 || Int($0) >= m.typeVocab } ?? -1, vocab: m.typeVocab)
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

/// A `.sito` file opened once, as whichever of the two its task is.
///
///   switch try Model(contentsOf: url) {
///   case .reranker(let r): … r.score(query:documents:)
///   case .embedder(let e): … e.embed(_:)
///   }
public enum Model: Sendable {
    case reranker(Reranker)
    case embedder(Embedder)

    public init(contentsOf url: URL, options: ModelOptions = ModelOptions()) throws {
        try self.init(loaded: try LoadedModel(contentsOf: url, options: options))
    }

    /// A file already opened (`options.verifyChecksums` is not consulted).
    public init(file: SitoFile, options: ModelOptions = ModelOptions()) throws {
        try self.init(loaded: try LoadedModel(file: file, options: options))
    }

    private init(loaded: LoadedModel) throws {
        switch loaded.file.header.task {
        case .embedding: self = .embedder(try Embedder(loaded: loaded))
        case .sequenceClassification: self = .reranker(try Reranker(loaded: loaded))
        }
    }

    /// The file's header (architecture, task, tokenizer, quantization).
    public var header: SitoHeader {
        switch self {
        case .reranker(let r): return r.header
        case .embedder(let e): return e.header
        }
    }

    /// Tokens per sequence in effect.
    public var maxLength: Int {
        switch self {
        case .reranker(let r): return r.maxLength
        case .embedder(let e): return e.maxLength
        }
    }
}
