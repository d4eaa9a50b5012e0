// sito-quantize: .sito f32 → int8 (per-row scales, dynamic per-token activations) or bf16.
import ArgumentParser
import Foundation
import SitoCLI
import SitoFormat
import SitoTools

extension QuantizationType: ExpressibleByArgument {}
extension TensorLayout: ExpressibleByArgument {}

@main
struct SitoQuantize: SitoTool {
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

    @Option(name: [.customShort("o"), .customLong("output")], help: "The .sito file to write.")
    var outputPath: String

    @Option(help: "int8 or bf16.")
    var type: QuantizationType

    @Option(help: "Keep tensors matching this name pattern (`*` wildcard) in f32; repeatable.")
    var keepFloat: [String] = []

    @Flag(help: "int8: quantize each activation row in two passes (the row, then its residual): two int8 GEMMs per projection, for trained models whose activations have outlier channels (formats/quantization.md).")
    var twoPassActivations = false

    @Option(help: "Layout of the quantized projection matrices: blocked16 (default; format 2, what the kernels read fastest) or row-major (a format 1 file, for older readers).")
    var layout: TensorLayout = .blocked16

    @OptionGroup(title: "Output")
    var output: OutputArguments

    func validate() throws {
        if twoPassActivations && type != .int8 { throw ValidationError("--two-pass-activations applies to --type int8 only") }
    }

    func execute() throws {
        let q = Quantizer(type: type, keepFloat: keepFloat, activations: twoPassActivations ? .twoPass : .onePass, layout: layout)
        let progress = Progress(tool: Self.toolName, quiet: output.quiet || output.json)
        progress.step("quantizing \(input) to \(type.rawValue)")
        let summary = try q.quantize(input: input, output: outputPath, progress: { progress.update($0, of: $1, unit: "tensors") })
        if output.json {
            ToolExit.printJSON(summary)
        } else {
            print("wrote \(summary.output): \(summary.type), \(summary.quantizedTensors) tensors quantized, \(summary.outputBytes) bytes (\(formatFixed(summary.ratio * 100, digits: 1))% of the input), \(formatFixed(summary.seconds, digits: 1)) s")
            for (name, rows) in summary.zeroRows.sorted(by: { $0.key < $1.key }) {
                print("note: \(name) has \(rows) all-zero rows (stored with scale 0)")
            }
        }
    }
}
