// PlanFile.swift: a per-projection quantization plan as a file of its own (formats/quantization.md,
// "Plan files"): what `sito-quantize --calibrate … --write-plan FILE` writes and `--plan FILE` applies to
// another file, e.g. a plan calibrated on a small model applied to the full-size one of the same
// architecture. Entries are projection names or `*` patterns, so a plan chosen per kind of projection
// (`layers.*.attn.q`) fits any number of layers.
//
//   {"format": "sito-plan/1",
//    "schemes": {"layers.*.attn.q": "bf16", "layers.*.ffn.down": "int8-a16", "pooler.dense": "int8", …},
//    "source": {"file": …, "calibration": {…}, "evaluation": {…}, "cost_model": "avx2", …}}   (informative)
import Foundation
import SitoFormat

public enum PlanFileError: Error, LocalizedError, Equatable {
    case unreadable(path: String, reason: String)
    case notAPlan(path: String, reason: String)
    case noMatch(path: String, pattern: String)
    case ambiguous(path: String, projection: String, patterns: [String])

    public var errorDescription: String? {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read the plan: \(reason)"
        case let .notAPlan(path, reason): return "\(path): not a Sito plan file (formats/quantization.md, \"Plan files\"): \(reason)"
        case let .noMatch(path, pattern):
            return "\(path): \"\(pattern)\" names no projection of this model (sito-inspect --tensors lists the names; a projection is <name>.weight)"
        case let .ambiguous(path, projection, patterns):
            return "\(path): \(projection) is matched by \(patterns.map { "\"\($0)\"" }.joined(separator: " and ")) with different schemes and equal precedence; make one of them more specific"
        }
    }
}

/// A plan file: name patterns → schemes, and where it came from.
public struct PlanFile: Codable, Sendable, Equatable {
    public static let formatName = "sito-plan/1"

    public var format: String
    /// Projection name or `*` pattern → scheme.
    public var schemes: [String: ProjectionScheme]
    /// Informative: what the plan was chosen on and what it measured there. Never read by `--plan`.
    public var source: PlanSource?

    public init(schemes: [String: ProjectionScheme], source: PlanSource? = nil) {
        format = PlanFile.formatName
        self.schemes = schemes
        self.source = source
    }

    /// Reads and checks a plan file (format name, known schemes); the error names the file.
    public static func load(path: String) throws -> PlanFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PlanFileError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        do {
            let plan = try JSONDecoder().decode(PlanFile.self, from: data)
            guard plan.format == formatName else {
                throw PlanFileError.notAPlan(path: path, reason: "\"format\" is \"\(plan.format)\", not \"\(formatName)\"")
            }
            if let empty = plan.schemes.keys.first(where: { $0.isEmpty }) {
                throw PlanFileError.notAPlan(path: path, reason: "an empty pattern \"\(empty)\"")
            }
            return plan
        } catch let e as PlanFileError {
            throw e
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.count == 2 && context.codingPath[0].stringValue == "schemes" {
            throw PlanFileError.notAPlan(path: path, reason: "schemes[\"\(context.codingPath[1].stringValue)\"] is not \(ProjectionScheme.knownValues)")
        } catch let DecodingError.keyNotFound(key, _) {
            throw PlanFileError.notAPlan(path: path, reason: "no \"\(key.stringValue)\"")
        } catch {
            throw PlanFileError.notAPlan(path: path, reason: "\(error)")
        }
    }

    /// Writes the plan as sorted, indented JSON, atomically (the file appears whole or not at all).
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        let out = try AtomicFile(destination: path)
        try data.withUnsafeBytes { try out.write($0) }
        try out.commit()
    }

    /// Whether the file at `path` is a plan file (what `--write-plan` may replace).
    static func isPlan(path: String) -> Bool {
        (try? load(path: path)) != nil
    }

    /// The plan for `projections` (names without `.weight`), one entry each: the entry with its exact name,
    /// else the matching pattern with the most characters that are not `*`, else `int8` (written out, so
    /// that the file's `activation_passes`, 2 when the plan has two-pass or 16-bit entries, does not
    /// apply to it). Throws when an entry matches no projection, or when two
    /// equally specific patterns give one projection different schemes.
    public func resolve(for projections: [String], path: String) throws -> [String: ProjectionScheme] {
        for pattern in schemes.keys.sorted() where !projections.contains(where: { Quantizer.matches($0, pattern) }) {
            throw PlanFileError.noMatch(path: path, pattern: pattern)
        }
        func precedence(_ pattern: String) -> Int {
            pattern.contains("*") ? pattern.filter { $0 != "*" }.count : Int.max
        }
        var out: [String: ProjectionScheme] = [:]
        for p in projections {
            let matching = schemes.keys.filter { Quantizer.matches(p, $0) }
            guard let best = matching.map(precedence).max() else {
                out[p] = .int8
                continue
            }
            let top = matching.filter { precedence($0) == best }.sorted()
            if Set(top.map { schemes[$0]! }).count > 1 {
                throw PlanFileError.ambiguous(path: path, projection: p, patterns: top)
            }
            out[p] = schemes[top[0]]!
        }
        return out
    }

    /// A per-projection plan as patterns: one `layers.*.<kind>` entry for each kind of projection whose
    /// layers all share a scheme (what `--calibrate`'s per-kind search gives), else one entry per
    /// projection; projections outside the layers by name.
    public static func patterns(of plan: [String: ProjectionScheme]) -> [String: ProjectionScheme] {
        var byKind: [String: [ProjectionScheme]] = [:]
        var out: [String: ProjectionScheme] = [:]
        for (name, scheme) in plan {
            let parts = name.split(separator: ".")
            if name.hasPrefix("layers."), parts.count >= 4 {
                byKind["layers.*." + parts.dropFirst(2).joined(separator: "."), default: []].append(scheme)
            } else {
                out[name] = scheme
            }
        }
        for (kind, list) in byKind {
            if Set(list).count == 1 {
                out[kind] = list[0]
            } else {
                for (name, scheme) in plan where Quantizer.matches(name, kind) { out[name] = scheme }
            }
        }
        return out
    }
}

/// Where a plan file came from (informative).
public struct PlanSource: Codable, Sendable, Equatable {
    /// The f32 file the plan was calibrated on.
    public var file: String
    public var target: AccuracyTarget?
    public var calibration: MeasuredAccuracy?
    public var evaluation: MeasuredAccuracy?
    public var costModel: CostModel?
    public var estimatedCost: Double?

    enum CodingKeys: String, CodingKey {
        case file, target, calibration, evaluation, costModel = "cost_model", estimatedCost = "estimated_cost"
    }

    public init(file: String, target: AccuracyTarget? = nil, calibration: MeasuredAccuracy? = nil, evaluation: MeasuredAccuracy? = nil,
                costModel: CostModel? = nil, estimatedCost: Double? = nil) {
        self.file = file
        self.target = target
        self.calibration = calibration
        self.evaluation = evaluation
        self.costModel = costModel
        self.estimatedCost = estimatedCost
    }
}
