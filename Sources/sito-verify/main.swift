// sito-verify: runs a .sito reranker on a golden/1 file (formats/golden.md) and reports token parity,
// logit errors and ranking agreement against the reference, after checking the embedded SentencePiece
// model with libsentencepiece. Exit 0: passed; 1: outside tolerance; 2: bad input (a tokenizer that
// fails the check included).
import ArgumentParser
import Foundation
import Sito
import SitoCLI
import SitoFormat
import SitoTools

@main
struct SitoVerify: ParsableCommand {
    static func main() { mainExitingTwoOnBadUsage() }

    static let configuration = CommandConfiguration(
        commandName: "sito-verify",
        abstract: "Check a .sito file against golden outputs from transformers.",
        discussion: """
        Default tolerances depend on the file's storage type: f32 max |Δlogit| ≤ 1e-4 and zero token \
        mismatches; bf16 mean Spearman ≥ 0.985 and top-1 agreement ≥ 0.85; int8 mean Spearman ≥ 0.90 \
        and top-1 agreement ≥ 0.70 (the measured basis: formats/quantization.md, "Measured loss").
        Exit codes: 0 passed, 1 outside tolerance, 2 bad input (an embedded SentencePiece model that \
        libsentencepiece and the runtime do not agree on included).
        """)

    @Argument(help: "The .sito file.")
    var file: String

    @Option(help: "The golden/1 JSON file.")
    var golden: String

    @Option(help: "Largest allowed |Δlogit| (overrides the default for the file's type).")
    var maxAbsError: Float?

    @Option(help: "Smallest allowed mean Spearman correlation.")
    var minSpearman: Double?

    @Option(help: "Smallest allowed top-1 agreement.")
    var minTop1: Double?

    @Option(help: "Allowed token mismatches.")
    var maxTokenMismatches: Int?

    @Option(help: "Embedding models: smallest allowed cosine to the reference embeddings.")
    var minCosine: Double?

    @Flag(help: "Verify tensor checksums while loading.")
    var verifyChecksums = false

    @Option(help: "Attention operands: automatic (bf16 for bf16/int8 layers, f32 otherwise), f32 or bf16.")
    var attention: AttentionPrecision = .automatic

    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func run() throws {
        let task: String
        do {
            let sito = try SitoFile(contentsOf: URL(fileURLWithPath: file))
            task = sito.header.task
            // The runtime reads the tokenizer alone; libsentencepiece must agree with it (SentencePieceCheck.swift).
            try checkSentencePieceTokenizer(of: sito)
        } catch {
            ToolExit.fail("sito-verify", error)
        }
        if task == "embedding" { return try runEmbedding() }
        let report: VerifyReport
        do {
            let golden = try GoldenFile.load(path: self.golden)
            let options = ModelOptions(verifyChecksums: verifyChecksums, maxLength: golden.maxLength, attention: attention)
            let reranker = try Reranker(contentsOf: URL(fileURLWithPath: file), options: options)
            var tol = Tolerance.defaults(for: Verifier.storageType(reranker.header))
            if let v = maxAbsError { tol.maxAbsError = v }
            if let v = minSpearman { tol.minSpearman = v }
            if let v = minTop1 { tol.minTop1Agreement = v }
            if let v = maxTokenMismatches { tol.maxTokenMismatches = v }
            report = try Verifier.verify(reranker, golden: golden, goldenPath: self.golden, tolerance: tol)
        } catch {
            ToolExit.fail("sito-verify", error)
        }
        if json {
            ToolExit.printJSON(report)
        } else {
            printHuman(report)
        }
        if !report.passed { throw ExitCode(ToolExit.checkFailed) }
    }

    func runEmbedding() throws {
        let report: EmbeddingVerifyReport
        do {
            let golden = try GoldenFile.load(path: self.golden)
            let options = ModelOptions(verifyChecksums: verifyChecksums, maxLength: golden.maxLength, attention: attention)
            let embedder = try Embedder(contentsOf: URL(fileURLWithPath: file), options: options)
            var tol = EmbeddingTolerance.defaults(for: Verifier.storageType(embedder.header))
            if let v = minCosine { tol.minCosine = v }
            if let v = minTop1 { tol.minRetrievalTop1 = v }
            if let v = maxTokenMismatches { tol.maxTokenMismatches = v }
            report = try EmbeddingVerifier.verify(embedder, golden: golden, goldenPath: self.golden, tolerance: tol)
        } catch {
            ToolExit.fail("sito-verify", error)
        }
        if json {
            ToolExit.printJSON(report)
        } else {
            func f(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "–" }
            print("file            \(report.file) (\(report.dtype), embedding)")
            print("golden          \(report.golden): \(report.cases) cases")
            print("tokens          \(report.tokenMismatches) mismatches in \(report.tokenChecked) checked")
            for m in report.firstMismatches {
                print("  case \(m.caseIndex) from token \(m.firstDifference): reference \(Array(m.expected.prefix(16))) sito \(Array(m.actual.prefix(16)))")
            }
            print("embeddings      \(report.embeddingsChecked) checked, cosine min \(String(format: "%.6f", report.minCosine)), mean \(String(format: "%.6f", report.meanCosine))")
            print("retrieval       top-1 agreement \(f(report.retrievalTop1)), NDCG@10 \(f(report.retrievalNdcg10))")
            print(report.passed ? "PASSED" : "FAILED: " + report.failures.joined(separator: "; "))
        }
        if !report.passed { throw ExitCode(ToolExit.checkFailed) }
    }

    func printHuman(_ r: VerifyReport) {
        func f(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "–" }
        print("file            \(r.file) (\(r.dtype))")
        print("golden          \(r.golden): \(r.cases) cases")
        print("tokens          \(r.tokenMismatches) mismatches in \(r.tokenChecked) checked")
        for m in r.firstMismatches {
            let a = max(0, m.firstDifference - 3)
            print("  case \(m.caseIndex), from token \(m.firstDifference):")
            print("    reference \(Array(m.expected.dropFirst(a).prefix(12)))")
            print("    sito      \(Array(m.actual.dropFirst(a).prefix(12)))")
        }
        print("logits          \(r.logitsChecked) checked, max |Δ| \(String(format: "%.3g", r.maxAbsError)), mean |Δ| \(String(format: "%.3g", r.meanAbsError))")
        print("ranking         \(r.queries) queries: Spearman \(f(r.spearman)), top-1 \(f(r.top1Agreement)), NDCG@10 \(f(r.ndcg10))")
        print(r.passed ? "PASSED" : "FAILED: " + r.failures.joined(separator: "; "))
    }
}
