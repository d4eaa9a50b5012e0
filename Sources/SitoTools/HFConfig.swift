// HFConfig.swift: reads a Hugging Face `config.json` and turns it into the `.sito` header's
// hyperparameters. This is the only place that knows config.json's keys and each architecture's quirks.
import Foundation
import SitoFormat

/// Why a model folder cannot be converted.
public enum ConversionError: Error, LocalizedError, Equatable {
    case missingFile(path: String, what: String)
    case badConfig(path: String, reason: String)
    case unsupportedArchitecture(path: String, found: String)
    case missingTensor(folder: String, tensor: String)
    case unexpectedTensor(folder: String, tensor: String)
    case wrongShape(folder: String, tensor: String, shape: [Int], expected: [Int])
    case nonFinite(folder: String, tensor: String)

    public var errorDescription: String? {
        switch self {
        case let .missingFile(path, what): return "\(path): missing \(what)"
        case let .badConfig(path, reason): return "\(path): \(reason)"
        case let .unsupportedArchitecture(path, found):
            return "\(path): architecture \(found) is not supported; sito-convert supports \(HFArchitecture.supported.joined(separator: ", "))"
        case let .missingTensor(folder, tensor): return "\(folder): the checkpoint lacks the tensor \(tensor)"
        case let .unexpectedTensor(folder, tensor): return "\(folder): the checkpoint has a tensor sito-convert does not know: \(tensor) (refusing to drop weights silently)"
        case let .wrongShape(folder, tensor, shape, expected): return "\(folder): tensor \(tensor) has shape \(shape); config.json implies \(expected)"
        case let .nonFinite(folder, tensor): return "\(folder): tensor \(tensor) contains NaN or infinity"
        }
    }
}

/// The Hugging Face architectures sito-convert reads.
public enum HFArchitecture: String, CaseIterable, Sendable {
    case xlmRobertaSequenceClassification = "XLMRobertaForSequenceClassification"
    /// RoBERTa: the same graph as XLM-R (written as `.sito` architecture `xlm-roberta`); a byte-level BPE
    /// tokenizer.
    case robertaSequenceClassification = "RobertaForSequenceClassification"
    /// A bare RoBERTa encoder; with sentence-transformers' modules.json, an embedding model.
    case robertaModel = "RobertaModel"
    case bertSequenceClassification = "BertForSequenceClassification"
    /// A bare BERT encoder; with sentence-transformers' modules.json, an embedding model.
    case bertModel = "BertModel"

    public static var supported: [String] { allCases.map(\.rawValue) }

    /// The `.sito` architecture name.
    public var sitoArchitecture: Architecture { isRoberta ? .xlmRoberta : .bert }

    /// RoBERTa-style position ids (padding_idx + 1 onwards) and classification head.
    public var isRoberta: Bool {
        switch self {
        case .xlmRobertaSequenceClassification, .robertaSequenceClassification, .robertaModel: return true
        case .bertSequenceClassification, .bertModel: return false
        }
    }

    public var task: ModelTask { isEncoderOnly ? .embedding : .sequenceClassification }

    /// A bare encoder (sentence-transformers embedding model), no classification head.
    public var isEncoderOnly: Bool { self == .bertModel || self == .robertaModel }

    /// The classification head (formats/sito.md, "Architectures").
    public var head: ClassifierHead {
        switch self {
        case .xlmRobertaSequenceClassification, .robertaSequenceClassification: return .roberta
        case .bertSequenceClassification: return .bertPooler
        case .bertModel, .robertaModel: return .none
        }
    }
}

/// sentence-transformers' description of an embedding model: modules.json, 1_Pooling/config.json,
/// sentence_bert_config.json.
public struct SentenceTransformersConfig: Sendable, Equatable {
    /// `mean` or `cls`.
    public let pooling: Pooling
    public let normalize: Bool
    /// `max_seq_length`, if stated.
    public let maxSeqLength: Int?

    /// nil when the folder has no modules.json (the converter then refuses a bare encoder: its pooling
    /// would be a guess).
    public static func read(folder: URL) throws -> SentenceTransformersConfig? {
        let modulesPath = folder.appendingPathComponent("modules.json").path
        guard let data = FileManager.default.contents(atPath: modulesPath) else { return nil }
        guard let modules = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
            throw ConversionError.badConfig(path: modulesPath, reason: "not a list of sentence-transformers modules")
        }
        var pooling: Pooling?
        var normalize = false
        for module in modules {
            let type = module["type"] as? String ?? ""
            switch type {
            case "sentence_transformers.models.Transformer":
                break
            case "sentence_transformers.models.Pooling":
                let path = folder.appendingPathComponent(module["path"] as? String ?? "1_Pooling").appendingPathComponent("config.json").path
                guard let d = FileManager.default.contents(atPath: path),
                      let p = (try? JSONSerialization.jsonObject(with: d)) as? [String: Any] else {
                    throw ConversionError.missingFile(path: path, what: "the pooling configuration")
                }
                let modes = ["pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
                             "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"]
                    .filter { (p[$0] as? Bool) == true }
                switch modes {
                case ["pooling_mode_mean_tokens"]: pooling = .mean
                case ["pooling_mode_cls_token"]: pooling = .cls
                default:
                    throw ConversionError.badConfig(path: path, reason: "pooling \(modes) is not supported (mean or cls alone)")
                }
            case "sentence_transformers.models.Normalize":
                normalize = true
            default:
                throw ConversionError.badConfig(path: modulesPath, reason: "module \(type) is not supported (Transformer, Pooling, Normalize)")
            }
        }
        guard let pooling else { throw ConversionError.badConfig(path: modulesPath, reason: "no Pooling module") }
        var maxSeq: Int?
        if let d = FileManager.default.contents(atPath: folder.appendingPathComponent("sentence_bert_config.json").path),
           let j = (try? JSONSerialization.jsonObject(with: d)) as? [String: Any], let n = j["max_seq_length"] as? NSNumber {
            maxSeq = n.intValue
        }
        return SentenceTransformersConfig(pooling: pooling, normalize: normalize, maxSeqLength: maxSeq)
    }
}

/// What the converter takes from config.json.
public struct HFModelConfig: Sendable {
    public let architecture: HFArchitecture
    public let hyperparameters: ModelHyperparameters
    public let padTokenId: Int
    public let nameOrPath: String?
    /// For embedding models.
    public let sentenceTransformers: SentenceTransformersConfig?

    /// Reads and checks `config.json` in `folder`.
    public init(folder: URL) throws {
        let path = folder.appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConversionError.missingFile(path: path, what: "config.json (is this a Hugging Face model folder?)")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ConversionError.badConfig(path: path, reason: "not a JSON object")
        }
        try HFModelConfig.checkBounds(json, path: path)
        let architectures = json["architectures"] as? [String] ?? []
        guard let name = architectures.first else {
            throw ConversionError.badConfig(path: path, reason: "no \"architectures\" list: cannot tell which model this is")
        }
        guard architectures.count == 1, let arch = HFArchitecture(rawValue: name) else {
            throw ConversionError.unsupportedArchitecture(path: path, found: architectures.joined(separator: ", "))
        }
        func int(_ key: String) throws -> Int {
            guard let n = json[key] as? NSNumber, let v = Int(exactly: n.doubleValue) else {
                throw ConversionError.badConfig(path: path, reason: "\"\(key)\" is missing or not an integer")
            }
            return v
        }
        let hidden = try int("hidden_size")
        let heads = try int("num_attention_heads")
        guard hidden > 0, heads > 0, hidden % heads == 0 else {
            throw ConversionError.badConfig(path: path, reason: "hidden_size \(hidden) is not divisible by num_attention_heads \(heads)")
        }
        let act = json["hidden_act"] as? String ?? "gelu"
        guard act == "gelu" else {
            throw ConversionError.badConfig(path: path, reason: "hidden_act \"\(act)\" is not supported (exact erf \"gelu\" only)")
        }
        let eps = (json["layer_norm_eps"] as? NSNumber)?.doubleValue ?? 1e-12
        var numLabels = (json["num_labels"] as? NSNumber)?.intValue ?? 0
        if numLabels == 0 { numLabels = (json["id2label"] as? [String: Any])?.count ?? 2 }
        let pad = (json["pad_token_id"] as? NSNumber)?.intValue ?? 0
        if let type = json["position_embedding_type"] as? String, type != "absolute" {
            throw ConversionError.badConfig(path: path, reason: "position_embedding_type \"\(type)\" is not supported (absolute only)")
        }
        // RoBERTa quirk: position ids start at pad_token_id + 1 (fairseq's make_positions), so a table of
        // max_position_embeddings rows serves max_position_embeddings - pad_token_id - 1 tokens. BERT: 0.
        let positionOffset = arch.isRoberta ? pad + 1 : 0
        var pooling = Pooling.none, normalize = false
        if arch.isEncoderOnly {
            guard let st = try SentenceTransformersConfig.read(folder: folder) else {
                throw ConversionError.badConfig(path: path, reason: "a bare \(arch.rawValue) without sentence-transformers' modules.json: the pooling is unknown")
            }
            sentenceTransformers = st
            pooling = st.pooling
            normalize = st.normalize
        } else {
            sentenceTransformers = nil
        }
        self.architecture = arch
        self.padTokenId = pad
        self.nameOrPath = json["_name_or_path"] as? String
        self.hyperparameters = ModelHyperparameters(
            layers: try int("num_hidden_layers"), hidden: hidden, heads: heads, ffn: try int("intermediate_size"),
            vocab: try int("vocab_size"), maxPositions: try int("max_position_embeddings"),
            positionOffset: positionOffset, typeVocab: try int("type_vocab_size"), layerNormEps: eps,
            activation: .gelu, numLabels: arch.isEncoderOnly ? 1 : numLabels, head: arch.head,
            outputActivation: arch.isEncoderOnly ? .none : (numLabels == 1 ? .sigmoid : .softmax),
            pooling: pooling, normalize: normalize)
        let m = hyperparameters
        for (key, v) in [("num_hidden_layers", m.layers), ("intermediate_size", m.ffn), ("vocab_size", m.vocab),
                         ("max_position_embeddings", m.maxPositions), ("type_vocab_size", m.typeVocab)] where v <= 0 {
            throw ConversionError.badConfig(path: path, reason: "\"\(key)\" must be positive, got \(v)")
        }
        guard m.maxPositions >= positionOffset + SitoLimits.maxLength.lowerBound else {
            throw ConversionError.badConfig(path: path, reason: "max_position_embeddings \(m.maxPositions) leaves no room for tokens after the position offset \(positionOffset)")
        }
    }
}
