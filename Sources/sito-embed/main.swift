// sito-embed: prints the embeddings of texts with a .sito embedding model (e.g. all-MiniLM-L6-v2).
import ArgumentParser
import Foundation
import Sito
import SitoTools

@main
struct SitoEmbed: ParsableCommand {
    static func main() { mainExitingTwoOnBadUsage() }

    static let configuration = CommandConfiguration(
        commandName: "sito-embed",
        abstract: "Print embeddings of texts with a .sito embedding model.",
        discussion: "Texts come as arguments or one per line from --input FILE (- for stdin). Output: one line per text (space-separated numbers), or a JSON array with --json.")

    @Argument(help: "The .sito file.")
    var file: String

    @Argument(help: "Texts to embed.")
    var texts: [String] = []

    @Option(help: "A file with one text per line (- for stdin).")
    var input: String?

    @Flag(help: "Refuse texts longer than the maximum instead of truncating them.")
    var noTruncate = false

    @Flag(help: "Print a JSON array of {index, text, tokens, truncated, embedding}.")
    var json = false

    func validate() throws {
        if texts.isEmpty && input == nil { throw ValidationError("no texts: give them as arguments or with --input FILE") }
        if !texts.isEmpty && input != nil { throw ValidationError("give texts as arguments or with --input FILE, not both") }
    }

    struct Row: Encodable {
        let index: Int
        let text: String
        let tokens: Int
        let truncated: Bool
        let embedding: [Float]
    }

    func run() throws {
        do {
            let all = try input.map { try DocumentReader.readLines(path: $0) } ?? texts
            let embedder = try Embedder(contentsOf: URL(fileURLWithPath: file), options: RerankerOptions(overflow: noTruncate ? .reject : .truncate))
            let encodings = try all.map { try embedder.encode($0) }
            let vectors = try embedder.embed(inputIds: encodings.map(\.ids))
            if json {
                ToolExit.printJSON(all.indices.map { Row(index: $0, text: all[$0], tokens: encodings[$0].ids.count, truncated: encodings[$0].truncated, embedding: vectors[$0]) })
            } else {
                for v in vectors { print(v.map { String($0) }.joined(separator: " ")) }
            }
        } catch {
            ToolExit.fail("sito-embed", error)
        }
    }
}
