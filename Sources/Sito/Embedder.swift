// Embedder.swift: the runtime's public API for embedding models (sentence-transformers: pooled,
// optionally normalized encoder outputs), e.g. all-MiniLM-L6-v2.
//
// One loaded Embedder may be used from any number of threads at once (see Model.swift).
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

/// Which vector of an embedding model's pipeline `Embedder.embed` gives.
public enum EmbeddingOutput: Sendable, Equatable {
    /// The file's whole pipeline: pooled, then L2-normalized when the file has a Normalize module
    /// (`header.model.normalize`), as sentence-transformers' `encode`.
    case model
    /// The pooled vector, before any Normalize module (TEI's `normalize: false`).
    case pooled
}

/// An embedding model.
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

    public convenience init(contentsOf url: URL, options: ModelOptions = ModelOptions()) throws {
        try self.init(loaded: try LoadedModel(contentsOf: url, options: options))
    }

    /// An embedder over a file already opened (`options.verifyChecksums` is not consulted: the file was opened
    /// with or without it).
    public convenience init(file: SitoFile, options: ModelOptions = ModelOptions()) throws {
        try self.init(loaded: try LoadedModel(file: file, options: options))
    }

    init(loaded: LoadedModel) throws {
        model = loaded
        guard header.task == .embedding else { throw ModelError.notAnEmbedder(path: file.path, task: header.task) }
    }

    /// Token ids of one text as the model sees them; a text too long for the maximum is cut on
    /// `truncationSide`.
    public func encode(_ text: String, truncationSide: TruncationSide = .right) throws -> Encoding {
        try tokenizer.encodeSingle(text: text, maxLength: maxLength, onOverflow: model.options.overflow, truncationSide: truncationSide)
    }

    /// Token ids of each text, in input order; a text longer than the maximum (with `overflow: .reject`)
    /// is `ModelError.inputTooLong` with its index.
    public func encode(_ texts: [String], truncationSide: TruncationSide = .right) throws -> [Encoding] {
        try texts.enumerated().map { i, t in
            do {
                return try encode(t, truncationSide: truncationSide)
            } catch TokenizerError.tooLong(let tokens, let limit) {
                throw ModelError.inputTooLong(index: i, part: .text, tokens: tokens, limit: limit)
            }
        }
    }

    /// One embedding per text ([dimension] floats), in input order; texts too long for the maximum are
    /// cut on `truncationSide`.
    public func embed(_ texts: [String], truncationSide: TruncationSide = .right, output: EmbeddingOutput = .model) throws -> [[Float]] {
        try finish(model.run(try encode(texts, truncationSide: truncationSide).map { ($0.ids, $0.typeIds) }), output)
    }

    /// Embeddings of pre-tokenized sequences ([dimension] floats each), in input order.
    public func embed(inputIds: [[Int32]], output: EmbeddingOutput = .model) throws -> [[Float]] {
        try finish(model.run(inputIds.map { ($0, nil) }), output)
    }

    /// The file's last step on a pooled vector (`output: .pooled`): L2-normalized (`Embedder.normalized`)
    /// when the file has a Normalize module, else unchanged. `finish(embed(x, output: .pooled)[i])` is
    /// bit for bit `embed(x)[i]`.
    public func finish(pooled: [Float]) -> [Float] {
        header.model.normalize ? Self.normalized(pooled) : pooled
    }

    private func finish(_ pooled: [[Float]], _ output: EmbeddingOutput) -> [[Float]] {
        output == .pooled ? pooled : pooled.map { finish(pooled: $0) }
    }

    /// `v / max(‖v‖₂, 1e-12)`: sentence-transformers' Normalize module (torch.nn.functional.normalize),
    /// the one L2 normalization of the runtime and the server, so that their vectors are equal bit for bit.
    /// The norm is summed in f32, in order.
    public static func normalized(_ v: [Float]) -> [Float] {
        var v = v
        let norm = max(sqrtf(v.reduce(0) { $0 + $1 * $1 }), 1e-12)
        for j in v.indices { v[j] /= norm }
        return v
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
