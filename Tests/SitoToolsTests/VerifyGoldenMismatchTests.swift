// VerifyGoldenMismatchTests.swift: sito-verify never passes without checking anything — a golden made
// for another kind of model, another tokenizer or another maximum length is bad input (exit 2, saying
// what differs), so are a golden with nothing to check and thresholds no result can meet — through the
// built executable. A matching golden still passes.
import Foundation
import SitoFormat
@testable import SitoTools
import XCTest

final class VerifyGoldenMismatchTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = try scratchFolder("verify-mismatch")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    /// Converted fixtures, made once per test process.
    private final class Converted: @unchecked Sendable {
        // @unchecked: written once under `lock`, then only read.
        nonisolated(unsafe) static var files: [String: String] = [:]
        static let lock = NSLock()
        static let folder = try? scratchFolder("verify-mismatch-models")

        static func sito(_ name: String, from source: URL) throws -> String {
            lock.lock()
            defer { lock.unlock() }
            if let path = files[name] { return path }
            guard let folder else { throw XCTSkip("no scratch folder") }
            let path = folder.appendingPathComponent("\(name).sito").path
            _ = try Converter(folder: source).convert(to: path)
            files[name] = path
            if files.count == 1 { atexit { if let f = Converted.folder { try? FileManager.default.removeItem(at: f) } } }
            return path
        }
    }

    private func micro() throws -> String { try MicroModel.get().sito.path }

    private func miniLM() throws -> String {
        let source = Fixtures.root.appendingPathComponent(".cache/fixtures/all-minilm-l6-v2")
        guard FileManager.default.fileExists(atPath: source.appendingPathComponent("config.json").path) else {
            XCTFail("fixture \(source.path) is missing: run tools/setup.sh")
            throw XCTSkip("missing fixture")
        }
        return try Converted.sito("minilm", from: source)
    }

    private func bertTiny() throws -> String { try Converted.sito("bert-tiny-cls", from: try Fixtures.model("bert-tiny-cls")) }

    /// Writes a golden/1 object; returns its path.
    private func golden(_ object: [String: Any], name: String = "g.golden.json") throws -> String {
        let url = work.appendingPathComponent(name)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
        return url.path
    }

    /// The micro model's own golden (it passes), changed by `change`.
    private func microGolden(_ change: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        var g = try MicroModel.get().golden
        change(&g)
        return try golden(g)
    }

    private func verify(_ file: String, _ golden: String, _ extra: [String] = []) throws -> ToolRun {
        try ToolRunner.run("sito-verify", [file, "--golden", golden] + extra)
    }

    func testMatchingGoldenStillPasses() throws {
        let r = try verify(try micro(), try microGolden())
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("tokens          0 mismatches in 6 checked"), r.stdout)
        XCTAssertTrue(r.stdout.contains("logits          7 checked"), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("PASSED\n"), r.stdout)
    }

    func testRerankerFileAgainstAnEmbeddingGolden() throws {
        let file = try micro()
        let r = try verify(file, Fixtures.golden("all-minilm-l6-v2.golden.json"))
        ToolRunner.assertBadInput(r, ["sito-verify: error:", "golden is for an embedding model", "\(file) is a reranker"])
        XCTAssertFalse(r.stdout.contains("PASSED"), r.stdout)
    }

    func testEmbeddingFileAgainstARerankerGolden() throws {
        let file = try miniLM()
        let path = Fixtures.golden("xlmr-tiny.golden.json")
        let r = try verify(file, path)
        ToolRunner.assertBadInput(r, [path, "golden is for a reranker (sequence-classification)", "\(file) is an embedding model"])
        // A golden without "task" is for a reranker (formats/golden.md: the default).
        let r2 = try verify(file, try microGolden())
        ToolRunner.assertBadInput(r2, ["golden is for a reranker", "\(file) is an embedding model"])
    }

    func testTokenizerMismatch() throws {
        // An XLM-R golden (XLMRobertaTokenizer) against a BERT reranker, and the other way round.
        let bert = try bertTiny()
        let r = try verify(bert, Fixtures.golden("xlmr-tiny.golden.json"))
        ToolRunner.assertBadInput(r, ["golden's reference tokenizer is XLMRobertaTokenizer (sentencepiece)", "\(bert) has a wordpiece tokenizer"])
        let xlmr = try micro()
        let r2 = try verify(xlmr, Fixtures.golden("bert-tiny-cls.golden.json"))
        ToolRunner.assertBadInput(r2, ["golden's reference tokenizer is BertTokenizer (wordpiece)", "\(xlmr) has a sentencepiece tokenizer"])
        // No tokenizer class recorded: ids beyond the file's vocabulary.
        let g = try microGolden { g in
            var cases = g["cases"] as! [[String: Any]]
            cases[1]["input_ids"] = [0, 5, 250_001, 2]
            g["cases"] = cases
        }
        let r3 = try verify(xlmr, g)
        ToolRunner.assertBadInput(r3, ["golden case 1 has token id 250001", "\(xlmr) has a vocabulary of 64 ids"])
        // Text cases whose reference ids start otherwise than every sequence of the file's tokenizer.
        let g2 = try microGolden { g in
            var cases = g["cases"] as! [[String: Any]]
            var ids = cases[0]["input_ids"] as! [Int]
            ids[0] = 5
            cases[0]["input_ids"] = ids
            g["cases"] = cases
        }
        let r4 = try verify(xlmr, g2)
        ToolRunner.assertBadInput(r4, ["golden case 0 starts with id 5", "\(xlmr) starts every sequence with id 0"])
    }

    func testModelMismatch() throws {
        let file = try micro()
        let r = try verify(file, try microGolden { $0["max_length"] = 512 })
        ToolRunner.assertBadInput(r, ["golden was made with max_length 512", "\(file) takes at most 32 tokens"])
        let bert = try bertTiny()
        let r2 = try verify(bert, try microGolden { g in
            g["recipe"] = ["template": "{query}</s></s>{document}", "truncation": true]
            g["max_length"] = 32
        })
        ToolRunner.assertBadInput(r2, ["golden joins query and document as \"{query}</s></s>{document}\"", "\(bert) uses the recipe pair"])
        // An embedding golden with another pooling or dimension.
        let minilm = try miniLM()
        let embedding = try golden(["format": "golden/1", "task": "embedding", "max_length": 256,
                                    "recipe": ["pooling": "cls", "normalize": true],
                                    "cases": [["text": "a", "embedding": [Double](repeating: 0.1, count: 384)]]])
        ToolRunner.assertBadInput(try verify(minilm, embedding), ["golden's pooling is cls", "\(minilm) pools mean"])
        let wide = try golden(["format": "golden/1", "task": "embedding", "max_length": 256,
                               "cases": [["text": "a", "embedding": [Double](repeating: 0.1, count: 768)]]])
        ToolRunner.assertBadInput(try verify(minilm, wide), ["golden case 0 has a 768-dimensional embedding", "\(minilm) gives 384"])
        let logits = try microGolden { g in
            var cases = g["cases"] as! [[String: Any]]
            cases[2]["logits"] = [0.5, 0.25]
            g["cases"] = cases
        }
        ToolRunner.assertBadInput(try verify(file, logits), ["golden case 2 has 2 logits", "\(file) outputs 1"])
    }

    func testNothingToVerify() throws {
        let file = try micro()
        let empty = try microGolden { $0["cases"] = [[String: Any]]() }
        ToolRunner.assertBadInput(try verify(file, empty), [empty, "nothing to verify: the golden has no cases"])
        // Cases a reranker cannot check: single texts with ids and no logits.
        let texts = try microGolden { $0["cases"] = [["text": "as is", "input_ids": [0, 5, 2]], ["text": "a", "input_ids": [0, 5, 2]]] }
        ToolRunner.assertBadInput(try verify(file, texts), [texts, "nothing to verify: all 2 cases were skipped"])
        // Cases an embedding model cannot check: ids with logits and no embedding.
        let minilm = try miniLM()
        let ids = try golden(["format": "golden/1", "task": "embedding", "max_length": 256,
                              "cases": [["input_ids": [101, 102], "logits": [0.5]]]])
        ToolRunner.assertBadInput(try verify(minilm, ids), [ids, "nothing to verify: all 1 cases were skipped"])
    }

    func testThresholdsThatCanNeverPassAreRefused() throws {
        let file = try micro(), g = try microGolden()
        let cases: [([String], String)] = [
            (["--max-abs-error", "-1"], "--max-abs-error must be"),
            (["--max-abs-error=-0.5"], "--max-abs-error must be"),
            (["--max-abs-error", "nan"], "--max-abs-error must be"),
            (["--max-abs-error", "inf"], "--max-abs-error must be"),
            (["--min-spearman", "2"], "--min-spearman must be"),
            (["--min-spearman", "-1.5"], "--min-spearman must be"),
            (["--min-spearman", "nan"], "--min-spearman must be"),
            (["--min-top1", "1.01"], "--min-top1 must be"),
            (["--min-top1", "-0.1"], "--min-top1 must be"),
            (["--max-token-mismatches", "-1"], "--max-token-mismatches must be"),
            (["--min-cosine", "1.5"], "--min-cosine must be"),
            (["--min-cosine", "-2"], "--min-cosine must be"),
            (["--min-cosine", "nan"], "--min-cosine must be"),
        ]
        for (args, phrase) in cases {
            let r = try verify(file, g, args)
            ToolRunner.assertBadInput(r, [phrase], args.joined(separator: " "))
        }
        // Limits at the ends of the range are valid.
        XCTAssertEqual(try verify(file, g, ["--max-abs-error", "0.01", "--min-spearman", "-1", "--min-top1", "0"]).status, 0)
    }

    func testThresholdsOfTheOtherKindAreRefused() throws {
        let file = try micro()
        ToolRunner.assertBadInput(try verify(file, try microGolden(), ["--min-cosine", "0.9"]),
                                  ["--min-cosine applies to embedding models", "\(file) is a reranker"])
        let minilm = try miniLM()
        ToolRunner.assertBadInput(try verify(minilm, Fixtures.golden("all-minilm-l6-v2.golden.json"), ["--min-spearman", "0.9"]),
                                  ["--min-spearman applies to rerankers", "\(minilm) is an embedding model"])
    }
}
