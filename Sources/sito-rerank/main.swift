// sito-rerank: scores documents for a query with a .sito reranker and prints them best first.
import ArgumentParser
import Foundation
import Sito
import SitoTools

@main
struct SitoRerank: ParsableCommand {
    static func main() { mainExitingTwoOnBadUsage() }

    static let configuration = CommandConfiguration(
        commandName: "sito-rerank",
        abstract: "Score documents for a query with a .sito reranker, best first.",
        discussion: """
        Documents come as arguments, or one per line from --documents FILE (- for stdin; UTF-8). Pairs longer \
        than the model's maximum are truncated as transformers does (and marked), unless --no-truncate.
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
        let logit: Float
        let probability: Float
        let document: String
        let tokens: Int
        let truncated: Bool
    }

    func run() throws {
        do {
            let docs = try documentsFile.map { try DocumentReader.readLines(path: $0) } ?? documents
            if let top, top > docs.count {
                throw ValidationError("--top \(top) is larger than the \(docs.count) documents given")
            }
            let options = RerankerOptions(maxLength: maxLength, overflow: noTruncate ? .reject : .truncate)
            let reranker = try Reranker(contentsOf: URL(fileURLWithPath: file), options: options)
            let scores = try reranker.score(query: query, documents: docs)
            let ranked = scores.sorted { $0.logit != $1.logit ? $0.logit > $1.logit : $0.index < $1.index }.prefix(top ?? scores.count)
            let rows = ranked.map { Row(index: $0.index, logit: $0.logit, probability: $0.probability, document: docs[$0.index], tokens: $0.tokens, truncated: $0.truncated) }
            if json {
                ToolExit.printJSON(rows)
            } else {
                for (rank, r) in rows.enumerated() {
                    let cut = r.truncated ? " [truncated to \(r.tokens) tokens]" : ""
                    print(String(format: "%2d. %8.4f  p=%.4f  [%d] ", rank + 1, r.logit, r.probability, r.index) + r.document.prefix(100) + cut)
                }
            }
        } catch let error as ValidationError {
            ToolExit.fail("sito-rerank", error)
        } catch {
            ToolExit.fail("sito-rerank", error)
        }
    }
}
