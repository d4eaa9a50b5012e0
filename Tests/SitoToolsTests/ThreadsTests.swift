// ThreadsTests.swift: --threads / ModelOptions.threads. The number of workers a forward pass is split
// into changes no int8 or bf16 result (each output element is summed in the same order whatever the
// blocks), and f32 results only by OpenBLAS's rounding; every runtime tool refuses a count below 1 with
// exit 2, and so does sito-serve (whose bad model file is exit 2 as well, as in every sito-* tool).
import Foundation
import Sito
import SitoTestSupport
import XCTest

final class ThreadsTests: XCTestCase {
    private let query = "Jak dożyć 100 lat?"
    private let documents = ["Trzeba zdrowo się odżywiać i uprawiać sport.", "Kraków leży nad Wisłą.",
                             String(repeating: "Długi dokument o zdrowiu i długim życiu. ", count: 12), "a"]

    /// xlmr-tiny converted and quantized once per process (QuantizationTests.files).
    private func file(_ type: String) throws -> URL {
        _ = try Fixtures.model("xlmr-tiny")
        return try QuantizationTests.files.get().url("xlmr-tiny", type)
    }

    private func logits(_ url: URL, threads: Int?) throws -> [Float] {
        let reranker = try Reranker(contentsOf: url, options: ModelOptions(threads: threads))
        return try reranker.score(query: query, documents: documents).map(\.logit)
    }

    func testWorkerCountChangesNoQuantizedResult() throws {
        for type in ["int8", "bf16"] {
            let url = try file(type)
            let all = try logits(url, threads: nil)
            for threads in [1, 2, 3, 7] {
                XCTAssertEqual(try logits(url, threads: threads), all, "\(type), \(threads) threads")
            }
        }
    }

    func testWorkerCountMovesF32OnlyByRounding() throws {
        let url = try file("f32")
        let all = try logits(url, threads: nil)
        for threads in [1, 3] {
            for (a, b) in zip(try logits(url, threads: threads), all) {
                XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b)), "\(threads) threads")
            }
        }
    }

    func testEmbeddingsDoNotDependOnTheWorkerCount() throws {
        let url = try EmbeddingFixture.get()
        let texts = ["The cat sleeps.", "Machine is not on the network", String(repeating: "memory ", count: 40)]
        let all = try Embedder(contentsOf: url, options: ModelOptions()).embed(texts)
        let one = try Embedder(contentsOf: url, options: ModelOptions(threads: 1)).embed(texts)
        for (a, b) in zip(one, all) {
            XCTAssertGreaterThan(Embedder.cosine(a, b), 0.999999)
        }
    }

    func testThreadsBelowOneIsBadUsageInEveryRuntimeTool() throws {
        let reranker = try MicroModel.get().sito.path
        for threads in ["0", "-2"] {
            ToolRunner.assertBadInput(try ToolRunner.run("sito-rerank", [reranker, "-q", "a", "b", "--threads", threads]),
                                      ["--threads must be at least 1"], "sito-rerank --threads \(threads)")
            ToolRunner.assertBadInput(try ToolRunner.run("sito-embed", [try EmbeddingFixture.get().path, "a", "--threads", threads]),
                                      ["--threads must be at least 1"], "sito-embed --threads \(threads)")
            ToolRunner.assertBadInput(try ToolRunner.run("sito-serve", [reranker, "--port", "0", "--threads", threads]),
                                      ["--threads must be at least 1"], "sito-serve --threads \(threads)")
        }
        let ok = try ToolRunner.run("sito-rerank", [reranker, "-q", "a", "b", "--threads", "1", "--quiet"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }

    func testServeRefusesAFileItCannotServeWithExitTwo() throws {
        let missing = try scratchFolder("threads-serve", removedAfter: self).appendingPathComponent("missing.sito").path
        let r = try ToolRunner.run("sito-serve", [missing, "--hostname", "127.0.0.1", "--port", "0", "--log-level", "critical"])
        ToolRunner.assertBadInput(r, ["sito-serve: error:", missing])
        let tooSmall = try ToolRunner.run("sito-serve", [try MicroModel.get().sito.path, "--hostname", "127.0.0.1", "--port", "0",
                                                         "--log-level", "critical", "--max-batch-tokens", "8"])
        ToolRunner.assertBadInput(tooSmall, ["--max-batch-tokens 8 is smaller than the model's maximum length"])
    }
}
