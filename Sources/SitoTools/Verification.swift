// Verification.swift: what sito-verify does for either kind of model, in one path — open the file once,
// check its embedded tokenizer, check that the golden is for this model at all (kind, tokenizer, input
// recipe, maximum length, vocabulary, output size) and has something to check, apply the thresholds,
// run the kind's verifier (Verifier: logits and ranking; EmbeddingVerifier: cosine and retrieval), and
// hand back a report that says passed or not. Exit codes (ToolExit): 0 passed, 1 a check that ran and
// failed, 2 bad input — a golden for another model and a golden with nothing to check included.
import Foundation
import Sito
import SitoFormat

public enum VerifyError: Error, LocalizedError, Equatable, Sendable {
    /// The golden was made for another model: `reason` says what differs.
    case goldenMismatch(golden: String, file: String, reason: String)
    /// No case would be checked: `reason` says why.
    case nothingToVerify(golden: String, reason: String)
    /// A threshold option for the other kind of model.
    case thresholdNotApplicable(option: String, file: String, task: ModelTask)
    /// A threshold no result can meet.
    case impossibleThreshold(option: String, value: Double, valid: String)

    public var errorDescription: String? {
        switch self {
        case let .goldenMismatch(golden, file, reason):
            return "\(golden): not a golden for \(file): \(reason)"
        case let .nothingToVerify(golden, reason):
            return "\(golden): nothing to verify: \(reason)"
        case let .thresholdNotApplicable(option, file, task):
            let other: ModelTask = task == .embedding ? .sequenceClassification : .embedding
            return "\(option) applies to \(other == .embedding ? "embedding models" : "rerankers"); \(file) is \(task.described)"
        case let .impossibleThreshold(option, value, valid):
            return "\(option) must be \(valid), not \(value)"
        }
    }
}

/// sito-verify's threshold options: the flag, the values a result can meet, and the kind of model each
/// applies to.
public enum VerifyThreshold: String, CaseIterable, Sendable {
    case maxAbsError = "--max-abs-error"
    case minSpearman = "--min-spearman"
    case minTop1 = "--min-top1"
    case maxTokenMismatches = "--max-token-mismatches"
    case minCosine = "--min-cosine"

    /// The values that can be met: |Δ| ≥ 0 and finite, Spearman and cosine in [-1, 1], agreement in [0, 1].
    public var valid: ClosedRange<Double> {
        switch self {
        case .maxAbsError: return 0...Double(Float.greatestFiniteMagnitude)
        case .minSpearman, .minCosine: return -1...1
        case .minTop1: return 0...1
        case .maxTokenMismatches: return 0...Double(Int.max)
        }
    }

    var validText: String {
        switch self {
        case .maxAbsError: return "a finite number ≥ 0"
        case .minSpearman, .minCosine: return "between -1 and 1"
        case .minTop1: return "between 0 and 1"
        case .maxTokenMismatches: return "a count ≥ 0"
        }
    }

    public var appliesTo: Set<ModelTask> {
        switch self {
        case .maxAbsError, .minSpearman: return [.sequenceClassification]
        case .minCosine: return [.embedding]
        case .minTop1, .maxTokenMismatches: return [.sequenceClassification, .embedding]
        }
    }
}

/// The thresholds a user set, over the defaults for the file's storage type.
public struct ToleranceOverrides: Sendable, Equatable {
    public var maxAbsError: Float?
    public var minSpearman: Double?
    public var minTop1: Double?
    public var maxTokenMismatches: Int?
    public var minCosine: Double?

    public init(maxAbsError: Float? = nil, minSpearman: Double? = nil, minTop1: Double? = nil, maxTokenMismatches: Int? = nil,
                minCosine: Double? = nil) {
        self.maxAbsError = maxAbsError
        self.minSpearman = minSpearman
        self.minTop1 = minTop1
        self.maxTokenMismatches = maxTokenMismatches
        self.minCosine = minCosine
    }

    /// The options set, with their values.
    public var given: [(VerifyThreshold, Double)] {
        var out: [(VerifyThreshold, Double)] = []
        if let v = maxAbsError { out.append((.maxAbsError, Double(v))) }
        if let v = minSpearman { out.append((.minSpearman, v)) }
        if let v = minTop1 { out.append((.minTop1, v)) }
        if let v = maxTokenMismatches { out.append((.maxTokenMismatches, Double(v))) }
        if let v = minCosine { out.append((.minCosine, v)) }
        return out
    }

    /// Refuses a threshold no result can meet (NaN, infinite, outside the metric's range).
    public func validate() throws {
        for (option, value) in given where !(value.isFinite && option.valid.contains(value)) {
            throw VerifyError.impossibleThreshold(option: option.rawValue, value: value, valid: option.validText)
        }
    }

    /// Refuses an option that would be ignored for this kind of model.
    public func check(applicableTo task: ModelTask, file: String) throws {
        for (option, _) in given where !option.appliesTo.contains(task) {
            throw VerifyError.thresholdNotApplicable(option: option.rawValue, file: file, task: task)
        }
    }

    public func apply(to t: inout Tolerance) {
        if let v = maxAbsError { t.maxAbsError = v }
        if let v = minSpearman { t.minSpearman = v }
        if let v = minTop1 { t.minTop1Agreement = v }
        if let v = maxTokenMismatches { t.maxTokenMismatches = v }
    }

    public func apply(to t: inout EmbeddingTolerance) {
        if let v = minCosine { t.minCosine = v }
        if let v = minTop1 { t.minRetrievalTop1 = v }
        if let v = maxTokenMismatches { t.maxTokenMismatches = v }
    }
}

/// What sito-verify prints and decides from, for either kind of model.
public protocol VerificationReport: Encodable, Sendable {
    var passed: Bool { get }
    var failures: [String] { get }
    /// The human-readable report, line by line; the last line is PASSED or FAILED: ….
    var lines: [String] { get }
}

/// Token-id comparison of golden cases, shared by both verifiers: how many were compared, how many
/// differ, and the first five differences.
struct TokenCheck {
    var checked = 0
    var mismatches = 0
    var first: [TokenMismatch] = []

    /// Compares case `index`'s reference ids (and token types, when recorded) with Sito's.
    mutating func compare(case index: Int, expected: [Int32], actual: [Int32], expectedTypes: [Int32]? = nil, actualTypes: [Int32] = []) {
        checked += 1
        guard expected != actual || (expectedTypes.map { $0 != actualTypes } ?? false) else { return }
        mismatches += 1
        if first.count < 5 {
            // Same ids, other token types: report the type ids.
            let (e, a) = expected != actual ? (expected, actual) : (expectedTypes!, actualTypes)
            first.append(TokenMismatch(caseIndex: index, expected: e, actual: a))
        }
    }
}

extension GoldenFile {
    /// Throws unless this golden was made for a model like the one `header` describes, and has at least
    /// one case that the file's kind of model checks. Compared where the golden records it: the kind of
    /// model (task), the reference tokenizer's kind, how text becomes ids (recipe template), pooling and
    /// normalization, the maximum length, every id against the vocabulary, the first id of every tokenized
    /// case against the file's first special token, the number of logits and the embedding dimension.
    public func check(against header: SitoHeader, file: String, goldenPath: String) throws {
        func mismatch(_ reason: String) -> VerifyError { .goldenMismatch(golden: goldenPath, file: file, reason: reason) }
        let fileTask = header.task
        let goldenTask = modelTask
        guard goldenTask == fileTask else {
            throw mismatch("golden is for \(goldenTask.described); \(file) is \(fileTask.described)")
        }
        if let cls = reference?.tokenizerClass, let kind = GoldenFile.tokenizerKind(ofClass: cls), kind != header.tokenizer.kind {
            throw mismatch("golden's reference tokenizer is \(cls) (\(kind)); \(file) has a \(header.tokenizer.kind) tokenizer")
        }
        if let template = recipe?.template {
            let own: String
            switch header.input.recipe {
            case .joinedPair: own = "{query}\(header.input.separator ?? "")" + "{document}"
            case .pair: own = "pair"
            case .single: own = "{text}"
            }
            if template != own {
                throw mismatch("golden joins query and document as \"\(template)\"; \(file) uses the recipe \(header.input.recipe)"
                               + (header.input.recipe == .joinedPair ? " \"\(own)\"" : ""))
            }
        }
        if goldenTask == .embedding {
            if let pooling = recipe?.pooling, pooling != header.model.pooling.rawValue {
                throw mismatch("golden's pooling is \(pooling); \(file) pools \(header.model.pooling)")
            }
            if let normalize = recipe?.normalize, normalize != header.model.normalize {
                throw mismatch(normalize ? "golden's embeddings are L2-normalized; \(file) does not normalize"
                                         : "golden's embeddings are not normalized; \(file) normalizes")
            }
        }
        if let length = maxLength, length > header.input.maxLength {
            throw mismatch("golden was made with max_length \(length); \(file) takes at most \(header.input.maxLength) tokens")
        }
        let vocab = header.model.vocab
        let firstSpecial = header.tokenizer.specials.bos ?? header.tokenizer.specials.cls
        for (i, c) in cases.enumerated() {
            if let ids = c.inputIds {
                if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocab }) {
                    throw mismatch("golden case \(i) has token id \(bad); \(file) has a vocabulary of \(vocab) ids")
                }
                let tokenized = (c.query != nil && c.document != nil) || c.text != nil
                if tokenized, let first = firstSpecial, let got = ids.first, Int(got) != first {
                    throw mismatch("golden case \(i) starts with id \(got); \(file) starts every sequence with id \(first)")
                }
            }
            if goldenTask == .sequenceClassification, let logits = c.logits, logits.count != header.model.numLabels {
                throw mismatch("golden case \(i) has \(logits.count) logits; \(file) outputs \(header.model.numLabels)")
            }
            if goldenTask == .embedding, let e = c.embedding, e.count != header.model.hidden {
                throw mismatch("golden case \(i) has a \(e.count)-dimensional embedding; \(file) gives \(header.model.hidden)")
            }
        }
        // Something to check: a tokenization or an output.
        guard !cases.isEmpty else { throw VerifyError.nothingToVerify(golden: goldenPath, reason: "the golden has no cases") }
        let checked = cases.filter { c in
            let pair = c.query != nil && c.document != nil
            switch goldenTask {
            case .sequenceClassification: return (pair && c.inputIds != nil) || (c.logits != nil && (pair || c.inputIds != nil))
            case .embedding: return (c.text != nil && c.inputIds != nil) || (c.embedding != nil && (c.text != nil || c.inputIds != nil))
            }
        }
        guard !checked.isEmpty else {
            let what = goldenTask == .sequenceClassification
                ? "a reranker checks query/document pairs (their token ids and logits) and input_ids with logits"
                : "an embedding model checks texts (their token ids and embedding) and input_ids with an embedding"
            throw VerifyError.nothingToVerify(golden: goldenPath, reason: "all \(cases.count) cases were skipped: \(what), and no case has them")
        }
    }

    /// The tokenizer kind (`sentencepiece`, `wordpiece`) of a transformers tokenizer class; nil for a class
    /// Sito does not know.
    static func tokenizerKind(ofClass name: String) -> TokenizerKind? {
        let base = name.hasSuffix("Fast") ? String(name.dropLast(4)) : name
        switch base {
        case "XLMRobertaTokenizer": return .sentencepiece
        case "BertTokenizer", "DistilBertTokenizer", "MPNetTokenizer": return .wordpiece
        default: return nil
        }
    }
}

public enum GoldenVerification {
    /// sito-verify: opens `file` once, checks its embedded SentencePiece model with libsentencepiece,
    /// loads the golden, refuses thresholds of the other kind and goldens for another model or with
    /// nothing to check (all bad input), then verifies with the file's defaults overridden by `overrides`.
    public static func run(file: String, goldenPath: String, overrides: ToleranceOverrides = ToleranceOverrides(),
                           verifyChecksums: Bool = false, attention: AttentionPrecision = .automatic) throws -> any VerificationReport {
        try overrides.validate()
        let sito = try SitoFile(contentsOf: URL(fileURLWithPath: file), options: SitoOpenOptions(verifyChecksums: verifyChecksums))
        // The runtime reads the tokenizer alone; libsentencepiece must agree with it (SentencePieceCheck.swift).
        try checkSentencePieceTokenizer(of: sito)
        let task = sito.header.task
        try overrides.check(applicableTo: task, file: file)
        let golden = try GoldenFile.load(path: goldenPath)
        try golden.check(against: sito.header, file: file, goldenPath: goldenPath)
        let options = ModelOptions(verifyChecksums: verifyChecksums, maxLength: golden.maxLength, attention: attention)
        let type = Verifier.storageType(sito.header)
        switch task {
        case .sequenceClassification:
            var tolerance = Tolerance.defaults(for: type)
            overrides.apply(to: &tolerance)
            return try Verifier.verify(try Reranker(file: sito, options: options), golden: golden, goldenPath: goldenPath, tolerance: tolerance)
        case .embedding:
            var tolerance = EmbeddingTolerance.defaults(for: type)
            overrides.apply(to: &tolerance)
            return try EmbeddingVerifier.verify(try Embedder(file: sito, options: options), golden: golden, goldenPath: goldenPath, tolerance: tolerance)
        }
    }
}
