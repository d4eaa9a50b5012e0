// ArchitectureSchema.swift: the one table of canonical tensor names (formats/tensor-names.md) and the
// shapes each architecture needs, derived from the header's hyperparameters. The loader checks a file
// against it; the converter and the quantizer produce files that satisfy it.

/// A tensor an architecture requires.
public struct ExpectedTensor: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    /// dtypes the runtime can execute for this tensor.
    public let allowed: [DType]
    /// Whether the quantizer may store it as `i8` + `.scale` (a projection matrix or the word table).
    public let quantizable: Bool
    /// A linear layer's weight (the runtime multiplies by it, never reads rows of it): the only tensors
    /// that may use the `blocked16` layout.
    public let projection: Bool
}

public enum ArchitectureSchema {
    /// The (architecture, task, head) triples format 1 knows.
    public static func isSupported(architecture: Architecture, task: ModelTask, head: ClassifierHead) -> Bool {
        switch (architecture, task, head) {
        case (.xlmRoberta, .sequenceClassification, .roberta),
             (.xlmRoberta, .embedding, .none),
             (.bert, .sequenceClassification, .bertPooler),
             (.bert, .embedding, .none):
            return true
        default:
            return false
        }
    }

    /// Every tensor a model with these hyperparameters needs, in the canonical file order:
    /// embeddings, layers 0…N-1, pooler/head. Matrices `[out, in]`, as `nn.Linear.weight`.
    public static func expectedTensors(for m: ModelHyperparameters) -> [ExpectedTensor] {
        let matrix: [DType] = [.f32, .f16, .bf16, .i8]
        let vector: [DType] = [.f32]
        let table: [DType] = [.f32, .f16, .bf16]
        var out: [ExpectedTensor] = []
        func add(_ name: String, _ shape: [Int], _ allowed: [DType], quantizable: Bool = false, projection: Bool = false) {
            out.append(ExpectedTensor(name: name, shape: shape, allowed: allowed, quantizable: quantizable, projection: projection))
        }
        func linear(_ name: String, out o: Int, in i: Int, quantizable: Bool = true) {
            add("\(name).weight", [o, i], quantizable ? matrix : table, quantizable: quantizable, projection: true)
            add("\(name).bias", [o], vector)
        }
        func norm(_ name: String) {
            add("\(name).weight", [m.hidden], vector)
            add("\(name).bias", [m.hidden], vector)
        }
        add("embeddings.word.weight", [m.vocab, m.hidden], matrix, quantizable: true)
        add("embeddings.position.weight", [m.maxPositions, m.hidden], table)
        add("embeddings.token_type.weight", [m.typeVocab, m.hidden], table)
        norm("embeddings.norm")
        for i in 0..<max(0, m.layers) {
            linear("layers.\(i).attn.q", out: m.hidden, in: m.hidden)
            linear("layers.\(i).attn.k", out: m.hidden, in: m.hidden)
            linear("layers.\(i).attn.v", out: m.hidden, in: m.hidden)
            linear("layers.\(i).attn.out", out: m.hidden, in: m.hidden)
            norm("layers.\(i).attn_norm")
            linear("layers.\(i).ffn.up", out: m.ffn, in: m.hidden)
            linear("layers.\(i).ffn.down", out: m.hidden, in: m.ffn)
            norm("layers.\(i).ffn_norm")
        }
        switch m.head {
        case .roberta:
            linear("head.dense", out: m.hidden, in: m.hidden)
            linear("head.out_proj", out: m.numLabels, in: m.hidden, quantizable: false)
        case .bertPooler:
            linear("pooler.dense", out: m.hidden, in: m.hidden)
            linear("head.out_proj", out: m.numLabels, in: m.hidden, quantizable: false)
        case .none:
            break
        }
        return out
    }

    /// The weights of the quantizable projections (every `linear` but `head.out_proj`), in file order:
    /// what a `quantization.plan` may name (formats/quantization.md, "Per-projection plans").
    public static func quantizableProjections(for m: ModelHyperparameters) -> [ExpectedTensor] {
        expectedTensors(for: m).filter { $0.quantizable && $0.projection }
    }
}
