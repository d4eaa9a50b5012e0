// sito-quantize: .sito f32 → int8 (per-row scales, dynamic per-token activations) or bf16; with
// --calibrate, int8 with a per-projection plan chosen on a golden (SitoTools/Calibration.swift).
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
        sito-verify against the f32 goldens. --calibrate GOLDEN with --min-cosine / --min-mean-cosine / \
        --min-top1 (embedding models): measures whole files on the golden and keeps, per projection, the \
        cheapest of int8, int8-two-pass and bf16 that holds the target; the file records the plan. Exit 2, \
        nothing written, when even all-bf16 misses the target.
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

    @Option(help: ArgumentHelp("int8: choose a scheme per projection (int8, int8-two-pass, bf16: the cheapest that keeps the target) by measuring whole files on this embedding golden (formats/quantization.md, \"Calibrated plans\").", valueName: "golden"))
    var calibrate: String?

    @Option(help: "With --calibrate: the lowest cosine of any calibration case the file must keep.")
    var minCosine: Double?

    @Option(help: "With --calibrate: the mean cosine over the calibration cases the file must keep.")
    var minMeanCosine: Double?

    @Option(help: "With --calibrate: the retrieval top-1 agreement on the calibration cases the file must keep.")
    var minTop1: Double?

    @Option(help: ArgumentHelp("With --calibrate: an embedding golden the chosen file is also measured on, kept apart from the search (texts the calibration did not see).", valueName: "golden"))
    var evaluate: String?

    @Option(help: "Layout of the quantized projection matrices: blocked16 (default; format 2, what the kernels read fastest) or row-major (a format 1 file, for older readers).")
    var layout: TensorLayout = .blocked16

    @OptionGroup(title: "Output")
    var output: OutputArguments

    func validate() throws {
        if twoPassActivations && type != .int8 { throw ValidationError("--two-pass-activations applies to --type int8 only") }
        if calibrate == nil {
            for (option, value) in [("--min-cosine", minCosine), ("--min-mean-cosine", minMeanCosine), ("--min-top1", minTop1)] where value != nil {
                throw ValidationError("\(option) applies with --calibrate only")
            }
            if evaluate != nil { throw ValidationError("--evaluate applies with --calibrate only") }
        } else {
            if type != .int8 { throw ValidationError("--calibrate applies to --type int8 only") }
            if twoPassActivations { throw ValidationError("--calibrate chooses the activation passes per projection; leave out --two-pass-activations") }
            if !keepFloat.isEmpty { throw ValidationError("--calibrate chooses every projection's scheme; leave out --keep-float") }
        }
    }

    var target: AccuracyTarget { AccuracyTarget(minCosine: minCosine, minMeanCosine: minMeanCosine, minTop1: minTop1) }

    func execute() throws {
        let progress = Progress(tool: Self.toolName, quiet: output.quiet || output.json)
        var report: CalibrationReport?
        var q = Quantizer(type: type, keepFloat: keepFloat, activations: twoPassActivations ? .twoPass : .onePass, layout: layout)
        if let golden = calibrate {
            try Calibrator.validate(target)
            // Before any work: the output must not be any input, nor anything but a .sito file.
            var inputs = [ProtectedInput(path: input, role: "the .sito file being quantized"),
                          ProtectedInput(path: golden, role: "the calibration golden")]
            if let e = evaluate { inputs.append(ProtectedInput(path: e, role: "the evaluation golden")) }
            try OutputSafety.check(output: outputPath, inputs: inputs)
            progress.step("calibrating \(input) on \(golden)")
            let r = try Calibrator(input: input, calibrationGolden: golden, evaluationGolden: evaluate, target: target, layout: layout,
                                   log: { progress.step($0) }).run()
            report = r
            // activation_passes: what a reader without plans runs every int8 projection with — two passes
            // when the plan has any (more accurate than the plan, never less).
            q = Quantizer(type: .int8, activations: r.plan.values.contains(.int8TwoPass) ? .twoPass : .onePass, layout: layout, plan: r.plan,
                          calibration: CalibrationInfo(target: r.target, calibration: r.calibration, evaluation: r.evaluation,
                                                       estimatedCost: r.estimatedCost))
        }
        progress.step("quantizing \(input) to \(type.rawValue)")
        var summary = try q.quantize(input: input, output: outputPath, progress: { progress.update($0, of: $1, unit: "tensors") })
        summary.calibration = report
        if output.json {
            ToolExit.printJSON(summary)
        } else {
            if let r = report { for line in Calibrator.lines(r) { print(line) } }
            print("wrote \(summary.output): \(summary.type), \(summary.quantizedTensors) tensors quantized, \(summary.outputBytes) bytes (\(formatFixed(summary.ratio * 100, digits: 1))% of the input), \(formatFixed(summary.seconds, digits: 1)) s")
            for (name, rows) in summary.zeroRows.sorted(by: { $0.key < $1.key }) {
                print("note: \(name) has \(rows) all-zero rows (stored with scale 0)")
            }
        }
    }
}
