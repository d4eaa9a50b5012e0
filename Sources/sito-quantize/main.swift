// sito-quantize: .sito f32 → int8 (per-row scales, dynamic per-token activations) or bf16; with
// --calibrate, int8 with a per-projection plan chosen on a golden (SitoTools/Calibration.swift), which
// --write-plan saves and --plan applies to another file (SitoTools/PlanFile.swift).
import ArgumentParser
import Foundation
import SitoCLI
import SitoFormat
import SitoTools

extension QuantizationType: ExpressibleByArgument {}
extension TensorLayout: ExpressibleByArgument {}
extension CostModel: ExpressibleByArgument {}

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
        cheapest scheme that holds the target (int8, then int8-a16 or int8-two-pass, whichever --cost-model \
        makes cheaper, then bf16); the file records the plan, --write-plan saves it as a plan file, and \
        --plan applies a plan file to another model (e.g. the full-size one). Exit 2, nothing written, \
        when even all-bf16 misses the target.
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

    @Option(help: ArgumentHelp("With --calibrate: the CPU kind whose costs choose between schemes: avx2, avx512-vnni or neon-dotprod (default: this machine's).", valueName: "cpu"))
    var costModel: CostModel?

    @Option(help: ArgumentHelp("With --calibrate: also write the chosen plan to this plan file, by kind of projection (`layers.*.attn.q`), for --plan.", valueName: "file"))
    var writePlan: String?

    @Option(help: ArgumentHelp("int8: apply this plan file (from --write-plan, or written by hand: {\"format\": \"sito-plan/1\", \"schemes\": {pattern: scheme}}) instead of calibrating; formats/quantization.md, \"Plan files\".", valueName: "file"))
    var plan: String?

    @Option(help: "Layout of the quantized projection matrices: blocked16 (default; format 2, what the kernels read fastest) or row-major (a format 1 file, for older readers).")
    var layout: TensorLayout = .blocked16

    @OptionGroup(title: "Output")
    var output: OutputArguments

    func validate() throws {
        if twoPassActivations && type != .int8 { throw ValidationError("--two-pass-activations applies to --type int8 only") }
        if plan != nil {
            if type != .int8 { throw ValidationError("--plan applies to --type int8 only") }
            if calibrate != nil { throw ValidationError("--plan applies a plan, --calibrate chooses one: give one of them") }
            if twoPassActivations { throw ValidationError("--plan sets the activations per projection; leave out --two-pass-activations") }
            if !keepFloat.isEmpty { throw ValidationError("--plan sets every projection's scheme; leave out --keep-float") }
        }
        if calibrate == nil {
            for (option, value) in [("--min-cosine", minCosine), ("--min-mean-cosine", minMeanCosine), ("--min-top1", minTop1)] where value != nil {
                throw ValidationError("\(option) applies with --calibrate only")
            }
            if evaluate != nil { throw ValidationError("--evaluate applies with --calibrate only") }
            if costModel != nil { throw ValidationError("--cost-model applies with --calibrate only") }
            if writePlan != nil { throw ValidationError("--write-plan applies with --calibrate only") }
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
            if let w = writePlan {
                try OutputSafety.check(output: w, inputs: inputs + [ProtectedInput(path: outputPath, role: "the .sito file being written")],
                                       kind: .plan)
            }
            progress.step("calibrating \(input) on \(golden)")
            let r = try Calibrator(input: input, calibrationGolden: golden, evaluationGolden: evaluate, target: target, layout: layout,
                                   costModel: costModel ?? .thisMachine, log: { progress.step($0) }).run()
            report = r
            q = Quantizer(type: .int8, activations: Quantizer.activationPasses(for: r.plan), layout: layout, plan: r.plan,
                          calibration: CalibrationInfo(target: r.target, calibration: r.calibration, evaluation: r.evaluation,
                                                       estimatedCost: r.estimatedCost, costModel: r.costModel))
        } else if let path = plan {
            try OutputSafety.check(output: outputPath, inputs: [ProtectedInput(path: input, role: "the .sito file being quantized"),
                                                                ProtectedInput(path: path, role: "the plan file")])
            let file = try PlanFile.load(path: path)
            let header = try SitoFile(contentsOf: URL(fileURLWithPath: input)).header
            let resolved = try file.resolve(for: Quantizer.projections(of: header.model), path: path)
            q = Quantizer(type: .int8, activations: Quantizer.activationPasses(for: resolved), layout: layout, plan: resolved)
        }
        progress.step("quantizing \(input) to \(type.rawValue)")
        var summary = try q.quantize(input: input, output: outputPath, progress: { progress.update($0, of: $1, unit: "tensors") })
        summary.calibration = report
        if let r = report, let w = writePlan {
            let source = PlanSource(file: input, target: r.target, calibration: r.calibration, evaluation: r.evaluation,
                                    costModel: r.costModel, estimatedCost: r.estimatedCost)
            try PlanFile(schemes: PlanFile.patterns(of: r.plan), source: source).write(to: w)
            progress.step("wrote the plan to \(w)")
        }
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
