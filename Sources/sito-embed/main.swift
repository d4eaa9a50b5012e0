// sito-embed: prints the embeddings of texts with a .sito embedding model (e.g. all-MiniLM-L6-v2). A
// runtime executable: links Sito and SitoCLI only.
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Sito
import SitoCLI

@main
struct SitoEmbed: SitoTool {
    static let configuration = CommandConfiguration(
        commandName: "sito-embed",
        abstract: "Print embeddings of texts with a .sito embedding model.",
        discussion: """
        Texts come as arguments or one per line from --input FILE (- for stdin; UTF-8; blank lines are not \
        texts). Output: one line per text (space-separated numbers), or with --json an array of \
        {index, text, tokens, truncated, embedding} (formats/cli-json.md). Texts longer than the model's \
        maximum are truncated as transformers does and counted in a note on stderr, unless --no-truncate \
        refuses them.
        """)

    @Argument(help: "The .sito file.")
    var file: String

    @Argument(help: "Texts to embed.")
    var texts: [String] = []

    @Option(help: ArgumentHelp("A file with one text per line (- for stdin).", valueName: "file"))
    var input: String?

    @OptionGroup(title: "Model")
    var model: ModelArguments

    @OptionGroup(title: "Output")
    var output: OutputArguments

    func validate() throws {
        do {
            try TextRules.checkArguments(texts, kind: "text")
        } catch let error as TextRuleError {
            throw ValidationError(error.description)
        }
        if texts.isEmpty && input == nil { throw ValidationError("no texts: give them as arguments or with --input FILE") }
        if !texts.isEmpty && input != nil { throw ValidationError("give texts as arguments or with --input FILE, not both") }
    }

    /// One printed row (formats/cli-json.md, "sito-embed").
    struct Row: Encodable {
        let index: Int
        let text: String
        let tokens: Int
        let truncated: Bool
        let embedding: [Float]
    }

    /// Texts per call into the model (and per progress step).
    static let batchSize = 256

    func execute() throws {
        let progress = Progress(tool: Self.toolName, quiet: output.quiet)
        let index = try input.map { try DocumentIndex(path: $0) }
        let count = index?.count ?? texts.count
        let source: InputSource = index.map { .file(path: $0.path, kind: "text", line: $0.line) } ?? .arguments(kind: "text")

        progress.step("loading \(file)")
        let embedder: Embedder
        switch try Model(contentsOf: URL(fileURLWithPath: file), options: model.options) {
        case .embedder(let e): embedder = e
        case .reranker(let r):
            throw ModelError.notAnEmbedder(path: file, task: r.header.task)
        }

        progress.step("embedding \(formatCount(count)) text\(count == 1 ? "" : "s")")
        var rows: [Row] = []
        var truncatedCount = 0
        var start = 0
        while start < count {
            let range = start..<min(count, start + Self.batchSize)
            let batch = try index?.documents(range) ?? Array(texts[range])
            let encodings = try InputTooLongError.translating(first: range.lowerBound, source: source) {
                try embedder.encode(batch, truncationSide: model.truncationSide)
            }
            let vectors = try embedder.embed(inputIds: encodings.map(\.ids))
            for k in batch.indices {
                if encodings[k].truncated { truncatedCount += 1 }
                if output.json {
                    rows.append(Row(index: range.lowerBound + k, text: batch[k], tokens: encodings[k].ids.count,
                                    truncated: encodings[k].truncated, embedding: vectors[k]))
                } else {
                    StandardStream.output.write(vectors[k].map { String($0) }.joined(separator: " ") + "\n")
                }
            }
            start = range.upperBound
            progress.update(start, of: count, unit: "texts")
        }
        if output.json { ToolExit.printJSON(rows) }
        if truncatedCount > 0 {
            ToolExit.note(Self.toolName, "\(formatCount(truncatedCount)) of \(formatCount(count)) texts were truncated to the maximum of \(embedder.maxLength) tokens (--no-truncate refuses them)", quiet: output.quiet)
        }
    }
}
