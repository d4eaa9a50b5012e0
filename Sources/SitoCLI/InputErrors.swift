// InputErrors.swift: the error of an input refused as too long (--no-truncate), said in the user's terms:
// which file and line (or which argument), and whether the query or the document/text is too long.
import Sito

/// Where a tool's inputs come from, to name one of them in a message.
public enum InputSource {
    /// Given as arguments: "document 3".
    case arguments(kind: String)
    /// One per line of a file: "docs.txt line 7 (document 3)". `line` maps a 0-based index to its line.
    case file(path: String, kind: String, line: (Int) -> Int)
    /// The one query of a call: "the query".
    case query

    /// How a message names input `index`.
    public func name(_ index: Int) -> String {
        switch self {
        case let .arguments(kind): return "\(kind) \(index)"
        case let .file(path, kind, line): return "\(path == "-" ? "stdin" : path) line \(line(index)) (\(kind) \(index))"
        case .query: return "the query"
        }
    }
}

public struct InputTooLongError: Error, CustomStringConvertible {
    /// The input as the user knows it: "docs.txt line 7 (document 3)", "document 3".
    public let input: String
    public let part: InputPart
    public let tokens: Int
    public let limit: Int

    public init(source: InputSource, index: Int, part: InputPart, tokens: Int, limit: Int) {
        self.input = source.name(index)
        self.part = part
        self.tokens = tokens
        self.limit = limit
    }

    public var description: String {
        switch part {
        case .query:
            return "the query is too long: it leaves no room for a document within the maximum of \(limit) tokens (with \(input) the pair is \(tokens) tokens); --no-truncate refuses to cut it"
        case .document:
            return "\(input) is too long: the pair is \(tokens) tokens, over the maximum of \(limit); --no-truncate refuses to cut it"
        case .text:
            return "\(input) is too long: \(tokens) tokens, over the maximum of \(limit); --no-truncate refuses to cut it"
        }
    }

    /// Rethrows `error` in the user's terms when it is a runtime ModelError.inputTooLong of a batch whose
    /// first input is `first`.
    public static func translating<T>(first: Int, source: InputSource, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch ModelError.inputTooLong(let i, let part, let tokens, let limit) {
            throw InputTooLongError(source: source, index: first + i, part: part, tokens: tokens, limit: limit)
        }
    }
}
