// CLIEdgeTests.swift: bad input at the edges, through the built executables (issue 6, item 6). Each
// case checks the exit code (2: bad input) and that stderr says what is wrong in words a user can act
// on. Also: sito-rerank streams its documents file (checked by behaviour: the index is built before the
// model loads, texts are read back from the file, results equal whole-list scoring).
import Foundation
import Sito
import SitoFormat
@testable import SitoTools
import SitoCLI
import XCTest

final class CLIEdgeTests: XCTestCase {
    private func run(_ tool: String, _ arguments: [String], stdin: Data? = nil) throws -> ToolRun {
        try ToolRunner.run(tool, arguments, stdin: stdin)
    }

    private func assertBadInput(_ r: ToolRun, _ phrases: [String], file: StaticString = #filePath, line: UInt = #line) {
        ToolRunner.assertBadInput(r, phrases, file: file, line: line)
    }

    private var work: URL!

    override func setUpWithError() throws {
        work = try scratchFolder("cli")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    private func microFolder() throws -> URL {
        let folder = work.appendingPathComponent("xlmr-micro")
        try FileManager.default.copyItem(at: try MicroModel.get().folder, to: folder)
        return folder
    }

    private func editConfig(_ folder: URL, _ change: (inout [String: Any]) -> Void) throws {
        let url = folder.appendingPathComponent("config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        change(&json)
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: url)
    }

    // MARK: sito-convert

    func testConvertUnsupportedArchitecture() throws {
        let folder = try microFolder()
        try editConfig(folder) { $0["architectures"] = ["GPT2LMHeadModel"] }
        let r = try run("sito-convert", [folder.path, "-o", work.appendingPathComponent("x.sito").path])
        assertBadInput(r, ["sito-convert: error:", "architecture GPT2LMHeadModel is not supported", "XLMRobertaForSequenceClassification"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("x.sito").path))
    }

    func testConvertFolderWithoutTokenizer() throws {
        let folder = try microFolder()
        try FileManager.default.removeItem(at: folder.appendingPathComponent("tokenizer.json"))
        let r = try run("sito-convert", [folder.path, "-o", work.appendingPathComponent("x.sito").path])
        assertBadInput(r, ["no tokenizer found", "tokenizer.json", "sentencepiece.bpe.model"])
    }

    func testConvertConfigAndTensorsDisagree() throws {
        let folder = try microFolder()
        try editConfig(folder) { $0["hidden_size"] = 64 }
        let r = try run("sito-convert", [folder.path, "-o", work.appendingPathComponent("x.sito").path])
        assertBadInput(r, ["has shape [64, 32]", "config.json implies [64, 64]"])
    }

    func testConvertMissingFolder() throws {
        let missing = work.appendingPathComponent("no-such-model").path
        let r = try run("sito-convert", [missing, "-o", work.appendingPathComponent("x.sito").path])
        assertBadInput(r, [missing, "model folder"])
    }

    func testConvertHostileConfigNumber() throws {
        let folder = try microFolder()
        try editConfig(folder) { $0["num_hidden_layers"] = 1_000_000_000_000 }
        let r = try run("sito-convert", [folder.path, "-o", work.appendingPathComponent("x.sito").path])
        assertBadInput(r, ["\"num_hidden_layers\" is 1000000000000, outside 1…1024"])
    }

    // MARK: sito-rerank

    private func microSito() throws -> String { try MicroModel.get().sito.path }

    private func documents(_ text: [UInt8], name: String = "docs.txt") throws -> String {
        let url = work.appendingPathComponent(name)
        try Data(text).write(to: url)
        return url.path
    }

    func testRerankInvalidUTF8NamesTheLine() throws {
        let path = try documents(Array("as is\nś\n".utf8) + [0x61, 0xC3, 0x28, 0x0A] + Array("a\n".utf8))
        let r = try run("sito-rerank", [try microSito(), "-q", "as", "--documents", path])
        assertBadInput(r, ["\(path): line 3 is not valid UTF-8"])
        // The documents are checked before the model is opened: a bad model path is not what is reported.
        let r2 = try run("sito-rerank", [work.appendingPathComponent("missing.sito").path, "-q", "as", "--documents", path])
        assertBadInput(r2, ["line 3 is not valid UTF-8"])
    }

    func testRerankEmptyQuery() throws {
        let r = try run("sito-rerank", [try microSito(), "-q", "  ", "as is"])
        assertBadInput(r, ["the query is empty"])
    }

    func testRerankTopLargerThanTheList() throws {
        let r = try run("sito-rerank", [try microSito(), "-q", "as", "--top", "5", "a", "b", "c"])
        assertBadInput(r, ["--top 5 is larger than the 3 documents given"])
        let path = try documents(Array("a\n\nb\n".utf8))
        let r2 = try run("sito-rerank", [try microSito(), "-q", "as", "--top", "3", "--documents", path])
        assertBadInput(r2, ["--top 3 is larger than the 2 documents given"])
    }

    func testRerankEmptyDocumentsFile() throws {
        let path = try documents(Array(" \n\n\t\n".utf8))
        let r = try run("sito-rerank", [try microSito(), "-q", "as", "--documents", path])
        assertBadInput(r, ["\(path): no documents"])
        let r2 = try run("sito-rerank", [try microSito(), "-q", "as", "--documents", work.appendingPathComponent("none.txt").path])
        assertBadInput(r2, ["none.txt: cannot open: No such file or directory"])
    }

    /// Streaming gives what whole-list scoring gives: the same best documents and logits, from a file and
    /// from stdin. (Logits are compared per document within 1e-4: the encoder's kernels may round
    /// differently for different batch compositions, which can swap near-ties.)
    func testRerankStreamsAFileAndStdinLikeWholeListScoring() throws {
        let docs = (0..<700).map { i in (0..<(1 + i % 9)).map { ["as", "is", "s,", "a", "the", "s."][($0 + i) % 6] }.joined(separator: " ") }
        let text = Data((docs.joined(separator: "\n") + "\n").utf8)
        let path = try documents([UInt8](text))
        let reranker = try Reranker(contentsOf: try MicroModel.get().sito)
        let whole = try reranker.score(query: "as is", documents: docs)
        let best = whole.map(\.logit).sorted(by: >)
        for source in ["file", "stdin"] {
            let r = try run("sito-rerank", [try microSito(), "-q", "as is", "--json", "--top", "25", "--documents", source == "file" ? path : "-"],
                            stdin: source == "stdin" ? text : nil)
            XCTAssertEqual(r.status, 0, r.stderr)
            let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
            XCTAssertEqual(rows.count, 25)
            for (k, row) in rows.enumerated() {
                let index = try XCTUnwrap(row["index"] as? Int)
                let logit = (row["logit"] as! NSNumber).floatValue
                XCTAssertEqual(logit, whole[index].logit, accuracy: 1e-4, "\(source): document \(index)")
                XCTAssertEqual(logit, best[k], accuracy: 1e-4, "\(source): rank \(k)")
                XCTAssertEqual(row["document"] as? String, docs[index], source)
            }
        }
    }

    // MARK: sito-verify

    func testVerifyMalformedGolden() throws {
        let path = work.appendingPathComponent("g.json").path
        try Data(#"{"format": "golden/1", "cases": [{"query": "a"}]"#.utf8).write(to: URL(fileURLWithPath: path))
        let r = try run("sito-verify", [try microSito(), "--golden", path])
        assertBadInput(r, ["sito-verify: error:", path, "not a valid golden/1 file"])
        try Data(#"{"format": "golden/1", "cases": [{"query": "a"}]}"#.utf8).write(to: URL(fileURLWithPath: path))
        let r2 = try run("sito-verify", [try microSito(), "--golden", path])
        assertBadInput(r2, ["case 0 has a query without a document"])
    }

    func testVerifyMissingGolden() throws {
        let path = work.appendingPathComponent("none.json").path
        let r = try run("sito-verify", [try microSito(), "--golden", path])
        assertBadInput(r, ["\(path): cannot read golden file: no such file"])
    }

    // MARK: sito-quantize

    func testQuantizeMissingInput() throws {
        let missing = work.appendingPathComponent("none.sito").path
        let r = try run("sito-quantize", [missing, "-o", work.appendingPathComponent("q.sito").path, "--type", "int8"])
        assertBadInput(r, [missing, "cannot open", "No such file"])
    }

    func testQuantizeRefusesToOverwriteItsInput() throws {
        let input = work.appendingPathComponent("m.sito")
        try FileManager.default.copyItem(at: try MicroModel.get().sito, to: input)
        let before = try Data(contentsOf: input)
        // The same file under another spelling is still the input.
        let sameFile = work.appendingPathComponent("sub/../m.sito").path
        try FileManager.default.createDirectory(at: work.appendingPathComponent("sub"), withIntermediateDirectories: true)
        for output in [input.path, sameFile] {
            let r = try run("sito-quantize", [input.path, "-o", output, "--type", "int8"])
            assertBadInput(r, ["refusing to overwrite the input"])
        }
        XCTAssertEqual(try Data(contentsOf: input), before, "the input is unchanged")
    }

    // MARK: streaming, by behaviour (library level)

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
