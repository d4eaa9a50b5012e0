// Vocabulary.swift: the closed sets of words a `.sito` header uses (formats/sito.md, "Header";
// formats/tokenization.md; formats/quantization.md), one string-backed enum each. The raw values are the
// file's exact spellings. A value a reader does not know fails to decode; `SitoFile` turns that into a
// `badMetadata` error naming the field, the value and the values it knows.

/// A word of the header's vocabulary: prints as its raw value (the file's spelling), so messages read
/// the same as the file.
public protocol HeaderVocabulary: RawRepresentable, CaseIterable, Codable, Sendable, Hashable,
    CustomStringConvertible where RawValue == String {}

extension HeaderVocabulary {
    public var description: String { rawValue }

    /// "a, b or c": the known values, for messages.
    public static var knownValues: String {
        let all = allCases.map(\.rawValue)
        guard all.count > 1 else { return all.joined() }
        return all.dropLast().joined(separator: ", ") + " or " + all.last!
    }
}

/// `architecture`: the encoder family.
public enum Architecture: String, HeaderVocabulary {
    case xlmRoberta = "xlm-roberta"
    case bert
}

/// `task`: what the model's output is.
public enum ModelTask: String, HeaderVocabulary {
    /// A cross-encoder: logits for a query–document pair (a reranker).
    case sequenceClassification = "sequence-classification"
    /// A bi-encoder: one pooled vector per text.
    case embedding
}

/// `model.activation`: the feed-forward activation (exact erf GELU is the only one).
public enum Activation: String, HeaderVocabulary {
    case gelu
}

/// `model.head`: what sits on the encoder's output.
public enum ClassifierHead: String, HeaderVocabulary {
    /// RoBERTa classification head: dense + tanh on the first token, then out_proj.
    case roberta
    /// BERT pooler (dense + tanh on [CLS]) then out_proj.
    case bertPooler = "bert-pooler"
    /// No head (embedding models).
    case none
}

/// `model.output_activation`: how logits become probabilities.
public enum OutputActivation: String, HeaderVocabulary {
    case sigmoid, softmax, none
}

/// `model.pooling`: how an embedding model turns token states into one vector.
public enum Pooling: String, HeaderVocabulary {
    case mean, cls, none
}

/// `input.recipe`: how texts become one sequence (formats/tokenization.md).
public enum RecipeKind: String, HeaderVocabulary {
    /// `query + separator + document` tokenized as one text (XLM-R rerankers).
    case joinedPair = "joined-pair"
    /// Two segments with token types 0 and 1 (BERT cross-encoders).
    case pair
    /// One text (embedding models).
    case single
}

/// `input.truncation` (formats/tokenization.md, "Truncation").
public enum Truncation: String, HeaderVocabulary {
    case right
    case longestFirst = "longest-first"
}

/// `tokenizer.kind`.
public enum TokenizerKind: String, HeaderVocabulary {
    case sentencepiece, wordpiece
    /// Byte-level BPE (GPT-2 / RoBERTa; formats/tokenization.md, "Byte-level BPE").
    case bpe
}

/// `tokenizer.whitespace` (formats/tokenization.md, "Whitespace"): the first three are SentencePiece's
/// rules for turning whitespace into "▁", `bert` is WordPiece's, `byte-level` byte-level BPE's (the GPT-2
/// pre-tokenizer regex, bytes mapped to GPT-2's alphabet).
public enum WhitespaceRule: String, HeaderVocabulary {
    case whitespaceSplit = "whitespace-split"
    case metaspaceCollapse = "metaspace-collapse"
    case metaspace
    case bert
    case byteLevel = "byte-level"
}

/// `quantization.type`: what `sito-quantize` stored the projections as.
public enum QuantizationType: String, HeaderVocabulary {
    case int8, bf16
}

/// How int8 GEMMs quantize each activation row (formats/quantization.md, "Two-pass activations"). In the
/// header: `quantization.activation_passes`, 1 or 2 (absent means 1).
public enum ActivationScheme: Int, Codable, Sendable, Hashable, CaseIterable {
    /// Per-token int8: one int8 GEMM per projection.
    case onePass = 1
    /// Per-token int8 plus the int8 quantization of its residual: two int8 GEMMs per projection, for
    /// trained models whose activations have outlier channels.
    case twoPass = 2
}

/// How one projection of an int8 file is stored and run (formats/quantization.md, "Per-projection
/// plans"). In the header: `quantization.plan`, {projection name: scheme}; a projection without an entry
/// follows the file's `type` and `activation_passes`. The cases are in order of accuracy (the int8 weights
/// are the same bytes in the three int8 schemes); what each costs depends on the CPU (the cost model of
/// `sito-quantize --calibrate`).
public enum ProjectionScheme: String, HeaderVocabulary, Comparable {
    /// int8 weights, one int8 activation pass per token.
    case int8
    /// int8 weights, two int8 activation passes (the row, then its residual).
    case int8TwoPass = "int8-two-pass"
    /// int8 weights, activations quantized per token to 16-bit integers (at most `sito_a16_levels(K)`
    /// levels each side, so that the int32 sums stay exact).
    case int8A16 = "int8-a16"
    /// bf16 weights, activations rounded to bf16.
    case bf16

    /// The dtype of the projection's weight matrix.
    public var weightDType: DType { self == .bf16 ? .bf16 : .i8 }

    /// The activation passes a reader that knows no plans should run this projection with
    /// (`activation_passes`): the two-pass scheme for the two int8 schemes more accurate than one pass.
    public var activations: ActivationScheme? {
        switch self {
        case .int8: return .onePass
        case .int8TwoPass, .int8A16: return .twoPass
        case .bf16: return nil
        }
    }

    public static func < (a: ProjectionScheme, b: ProjectionScheme) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// The kind of CPU a calibrated plan's costs are estimated for (`quantization.calibration.cost_model`;
/// the costs themselves: SitoTools' Calibration.swift and formats/quantization.md, "Cost model").
public enum CostModel: String, HeaderVocabulary {
    /// x86-64 with AVX2 and without AVX-512 VNNI.
    case avx2
    /// x86-64 with AVX-512 VNNI.
    case avx512vnni = "avx512-vnni"
    /// aarch64 with the dot-product instructions.
    case neonDotprod = "neon-dotprod"
}

/// The header fields that hold a word of a vocabulary, by their JSON path (`model.pooling`), with the
/// values each field knows.
let headerVocabularies: [String: String] = [
    "architecture": Architecture.knownValues,
    "task": ModelTask.knownValues,
    "model.activation": Activation.knownValues,
    "model.head": ClassifierHead.knownValues,
    "model.output_activation": OutputActivation.knownValues,
    "quantization.calibration.cost_model": CostModel.knownValues,
    "model.pooling": Pooling.knownValues,
    "input.recipe": RecipeKind.knownValues,
    "input.truncation": Truncation.knownValues,
    "tokenizer.kind": TokenizerKind.knownValues,
    "tokenizer.whitespace": WhitespaceRule.knownValues,
    "quantization.type": QuantizationType.knownValues,
    "quantization.activation_passes": "1 or 2",
]
