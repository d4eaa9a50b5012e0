// RuntimeCLITests.swift: what sito-rerank and sito-embed promise a user, through the built executables:
// every truncation is visible (a note on stderr with the count; --quiet silences it), --no-truncate names
// the file line or argument and says whether the query or the document is too long, and one rule for
// each kind of bad input in both tools (empty texts, invalid UTF-8, negative numbers).
import Foundation
import Sito
import SitoTestSupport
@testable import SitoTools
import XCTest

final class RuntimeCLITests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = try scratchFolder("runtime-cli", removedAfter: self)
    }

    /// The micro reranker: 32 tokens per pair at most, so a sentence of a few dozen words is truncated.
    private func reranker() throws -> String { try MicroModel.get().sito.path }

    /// all-MiniLM-L6-v2 (f32), converted once per test process.
    private func embedder() throws -> String { try EmbeddingFixture.get().path }

    private func file(_ text: String, _ name: String = "docs.txt") throws -> String {
        let url = work.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    private let long = Array(repeating: "as is s, a the", count: 20).joined(separator: " ")

    // MARK: truncation is visible

    func testRerankNotesTruncatedPairsOnStderr() throws {
        let r = try ToolRunner.run("sito-rerank", [try reranker(), "-q", "as", "a", long])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("[truncated to"), r.stdout)
        XCTAssertTrue(r.stderr.contains("sito-rerank: note: 1 of 2 pairs were truncated to the maximum of"), r.stderr)
        let json = try ToolRunner.run("sito-rerank", [try reranker(), "-q", "as", "--json", "a", long])
        XCTAssertTrue(json.stderr.contains("note: 1 of 2 pairs were truncated"), json.stderr)
        let quiet = try ToolRunner.run("sito-rerank", [try reranker(), "-q", "as", "--quiet", "a", long])
        XCTAssertEqual(quiet.status, 0)
        XCTAssertEqual(quiet.stderr, "")
    }

    func testEmbedNotesTruncatedTextsAndQueries() throws {
        let longText = Array(repeating: "to be or not to be", count: 100).joined(separator: " ")
        let r = try ToolRunner.run("sito-embed", [try embedder(), "short", longText])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 2)
        XCTAssertTrue(r.stderr.contains("sito-embed: note: 1 of 2 texts were truncated to the maximum of"), r.stderr)
        let q = try ToolRunner.run("sito-rerank", [try embedder(), "-q", longText, "short", longText])
        XCTAssertEqual(q.status, 0, q.stderr)
        XCTAssertTrue(q.stderr.contains("note: the query was truncated to"), q.stderr)
        XCTAssertTrue(q.stderr.contains("note: 1 of 2 documents were truncated"), q.stderr)
    }

    // MARK: --truncation-direction

    /// `--truncation-direction left` keeps the end of a too-long input: the scores and vectors are the
    /// runtime's with `truncationSide: .left` (what sito-serve computes for `truncation_direction: "Left"`),
    /// and differ from the default's.
    func testTruncationDirectionLeftIsTheRuntimes() throws {
        struct Row: Decodable { let index: Int; let logit: Float; let truncated: Bool }
        struct Vector: Decodable { let embedding: [Float] }
        let document = long + " and at last the end"
        let reranker = try Reranker(contentsOf: URL(fileURLWithPath: try self.reranker()))
        let want = try reranker.score(query: "as", documents: ["a", document], truncationSide: .left)
        let right = try reranker.score(query: "as", documents: ["a", document])
        XCTAssertNotEqual(want[1].logit, right[1].logit, "the two ends of the document score differently")
        let r = try ToolRunner.run("sito-rerank", [try self.reranker(), "-q", "as", "--json", "--quiet", "--truncation-direction", "left", "a", document])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try JSONDecoder().decode([Row].self, from: Data(r.stdout.utf8)).sorted { $0.index < $1.index }
        XCTAssertEqual(rows.map(\.logit), want.map(\.logit))
        XCTAssertEqual(rows.map(\.truncated), [false, true])

        let longText = (0..<300).map { "word\($0)" }.joined(separator: " ")
        let embedder = try Embedder(contentsOf: URL(fileURLWithPath: try self.embedder()))
        let vector = try embedder.embed(inputIds: [try embedder.encode(longText, truncationSide: .left).ids])[0]
        let e = try ToolRunner.run("sito-embed", [try self.embedder(), "--json", "--quiet", "--truncation-direction", "left", longText])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertEqual(try JSONDecoder().decode([Vector].self, from: Data(e.stdout.utf8)).first?.embedding, vector)
        ToolRunner.assertBadInput(try ToolRunner.run("sito-embed", [try self.embedder(), "--truncation-direction", "middle", "a"]), ["truncation-direction"])
    }

    // MARK: --no-truncate names the input

    func testNoTruncateNamesTheLineAndThePart() throws {
        let path = try file("a\n\n\(long)\n")
        let r = try ToolRunner.run("sito-rerank", [try reranker(), "-q", "as", "--no-truncate", "--documents", path])
        ToolRunner.assertBadInput(r, ["\(path) line 3 (document 1) is too long", "--no-truncate"])
        let args = try ToolRunner.run("sito-rerank", [try reranker(), "-q", "as", "--no-truncate", "a", long])
        ToolRunner.assertBadInput(args, ["document 1 is too long: the pair is"])
        let query = try ToolRunner.run("sito-rerank", [try reranker(), "-q", long, "--no-truncate", "a"])
        ToolRunner.assertBadInput(query, ["the query is too long"])
        let longQuery = Array(repeating: "to be", count: 400).joined(separator: " ")
        let embeddingQuery = try ToolRunner.run("sito-rerank", [try embedder(), "-q", longQuery, "--no-truncate", "a"])
        ToolRunner.assertBadInput(embeddingQuery, ["the query is too long:", "--no-truncate"])
        let text = try ToolRunner.run("sito-embed", [try embedder(), "--no-truncate", "short", Array(repeating: "to be", count: 400).joined(separator: " ")])
        ToolRunner.assertBadInput(text, ["text 1 is too long"])
    }

    // MARK: one rule per kind of bad input

    func testEmptyTextsAreRefusedInEveryTool() throws {
        ToolRunner.assertBadInput(try ToolRunner.run("sito-rerank", [try reranker(), "-q", "as", "a", " "]), ["document 1 is empty"])
        ToolRunner.assertBadInput(try ToolRunner.run("sito-rerank", [try reranker(), "-q", "", "a"]), ["the query is empty"])
        ToolRunner.assertBadInput(try ToolRunner.run("sito-embed", [try embedder(), ""]), ["text 0 is empty"])
    }

    /// Arguments are bytes on Linux; Swift would turn invalid UTF-8 into U+FFFD and score it. Both tools
    /// refuse it instead, as they refuse it in files. (Foundation's Process takes Strings, so the bytes
    /// are made by the shell.)
    func testInvalidUTF8ArgumentsAreRefused() throws {
        for (tool, model) in [("sito-rerank", try reranker()), ("sito-embed", try embedder())] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            let extra = tool == "sito-rerank" ? "-q as" : ""
            process.arguments = ["-c", "\"$0\" \"$1\" \(extra) \"$(printf 'a\\303(')\"", try ToolRunner.binary(tool).path, model]
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 2, "\(tool): \(stderr)")
            XCTAssertTrue(stderr.contains("is not valid UTF-8"), "\(tool): \(stderr)")
        }
    }

    func testNegativeNumbersSayWhatIsWrong() throws {
        let top = try ToolRunner.run("sito-rerank", [try reranker(), "-q", "as", "--top", "-1", "a"])
        ToolRunner.assertBadInput(top, ["--top must be at least 1 (got -1)"])
        XCTAssertFalse(top.stderr.contains("Missing value"), top.stderr)
        let length = try ToolRunner.run("sito-rerank", [try reranker(), "-q", "as", "--max-length", "-5", "a"])
        ToolRunner.assertBadInput(length, ["max length -5 is too small"])
        let embedLength = try ToolRunner.run("sito-embed", [try embedder(), "--max-length", "-5", "a"])
        ToolRunner.assertBadInput(embedLength, ["max length -5 is too small"])
    }

    // MARK: signs of life

    /// stderr is not a terminal here: one plain line per step, nothing with --quiet.
    func testStepsArePlainLinesWhenStderrIsNotATerminal() throws {
        let r = try ToolRunner.run("sito-rerank", [try reranker(), "-q", "as", "a", "b"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("sito-rerank: loading "), r.stderr)
        XCTAssertTrue(r.stderr.contains("sito-rerank: scoring 2 documents"), r.stderr)
        XCTAssertFalse(r.stderr.contains("\r"), "no terminal redraws in a pipe")
    }
}
