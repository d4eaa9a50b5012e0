// DocumentReader.swift: the documents of sito-rerank (one per line, UTF-8), streamed. A file is read
// once, in 64 KiB chunks, to validate it and note where each non-blank line is (12 bytes per document);
// documents are then read back a batch at a time, and again only for the rows that get printed. So a
// 100,000-line file costs ~1.2 MB of index, one batch of text and the scores, never the whole file.
// stdin cannot be read twice: it is copied to an unlinked temporary file while it is indexed.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

public enum DocumentReaderError: Error, LocalizedError, Equatable {
    case cannotOpen(path: String, reason: String)
    case invalidUTF8(path: String, line: Int)
    case empty(path: String)
    case readFailed(path: String, reason: String)
    case lineTooLong(path: String, line: Int, limit: Int)

    public var errorDescription: String? {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .invalidUTF8(path, line): return "\(path): line \(line) is not valid UTF-8"
        case let .empty(path): return "\(path): no documents (the file has no non-empty lines)"
        case let .readFailed(path, reason): return "\(path): read failed: \(reason) (was the file changed while sito-rerank ran?)"
        case let .lineTooLong(path, line, limit): return "\(path): line \(line) is longer than \(limit) bytes"
        }
    }
}

/// Where each document of a documents file is; reads documents back on demand.
public final class DocumentIndex {
    /// One line's bytes may not exceed this (a document far past any model's maximum length).
    public static let maxLineBytes = 64 << 20

    /// The path as the user gave it ("-" for stdin), for messages.
    public let path: String
    private let fd: Int32
    private var offsets: [Int64] = []
    private var lengths: [Int32] = []
    /// 1-based line number of each document, for messages.
    private var lines: [Int32] = []

    public var count: Int { offsets.count }

    /// Indexes `path` (or stdin for "-"): every line without its ending (\n or \r\n), blank lines
    /// (only Unicode white space) skipped, invalid UTF-8 an error naming the line.
    public init(path: String) throws {
        self.path = path
        let source: Int32
        var spool: Int32 = -1
        if path == "-" {
            source = 0
            var template = Array((FileManager.default.temporaryDirectory.path + "/sito-rerank-stdin-XXXXXX").utf8CString)
            spool = mkstemp(&template)
            if spool < 0 { throw DocumentReaderError.cannotOpen(path: path, reason: "cannot create a temporary copy of stdin: \(String(cString: strerror(errno)))") }
            unlink(template)
        } else {
            source = open(path, O_RDONLY | O_CLOEXEC)
            if source < 0 { throw DocumentReaderError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
            var st = stat()
            if fstat(source, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                close(source)
                throw DocumentReaderError.cannotOpen(path: path, reason: "is a directory")
            }
        }
        fd = spool >= 0 ? spool : source
        // Every stored property is set from here on, so a throw runs deinit, which closes fd.
        try scan(source, copyTo: spool)
        if count == 0 { throw DocumentReaderError.empty(path: path) }
    }

    deinit { close(fd) }

    /// One pass over `source`: note each non-blank line; copy the bytes to `copy` when it is open.
    private func scan(_ source: Int32, copyTo copy: Int32) throws {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var pending: [UInt8] = []       // bytes of the current line seen so far
        var lineStart: Int64 = 0        // file offset of the current line
        var position: Int64 = 0         // file offset of chunk[0]
        var lineNumber = 0
        func emit(_ bytes: ArraySlice<UInt8>, at offset: Int64) throws {
            lineNumber += 1
            var b = bytes
            if b.last == 0x0D { b = b.dropLast() }
            guard let text = String(validating: b, as: UTF8.self) else { throw DocumentReaderError.invalidUTF8(path: path, line: lineNumber) }
            if !text.isBlank {
                offsets.append(offset)
                lengths.append(Int32(b.count))
                lines.append(Int32(truncatingIfNeeded: lineNumber))
            }
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DocumentReaderError.readFailed(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            if copy >= 0 {
                try chunk.withUnsafeBytes { raw in
                    var done = 0
                    while done < n {
                        let w = write(copy, raw.baseAddress! + done, n - done)
                        if w < 0 {
                            if errno == EINTR { continue }
                            throw DocumentReaderError.readFailed(path: path, reason: "cannot copy stdin to a temporary file: \(String(cString: strerror(errno)))")
                        }
                        done += w
                    }
                }
            }
            var start = 0
            while let nl = chunk[start..<n].firstIndex(of: 0x0A) {
                if pending.isEmpty {
                    try emit(chunk[start..<nl], at: position + Int64(start))
                } else {
                    pending += chunk[start..<nl]
                    try emit(pending[...], at: lineStart)
                    pending.removeAll(keepingCapacity: true)
                }
                start = nl + 1
                lineStart = position + Int64(start)
            }
            pending += chunk[start..<n]
            if pending.count > DocumentIndex.maxLineBytes {
                throw DocumentReaderError.lineTooLong(path: path, line: lineNumber + 1, limit: DocumentIndex.maxLineBytes)
            }
            position += Int64(n)
        }
        if !pending.isEmpty { try emit(pending[...], at: lineStart) }
    }

    /// The `i`-th document (0-based, blank lines not counted).
    public func document(_ i: Int) throws -> String {
        let length = Int(lengths[i])
        var bytes = [UInt8](repeating: 0, count: length)
        var done = 0
        while done < length {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, length - done, off_t(offsets[i]) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw DocumentReaderError.readFailed(path: path, reason: "line \(lines[i]) is no longer there") }
            done += n
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DocumentReaderError.invalidUTF8(path: path, line: Int(lines[i]))
        }
        return text
    }

    /// The 1-based line number of the `i`-th document, for messages.
    public func line(_ i: Int) -> Int { Int(lines[i]) }

    /// Documents `range`, in order.
    public func documents(_ range: Range<Int>) throws -> [String] {
        try range.map { try document($0) }
    }
}

public enum DocumentReader {
    /// Every document of `path` (or stdin for "-") in memory: for small files. sito-rerank streams
    /// instead (DocumentIndex, RerankStream).
    public static func readLines(path: String) throws -> [String] {
        let index = try DocumentIndex(path: path)
        return try index.documents(0..<index.count)
    }
}

/// One document's score, compactly (24 bytes): what sito-rerank keeps per document while streaming.
public struct RankedDocument: Sendable, Equatable {
    public var index: Int
    public var logit: Float
    public var probability: Float
    public var tokens: Int32
    public var truncated: Bool

    public init(index: Int, logit: Float, probability: Float, tokens: Int, truncated: Bool) {
        self.index = index
        self.logit = logit
        self.probability = probability
        self.tokens = Int32(clamping: tokens)
        self.truncated = truncated
    }

    /// Best first: higher logit, then lower index; NaN logits (a corrupt file) last. A total,
    /// deterministic order.
    public static func ranksBefore(_ a: RankedDocument, _ b: RankedDocument) -> Bool {
        if a.logit.isNaN != b.logit.isNaN { return b.logit.isNaN }
        if !a.logit.isNaN && a.logit != b.logit { return a.logit > b.logit }
        return a.index < b.index
    }
}

/// Scores `count` documents a batch at a time and keeps either every score (compact) or only the best
/// `top`. Never holds more than one batch of document text.
public enum RerankStream {
    /// Documents per batch handed to the model (the reranker packs each batch into token-bounded runs).
    public static let defaultBatchSize = 256

    /// - Parameters:
    ///   - documents: the texts of a range of documents (read on demand).
    ///   - score: scores of a batch (given its first document's index and its texts), in batch order.
    ///   - progress: called after each batch with the number of documents scored so far.
    /// - Returns: the ranked documents, best first (`top` of them when given).
    public static func rank(count: Int, top: Int?, batchSize: Int = defaultBatchSize,
                            progress: (Int) -> Void = { _ in },
                            documents: (Range<Int>) throws -> [String],
                            score: (_ first: Int, _ texts: [String]) throws -> [(logit: Float, probability: Float, tokens: Int, truncated: Bool)]) throws -> [RankedDocument] {
        precondition(batchSize >= 1)
        var kept: [RankedDocument] = []
        kept.reserveCapacity(top.map { min(count, 2 * $0) } ?? count)
        var start = 0
        while start < count {
            let range = start..<min(count, start + batchSize)
            let texts = try documents(range)
            let scores = try score(range.lowerBound, texts)
            for (k, s) in scores.enumerated() {
                kept.append(RankedDocument(index: range.lowerBound + k, logit: s.logit, probability: s.probability, tokens: s.tokens, truncated: s.truncated))
            }
            if let top, kept.count >= 2 * max(top, batchSize) {
                kept.sort(by: RankedDocument.ranksBefore)
                kept.removeSubrange(top...)
            }
            start = range.upperBound
            progress(start)
        }
        kept.sort(by: RankedDocument.ranksBefore)
        if let top, kept.count > top { kept.removeSubrange(top...) }
        return kept
    }
}
