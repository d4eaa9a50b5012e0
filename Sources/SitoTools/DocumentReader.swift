// DocumentReader.swift: reads a documents file (one document per line, UTF-8) for sito-rerank, streaming
// line by line with a bounded buffer; invalid UTF-8 is an error naming the line.
import Foundation

public enum DocumentReaderError: Error, LocalizedError, Equatable {
    case cannotOpen(path: String, reason: String)
    case invalidUTF8(path: String, line: Int)
    case empty(path: String)

    public var errorDescription: String? {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .invalidUTF8(path, line): return "\(path): line \(line) is not valid UTF-8"
        case let .empty(path): return "\(path): no documents (the file has no non-empty lines)"
        }
    }
}

public enum DocumentReader {
    /// Lines of `path` (or stdin for "-"), without their line endings (\n or \r\n); blank lines skipped.
    public static func readLines(path: String) throws -> [String] {
        let handle: FileHandle
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            guard let h = FileHandle(forReadingAtPath: path) else {
                throw DocumentReaderError.cannotOpen(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
            }
            handle = h
        }
        var lines: [String] = []
        var pending = Data()
        var lineNumber = 0
        func emit(_ bytes: Data) throws {
            lineNumber += 1
            var b = bytes
            if b.last == 0x0D { b.removeLast() }
            guard let s = String(data: b, encoding: .utf8) else { throw DocumentReaderError.invalidUTF8(path: path, line: lineNumber) }
            if !s.trimmingCharacters(in: .whitespaces).isEmpty { lines.append(s) }
        }
        while true {
            let chunk = handle.readData(ofLength: 1 << 16)
            if chunk.isEmpty { break }
            pending.append(chunk)
            var start = pending.startIndex
            while let nl = pending[start...].firstIndex(of: 0x0A) {
                try emit(pending[start..<nl])
                start = nl + 1
            }
            pending = Data(pending[start...])
        }
        if !pending.isEmpty { try emit(pending) }
        if lines.isEmpty { throw DocumentReaderError.empty(path: path) }
        return lines
    }
}
