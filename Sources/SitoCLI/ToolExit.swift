// ToolExit.swift: how every sito-* executable writes and ends: stdout/stderr through write(2) (no
// Foundation FileHandle), one line on stderr that names the file and the problem, and an exit code
// (2: bad input or usage; 1: a check that ran and failed).
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

/// The two output streams, written with write(2) in full (retrying short writes and EINTR).
public enum StandardStream: Sendable {
    case output
    case error

    private var fd: Int32 { self == .output ? 1 : 2 }

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write($0) }
    }

    public func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                return   // a closed pipe: nothing more can be said
            }
            p += n
            left -= n
        }
    }

    /// Whether the stream is a terminal (progress bars only then).
    public var isTerminal: Bool { isatty(fd) != 0 }
}

public enum ToolExit {
    public static let badInput: Int32 = 2
    public static let checkFailed: Int32 = 1

    /// Prints `tool: error: message` to stderr and exits with `code`.
    public static func fail(_ tool: String, _ error: Error, code: Int32 = badInput) -> Never {
        let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
        StandardStream.error.write("\(tool): error: \(message)\n")
        exit(code)
    }

    /// Prints `tool: warning: <message>` on stderr and carries on.
    public static func warn(_ tool: String, _ message: String) {
        StandardStream.error.write("\(tool): warning: \(message)\n")
    }

    /// Prints `tool: note: <message>` on stderr (what the user should know about a result, e.g. that
    /// inputs were truncated), unless `quiet`.
    public static func note(_ tool: String, _ message: String, quiet: Bool = false) {
        if !quiet { StandardStream.error.write("\(tool): note: \(message)\n") }
    }

    /// The encoder of every tool's `--json`: pretty, sorted keys, no escaped slashes, non-finite numbers
    /// as the strings "inf", "-inf", "nan" (formats/cli-json.md).
    public static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    /// Prints a JSON-encodable value on stdout, pretty and with sorted keys.
    public static func printJSON<T: Encodable>(_ value: T) {
        if let data = try? jsonEncoder().encode(value) {
            StandardStream.output.write(String(decoding: data, as: UTF8.self) + "\n")
        }
    }

    /// Whether stderr is a terminal (progress bars only then).
    public static var stderrIsTerminal: Bool { StandardStream.error.isTerminal }
}
