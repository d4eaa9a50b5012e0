// EmbeddingVerifier.swift: sito-verify for embedding models: single-text golden cases
// {"text", "input_ids", "embedding"} (formats/golden.md).
//
// Metrics:
//   token_mismatches       cases whose Sito ids differ from the reference ids
//   min_cosine/mean_cosine cosine between Sito's and the reference embedding, over the cases with one
//   retrieval_top1         each case's text as a query over all the others, ranked by cosine: share of
//                          queries whose nearest neighbour is the same with Sito's and the reference's vectors
//   retrieval_ndcg10       mean NDCG@10 of Sito's neighbour order against the reference order (Verifier.ndcg10)
import Foundation
import Sito

public struct EmbeddingTolerance: Codable, Sendable, Equatable {
    public var minCosine: Double
    public var maxTokenMismatches: Int
    public var minRetrievalTop1: Double?

    enum CodingKeys: String, CodingKey {
        case minCosine = "min_cosine", maxTokenMismatches = "max_token_mismatches", minRetrievalTop1 = "min_retrieval_top1"
    }

    public init(minCosine: Double, maxTokenMismatches: Int = 0, minRetrievalTop1: Double? = nil) {
        self.minCosine = minCosine
        self.maxTokenMismatches = maxTokenMismatches
        self.minRetrievalTop1 = minRetrievalTop1
    }

    /// Defaults per storage type, set from all-MiniLM-L6-v2 on its 530-sentence golden (README, "Real
    /// trained weights"; measured min cosine / top-1: bf16 0.99997 / 0.996, int8-2pass 0.9964 / 0.981,
    /// int8 0.9838 / 0.919), each a little below the measurement.
    public static func defaults(for type: StorageType) -> EmbeddingTolerance {
        switch type {
        case .f32: return EmbeddingTolerance(minCosine: 0.99999)
        case .f16, .bf16: return EmbeddingTolerance(minCosine: 0.9999, minRetrievalTop1: 0.98)
        case .int8(.twoPass): return EmbeddingTolerance(minCosine: 0.995, minRetrievalTop1: 0.97)
        case .int8(.onePass): return EmbeddingTolerance(minCosine: 0.98, minRetrievalTop1: 0.9)
        }
    }
}

public struct EmbeddingVerifyReport: Codable, Sendable {
    public var file: String
    public var golden: String
    public var dtype: String
    public var cases: Int
    public var tokenChecked: Int
    public var tokenMismatches: Int
    public var firstMismatches: [TokenMismatch]
    public var embeddingsChecked: Int
    public var minCosine: Double
    public var meanCosine: Double
    public var worstCase: Int?
    public var retrievalTop1: Double?
    public var retrievalNdcg10: Double?
    public var tolerance: EmbeddingTolerance
    public var passed: Bool
    public var failures: [String]
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case file, golden, dtype, cases, tokenChecked = "token_checked", tokenMismatches = "token_mismatches"
        case firstMismatches = "first_mismatches", embeddingsChecked = "embeddings_checked"
        case minCosine = "min_cosine", meanCosine = "mean_cosine", worstCase = "worst_case"
        case retrievalTop1 = "retrieval_top1", retrievalNdcg10 = "retrieval_ndcg10"
        case tolerance, passed, failures, seconds
    }
}

extension EmbeddingVerifyReport: VerificationReport {
    public var lines: [String] {
        func f(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "–" }
        var out = ["file            \(file) (\(dtype), embedding)",
                   "golden          \(golden): \(cases) cases",
                   "tokens          \(tokenMismatches) mismatches in \(tokenChecked) checked"]
        for m in firstMismatches {
            out.append("  case \(m.caseIndex) from token \(m.firstDifference): reference \(Array(m.expected.prefix(16))) sito \(Array(m.actual.prefix(16)))")
        }
        out.append("embeddings      \(embeddingsChecked) checked, cosine min \(String(format: "%.6f", minCosine)), mean \(String(format: "%.6f", meanCosine))")
        out.append("retrieval       top-1 agreement \(f(retrievalTop1)), NDCG@10 \(f(retrievalNdcg10))")
        out.append(passed ? "PASSED" : "FAILED: " + failures.joined(separator: "; "))
        return out
    }
}

public enum EmbeddingVerifier {
    public static func verify(_ embedder: Embedder, golden: GoldenFile, goldenPath: String,
                              tolerance: EmbeddingTolerance? = nil) throws -> EmbeddingVerifyReport {
        let start = Date()
        let type = Verifier.storageType(embedder.header)
        let tol = tolerance ?? EmbeddingTolerance.defaults(for: type)
        try golden.check(against: embedder.header, file: embedder.file.path, goldenPath: goldenPath)
        var tokens = TokenCheck()
        var sequences: [[Int32]] = []
        var caseOf: [Int] = []
        for (i, c) in golden.cases.enumerated() {
            var ids: [Int32]
            if let text = c.text {
                ids = try embedder.encode(text).ids
                if let expected = c.inputIds { tokens.compare(case: i, expected: expected, actual: ids) }
            } else if let expected = c.inputIds {
                ids = expected
            } else {
                throw GoldenError.invalid(path: goldenPath, reason: "case \(i) is a query/document pair, but \(embedder.file.path) is an embedding model")
            }
            if c.embedding != nil {
                sequences.append(ids)
                caseOf.append(i)
            }
        }
        let got = try embedder.embed(inputIds: sequences)
        var reference: [[Float]] = []
        var minCos = 1.0, sumCos = 0.0
        var worst: Int?
        for (k, i) in caseOf.enumerated() {
            let ref = golden.cases[i].embedding!
            guard ref.count == got[k].count else {
                throw GoldenError.invalid(path: goldenPath, reason: "case \(i) has a \(ref.count)-dimensional embedding; the model gives \(got[k].count)")
            }
            reference.append(ref)
            // A NaN cosine (non-finite embedding) counts as the worst possible, -1.
            let cos = Double(Embedder.cosine(ref, got[k]))
            let c = cos.isFinite ? cos : -1
            if worst == nil || c < minCos {
                minCos = c
                worst = i
            }
            sumCos += c
        }
        var report = EmbeddingVerifyReport(
            file: embedder.file.path, golden: goldenPath, dtype: type.description, cases: golden.cases.count, tokenChecked: tokens.checked,
            tokenMismatches: tokens.mismatches, firstMismatches: tokens.first, embeddingsChecked: caseOf.count,
            minCosine: caseOf.isEmpty ? 0 : minCos, meanCosine: caseOf.isEmpty ? 0 : sumCos / Double(caseOf.count), worstCase: worst,
            retrievalTop1: nil, retrievalNdcg10: nil, tolerance: tol, passed: true, failures: [], seconds: 0)
        if reference.count >= 3 && got.allSatisfy({ $0.allSatisfy(\.isFinite) }) {
            let agreement = retrievalAgreement(reference: reference, candidate: got)
            report.retrievalTop1 = agreement.top1
            report.retrievalNdcg10 = agreement.ndcg10
        }
        if tokens.mismatches > tol.maxTokenMismatches {
            report.failures.append("\(tokens.mismatches) token mismatches (allowed \(tol.maxTokenMismatches))")
        }
        if report.minCosine < tol.minCosine {
            report.failures.append(String(format: "min cosine %.6f below %.6f (case %d)", report.minCosine, tol.minCosine, worst ?? -1))
        }
        if let limit = tol.minRetrievalTop1, let t = report.retrievalTop1, t < limit {
            report.failures.append(String(format: "retrieval top-1 agreement %.3f below %.3f", t, limit))
        }
        report.passed = report.failures.isEmpty
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// Each vector as a query over all the others (cosine): how often the nearest neighbour agrees, and
    /// the mean NDCG@10 of the candidate's neighbour order against the reference's.
    public static func retrievalAgreement(reference: [[Float]], candidate: [[Float]]) -> (top1: Double, ndcg10: Double) {
        func normalized(_ vs: [[Float]]) -> [[Float]] {
            vs.map { v in
                let n = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                return v.map { $0 / n }
            }
        }
        let r = normalized(reference), c = normalized(candidate)
        let n = r.count
        var top1 = 0.0, ndcg = 0.0
        for q in 0..<n {
            var refScores: [Double] = [], candScores: [Double] = []
            for j in 0..<n where j != q {
                var a: Float = 0, b: Float = 0
                for k in 0..<r[q].count {
                    a += r[q][k] * r[j][k]
                    b += c[q][k] * c[j][k]
                }
                refScores.append(Double(a))
                candScores.append(Double(b))
            }
            top1 += Verifier.argmax(refScores) == Verifier.argmax(candScores) ? 1 : 0
            ndcg += Verifier.ndcg10(reference: refScores, candidate: candScores)
        }
        return (top1 / Double(n), ndcg / Double(n))
    }
}
