// DocumentStreamingTests.swift: how sito-rerank streams its documents, checked by behaviour at library
// level (SitoCLI): the index holds offsets and reads texts back from the file, RerankStream asks for one
// batch of texts at a time and keeps only the best scores, and a bad line of a long file is named.
import Foundation
import SitoCLI
import SitoTestSupport
import XCTest

final class DocumentStreamingTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = try scratchFolder("streaming", removedAfter: self)
    }

    private func documents(_ text: [UInt8], name: String = "docs.txt") throws -> String {
        let url = work.appendingPathComponent(name)
        try Data(text).write(to: url)
        return url.path
    }

    /// The index holds offsets, not texts: a document changed on disk after indexing is read back changed.
    func testDocumentIndexReadsTextsBackFromTheFile() throws {
        let path = try documents(Array("first line\nsecond line\n\n\r\nthird\r\n".utf8))
        let index = try DocumentIndex(path: path)
        XCTAssertEqual(index.count, 3)
        XCTAssertEqual(try index.documents(0..<3), ["first line", "second line", "third"])
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seek(toOffset: 11)
        handle.write(Data("SECOND".utf8))
        try handle.close()
        XCTAssertEqual(try index.document(1), "SECOND line")
    }

    /// RerankStream never asks for more than one batch of texts, and keeps at most 2 × max(top, batch)
    /// scores; its result equals sorting everything.
    func testRerankStreamBatchesAndKeepsOnlyTheTop() throws {
        let count = 10_000, batch = 64, top = 10
        var asked = 0, largest = 0
        let logit: (Int) -> Float = { Float(($0 * 7919) % 1000) / 10 }
        let ranked = try RerankStream.rank(count: count, top: top, batchSize: batch, documents: { range in
            asked += range.count
            largest = max(largest, range.count)
            return range.map { "doc \($0)" }
        }, score: { first, texts in
            texts.indices.map { (logit(first + $0), 0.5, 3, false) }
        })
        XCTAssertEqual(asked, count)
        XCTAssertEqual(largest, batch)
        let expected = (0..<count).sorted { logit($0) != logit($1) ? logit($0) > logit($1) : $0 < $1 }.prefix(top)
        XCTAssertEqual(ranked.map(\.index), Array(expected))
        XCTAssertEqual(MemoryLayout<RankedDocument>.stride, 24, "per-document score record")
    }

    /// The invalid line of a long file is reported by number, and the index of 20,000 lines stays small.
    func testDocumentIndexOfALongFile() throws {
        var text = (1...20_000).map { "document number \($0)" }.joined(separator: "\n")
        let path = try documents(Array(text.utf8))
        let index = try DocumentIndex(path: path)
        XCTAssertEqual(index.count, 20_000)
        XCTAssertEqual(try index.document(19_999), "document number 20000")
        text += "\n"
        let bad = try documents(Array(text.utf8) + [0xFF, 0x0A], name: "bad.txt")
        XCTAssertThrowsError(try DocumentIndex(path: bad)) { error in
            XCTAssertEqual(error as? DocumentReaderError, .invalidUTF8(path: bad, line: 20_001))
        }
    }
}
