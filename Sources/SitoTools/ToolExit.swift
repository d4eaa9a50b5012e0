// ToolExit.swift: how every sito-* executable ends on an error: one line on stderr that names the file
// and the problem, and an exit code (2: bad input or usage; 1: a check that ran and failed).
import Foundation

#if canImport(Glibc)
import Glibc
#endif

public enum ToolExit {
    public static let badInput: Int32 = 2
    public static let checkFailed: Int32 = 1

    /// Prints `tool: message` to stderr and exits.
    public static func fail(_ tool: String, _ error: Error, code: Int32 = badInput) -> Never {
        let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
        FileHandle.standardError.write(Data("\(tool): error: \(message)\n".utf8))
        exit(code)
    }

    /// Prints a JSON-encodable value on stdout, pretty and with sorted keys.
    public static func printJSON<T: Encodable>(_ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        if let data = try? encoder.encode(value) {
            FileHandle.standardOutput.write(data)
            FileHandle.standardOutput.write(Data("\n".utf8))
        }
    }

    /// Whether stderr is a terminal (progress bars only then).
    public static var stderrIsTerminal: Bool { isatty(2) != 0 }
}

/// A one-line progress bar on stderr, redrawn at most every 1%.
public final class ProgressBar {
    private let label: String
    private var lastPercent = -1

    public init(label: String) { self.label = label }

    public func update(_ done: Int, _ total: Int) {
        let percent = total > 0 ? done * 100 / total : 100
        if percent == lastPercent { return }
        lastPercent = percent
        let width = 30
        let filled = percent * width / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)%".utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
