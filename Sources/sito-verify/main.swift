// sito-verify: runs a .sito reranker or embedding model on a golden/1 file (formats/golden.md) and reports
// token parity and logit errors and ranking agreement (embeddings: cosine and retrieval agreement) against
// the reference, after checking the embedded SentencePiece model with libsentencepiece and that the golden
// is for this model. Exit 0: passed; 1: outside tolerance; 2: bad input (GoldenVerification.run).
import ArgumentParser
import Foundation
import Sito
import SitoCLI
import SitoTools

@main
struct SitoVerify: SitoTool {
    static let configuration = CommandConfiguration(
        commandName: "sito-verify",
        abstract: "Check a .sito file against golden outputs from transformers.",
        discussion: """
        Default tolerances depend on the file's storage type: f32 max |Δlogit| ≤ 1e-4 and zero token \
        mismatches; bf16 mean Spearman ≥ 0.985 and top-1 agreement ≥ 0.85; int8 mean Spearman ≥ 0.90 \
        and top-1 agreement ≥ 0.70 (the measured basis: formats/quantization.md, "Measured loss").
        Exit codes: 0 passed, 1 outside tolerance, 2 bad input (an embedded SentencePiece model that \
        libsentencepiece and the runtime do not agree on, a golden made for another kind of model, \
        tokenizer or maximum length, a golden with nothing to check, a threshold no result can meet, \
        included).
        """)

    @Argument(help: "The .sito file.")
    var file: String

    @Option(help: "The golden/1 JSON file.")
    var golden: String

    @Option(parsing: .unconditional, help: "Largest allowed |Δlogit| (overrides the default for the file's type); rerankers; a finite number ≥ 0.")
    var maxAbsError: Float?

    @Option(parsing: .unconditional, help: "Smallest allowed mean Spearman correlation; rerankers; -1…1.")
    var minSpearman: Double?

    @Option(parsing: .unconditional, help: "Smallest allowed top-1 agreement (embedding models: retrieval top-1); 0…1.")
    var minTop1: Double?

    @Option(parsing: .unconditional, help: "Allowed token mismatches; ≥ 0.")
    var maxTokenMismatches: Int?

    @Option(parsing: .unconditional, help: "Embedding models: smallest allowed cosine to the reference embeddings; -1…1.")
    var minCosine: Double?

    @Flag(help: "Verify tensor checksums while loading.")
    var verifyChecksums = false

    @Option(help: "Attention operands: automatic (bf16 for bf16/int8 layers, f32 otherwise), f32 or bf16.")
    var attention: AttentionPrecision = .automatic

    @OptionGroup(title: "Output")
    var output: OutputArguments

    private var overrides: ToleranceOverrides {
        ToleranceOverrides(maxAbsError: maxAbsError, minSpearman: minSpearman, minTop1: minTop1,
                           maxTokenMismatches: maxTokenMismatches, minCosine: minCosine)
    }

    func validate() throws {
        do {
            try overrides.validate()
        } catch {
            throw ValidationError((error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    func execute() throws {
        // One path for rerankers and embedding models: bad input (a golden for another model or with
        // nothing to check included) exits 2; the report decides 0 or 1.
        let progress = Progress(tool: Self.toolName, quiet: output.quiet || output.json)
        progress.step("verifying \(file) against \(golden)")
        let report = try GoldenVerification.run(file: file, goldenPath: golden, overrides: overrides,
                                                verifyChecksums: verifyChecksums, attention: attention)
        if output.json {
            ToolExit.printJSON(report)
        } else {
            for line in report.lines { print(line) }
        }
        if !report.passed { throw ExitCode(ToolExit.checkFailed) }
    }
}
