// Quantizer.swift: `.sito` f32/f16/bf16 → int8 (per-row step scales) or bf16, following the policy of
// formats/quantization.md. The policy (which tensors, which axis) lives here; the kernels only execute it.
// Streams row blocks through bounded buffers into an atomic SitoWriter; the input is never modified.
import CSitoKernels
import Foundation
import SitoFormat

public enum QuantizeError: Error, LocalizedError, Equatable {
    case alreadyQuantized(path: String, type: String)
    case nonFinite(path: String, tensor: String, index: Int)
    case badPattern(String)
    case unmatchedPattern(String)
    case twoPassNeedsInt8(QuantizationType)
    case planNeedsInt8(QuantizationType)
    case planUnknownProjection(String)
    case planKeptFloat(projection: String, pattern: String)

    public var errorDescription: String? {
        switch self {
        case let .alreadyQuantized(path, type): return "\(path): already quantized (\(type)); quantize the f32 file instead"
        case let .nonFinite(path, tensor, index): return "\(path): tensor \(tensor) contains NaN or infinity (first at element \(index)); refusing to write a file that would score NaN"
        case let .badPattern(p): return "--keep-float pattern \"\(p)\" is empty"
        case let .unmatchedPattern(p): return "--keep-float pattern \"\(p)\" matches no quantizable tensor (sito-inspect --tensors lists the names)"
        case let .twoPassNeedsInt8(type): return "two activation passes apply to int8 only, not \(type)"
        case let .planNeedsInt8(type): return "a per-projection plan applies to --type int8 only, not \(type)"
        case let .planUnknownProjection(name): return "the plan names \(name), which is not a projection of this model (sito-inspect --tensors lists the names; a projection is <name>.weight)"
        case let .planKeptFloat(name, pattern): return "the plan sets a scheme for \(name), but --keep-float \"\(pattern)\" keeps it in f32"
        }
    }
}

/// What sito-quantize did; its JSON form is the `--json` output (formats/cli-json.md, "sito-quantize").
public struct QuantizationSummary: Codable, Sendable {
    public let input: String
    public let output: String
    public let type: QuantizationType
    public let inputBytes: Int
    public let outputBytes: Int
    public let ratio: Double
    public let quantizedTensors: Int
    public let keptFloat: [String]
    /// Tensors with all-zero rows (stored with scale 0), and how many rows.
    public let zeroRows: [String: Int]
    public let seconds: Double
    /// `--calibrate` only: the plan chosen and what it measured.
    public var calibration: CalibrationReport?

    enum CodingKeys: String, CodingKey {
        case input, output, type, ratio, seconds, calibration
        case inputBytes = "input_bytes"
        case outputBytes = "output_bytes"
        case quantizedTensors = "quantized_tensors"
        case keptFloat = "kept_float"
        case zeroRows = "zero_rows"
    }
}

public struct Quantizer {
    public static let version = "0.1.0"
    public static let int8Scheme = "int8 weights, one f32 step scale per output row (scale = amax/127, q = rint(w/scale)); int8 activations per token, dynamic"
    public static let int8TwoPassScheme = "int8 weights, one f32 step scale per output row (scale = amax/127, q = rint(w/scale)); int8 activations per token in two passes (the row, then its residual), dynamic"
    public static let bf16Scheme = "bf16 weights (round to nearest even); activations rounded to bf16; f32 accumulation"
    public static let plannedScheme = "per projection (quantization.plan): int8 weights, one f32 step scale per output row, int8 activations per token in one or two passes, or 16-bit activations per token; or bf16 weights and activations; f32 accumulation"

    public let type: QuantizationType
    /// Glob patterns (`*` wildcard) of canonical tensor names to keep in float.
    public let keepFloat: [String]
    /// int8: how the runtime quantizes activations (formats/quantization.md, "Two-pass activations").
    public let activations: ActivationScheme
    /// Layout of the quantized projection matrices: `blocked16` (the default; format 2, read directly by
    /// the kernels' register tiles) or `rowMajor` (a format 1 file, for older readers).
    public let layout: TensorLayout
    /// int8: per-projection schemes by projection name (`layers.0.attn.q`); projections without an entry
    /// follow `activations` (formats/quantization.md, "Per-projection plans").
    public let plan: [String: ProjectionScheme]
    /// What `--calibrate` measured, recorded in the header beside the plan.
    public let calibration: CalibrationInfo?

    public init(type: QuantizationType, keepFloat: [String] = [], activations: ActivationScheme = .onePass, layout: TensorLayout = .blocked16,
                plan: [String: ProjectionScheme] = [:], calibration: CalibrationInfo? = nil) {
        self.type = type
        self.keepFloat = keepFloat
        self.activations = activations
        self.layout = layout
        self.plan = plan
        self.calibration = calibration
    }

    /// The projection a weight belongs to: `layers.0.attn.q.weight` → `layers.0.attn.q`.
    static func projectionName(_ weight: String) -> String {
        weight.hasSuffix(".weight") ? String(weight.dropLast(".weight".count)) : weight
    }

    /// `activation_passes` of a file with `plan`: what a reader without plans runs every int8 projection
    /// with — two passes when the plan has any scheme more accurate than one pass (more accurate than the
    /// plan, never less; the int8 weights are the same bytes in every int8 scheme).
    public static func activationPasses(for plan: [String: ProjectionScheme]) -> ActivationScheme {
        plan.values.contains { $0.activations == .twoPass } ? .twoPass : .onePass
    }

    /// The projections a plan may name, in file order: the quantizable projection matrices of `model`.
    public static func projections(of model: ModelHyperparameters) -> [String] {
        ArchitectureSchema.quantizableProjections(for: model).map { projectionName($0.name) }
    }

    /// Whether `name` matches a `*` glob.
    static func matches(_ name: String, _ pattern: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1 { return name == pattern }
        var rest = Substring(name)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for part in parts.dropFirst().dropLast() {
            guard let r = rest.range(of: part) else { return false }
            rest = rest[r.upperBound...]
        }
        return rest.hasSuffix(parts.last!)
    }

    /// The policy: which tensors become i8 (or bf16).
    func target(for e: ExpectedTensor) -> DType {
        guard e.quantizable, !keepFloat.contains(where: { Quantizer.matches(e.name, $0) }) else { return .f32 }
        if e.projection, let scheme = plan[Quantizer.projectionName(e.name)] { return scheme.weightDType }
        return type == .int8 ? .i8 : .bf16
    }

    /// The layout of a tensor stored as `dtype`: `layout` for projection matrices that it can hold (rows a
    /// multiple of 16, columns of 4 / size), row-major otherwise (embeddings are read by rows).
    func layout(for e: ExpectedTensor, dtype: DType) -> TensorLayout {
        guard e.projection, dtype == .i8 || dtype == .bf16,
              layout.unsupportedReason(dtype: dtype, shape: e.shape) == nil else { return .rowMajor }
        return layout
    }

    public func quantize(input: String, output: String, progress: ((Int, Int) -> Void)? = nil) throws -> QuantizationSummary {
        let start = Date()
        for p in keepFloat where p.isEmpty { throw QuantizeError.badPattern(p) }
        guard activations == .onePass || type == .int8 else { throw QuantizeError.twoPassNeedsInt8(type) }
        // Before any work: not over the input under any name, nor over anything but a .sito file.
        try OutputSafety.check(output: output, inputs: [ProtectedInput(path: input, role: "the .sito file being quantized")])
        let file = try SitoFile(contentsOf: URL(fileURLWithPath: input))
        let expected = try checkQuantizable(file, path: input)
        let (header, plan, kept) = try self.plan(file, expected: expected)
        let writer = try SitoWriter(destination: output, header: header, inputs: [input])
        var zeroRows: [String: Int] = [:]
        var quantized = 0
        let total = writer.header.tensors.reduce(0) { $0 + $1.bytes }
        var done = 0
        do {
            var pendingScales: [Float] = []
            for (i, step) in plan.enumerated() {
                let view = try file.require(step.source)
                if step.target == .u8 {
                    try writer.append(view.bytes)
                } else if step.isScale {
                    try writer.append(pendingScales)
                } else {
                    let written = try write(view, as: step, to: writer, path: input)
                    if step.target == .i8 || step.target == .bf16 { quantized += 1 }
                    pendingScales = written.scales
                    if written.zeroRows > 0 { zeroRows[step.source] = written.zeroRows }
                }
                done += writer.header.tensors[i].bytes
                progress?(done, total)
            }
            try writer.finish()
        } catch {
            writer.abort()
            throw error
        }
        let inSize = file.fileSize
        let outSize = ((try? FileManager.default.attributesOfItem(atPath: output)[.size]) as? Int) ?? 0
        return QuantizationSummary(input: input, output: output, type: type, inputBytes: inSize, outputBytes: outSize,
                                   ratio: inSize > 0 ? Double(outSize) / Double(inSize) : 0, quantizedTensors: quantized,
                                   keptFloat: kept, zeroRows: zeroRows, seconds: Date().timeIntervalSince(start))
    }

    /// One tensor of the output, in file order: read from `source`, stored as `target` (a scale step writes
    /// the scales of the int8 tensor before it).
    struct Step {
        let source: String
        let target: DType
        let isScale: Bool
        let layout: TensorLayout
    }

    /// Refuses a file that is already quantized and `--keep-float` patterns that match no quantizable
    /// tensor; returns the tensors the file's architecture has.
    private func checkQuantizable(_ file: SitoFile, path: String) throws -> [ExpectedTensor] {
        if let q = file.header.quantization { throw QuantizeError.alreadyQuantized(path: path, type: q.type.rawValue) }
        if file.header.tensors.contains(where: { $0.dtype == .i8 }) { throw QuantizeError.alreadyQuantized(path: path, type: "int8") }
        if let t = file.header.tensors.first(where: { $0.effectiveLayout != .rowMajor }) {
            throw QuantizeError.alreadyQuantized(path: path, type: "tensor \(t.name) has layout \(t.effectiveLayout.rawValue)")
        }
        let expected = ArchitectureSchema.expectedTensors(for: file.header.model)
        for p in keepFloat where !expected.contains(where: { $0.quantizable && Quantizer.matches($0.name, p) }) {
            throw QuantizeError.unmatchedPattern(p)
        }
        if !plan.isEmpty && type != .int8 { throw QuantizeError.planNeedsInt8(type) }
        let projections = Set(Quantizer.projections(of: file.header.model))
        for name in plan.keys.sorted() {
            guard projections.contains(name) else { throw QuantizeError.planUnknownProjection(name) }
            if let p = keepFloat.first(where: { Quantizer.matches(name + ".weight", $0) }) {
                throw QuantizeError.planKeptFloat(projection: name, pattern: p)
            }
        }
        return expected
    }

    /// The output's header, the steps that write its tensors, and the quantizable tensors kept in float.
    private func plan(_ file: SitoFile, expected: [ExpectedTensor]) throws -> (SitoHeader, [Step], kept: [String]) {
        var header = file.header
        var entries: [TensorEntry] = []
        var plan: [Step] = []
        var kept: [String] = []
        for e in expected {
            let dtype = target(for: e)
            if e.quantizable && dtype == .f32 { kept.append(e.name) }
            let order = layout(for: e, dtype: dtype)
            entries.append(TensorEntry(name: e.name, dtype: dtype, shape: e.shape, offset: 0, bytes: 0, xxh64: "", layout: order))
            plan.append(Step(source: e.name, target: dtype, isScale: false, layout: order))
            if dtype == .i8 {
                entries.append(TensorEntry(name: e.name + scaleSuffix, dtype: .f32, shape: [e.shape[0]], offset: 0, bytes: 0, xxh64: ""))
                plan.append(Step(source: e.name, target: .f32, isScale: true, layout: .rowMajor))
            }
        }
        let tok = try file.require(header.tokenizer.tensor)
        entries.append(tok.entry)
        plan.append(Step(source: tok.name, target: .u8, isScale: false, layout: .rowMajor))
        header.tensors = entries
        header.created = Converter.timestamp()
        let scheme: String
        switch (type, activations) {
        case (.bf16, _): scheme = Quantizer.bf16Scheme
        case (.int8, _) where !self.plan.isEmpty: scheme = Quantizer.plannedScheme
        case (.int8, .onePass): scheme = Quantizer.int8Scheme
        case (.int8, .twoPass): scheme = Quantizer.int8TwoPassScheme
        }
        header.quantization = QuantizationInfo(type: type, scheme: scheme, keepFloat: keepFloat,
                                               tool: ConverterInfo(name: "sito-quantize", version: Quantizer.version),
                                               activations: type == .int8 ? activations : nil,
                                               plan: self.plan.isEmpty ? nil : self.plan, calibration: calibration)
        return (header, plan, kept)
    }

    /// Writes one float tensor as `step.target`, in row blocks of ~4M elements (blocked16 packs whole
    /// 16-row blocks, so blocks are multiples of 16). Returns the int8 scales and how many rows were all zero.
    private func write(_ view: TensorView, as step: Step, to writer: SitoWriter, path: String) throws -> (scales: [Float], zeroRows: Int) {
        let rows = view.shape.count == 2 ? view.shape[0] : 1
        let cols = view.count / rows
        let blocked = step.layout == .blocked16
        var block = max(1, (1 << 22) / max(1, cols))
        if blocked { block = max(16, block / 16 * 16) }
        var r0 = 0
        var scales: [Float] = []
        var zeroRows = 0
        while r0 < rows {
            let n = min(block, rows - r0)
            let values = Quantizer.widen(view, from: r0 * cols, count: n * cols)
            var first = 0
            if sito_count_nonfinite_f32(values, values.count, &first) > 0 {
                throw QuantizeError.nonFinite(path: path, tensor: step.source, index: r0 * cols + first)
            }
            switch step.target {
            case .i8:
                var q = [Int8](repeating: 0, count: n * cols)
                var s = [Float](repeating: 0, count: n)
                _ = sito_quantize_rows_i8(values, cols, n, cols, &q, cols, &s)
                zeroRows += s.filter { $0 == 0 }.count
                scales += s
                try writer.append(blocked ? Quantizer.packBlocked16(q, rows: n, cols: cols) : q)
            case .bf16:
                var b = [UInt16](repeating: 0, count: n * cols)
                sito_f32_to_bf16(values, &b, values.count)
                try writer.append(blocked ? Quantizer.packBlocked16(b, rows: n, cols: cols) : b)
            default:
                try writer.append(values)
            }
            r0 += n
        }
        return (scales, zeroRows)
    }

    /// Row-major [rows, cols] (rows a multiple of 16) → blocked16 order (formats/sito.md, "Layouts").
    static func packBlocked16<T>(_ values: [T], rows: Int, cols: Int) -> [T] {
        var out = values
        values.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                sito_pack_blocked16(src.baseAddress!, cols, MemoryLayout<T>.stride, rows, cols, dst.baseAddress!)
            }
        }
        return out
    }

    /// Elements [from, from+count) of a float tensor, as f32.
    static func widen(_ view: TensorView, from: Int, count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        switch view.dtype {
        case .f32:
            out.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: view.pointer(as: Float.self) + from, count: count) }
        case .bf16:
            sito_bf16_to_f32(view.pointer(as: UInt16.self) + from, &out, count)
        case .f16:
            sito_f16_to_f32(view.pointer(as: UInt16.self) + from, &out, count)
        default:
            preconditionFailure("float tensors only")
        }
        return out
    }
}
