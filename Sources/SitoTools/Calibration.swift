// Calibration.swift: `sito-quantize --type int8 --calibrate GOLDEN --min-… ` — chooses, per projection,
// the cheapest scheme whose whole file keeps an accuracy target on the calibration golden, then measures
// the chosen file on the calibration golden and, kept apart, on an evaluation golden
// (formats/quantization.md, "Calibrated plans"). "Cheapest" is by a cost model (CostModel: the CPU the
// file is meant for), which also decides the ladder the search climbs: int8 → `middle` → bf16, `middle`
// being the cheaper there of int8-a16 and int8-two-pass (both as accurate as f32 activations).
//
// Every measurement is of a whole file: the candidate plan is quantized (Quantizer, into a temporary
// folder) and run by the runtime (Embedder) on the golden's cases; the metrics are EmbeddingVerifier's.
// The search moves groups of projections (G groups: one kind — attn.q, …, ffn.down — over all layers, and
// each head projection); evaluations in brackets:
//   1. all int8 [1]; if it meets the target, done.
//   2. all `middle` [1]; if it misses: all bf16 [1] (missed too → unreachable, nothing written);
//      else each group alone promoted to bf16 from all-`middle` [G] — its gain in mean cosine — and
//      promotions in order of gain per unit of cost until the target is met [≤ G].
//   3. demotion, twice over: each group alone one rung cheaper [G] — its loss — then demotions in order
//      of loss per unit of cost saved, each kept only if the whole file still meets the target [≤ G − 1].
// At most 7G + 3 evaluations (G = 6 for an embedding model: 45); a plan met twice is measured once.
import CSitoKernels
import Foundation
import Sito
import SitoFormat

public enum CalibrationError: Error, LocalizedError, Equatable {
    case needsEmbeddingModel(path: String, task: ModelTask)
    case noTarget
    case badTarget(option: String, value: Double)
    case unreachable(golden: String, best: String)

    public var errorDescription: String? {
        switch self {
        case let .needsEmbeddingModel(path, task):
            return "\(path): --calibrate measures embedding models (cosine and retrieval top-1); this file is \(task.described)"
        case .noTarget:
            return "--calibrate needs a target: --min-cosine, --min-mean-cosine and/or --min-top1"
        case let .badTarget(option, value):
            return "\(option) must be a number in [0, 1], not \(value)"
        case let .unreachable(golden, best):
            return "\(golden): the target cannot be met even with every projection in bf16 (best reached: \(best)); no file written"
        }
    }
}

/// The costs a plan is chosen by (formats/quantization.md, "Cost model"): what one multiply-accumulate of
/// each scheme costs relative to single-pass int8 on a kind of CPU. The schemes' order of cost differs
/// between CPUs (int8-a16 is nearly free on AVX2 and the dearest int8 scheme on NEON), so the search runs
/// on the costs of the CPU the file is meant for. avx2: measured on a 2-core Zen 3 (BENCHMARKS.md,
/// "int8-a16"); avx512-vnni and neon-dotprod: estimated from the instructions (vpdpbusd: 64 multiply-adds,
/// vpdpwssd: 32; sdot: 16, smlal: 4).
extension CostModel {
    /// Cost per multiply-accumulate relative to single-pass int8 (= 1).
    public func cost(_ s: ProjectionScheme) -> Double {
        switch (self, s) {
        case (_, .int8): return 1.0
        case (.avx2, .int8A16): return 1.1
        case (.avx2, .int8TwoPass): return 1.8
        case (.avx2, .bf16): return 2.1
        case (.avx512vnni, .int8A16): return 2.0
        case (.avx512vnni, .int8TwoPass): return 1.5
        case (.avx512vnni, .bf16): return 2.0
        case (.neonDotprod, .int8A16): return 4.0
        case (.neonDotprod, .int8TwoPass): return 2.0
        case (.neonDotprod, .bf16): return 3.0
        }
    }

    /// The schemes the search climbs, cheapest first: int8, the cheaper of the two schemes that make the
    /// activations as good as f32 (int8-a16 and int8-two-pass; int8-a16 on a tie), bf16.
    public var ladder: [ProjectionScheme] {
        [.int8, cost(.int8A16) <= cost(.int8TwoPass) ? .int8A16 : .int8TwoPass, .bf16]
    }

    /// The model of the CPU this process runs on (its int8 kernel path); AVX2's for the scalar path.
    public static var thisMachine: CostModel {
        let level = sito_kernels_detect_isa()
        switch sito_isa_family_of(level) {
        case SITO_ISA_FAMILY_ARM: return .neonDotprod
        case SITO_ISA_FAMILY_X86 where level.rawValue >= SITO_ISA_AVX512_VNNI.rawValue: return .avx512vnni
        default: return .avx2
        }
    }
}

/// What `--calibrate` did; the `calibration` object of sito-quantize's `--json` (formats/cli-json.md).
public struct CalibrationReport: Codable, Sendable {
    public var plan: [String: ProjectionScheme]
    public var target: AccuracyTarget
    public var calibration: MeasuredAccuracy
    public var evaluation: MeasuredAccuracy?
    public var estimatedCost: Double
    public var costModel: CostModel
    /// Whole-file measurements the search made (each a quantization and a run over the calibration golden).
    public var evaluations: Int
    public var evaluationMeetsTarget: Bool?

    enum CodingKeys: String, CodingKey {
        case plan, target, calibration, evaluation, evaluations
        case estimatedCost = "estimated_cost", evaluationMeetsTarget = "evaluation_meets_target", costModel = "cost_model"
    }
}

public struct Calibrator {
    public let input: String
    public let calibrationGolden: String
    public let evaluationGolden: String?
    public let target: AccuracyTarget
    public let layout: TensorLayout
    /// The costs the search minimizes.
    public let costModel: CostModel
    /// Called with a line of progress per evaluation.
    public let log: (String) -> Void

    public init(input: String, calibrationGolden: String, evaluationGolden: String?, target: AccuracyTarget,
                layout: TensorLayout = .blocked16, costModel: CostModel = .thisMachine, log: @escaping (String) -> Void = { _ in }) {
        self.input = input
        self.calibrationGolden = calibrationGolden
        self.evaluationGolden = evaluationGolden
        self.target = target
        self.layout = layout
        self.costModel = costModel
        self.log = log
    }

    /// Refuses a target that sets nothing or lies outside [0, 1].
    public static func validate(_ t: AccuracyTarget) throws {
        let given: [(String, Double?)] = [("--min-cosine", t.minCosine), ("--min-mean-cosine", t.minMeanCosine), ("--min-top1", t.minTop1)]
        guard given.contains(where: { $0.1 != nil }) else { throw CalibrationError.noTarget }
        for case let (option, v?) in given where !(v.isFinite && (0...1).contains(v)) {
            throw CalibrationError.badTarget(option: option, value: v)
        }
    }

    /// The groups the search moves together: each kind of projection (attn.q, attn.k, attn.v, attn.out,
    /// ffn.up, ffn.down) over all layers, and each projection outside the layers (pooler.dense, head.dense).
    /// Per-projection sensitivity would take 6 × layers measurements per step instead of 6.
    static func groups(_ projections: [String]) -> [[String]] {
        var order: [String] = []
        var members: [String: [String]] = [:]
        for p in projections {
            let parts = p.split(separator: ".")
            let kind = p.hasPrefix("layers.") && parts.count >= 4 ? parts.dropFirst(2).joined(separator: ".") : p
            if members[kind] == nil { order.append(kind) }
            members[kind, default: []].append(p)
        }
        return order.map { members[$0]! }
    }

    /// The estimated cost of `plan` relative to all single-pass int8: Σ MACs × scheme cost / Σ MACs.
    public static func estimatedCost(_ plan: [String: ProjectionScheme], model m: ModelHyperparameters, costModel: CostModel) -> Double {
        var weighted = 0.0, total = 0.0
        for e in ArchitectureSchema.quantizableProjections(for: m) {
            let macs = Double(e.shape[0] * e.shape[1])
            weighted += macs * costModel.cost(plan[Quantizer.projectionName(e.name)] ?? .int8)
            total += macs
        }
        return total > 0 ? weighted / total : 1
    }

    /// One golden, loaded and checked against the model, with its hash.
    struct LoadedGolden {
        let path: String
        let golden: GoldenFile
        let xxh64: String
    }

    static func load(_ path: String, for header: SitoHeader, file: String) throws -> LoadedGolden {
        let golden = try GoldenFile.load(path: path)
        try golden.check(against: header, file: file, goldenPath: path)
        let data = FileManager.default.contents(atPath: path) ?? Data()
        let hash = data.withUnsafeBytes { hex64(sito_xxh64($0.baseAddress, $0.count, 0)) }
        return LoadedGolden(path: path, golden: golden, xxh64: hash)
    }

    func meets(_ m: MeasuredAccuracy) -> Bool {
        if let c = target.minCosine, m.minCosine < c { return false }
        if let c = target.minMeanCosine, m.meanCosine < c { return false }
        if let t = target.minTop1, (m.retrievalTop1 ?? 0) < t { return false }
        return true
    }

    public static func describe(_ m: MeasuredAccuracy) -> String {
        var s = String(format: "mean cosine %.5f, min cosine %.5f", m.meanCosine, m.minCosine)
        if let t = m.retrievalTop1 { s += String(format: ", retrieval top-1 %.4f", t) }
        return s
    }

    /// Searches the plan, measures it on both goldens, and returns it (nothing is written to `output`;
    /// Quantizer writes the file with the returned plan and `CalibrationInfo`). Throws
    /// `CalibrationError.unreachable` when even all-bf16 misses the target.
    public func run() throws -> CalibrationReport {
        try Calibrator.validate(target)
        let file = try SitoFile(contentsOf: URL(fileURLWithPath: input))
        let header = file.header
        guard header.task == .embedding else { throw CalibrationError.needsEmbeddingModel(path: input, task: header.task) }
        if let q = header.quantization { throw QuantizeError.alreadyQuantized(path: input, type: q.type.rawValue) }
        let calibration = try Calibrator.load(calibrationGolden, for: header, file: input)
        let evaluation = try evaluationGolden.map { try Calibrator.load($0, for: header, file: input) }
        let projections = Quantizer.projections(of: header.model)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sito-calibrate-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let candidate = scratch.appendingPathComponent("candidate.sito").path
        var evaluations = 0

        func measure(_ plan: [String: ProjectionScheme], on g: LoadedGolden) throws -> MeasuredAccuracy {
            _ = try Quantizer(type: .int8, layout: layout, plan: plan).quantize(input: input, output: candidate)
            let sito = try SitoFile(contentsOf: URL(fileURLWithPath: candidate))
            let embedder = try Embedder(file: sito, options: ModelOptions(maxLength: g.golden.maxLength))
            let r = try EmbeddingVerifier.verify(embedder, golden: g.golden, goldenPath: g.path,
                                                 tolerance: EmbeddingTolerance(minCosine: -1, maxTokenMismatches: Int.max))
            return MeasuredAccuracy(golden: URL(fileURLWithPath: g.path).lastPathComponent, goldenXXH64: g.xxh64,
                                    cases: r.embeddingsChecked, meanCosine: r.meanCosine, minCosine: r.minCosine,
                                    retrievalTop1: r.retrievalTop1)
        }
        // A plan is measured once (the search can come back to one: round 2 retries round 1's refusals).
        var measured: [[String: ProjectionScheme]: MeasuredAccuracy] = [:]
        func evaluate(_ plan: [String: ProjectionScheme], _ what: String) throws -> MeasuredAccuracy {
            if let m = measured[plan] { return m }
            let m = try measure(plan, on: calibration)
            measured[plan] = m
            evaluations += 1
            log("\(what): \(Calibrator.describe(m))\(meets(m) ? " (meets the target)" : "")")
            return m
        }
        func uniform(_ s: ProjectionScheme) -> [String: ProjectionScheme] {
            Dictionary(uniqueKeysWithValues: projections.map { ($0, s) })
        }

        // The search moves groups of projections together (Calibrator.groups: one kind of projection in
        // every layer); the plan it writes is per projection.
        let groups = Calibrator.groups(projections)
        func macs(_ group: [String]) -> Double {
            let shapes = Dictionary(uniqueKeysWithValues: ArchitectureSchema.expectedTensors(for: header.model).map { ($0.name, $0.shape) })
            return group.reduce(0) { $0 + Double(shapes[$1 + ".weight"]!.reduce(1, *)) }
        }
        func with(_ plan: [String: ProjectionScheme], _ group: [String], _ s: ProjectionScheme) -> [String: ProjectionScheme] {
            var out = plan
            for p in group { out[p] = s }
            return out
        }
        func label(_ group: [String]) -> String {
            group.count == 1 ? group[0] : group[0].split(separator: ".").dropFirst(2).joined(separator: ".") + " (\(group.count) layers)"
        }

        // The ladder: int8, then `middle` (the cost model's cheaper of int8-a16 and int8-two-pass), then bf16.
        let ladder = costModel.ladder
        let middle = ladder[1]
        func cheaper(_ s: ProjectionScheme) -> ProjectionScheme? {
            guard let i = ladder.firstIndex(of: s), i > 0 else { return nil }
            return ladder[i - 1]
        }
        // 1. All single-pass int8.
        var plan = uniform(.int8)
        var current = try evaluate(plan, "all int8")
        if !meets(current) {
            // 2. All `middle`; if that misses, promote the most sensitive groups to bf16.
            plan = uniform(middle)
            current = try evaluate(plan, "all \(middle.rawValue)")
            if !meets(current) {
                let bf16 = try evaluate(uniform(.bf16), "all bf16")
                guard meets(bf16) else {
                    throw CalibrationError.unreachable(golden: calibrationGolden, best: Calibrator.describe(bf16))
                }
                var gains: [([String], Double)] = []
                for g in groups {
                    let m = try evaluate(with(plan, g, .bf16), "\(label(g)) bf16")
                    if meets(m) {   // one group suffices: the cheapest such is found below
                        gains.append((g, .infinity / 2 / macs(g)))
                    } else {
                        // Ordered by the mean cosine's gain (smooth; top-1 moves in steps of 1/cases).
                        gains.append((g, (m.meanCosine - current.meanCosine) / macs(g)))
                    }
                }
                for (g, _) in gains.sorted(by: { $0.1 > $1.1 }) {
                    plan = with(plan, g, .bf16)
                    current = try evaluate(plan, "promote \(label(g)) to bf16")
                    if meets(current) { break }
                }
                if !meets(current) {
                    plan = uniform(.bf16)
                    current = bf16
                }
            }
            // 3. Demotion, twice over: cheapest loss per unit of cost saved first, each kept only if the
            // whole file still meets the target.
            for round in 1...2 {
                var losses: [([String], ProjectionScheme, Double)] = []
                for g in groups {
                    guard let lower = cheaper(plan[g[0]]!) else { continue }
                    let m = try evaluate(with(plan, g, lower), "round \(round): \(label(g)) \(lower)")
                    guard meets(m) else { continue }   // misses alone: it would miss with others demoted too
                    let saved = (costModel.cost(plan[g[0]]!) - costModel.cost(lower)) * macs(g)
                    losses.append((g, lower, (current.meanCosine - m.meanCosine) / saved))
                }
                if losses.isEmpty { break }
                var changed = false
                for (g, lower, _) in losses.sorted(by: { $0.2 < $1.2 }) {
                    let trial = with(plan, g, lower)
                    // The first was measured alone from this very plan (measured once: `measured`).
                    let m = try evaluate(trial, "round \(round): demote \(label(g)) to \(lower)")
                    log("round \(round): " + (meets(m) ? "demoted \(label(g)) to \(lower)" : "\(label(g)) stays \(plan[g[0]]!)"))
                    if meets(m) {
                        plan = trial
                        current = m
                        changed = true
                    }
                }
                if !changed { break }
            }
        }
        // The chosen plan on the evaluation golden, kept apart from the search.
        let evaluated = try evaluation.map { try measure(plan, on: $0) }
        return CalibrationReport(plan: plan, target: target, calibration: current, evaluation: evaluated,
                                 estimatedCost: Calibrator.estimatedCost(plan, model: header.model, costModel: costModel),
                                 costModel: costModel, evaluations: evaluations,
                                 evaluationMeetsTarget: evaluated.map(meets))
    }

    /// A plan as text, one line per layer (`layers.0: attn.k int8, attn.q int8-two-pass, …`) and one per
    /// other projection, in file order.
    public static func planLines(_ plan: [String: ProjectionScheme]) -> [String] {
        var groups: [String: [String]] = [:]
        for (name, scheme) in plan {
            let parts = name.split(separator: ".")
            let inLayer = name.hasPrefix("layers.") && parts.count >= 4
            let group = inLayer ? parts.prefix(2).joined(separator: ".") : name
            groups[group, default: []].append(inLayer ? "\(parts.dropFirst(2).joined(separator: ".")) \(scheme.rawValue)" : scheme.rawValue)
        }
        func key(_ g: String) -> (Int, String) {
            let parts = g.split(separator: ".")
            return (parts.count == 2 && parts[0] == "layers" ? Int(parts[1]) ?? 0 : Int.max, g)
        }
        return groups.keys.sorted { key($0) < key($1) }.map { "\($0): \(groups[$0]!.sorted().joined(separator: ", "))" }
    }

    /// "12 int8, 20 int8-two-pass, 4 bf16": projections per scheme, cheapest first.
    public static func counts(_ plan: [String: ProjectionScheme]) -> String {
        ProjectionScheme.allCases.compactMap { s in
            let n = plan.values.filter { $0 == s }.count
            return n > 0 ? "\(n) \(s.rawValue)" : nil
        }.joined(separator: ", ")
    }

    /// A target as text: "mean cosine ≥ 0.9995, retrieval top-1 ≥ 0.98".
    public static func describe(_ t: AccuracyTarget) -> String {
        var parts: [String] = []
        if let c = t.minCosine { parts.append("min cosine ≥ \(c)") }
        if let c = t.minMeanCosine { parts.append("mean cosine ≥ \(c)") }
        if let c = t.minTop1 { parts.append("retrieval top-1 ≥ \(c)") }
        return parts.joined(separator: ", ")
    }

    /// The report as text: the plan by layer, then the accuracy on each golden and the estimated cost.
    public static func lines(_ r: CalibrationReport) -> [String] {
        var out = ["plan        \(counts(r.plan)) (\(r.evaluations) whole-file measurements on the calibration golden)"]
        out += planLines(r.plan).map { "  " + $0 }
        out.append("target      \(describe(r.target)) (on the calibration golden)")
        out.append("calibration \(r.calibration.golden) (\(r.calibration.cases) cases): \(describe(r.calibration))")
        if let e = r.evaluation {
            out.append("evaluation  \(e.golden) (\(e.cases) cases): \(describe(e))\(r.evaluationMeetsTarget == false ? " — misses the target" : "")")
        }
        out.append(String(format: "estimated cost %.3f× all single-pass int8 (GEMM work, cost model %@; formats/quantization.md, \"Cost model\")",
                          r.estimatedCost, r.costModel.rawValue))
        return out
    }
}
