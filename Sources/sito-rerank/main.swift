// sito-rerank: scores documents for a query with a .sito reranker and prints them best first.
import ArgumentParser
import Foundation
import Sito
import SitoFormat
import SitoTools

@main
struct SitoRerank: ParsableCommand {
    static func main() { mainExitingTwoOnBadUsage() }

    static let configuration = CommandConfiguration(
        commandName: "sito-rerank",
        abstract: "Score documents for a query with a .sito reranker (or embedding model), best first.",
        discussion: """
        Documents come as arguments, or one per line from --documents FILE (- for stdin; UTF-8). Pairs longer \
        than the model's maximum are truncated as transformers does (and marked), unless --no-truncate. With an \
        embedding model (e.g. all-MiniLM-L6-v2), documents are ranked by cosine similarity to the query.
        """)

    @Argument(help: "The .sito file.")
    var file: String

    @Option(name: .shortAndLong, help: "The query.")
    var query: String

    @Argument(help: "Documents to score.")
    var documents: [String] = []

    @Option(name: .customLong("documents"), help: "A file with one document per line (- for stdin).")
    var documentsFile: String?

    @Option(help: "Print only the best K documents.")
    var top: Int?

    @Option(help: "Tokens per pair (default: the model's maximum).")
    var maxLength: Int?

    @Flag(help: "Refuse pairs longer than the maximum instead of truncating them.")
    var noTruncate = false

    @Option(help: "Attention operands: automatic (bf16 for bf16/int8 layers, f32 otherwise), f32 or bf16.")
    var attention: AttentionPrecision = .automatic

    @Flag(help: "Print a JSON array of {index, logit, probability, document}.")
    var json = false

    func validate() throws {
        if query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("the query is empty") }
        if documents.isEmpty && documentsFile == nil { throw ValidationError("no documents: give them as arguments or with --documents FILE") }
        if !documents.isEmpty && documentsFile != nil { throw ValidationError("give documents as arguments or with --documents FILE, not both") }
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
    }

    struct Row: Encodable {
        let index: Int
        /// Reranker files: the logit and its probability.
        let logit: Float?
        let probability: Float?
        /// Embedding files: cosine similarity of the query's and the document's embeddings.
        let cosine: Float?
        let document: String
        let tokens: Int
        let truncated: Bool

        var score: Float { logit ?? cosine ?? 0 }
    }

    /// Streams: the documents are indexed (validated, counted) before the model loads, scored a batch at
    /// a time, and only the printed rows' texts are read back (DocumentReader.swift has the bounds).
    /// Embedding models rank by cosine similarity to the query's embedding, streamed the same way.
    func run() throws {
        do {
            let index = try documentsFile.map { try DocumentIndex(path: $0) }
            let count = index?.count ?? documents.count
            if let top, top > count {
                throw ValidationError("--top \(top) is larger than the \(count) documents given")
            }
            func texts(_ range: Range<Int>) throws -> [String] {
                try index?.documents(range) ?? Array(documents[range])
            }
            let url = URL(fileURLWithPath: file)
            let options = RerankerOptions(maxLength: maxLength, overflow: noTruncate ? .reject : .truncate, attention: attention)
            let task = try SitoFile(contentsOf: url, options: SitoOpenOptions(checkSchema: false)).header.task
            let isEmbedding = task == "embedding"
            let score: (Int, [String]) throws -> [(logit: Float, probability: Float, tokens: Int, truncated: Bool)]
            if isEmbedding {
                let embedder = try Embedder(contentsOf: url, options: options)
                let queryVector = try embedder.embed([query])[0]
                score = { _, batch in
                    let encodings = try batch.enumerated().map { k, text in
                        do { return try embedder.encode(text) } catch TokenizerError.tooLong(let tokens, let limit) {
                            throw RerankerError.inputTooLong(index: k, tokens: tokens, limit: limit)
                        }
                    }
                    let vectors = try embedder.embed(inputIds: encodings.map(\.ids))
                    return zip(encodings, vectors).map { e, v in
                        let c = Embedder.cosine(queryVector, v)
                        return (c, c, e.ids.count, e.truncated)
                    }
                }
            } else {
                let reranker = try Reranker(contentsOf: url, options: options)
                score = { _, batch in try reranker.score(query: query, documents: batch).map { ($0.logit, $0.probability, $0.tokens, $0.truncated) } }
            }
            let ranked = try RerankStream.rank(count: count, top: top, documents: texts) { first, batch in
                do {
                    return try score(first, batch)
                } catch RerankerError.inputTooLong(let i, let tokens, let limit) {
                    // Models number documents within the batch; the user numbers them in the file.
                    throw RerankerError.inputTooLong(index: first + i, tokens: tokens, limit: limit)
                }
            }
            func row(_ r: RankedDocument) throws -> Row {
                let document = try texts(r.index..<(r.index + 1))[0]
                return isEmbedding
                    ? Row(index: r.index, logit: nil, probability: nil, cosine: r.logit, document: document, tokens: Int(r.tokens), truncated: r.truncated)
                    : Row(index: r.index, logit: r.logit, probability: r.probability, cosine: nil, document: document, tokens: Int(r.tokens), truncated: r.truncated)
            }
            if json {
                // The same bytes ToolExit.printJSON would print for the whole array, one row at a time.
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                var out = "[\n"
                for (k, r) in ranked.enumerated() {
                    let object = String(decoding: try encoder.encode(try row(r)), as: UTF8.self)
                    out += object.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
                    out += k + 1 < ranked.count ? ",\n" : "\n"
                    if out.utf8.count >= 1 << 16 {
                        FileHandle.standardOutput.write(Data(out.utf8))
                        out = ""
                    }
                }
                out += "]\n"
                FileHandle.standardOutput.write(Data(out.utf8))
            } else {
                for (rank, r) in ranked.enumerated() {
                    let row = try row(r)
                    let cut = row.truncated ? " [truncated to \(row.tokens) tokens]" : ""
                    let score = isEmbedding
                        ? String(format: "%2d. cos %7.4f  [%d] ", rank + 1, r.logit, row.index)
                        : String(format: "%2d. %8.4f  p=%.4f  [%d] ", rank + 1, r.logit, r.probability, row.index)
                    print(score + row.document.prefix(100) + cut)
                }
            }
        } catch let error as ValidationError {
            ToolExit.fail("sito-rerank", error)
        } catch {
            ToolExit.fail("sito-rerank", error)
        }
    }
}
