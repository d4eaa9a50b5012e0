// HFTensorNames.swift: the mapping from Hugging Face checkpoint names to Sito's canonical names
// (formats/tensor-names.md). The only place in Sito that knows Hugging Face tensor names.
import SitoFormat

public enum HFTensorNames {
    /// Checkpoint tensors dropped on purpose, with the reason in formats/tensor-names.md.
    static func isIgnored(_ name: String, prefix: String, head: ClassifierHead) -> Bool {
        if name == "\(prefix)embeddings.position_ids" { return true }
        // RoBERTa classifiers and embedding models do not use the pooler; a BERT classifier does.
        return head != .bertPooler && name.hasPrefix("\(prefix)pooler.")
    }

    /// The prefix of encoder tensors: `roberta.` / `bert.` in task models; a bare `BertModel` /
    /// `RobertaModel` may be saved with or without `bert.` / `roberta.`.
    public static func encoderPrefix(architecture: HFArchitecture, names: Set<String>) -> String {
        switch architecture {
        case .xlmRobertaSequenceClassification, .robertaSequenceClassification: return "roberta."
        case .bertSequenceClassification: return "bert."
        case .bertModel: return names.contains("bert.embeddings.word_embeddings.weight") ? "bert." : ""
        case .robertaModel: return names.contains("roberta.embeddings.word_embeddings.weight") ? "roberta." : ""
        }
    }

    /// Canonical name → checkpoint name, for every tensor an XLM-R classifier has.
    public static func sourceNames(for m: ModelHyperparameters, prefix: String = "roberta.") -> [String: String] {
        var map: [String: String] = [
            "embeddings.word.weight": "\(prefix)embeddings.word_embeddings.weight",
            "embeddings.position.weight": "\(prefix)embeddings.position_embeddings.weight",
            "embeddings.token_type.weight": "\(prefix)embeddings.token_type_embeddings.weight",
            "embeddings.norm.weight": "\(prefix)embeddings.LayerNorm.weight",
            "embeddings.norm.bias": "\(prefix)embeddings.LayerNorm.bias",
        ]
        let perLayer: [(String, String)] = [
            ("attn.q", "attention.self.query"), ("attn.k", "attention.self.key"), ("attn.v", "attention.self.value"),
            ("attn.out", "attention.output.dense"), ("attn_norm", "attention.output.LayerNorm"),
            ("ffn.up", "intermediate.dense"), ("ffn.down", "output.dense"), ("ffn_norm", "output.LayerNorm"),
        ]
        for i in 0..<m.layers {
            for (canonical, hf) in perLayer {
                for p in ["weight", "bias"] {
                    map["layers.\(i).\(canonical).\(p)"] = "\(prefix)encoder.layer.\(i).\(hf).\(p)"
                }
            }
        }
        for p in ["weight", "bias"] {
            switch m.head {
            case .roberta:
                map["head.dense.\(p)"] = "classifier.dense.\(p)"
                map["head.out_proj.\(p)"] = "classifier.out_proj.\(p)"
            case .bertPooler:
                map["pooler.dense.\(p)"] = "\(prefix)pooler.dense.\(p)"
                map["head.out_proj.\(p)"] = "classifier.\(p)"
            case .none:
                break
            }
        }
        return map
    }
}
