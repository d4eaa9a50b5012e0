// HFConfigLimits.swift: config.json numbers are bounded before anything is derived from them. A
// hostile `num_hidden_layers` of 10^15 would otherwise make the converter build a name list that long
// (unbounded memory and time), and a `pad_token_id` of Int.max would trap in `pad + 1`. The bounds are
// the `.sito` reader's (SitoLimits, formats/sito.md invariant 4): a config outside them could never
// become a file the runtime opens.
import Foundation
import SitoFormat

extension HFModelConfig {
    /// config.json keys that become hyperparameters, with the `.sito` bound each must respect.
    /// `pad_token_id` becomes `position_offset - 1` for RoBERTa; `num_labels` 0 means "count id2label".
    static let numericBounds: [(key: String, range: ClosedRange<Int>)] = [
        ("num_hidden_layers", SitoLimits.layers), ("hidden_size", SitoLimits.hidden),
        ("num_attention_heads", SitoLimits.heads), ("intermediate_size", SitoLimits.ffn),
        ("vocab_size", SitoLimits.vocab), ("max_position_embeddings", SitoLimits.maxPositions),
        ("type_vocab_size", SitoLimits.typeVocab),
        ("pad_token_id", (SitoLimits.positionOffset.lowerBound - 1)...(SitoLimits.positionOffset.upperBound - 1)),
        ("num_labels", 0...SitoLimits.numLabels.upperBound),
    ]

    /// Throws `badConfig` for a present numeric key outside its bound (and a layer_norm_eps outside (0, 1)) (compared as a Double, so 1e300 and
    /// 2^64 are refused without an integer conversion that could trap), and for an id2label of more
    /// labels than the format allows. Missing or non-numeric keys are left to the reader's own checks.
    static func checkBounds(_ json: [String: Any], path: String) throws {
        for (key, range) in numericBounds {
            guard let n = json[key] as? NSNumber else { continue }
            let v = n.doubleValue
            if !(v >= Double(range.lowerBound) && v <= Double(range.upperBound)) {
                throw ConversionError.badConfig(path: path, reason: "\"\(key)\" is \(n), outside \(range.lowerBound)…\(range.upperBound) (formats/sito.md bounds)")
            }
        }
        // The reader's bound of layer_norm_eps (0 < eps < 1): outside it the converter would write a file
        // the runtime refuses (found by the config.json mutation test).
        if let n = json["layer_norm_eps"] as? NSNumber, !(n.doubleValue > 0 && n.doubleValue < 1) {
            throw ConversionError.badConfig(path: path, reason: "\"layer_norm_eps\" is \(n), outside (0, 1)")
        }
        if let labels = json["id2label"] as? [String: Any], labels.count > SitoLimits.numLabels.upperBound {
            throw ConversionError.badConfig(path: path, reason: "id2label has \(labels.count) labels, more than \(SitoLimits.numLabels.upperBound)")
        }
    }
}
