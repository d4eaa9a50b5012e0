// Verifier.swift: runs a `.sito` reranker on a golden file and measures how far it is from the
// reference. The library path behind `sito-verify` for rerankers, and the tests.
//
// Metrics (over the cases that carry what each needs):
//   token_mismatches  cases with text and input_ids whose Sito ids (or, when the golden records them,
//                     token-type ids) differ from the reference's
//   max/mean_abs_error  |Sito logit − reference logit| over every logit of every case with logits
//   spearman          mean over queries (≥ 2 documents with distinct reference scores) of Spearman's ρ
//                     between reference and Sito scores (average ranks for ties)
//   top1_agreement    share of those queries whose best document is the same
//   ndcg10            mean NDCG@10 of Sito's order, with graded relevance from the reference order:
//                     rel = max(0, 10 − reference rank) (rank 0 = best), gain 2^rel − 1, log2 discount
import Foundation
import Sito
import SitoFormat

public struct Tolerance: Codable, Sendable, Equatable {
    public var maxAbsError: Float?
    public var maxTokenMismatches: Int
    public var minSpearman: Double?
    public var minTop1Agreement: Double?

    enum CodingKeys: String, CodingKey {
        case maxAbsError = "max_abs_error", maxTokenMismatches = "max_token_mismatches"
        case minSpearman = "min_spearman", minTop1Agreement = "min_top1_agreement"
    }

    public init(maxAbsError: Float?, maxTokenMismatches: Int = 0, minSpearman: Double? = nil, minTop1Agreement: Double? = nil) {
        self.maxAbsError = maxAbsError
        self.maxTokenMismatches = maxTokenMismatches
        self.minSpearman = minSpearman
        self.minTop1Agreement = minTop1Agreement
    }

    /// Defaults per storage type (README, "What you can rely on"; formats/quantization.md, "Measured loss",
    /// for the basis of bf16 and int8).
    ///
    /// bf16 and int8 bound the ranking, not the logit: |Δlogit| scales with the model's logit range, the
    /// ranking metrics do not. Worst measured against transformers f32 (Sito, and the simulation of the
    /// scheme, which differ only in f32 rounding), mean Spearman / top-1 agreement over 40 queries:
    ///   bf16  0.9927 / 0.95 (xlmr-large, 400 pairs); xlmr-base 0.9930 / 0.975; xlmr-tiny 0.998 / 1.0
    ///   int8  0.934 / 0.825 (xlmr-large);             xlmr-base 0.964 / 0.90;  xlmr-tiny 0.994 / 1.0
    /// The random-weight fixtures score documents close together (xlmr-large: 9 of 40 queries have their
    /// two best documents < 0.05 apart), the hardest case for a ranking. A 40-query mean Spearman has a
    /// standard error of about 0.002 (bf16) and 0.008 (int8), a top-1 agreement about 0.04–0.06; the
    /// defaults sit about four standard errors (Spearman) and two to three (top-1) below the worst
    /// measured figure, so a correct file passes and a broken one (Spearman near 0) fails.
    public static func defaults(for type: StorageType) -> Tolerance {
        switch type {
        case .f32: return Tolerance(maxAbsError: 1e-4)
        case .f16: return Tolerance(maxAbsError: 2e-2, minSpearman: 0.999, minTop1Agreement: 0.98)
        case .bf16: return Tolerance(maxAbsError: nil, minSpearman: 0.985, minTop1Agreement: 0.85)
        case .int8: return Tolerance(maxAbsError: nil, minSpearman: 0.90, minTop1Agreement: 0.70)
        }
    }
}

public struct TokenMismatch: Codable, Sendable {
    public let caseIndex: Int
    public let expected: [Int32]
    public let actual: [Int32]
    /// First index where they differ.
    public let firstDifference: Int

    enum CodingKeys: String, CodingKey {
        case caseIndex = "case", expected, actual, firstDifference = "first_difference"
    }

    /// The mismatch of two id sequences of case `caseIndex`, located at their first difference.
    init(caseIndex: Int, expected: [Int32], actual: [Int32]) {
        self.caseIndex = caseIndex
        self.expected = expected
        self.actual = actual
        firstDifference = zip(expected, actual).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(expected.count, actual.count)
    }
}

public struct VerifyReport: Codable, Sendable {
    public var file: String
    public var golden: String
    /// Storage type the defaults were chosen for: f32, f16, bf16 or int8.
    public var dtype: String
    public var cases: Int
    public var tokenChecked: Int
    public var tokenMismatches: Int
    public var firstMismatches: [TokenMismatch]
    public var logitsChecked: Int
    public var maxAbsError: Double
    public var meanAbsError: Double
    public var worstCase: Int?
    public var queries: Int
    public var spearman: Double?
    public var top1Agreement: Double?
    public var ndcg10: Double?
    public var tolerance: Tolerance
    public var passed: Bool
    public var failures: [String]
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case file, golden, dtype, cases, tokenChecked = "token_checked", tokenMismatches = "token_mismatches"
        case firstMismatches = "first_mismatches", logitsChecked = "logits_checked", maxAbsError = "max_abs_error"
        case meanAbsError = "mean_abs_error", worstCase = "worst_case", queries, spearman
        case top1Agreement = "top1_agreement", ndcg10, tolerance, passed, failures, seconds
    }
}

extension VerifyReport: VerificationReport {
    public var lines: [String] {
        func f(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "–" }
        var out = ["file            \(file) (\(dtype))",
                   "golden          \(golden): \(cases) cases",
                   "tokens          \(tokenMismatches) mismatches in \(tokenChecked) checked"]
        for m in firstMismatches {
            let a = max(0, m.firstDifference - 3)
            out.append("  case \(m.caseIndex), from token \(m.firstDifference):")
            out.append("    reference \(Array(m.expected.dropFirst(a).prefix(12)))")
            out.append("    sito      \(Array(m.actual.dropFirst(a).prefix(12)))")
        }
        out.append("logits          \(logitsChecked) checked, max |Δ| \(String(format: "%.3g", maxAbsError)), mean |Δ| \(String(format: "%.3g", meanAbsError))")
        out.append("ranking         \(queries) queries: Spearman \(f(spearman)), top-1 \(f(top1Agreement)), NDCG@10 \(f(ndcg10))")
        out.append(passed ? "PASSED" : "FAILED: " + failures.joined(separator: "; "))
        return out
    }
}

/// How a file stores its projections, as the verifiers' defaults tell them apart.
public enum StorageType: Hashable, Sendable, CustomStringConvertible {
    case f32, f16, bf16
    case int8(ActivationScheme)

    /// From the quantization record, else from the dtype of the first projection.
    public init(_ header: SitoHeader) {
        if let q = header.quantization {
            switch q.type {
            case .int8: self = .int8(q.activations ?? .onePass)
            case .bf16: self = .bf16
            }
            return
        }
        switch header.tensors.first(where: { $0.name == "layers.0.attn.q.weight" })?.dtype {
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .i8: self = .int8(.onePass)
        case .f32, .u8, nil: self = .f32
        }
    }

    /// f32, f16, bf16, int8, or int8-2pass: what reports print.
    public var description: String {
        switch self {
        case .f32: return "f32"
        case .f16: return "f16"
        case .bf16: return "bf16"
        case .int8(.onePass): return "int8"
        case .int8(.twoPass): return "int8-2pass"
        }
    }
}

public enum Verifier {
    /// The storage type of a file, for choosing default tolerances.
    public static func storageType(_ header: SitoHeader) -> StorageType { StorageType(header) }

    /// Runs every case of `golden` through `reranker`.
    public static func verify(_ reranker: Reranker, golden: GoldenFile, goldenPath: String, tolerance: Tolerance? = nil) throws -> VerifyReport {
        let start = Date()
        let type = storageType(reranker.header)
        let tol = tolerance ?? Tolerance.defaults(for: type)
        try golden.check(against: reranker.header, file: reranker.file.path, goldenPath: goldenPath)
        var tokens = TokenCheck()
        // Sequences to run: Sito's own ids and token types for text cases, the reference's otherwise.
        var sequences: [[Int32]] = []
        var sequenceTypes: [[Int32]] = []
        var runIndex: [Int: Int] = [:]
        for (i, c) in golden.cases.enumerated() {
            var ids: [Int32]
            var types: [Int32]
            if let q = c.query, let d = c.document {
                let encoding = try reranker.encode(query: q, document: d)
                ids = encoding.ids
                types = encoding.typeIds
                if let expected = c.inputIds {
                    tokens.compare(case: i, expected: expected, actual: ids, expectedTypes: c.tokenTypeIds, actualTypes: types)
                }
            } else if let expected = c.inputIds {
                ids = expected
                types = c.tokenTypeIds ?? [Int32](repeating: 0, count: ids.count)
            } else {
                continue
            }
            if c.logits != nil {
                runIndex[i] = sequences.count
                sequences.append(ids)
                sequenceTypes.append(types)
            }
        }
        let outputs = try reranker.logits(inputIds: sequences, typeIds: sequenceTypes)
        var maxErr = 0.0, sumErr = 0.0, count = 0
        var worst: Int?
        var groups: [String: [(ref: Double, got: Double)]] = [:]
        var groupOrder: [String] = []
        var nonFinite: [Int] = []
        for (i, c) in golden.cases.enumerated() {
            guard let ref = c.logits, let r = runIndex[i] else { continue }
            let got = outputs[r]
            guard got.count == ref.count else {
                throw GoldenError.invalid(path: goldenPath, reason: "case \(i) has \(ref.count) logits; the model outputs \(got.count)")
            }
            // A non-finite output is an infinite error: NaN must never slip through a comparison.
            if got.contains(where: { !$0.isFinite }) { nonFinite.append(i) }
            for (a, b) in zip(ref, got) {
                let e = b.isFinite ? Double(abs(a - b)) : .infinity
                if worst == nil || e > maxErr {
                    maxErr = e
                    worst = i
                }
                sumErr += e
                count += 1
            }
            if let q = c.query {
                if groups[q] == nil { groupOrder.append(q) }
                groups[q, default: []].append((Double(ref[ref.count - 1]), Double(got[got.count - 1])))
            }
        }
        var rhos: [Double] = [], tops: [Double] = [], ndcgs: [Double] = []
        for q in groupOrder {
            let g = groups[q]!
            guard g.count >= 2, Set(g.map(\.ref)).count > 1, g.allSatisfy({ $0.got.isFinite }) else { continue }
            rhos.append(spearman(g.map(\.ref), g.map(\.got)))
            tops.append(argmax(g.map(\.ref)) == argmax(g.map(\.got)) ? 1 : 0)
            ndcgs.append(ndcg10(reference: g.map(\.ref), candidate: g.map(\.got)))
        }
        func mean(_ xs: [Double]) -> Double? { xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count) }
        var report = VerifyReport(
            file: reranker.file.path, golden: goldenPath, dtype: type.description, cases: golden.cases.count,
            tokenChecked: tokens.checked, tokenMismatches: tokens.mismatches, firstMismatches: tokens.first,
            logitsChecked: count, maxAbsError: maxErr, meanAbsError: count > 0 ? sumErr / Double(count) : 0,
            worstCase: worst, queries: rhos.count, spearman: mean(rhos), top1Agreement: mean(tops), ndcg10: mean(ndcgs),
            tolerance: tol, passed: true, failures: [], seconds: 0)
        if !nonFinite.isEmpty {
            report.failures.append("\(nonFinite.count) cases with NaN or infinite logits (first: case \(nonFinite[0]))")
        }
        if tokens.mismatches > tol.maxTokenMismatches {
            report.failures.append("\(tokens.mismatches) token mismatches (allowed \(tol.maxTokenMismatches))")
        }
        if let limit = tol.maxAbsError, maxErr > Double(limit) {
            report.failures.append(String(format: "max |Δlogit| %.3g exceeds %.3g (case %d)", maxErr, Double(limit), worst ?? -1))
        }
        if let limit = tol.minSpearman, let s = report.spearman, s < limit {
            report.failures.append(String(format: "mean Spearman %.4f below %.4f", s, limit))
        }
        if let limit = tol.minTop1Agreement, let t = report.top1Agreement, t < limit {
            report.failures.append(String(format: "top-1 agreement %.3f below %.3f", t, limit))
        }
        report.passed = report.failures.isEmpty
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    static func argmax(_ xs: [Double]) -> Int {
        xs.indices.max { xs[$0] < xs[$1] || (xs[$0] == xs[$1] && $0 > $1) } ?? 0
    }

    /// Ranks 1…n with ties given their average rank.
    static func ranks(_ xs: [Double]) -> [Double] {
        let order = xs.indices.sorted { xs[$0] < xs[$1] }
        var r = [Double](repeating: 0, count: xs.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && xs[order[j + 1]] == xs[order[i]] { j += 1 }
            let avg = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = avg }
            i = j + 1
        }
        return r
    }

    /// Spearman's ρ: Pearson correlation of the ranks. 1 when the candidate is constant and so is the reference.
    public static func spearman(_ a: [Double], _ b: [Double]) -> Double {
        let ra = ranks(a), rb = ranks(b)
        let n = Double(a.count)
        let ma = ra.reduce(0, +) / n, mb = rb.reduce(0, +) / n
        var cov = 0.0, va = 0.0, vb = 0.0
        for i in 0..<a.count {
            cov += (ra[i] - ma) * (rb[i] - mb)
            va += (ra[i] - ma) * (ra[i] - ma)
            vb += (rb[i] - mb) * (rb[i] - mb)
        }
        if va == 0 || vb == 0 { return va == vb ? 1 : 0 }
        return cov / (va * vb).squareRoot()
    }

    /// NDCG@10 of the candidate order against graded relevance from the reference order.
    public static func ndcg10(reference: [Double], candidate: [Double]) -> Double {
        let refOrder = reference.indices.sorted { reference[$0] > reference[$1] }
        var rel = [Double](repeating: 0, count: reference.count)
        for (rank, i) in refOrder.enumerated() { rel[i] = Double(max(0, 10 - rank)) }
        func dcg(_ order: [Int]) -> Double {
            order.prefix(10).enumerated().reduce(0) { $0 + (pow(2, rel[$1.element]) - 1) / log2(Double($1.offset) + 2) }
        }
        let ideal = dcg(refOrder)
        let got = dcg(candidate.indices.sorted { candidate[$0] > candidate[$1] })
        return ideal > 0 ? got / ideal : 1
    }
}
