// sito-quantize: .sito f32 → int8 (per-row scales, dynamic per-token activations) or bf16.
import ArgumentParser
import SitoCLI
import Foundation
import SitoFormat
import SitoTools

@main
struct SitoQuantize: ParsableCommand {
    static func main() { mainExitingTwoOnBadUsage() }

    static let configuration = CommandConfiguration(
        commandName: "sito-quantize",
        abstract: "Quantize a .sito file to int8 (per-row scales) or bf16.",
        discussion: """
        Policy (formats/quantization.md): int8 for every encoder projection, the head's dense layer and the \
        word-embedding table, one f32 step scale per output row; LayerNorms, biases, position and token-type \
        embeddings and the final out_proj stay f32. bf16: the same matrices in bf16. Measure the loss with \
        sito-verify against the f32 goldens.
        """)

    @Argument(help: "The input .sito file (f32, f16 or bf16).")
    var input: String

    @Option(name: .shortAndLong, help: "The .sito file to write.")
    var output: String

    @Option(help: "int8 or bf16.")
    var type: String

    @Option(help: "Keep tensors matching this name pattern (`*` wildcard) in f32; repeatable.")
    var keepFloat: [String] = []

    @Flag(help: "int8: quantize each activation row in two passes (the row, then its residual): two int8 GEMMs per projection, for trained models whose activations have outlier channels (formats/quantization.md).")
    var twoPassActivations = false

    @Option(help: "Layout of the quantized projection matrices: blocked16 (default; format 2, what the kernels read fastest) or row-major (a format 1 file, for older readers).")
    var layout: String = TensorLayout.blocked16.rawValue

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    func validate() throws {
        guard QuantizeType(rawValue: type) != nil else { throw ValidationError("--type must be int8 or bf16, not \(type)") }
        if twoPassActivations && type != "int8" { throw ValidationError("--two-pass-activations applies to --type int8 only") }
        guard TensorLayout(rawValue: layout) != nil else {
            throw ValidationError("--layout must be \(TensorLayout.allCases.map(\.rawValue).joined(separator: " or ")), not \(layout)")
        }
    }

    func run() throws {
        let q = Quantizer(type: QuantizeType(rawValue: type)!, keepFloat: keepFloat, activationPasses: twoPassActivations ? 2 : 1,
                          layout: TensorLayout(rawValue: layout)!)
        let bar = ToolExit.stderrIsTerminal && !json ? ProgressBar(label: "quantizing") : nil
        let summary: QuantizationSummary
        do {
            summary = try q.quantize(input: input, output: output, progress: bar.map { b in { b.update($0, $1) } })
        } catch {
            ToolExit.fail("sito-quantize", error)
        }
        if json {
            ToolExit.printJSON(summary)
        } else {
            print("wrote \(summary.output): \(summary.type), \(summary.quantizedTensors) tensors quantized, \(summary.outputBytes) bytes (\(String(format: "%.1f", summary.ratio * 100))% of the input), \(String(format: "%.1f", summary.seconds)) s")
            for (name, rows) in summary.zeroRows.sorted(by: { $0.key < $1.key }) {
                print("note: \(name) has \(rows) all-zero rows (stored with scale 0)")
            }
        }
    }
}
