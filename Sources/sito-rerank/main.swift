// sito-rerank: scores documents for a query with a .sito reranker (or ranks them by cosine similarity with
// an embedding model) and prints them best first. A runtime executable: links Sito and SitoCLI only.
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Sito
import SitoCLI

@main
struct SitoRerank: SitoTool {
    static let configuration = CommandConfiguration(
        commandName: "sito-rerank",
        abstract: "Score documents for a query with a .sito reranker (or embedding model), best first.",
        discussion: """
        Documents come as arguments, or one per line from --documents FILE (- for stdin; UTF-8; blank lines \
        are not documents). Pairs longer than the model's maximum are truncated as transformers does, marked \
        in the output and counted in a note on stderr, unless --no-truncate refuses them. With an embedding \
        model (e.g. all-MiniLM-L6-v2), documents are ranked by cosine similarity to the query.
        --json prints an array, best first, of {index, logit, probability, document, tokens, truncated} for \
        a reranker and {index, cosine, document, tokens, truncated} for an embedding model \
        (formats/cli-json.md).
        """)

    @Argument(help: "The .sito file.")
    var file: String

    @Option(name: .shortAndLong, help: "The query.")
    var query: String

    @Argument(help: "Documents to score.")
    var documents: [String] = []

    @Option(name: .customLong("documents"), help: ArgumentHelp("A file with one document per line (- for stdin).", valueName: "file"))
    var documentsFile: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Print only the best K documents.", valueName: "k"))
    var top: Int?

    @OptionGroup(title: "Model")
    var model: ModelArguments

    @OptionGroup(title: "Output")
    var output: OutputArguments

    func validate() throws {
        do {
            try TextRules.checkQuery(query)
            try TextRules.checkArguments(documents, kind: "document")
        } catch let error as TextRuleError {
            throw ValidationError(error.description)
        }
        if documents.isEmpty && documentsFile == nil { throw ValidationError("no documents: give them as arguments or with --documents FILE") }
        if !documents.isEmpty && documentsFile != nil { throw ValidationError("give documents as arguments or with --documents FILE, not both") }
        if let top, top < 1 { throw ValidationError("--top must be at least 1 (got \(top))") }
    }

    /// One printed row (formats/cli-json.md, "sito-rerank").
    struct RerankerRow: Encodable {
        let index: Int
        let logit: Float
        let probability: Float
        let document: String
        let tokens: Int
        let truncated: Bool
    }

    struct EmbeddingRow: Encodable {
        let index: Int
        let cosine: Float
        let document: String
        let tokens: Int
        let truncated: Bool
    }

    typealias BatchScores = [(logit: Float, probability: Float, tokens: Int, truncated: Bool)]

    /// Streams: the documents are indexed (validated, counted) before the model loads, scored a batch at
    /// a time, and only the printed rows' texts are read back (DocumentReader.swift has the bounds).
    func execute() throws {
        let progress = Progress(tool: Self.toolName, quiet: output.quiet)
        let index = try documentsFile.map { try DocumentIndex(path: $0) }
        let count = index?.count ?? documents.count
        if let top, top > count {
            throw ValidationError("--top \(top) is larger than the \(count) documents given")
        }
        let source: InputSource = index.map { index in .file(path: index.path, kind: "document", line: index.line) }
            ?? .arguments(kind: "document")
        func texts(_ range: Range<Int>) throws -> [String] {
            try index?.documents(range) ?? Array(documents[range])
        }

        progress.step("loading \(file)")
        let loaded = try Model(contentsOf: URL(fileURLWithPath: file), options: model.options)
        var truncatedCount = 0
        let score: (Int, [String]) throws -> BatchScores
        switch loaded {
        case .embedder(let embedder):
            let queryEncoding = try InputTooLongError.translating(first: 0, source: .query) {
                try embedder.encode([query], truncationSide: model.truncationSide)[0]
            }
            if queryEncoding.truncated {
                ToolExit.note(Self.toolName, "the query was truncated to \(queryEncoding.ids.count) tokens (the model's maximum; --no-truncate refuses it)", quiet: output.quiet)
            }
            let queryVector = try embedder.embed(inputIds: [queryEncoding.ids])[0]
            score = { _, batch in
                let encodings = try embedder.encode(batch, truncationSide: model.truncationSide)
                let vectors = try embedder.embed(inputIds: encodings.map(\.ids))
                return zip(encodings, vectors).map { e, v in
                    let c = Embedder.cosine(queryVector, v)
                    return (c, c, e.ids.count, e.truncated)
                }
            }
        case .reranker(let reranker):
            score = { _, batch in
                try reranker.score(query: query, documents: batch, truncationSide: model.truncationSide).map { ($0.logit, $0.probability, $0.tokens, $0.truncated) }
            }
        }

        progress.step("scoring \(formatCount(count)) document\(count == 1 ? "" : "s")")
        let ranked = try RerankStream.rank(count: count, top: top, progress: { progress.update($0, of: count, unit: "documents") },
                                           documents: texts) { first, batch in
            let scores = try InputTooLongError.translating(first: first, source: source) { try score(first, batch) }
            truncatedCount += scores.reduce(0) { $0 + ($1.truncated ? 1 : 0) }
            return scores
        }
        let isEmbedding = if case .embedder = loaded { true } else { false }
        if truncatedCount > 0 {
            let what = isEmbedding ? "document" : "pair"
            ToolExit.note(Self.toolName, "\(formatCount(truncatedCount)) of \(formatCount(count)) \(what)s were truncated to the maximum of \(loaded.maxLength) tokens (marked [truncated]; --no-truncate refuses them)", quiet: output.quiet)
        }

        if output.json {
            try printJSON(ranked, isEmbedding: isEmbedding, texts: texts)
        } else {
            for (rank, r) in ranked.enumerated() {
                let document = try texts(r.index..<(r.index + 1))[0]
                let cut = r.truncated ? " [truncated to \(r.tokens) tokens]" : ""
                let score = isEmbedding
                    ? "\(padLeft(String(rank + 1), 2)). cos \(padLeft(formatFixed(Double(r.logit), digits: 4), 7))  [\(r.index)] "
                    : "\(padLeft(String(rank + 1), 2)). \(padLeft(formatFixed(Double(r.logit), digits: 4), 8))  p=\(formatFixed(Double(r.probability), digits: 4))  [\(r.index)] "
                StandardStream.output.write(score + document.prefix(100) + cut + "\n")
            }
        }
    }

    /// The array ToolExit.printJSON would print, written a row at a time (a file of 100,000 documents
    /// never becomes one string).
    private func printJSON(_ ranked: [RankedDocument], isEmbedding: Bool, texts: (Range<Int>) throws -> [String]) throws {
        let encoder = ToolExit.jsonEncoder()
        var out = "[\n"
        for (k, r) in ranked.enumerated() {
            let document = try texts(r.index..<(r.index + 1))[0]
            let data = isEmbedding
                ? try encoder.encode(EmbeddingRow(index: r.index, cosine: r.logit, document: document, tokens: Int(r.tokens), truncated: r.truncated))
                : try encoder.encode(RerankerRow(index: r.index, logit: r.logit, probability: r.probability, document: document, tokens: Int(r.tokens), truncated: r.truncated))
            out += String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
            out += k + 1 < ranked.count ? ",\n" : "\n"
            if out.utf8.count >= 1 << 16 {
                StandardStream.output.write(out)
                out = ""
            }
        }
        StandardStream.output.write(out + "]\n")
    }
}
