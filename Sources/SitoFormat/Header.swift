// Header.swift: the JSON header of a `.sito` file as Swift types (formats/sito.md, "Header").
// These types must match formats/sito.md key for key; a reader ignores unknown keys.

/// The whole JSON header.
public struct SitoHeader: Codable, Sendable, Equatable {
    /// Format version, equal to the preamble's.
    public var sito: Int
    public var architecture: Architecture
    public var task: ModelTask
    public var model: ModelHyperparameters
    public var input: InputRecipe
    public var tokenizer: TokenizerInfo
    public var source: SourceInfo
    public var converter: ConverterInfo
    /// RFC 3339 UTC time of writing.
    public var created: String
    public var tensors: [TensorEntry]
    /// What `sito-quantize` did, or nil for a converter's output.
    public var quantization: QuantizationInfo?

    /// The lowest format version that describes these tensors: 2 if any uses a non-row-major layout.
    public var requiredVersion: Int {
        tensors.contains { $0.effectiveLayout != .rowMajor } ? 2 : 1
    }

    public init(sito: Int = SitoFormatVersion.current, architecture: Architecture, task: ModelTask,
                model: ModelHyperparameters, input: InputRecipe, tokenizer: TokenizerInfo,
                source: SourceInfo, converter: ConverterInfo, created: String,
                tensors: [TensorEntry], quantization: QuantizationInfo? = nil) {
        self.sito = sito
        self.architecture = architecture
        self.task = task
        self.model = model
        self.input = input
        self.tokenizer = tokenizer
        self.source = source
        self.converter = converter
        self.created = created
        self.tensors = tensors
        self.quantization = quantization
    }
}

/// Every hyperparameter the runtime needs. No defaults: a converter states them all.
public struct ModelHyperparameters: Codable, Sendable, Equatable {
    public var layers: Int
    public var hidden: Int
    public var heads: Int
    public var ffn: Int
    public var vocab: Int
    public var maxPositions: Int
    /// First position id: RoBERTa `pad_token_id + 1`, BERT 0.
    public var positionOffset: Int
    public var typeVocab: Int
    public var layerNormEps: Double
    /// Exact erf GELU is the only activation of format 1.
    public var activation: Activation
    public var numLabels: Int
    public var head: ClassifierHead
    public var outputActivation: OutputActivation
    public var pooling: Pooling
    public var normalize: Bool

    enum CodingKeys: String, CodingKey {
        case layers, hidden, heads, ffn, vocab
        case maxPositions = "max_positions", positionOffset = "position_offset", typeVocab = "type_vocab"
        case layerNormEps = "layer_norm_eps", activation, numLabels = "num_labels", head
        case outputActivation = "output_activation", pooling, normalize
    }

    public init(layers: Int, hidden: Int, heads: Int, ffn: Int, vocab: Int, maxPositions: Int,
                positionOffset: Int, typeVocab: Int, layerNormEps: Double, activation: Activation,
                numLabels: Int, head: ClassifierHead, outputActivation: OutputActivation, pooling: Pooling,
                normalize: Bool) {
        self.layers = layers
        self.hidden = hidden
        self.heads = heads
        self.ffn = ffn
        self.vocab = vocab
        self.maxPositions = maxPositions
        self.positionOffset = positionOffset
        self.typeVocab = typeVocab
        self.layerNormEps = layerNormEps
        self.activation = activation
        self.numLabels = numLabels
        self.head = head
        self.outputActivation = outputActivation
        self.pooling = pooling
        self.normalize = normalize
    }
}

/// How text becomes input ids (formats/tokenization.md).
public struct InputRecipe: Codable, Sendable, Equatable {
    public var recipe: RecipeKind
    /// `joined-pair` only: the text between query and document (XLM-R rerankers: `</s></s>`).
    public var separator: String?
    /// Tokens per sequence, special tokens included.
    public var maxLength: Int
    /// `right` for joined-pair and single, `longest-first` for pair (formats/tokenization.md, "Truncation").
    public var truncation: Truncation

    enum CodingKeys: String, CodingKey {
        case recipe, separator, maxLength = "max_length", truncation
    }

    public init(recipe: RecipeKind, separator: String?, maxLength: Int, truncation: Truncation) {
        self.recipe = recipe
        self.separator = separator
        self.maxLength = maxLength
        self.truncation = truncation
    }
}

/// A token that is split out of the text before the subword model sees it (Hugging Face "added tokens").
public struct AddedToken: Codable, Sendable, Equatable {
    public var content: String
    public var id: Int
    public var lstrip: Bool
    public var rstrip: Bool

    public init(content: String, id: Int, lstrip: Bool, rstrip: Bool) {
        self.content = content
        self.id = id
        self.lstrip = lstrip
        self.rstrip = rstrip
    }
}

/// Special token ids in the model's id space.
public struct SpecialIds: Codable, Sendable, Equatable {
    public var bos: Int?
    public var pad: Int
    public var eos: Int?
    public var unk: Int
    public var mask: Int?
    /// BERT `[CLS]` / `[SEP]`.
    public var cls: Int?
    public var sep: Int?

    public init(bos: Int? = nil, pad: Int, eos: Int? = nil, unk: Int, mask: Int? = nil, cls: Int? = nil, sep: Int? = nil) {
        self.bos = bos
        self.pad = pad
        self.eos = eos
        self.unk = unk
        self.mask = mask
        self.cls = cls
        self.sep = sep
    }
}

/// The tokenizer: which kind, where its bytes are, and how its ids map to the model's.
public struct TokenizerInfo: Codable, Sendable, Equatable {
    public var kind: TokenizerKind
    /// Name of the `u8` tensor holding the tokenizer's bytes.
    public var tensor: String
    /// Size of the model's id space (== model.vocab).
    public var modelVocab: Int
    /// model id = overrides[tokenizer id] ?? tokenizer id + idOffset.
    public var idOffset: Int
    /// `[[tokenizer id, model id], …]`.
    public var idOverrides: [[Int]]
    public var specials: SpecialIds
    public var addedTokens: [AddedToken]
    /// sentencepiece: `whitespace-split`, `metaspace-collapse` or `metaspace`; wordpiece: `bert`;
    /// bpe: `byte-level` (formats/tokenization.md, "Whitespace", "Byte-level BPE").
    public var whitespace: WhitespaceRule
    /// WordPiece options; nil for SentencePiece.
    public var wordpiece: WordPieceOptions?
    /// Byte-level BPE options; nil for the other kinds.
    public var bpe: BPEOptions?

    enum CodingKeys: String, CodingKey {
        case kind, tensor, modelVocab = "model_vocab", idOffset = "id_offset", idOverrides = "id_overrides"
        case specials, addedTokens = "added_tokens", whitespace, wordpiece, bpe
    }

    public init(kind: TokenizerKind, tensor: String, modelVocab: Int, idOffset: Int, idOverrides: [[Int]],
                specials: SpecialIds, addedTokens: [AddedToken], whitespace: WhitespaceRule, wordpiece: WordPieceOptions? = nil,
                bpe: BPEOptions? = nil) {
        self.kind = kind
        self.tensor = tensor
        self.modelVocab = modelVocab
        self.idOffset = idOffset
        self.idOverrides = idOverrides
        self.specials = specials
        self.addedTokens = addedTokens
        self.whitespace = whitespace
        self.wordpiece = wordpiece
        self.bpe = bpe
    }
}

/// Byte-level BPE configuration (Hugging Face `ByteLevel` pre-tokenizer + `BPE` model; GPT-2 / RoBERTa).
public struct BPEOptions: Codable, Sendable, Equatable {
    /// ByteLevel `add_prefix_space`: a segment not starting with U+0020 gets one prepended (RoBERTa: false).
    public var addPrefixSpace: Bool
    /// BPE `ignore_merges`: a pre-token that is itself a vocabulary entry is one token, without merging.
    public var ignoreMerges: Bool

    enum CodingKeys: String, CodingKey {
        case addPrefixSpace = "add_prefix_space", ignoreMerges = "ignore_merges"
    }

    public init(addPrefixSpace: Bool, ignoreMerges: Bool) {
        self.addPrefixSpace = addPrefixSpace
        self.ignoreMerges = ignoreMerges
    }
}

/// BERT WordPiece configuration (Hugging Face `BertNormalizer` + `BertPreTokenizer` + `WordPiece`).
public struct WordPieceOptions: Codable, Sendable, Equatable {
    public var lowercase: Bool
    public var stripAccents: Bool
    public var cleanText: Bool
    public var handleChineseChars: Bool
    public var continuingSubwordPrefix: String
    public var maxInputCharsPerWord: Int

    enum CodingKeys: String, CodingKey {
        case lowercase, stripAccents = "strip_accents", cleanText = "clean_text"
        case handleChineseChars = "handle_chinese_chars", continuingSubwordPrefix = "continuing_subword_prefix"
        case maxInputCharsPerWord = "max_input_chars_per_word"
    }

    public init(lowercase: Bool, stripAccents: Bool, cleanText: Bool, handleChineseChars: Bool,
                continuingSubwordPrefix: String, maxInputCharsPerWord: Int) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }
}

/// Where the weights came from.
public struct SourceInfo: Codable, Sendable, Equatable {
    /// e.g. `sdadas/polish-reranker-bge-v2`, or the folder name.
    public var name: String
    /// A revision when the source folder states one (optional).
    public var revision: String?
    /// XXH64 of each source file, hex.
    public var filesXXH64: [String: String]

    enum CodingKeys: String, CodingKey {
        case name, revision, filesXXH64 = "files_xxh64"
    }

    public init(name: String, revision: String?, filesXXH64: [String: String]) {
        self.name = name
        self.revision = revision
        self.filesXXH64 = filesXXH64
    }
}

public struct ConverterInfo: Codable, Sendable, Equatable {
    public var name: String
    public var version: String

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

/// What `sito-quantize` did (formats/quantization.md).
public struct QuantizationInfo: Codable, Sendable, Equatable {
    public var type: QuantizationType
    /// Human-readable scheme, e.g. `int8 weights per row (step scale), int8 activations per token`.
    public var scheme: String
    /// Tensor-name patterns the user asked to keep in float.
    public var keepFloat: [String]
    public var tool: ConverterInfo
    /// int8 only: how each activation row is quantized (`activation_passes`: 1 or 2). Absent means one pass.
    public var activations: ActivationScheme?
    /// Per-projection schemes, by projection name (`layers.0.attn.q`, `pooler.dense`; the weight is
    /// `<name>.weight`). Absent, or a projection without an entry: `type` and `activations` decide.
    public var plan: [String: ProjectionScheme]?
    /// How `sito-quantize --calibrate` chose the plan and what it measured.
    public var calibration: CalibrationInfo?

    enum CodingKeys: String, CodingKey {
        case type, scheme, keepFloat = "keep_float", tool, activations = "activation_passes", plan, calibration
    }

    public init(type: QuantizationType, scheme: String, keepFloat: [String], tool: ConverterInfo,
                activations: ActivationScheme? = nil, plan: [String: ProjectionScheme]? = nil,
                calibration: CalibrationInfo? = nil) {
        self.type = type
        self.scheme = scheme
        self.keepFloat = keepFloat
        self.tool = tool
        self.activations = activations
        self.plan = plan
        self.calibration = calibration
    }

    /// How the int8 projection `name` (without `.weight`) runs: its plan entry, else the file's
    /// `activation_passes` (one pass when absent).
    public func scheme(forInt8Projection name: String) -> ProjectionScheme {
        if let s = plan?[name], s != .bf16 { return s }
        return activations == .twoPass ? .int8TwoPass : .int8
    }
}

/// `quantization.calibration`: the accuracy target a calibrated plan was chosen for, and what the whole
/// file measured against transformers f32 on the calibration golden and (kept apart) the evaluation golden.
public struct CalibrationInfo: Codable, Sendable, Equatable {
    public var target: AccuracyTarget
    public var calibration: MeasuredAccuracy
    public var evaluation: MeasuredAccuracy?
    /// The plan's estimated compute cost relative to the same model all single-pass int8 (= 1), by the
    /// cost model of formats/quantization.md.
    public var estimatedCost: Double
    /// The CPU kind the costs are for (absent in files written before cost models: the AVX-512 estimates).
    public var costModel: CostModel?

    enum CodingKeys: String, CodingKey {
        case target, calibration, evaluation, estimatedCost = "estimated_cost", costModel = "cost_model"
    }

    public init(target: AccuracyTarget, calibration: MeasuredAccuracy, evaluation: MeasuredAccuracy?, estimatedCost: Double,
                costModel: CostModel? = nil) {
        self.target = target
        self.calibration = calibration
        self.evaluation = evaluation
        self.estimatedCost = estimatedCost
        self.costModel = costModel
    }
}

/// The bounds a calibrated plan must meet on the calibration golden (each optional, at least one set).
public struct AccuracyTarget: Codable, Sendable, Equatable {
    /// Lowest cosine of any case.
    public var minCosine: Double?
    /// Mean cosine over the cases.
    public var minMeanCosine: Double?
    /// Retrieval top-1 agreement over the golden's cases.
    public var minTop1: Double?

    enum CodingKeys: String, CodingKey {
        case minCosine = "min_cosine", minMeanCosine = "min_mean_cosine", minTop1 = "min_top1"
    }

    public init(minCosine: Double? = nil, minMeanCosine: Double? = nil, minTop1: Double? = nil) {
        self.minCosine = minCosine
        self.minMeanCosine = minMeanCosine
        self.minTop1 = minTop1
    }
}

/// One golden's measurement of a whole file (formats/golden.md's embedding metrics).
public struct MeasuredAccuracy: Codable, Sendable, Equatable {
    /// The golden's file name (no folder) and the XXH64 (seed 0, hex) of its bytes.
    public var golden: String
    public var goldenXXH64: String
    public var cases: Int
    public var meanCosine: Double
    public var minCosine: Double
    public var retrievalTop1: Double?

    enum CodingKeys: String, CodingKey {
        case golden, goldenXXH64 = "golden_xxh64", cases, meanCosine = "mean_cosine", minCosine = "min_cosine"
        case retrievalTop1 = "retrieval_top1"
    }

    public init(golden: String, goldenXXH64: String, cases: Int, meanCosine: Double, minCosine: Double, retrievalTop1: Double?) {
        self.golden = golden
        self.goldenXXH64 = goldenXXH64
        self.cases = cases
        self.meanCosine = meanCosine
        self.minCosine = minCosine
        self.retrievalTop1 = retrievalTop1
    }
}

/// One row of the tensor directory.
public struct TensorEntry: Codable, Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    /// Bytes from `data_offset`; a multiple of 64.
    public var offset: Int
    public var bytes: Int
    /// XXH64 (seed 0) of the tensor's bytes, 16 lowercase hex digits.
    public var xxh64: String
    /// Element order (format 2); absent means row-major.
    public var layout: TensorLayout?

    public init(name: String, dtype: DType, shape: [Int], offset: Int, bytes: Int, xxh64: String,
                layout: TensorLayout? = nil) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.offset = offset
        self.bytes = bytes
        self.xxh64 = xxh64
        self.layout = layout == .rowMajor ? nil : layout
    }

    /// The layout in effect (row-major when the key is absent).
    public var effectiveLayout: TensorLayout { layout ?? .rowMajor }
}
