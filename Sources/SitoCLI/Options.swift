// Options.swift: the option groups the sito-* executables share, so that one option means one thing in
// every tool: how a model is loaded and run (ModelArguments), what is printed (OutputArguments), and the
// rules every text a user gives must follow (TextRules).
import ArgumentParser
import Sito

/// `--max-length N`, `--no-truncate`, `--truncation-direction right|left`, `--attention automatic|f32|bf16`,
/// `--threads N`, `--verify-checksums`.
public struct ModelArguments: ParsableArguments {
    @Option(name: .customLong("max-length"), parsing: .unconditional,
            help: ArgumentHelp("Tokens per sequence, special tokens included (default: the model's maximum).", valueName: "n"))
    public var maxLength: Int?

    @Flag(name: .customLong("no-truncate"), help: "Refuse inputs longer than the maximum instead of truncating them.")
    public var noTruncate = false

    /// Which end of a too-long input is cut; a per-call runtime argument (`truncationSide:` of
    /// Reranker.score / Embedder.encode), not a ModelOptions field: sito-serve takes it per request.
    @Option(name: .customLong("truncation-direction"),
            help: ArgumentHelp("Which end of a too-long input is cut: right (keep the start, as transformers by default) or left (keep the end; TEI's truncation_direction \"Left\").", valueName: "right|left"))
    public var truncationSide: TruncationSide = .right

    @Option(help: "Attention operands: automatic (bf16 for bf16/int8 layers, f32 otherwise), f32 or bf16.")
    public var attention: AttentionPrecision = .automatic

    @Option(parsing: .unconditional, help: ArgumentHelp("Threads the model runs on at once (default: one per core).", valueName: "n"))
    public var threads: Int?

    @Flag(help: "Check every tensor's XXH64 checksum while loading (reads the whole file once).")
    public var verifyChecksums = false

    public init() {}

    public func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    /// The runtime's options. The maximum length is checked once, by the runtime, against the file.
    public var options: ModelOptions {
        ModelOptions(verifyChecksums: verifyChecksums, maxLength: maxLength, overflow: noTruncate ? .reject : .truncate,
                     attention: attention, threads: threads)
    }
}

/// `--json`, `--quiet`.
public struct OutputArguments: ParsableArguments {
    @Flag(help: "Print JSON on stdout (every tool's keys: formats/cli-json.md).")
    public var json = false

    @Flag(help: "No progress lines or notes on stderr (errors are still printed).")
    public var quiet = false

    public init() {}
}

/// A text a user gave that cannot be scored.
public enum TextRuleError: Error, CustomStringConvertible, Equatable {
    case emptyQuery
    /// An empty (or only white space) text given as an argument: `kind` is "document" or "text", `index`
    /// its 0-based position among them.
    case emptyArgument(kind: String, index: Int)

    public var description: String {
        switch self {
        case .emptyQuery: return "the query is empty (or only white space)"
        case let .emptyArgument(kind, index): return "\(kind) \(index) is empty (or only white space): there is nothing to score"
        }
    }
}

/// The rules for every text a user gives, the same in every tool:
///   - valid UTF-8: arguments are checked before parsing (mainExitingTwoOnBadUsage), files line by line
///     (DocumentIndex: the error names the line);
///   - not empty, not only white space: a query or a text given as an argument is an error naming its
///     position; in a file a blank line is not a text (skipped; the lines of the others are kept for
///     messages).
public enum TextRules {
    public static func checkQuery(_ query: String) throws {
        if query.isBlank { throw TextRuleError.emptyQuery }
    }

    public static func checkArguments(_ texts: [String], kind: String) throws {
        if let i = texts.firstIndex(where: \.isBlank) { throw TextRuleError.emptyArgument(kind: kind, index: i) }
    }
}
