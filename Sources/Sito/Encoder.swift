// Encoder.swift: the transformer encoder of a `.sito` model (XLM-RoBERTa / BERT family) and its heads.
//
// Sequences of different lengths are packed end to end into one matrix of T = Σ Lᵢ rows (no padding,
// no attention mask needed): every projection runs once over all T rows, attention runs per sequence.
//   X [T, hidden] → embeddings → LayerNorm
//   per layer: Q,K,V = X·Wᵀ+b [T, hidden]; ctx = attention(Q,K,V) per sequence and head;
//              X = LN(X + ctx·Woᵀ+bo); X = LN(X + GELU(X·Wupᵀ+bup)·Wdownᵀ+bdown)   (post-norm, exact erf GELU)
//   head on each sequence's first row (roberta: dense → tanh → out_proj; bert-pooler: the same math on
//   pooler.dense / head.out_proj), or pooling for embedding models.
// Attention is tiled with an online softmax (Attention.swift): no [L, L] buffer ever exists.
#if OpenBLAS
import COpenBLAS
#endif
import CSitoKernels
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SitoFormat

/// One encoder block's weights.
struct EncoderLayer: Sendable {
    let q, k, v, out, up, down: Linear
    let attnNormWeight, attnNormBias, ffnNormWeight, ffnNormBias: FloatVector
}

/// A read-only f32 vector inside the mapping.
struct FloatVector: @unchecked Sendable {
    // @unchecked: points into the model's read-only mapping, which outlives every user.
    let pointer: UnsafePointer<Float>
    let count: Int

    init(_ file: SitoFile, _ name: String) throws {
        let t = try file.require(name)
        pointer = t.pointer(as: Float.self)
        count = t.count
    }
}

/// An embedding table whose rows are read (and widened) one at a time.
struct EmbeddingTable: @unchecked Sendable {
    // @unchecked: points into the model's read-only mapping.
    let view: TensorView
    let scale: UnsafePointer<Float>?
    let width: Int

    init(_ file: SitoFile, _ name: String) throws {
        view = try file.require(name)
        width = view.shape[1]
        scale = view.dtype == .i8 ? try file.require(name + scaleSuffix).pointer(as: Float.self) : nil
    }

    /// dst[0..<width] += row `r` (as f32).
    func addRow(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        let n = width
        switch view.dtype {
        case .f32:
            let src = view.pointer(as: Float.self) + r * n
            for i in 0..<n { dst[i] += src[i] }
        case .bf16:
            let src = view.pointer(as: UInt16.self) + r * n
            for i in 0..<n { dst[i] += Float(bitPattern: UInt32(src[i]) << 16) }
        case .f16:
            let src = view.pointer(as: UInt16.self) + r * n
            for i in 0..<n { dst[i] += Float(Float16(bitPattern: src[i])) }
        case .i8:
            let src = view.pointer(as: Int8.self) + r * n
            let s = scale![r]
            for i in 0..<n { dst[i] += Float(src[i]) * s }
        case .u8:
            break
        }
    }
}

/// A packed batch: sequences' token ids end to end.
struct PackedBatch {
    var ids: [Int32] = []
    var typeIds: [Int32] = []
    /// Start row of each sequence, plus the total at the end: starts[i]..<starts[i+1].
    var starts: [Int] = [0]

    var tokens: Int { ids.count }
    var sequences: Int { starts.count - 1 }

    mutating func append(ids newIds: [Int32], typeIds newTypes: [Int32]?) {
        ids += newIds
        typeIds += newTypes ?? [Int32](repeating: 0, count: newIds.count)
        starts.append(ids.count)
    }
}

/// The loaded network: weights in place in the mapping, hyperparameters, and the forward pass.
final class Encoder: Sendable {
    let file: SitoFile
    let m: ModelHyperparameters
    let architecture: Architecture
    let word, position, tokenType: EmbeddingTable
    let embNormWeight, embNormBias: FloatVector
    let layers: [EncoderLayer]
    /// roberta: head.dense; bert-pooler: pooler.dense. Nil for embedding models.
    let headDense: Linear?
    let headOut: Linear?
    /// RoBERTa's `padding_idx` (config pad_token_id = position_offset − 1): the id whose tokens get
    /// position `padding_idx` and do not advance the count (formats/sito.md keeps it inside the table).
    let padId: Int
    /// Which operands attention multiplies (Attention.swift).
    let attentionPrecision: AttentionPrecision
    /// Blocks every step of the forward pass is split into, run at once (ModelOptions.threads).
    let workers: Int

    init(file: SitoFile, attention: AttentionPrecision, workers: Int) throws {
        self.file = file
        attentionPrecision = attention
        let workers = max(1, workers)
        self.workers = workers
        let h = file.header
        m = h.model
        architecture = h.architecture
        padId = h.model.positionOffset - 1
        word = try EmbeddingTable(file, "embeddings.word.weight")
        position = try EmbeddingTable(file, "embeddings.position.weight")
        tokenType = try EmbeddingTable(file, "embeddings.token_type.weight")
        embNormWeight = try FloatVector(file, "embeddings.norm.weight")
        embNormBias = try FloatVector(file, "embeddings.norm.bias")
        // Layers are set up on all the workers: an int8 Linear reads its whole matrix once (row sums), which
        // is most of the time from open to the first score. Worker w sets up layers w, w + workers, …; each
        // index writes only its own slot.
        let built = ResultSlots<EncoderLayer>(count: m.layers)
        let layerCount = m.layers
        parallelFor(min(workers, layerCount)) { w in
            for i in stride(from: w, to: layerCount, by: workers) {
                let p = "layers.\(i)."
                func linear(_ name: String) throws -> Linear { try Linear(file: file, name: p + name, workers: workers) }
                built.set(i, Result {
                    EncoderLayer(
                        q: try linear("attn.q"), k: try linear("attn.k"), v: try linear("attn.v"), out: try linear("attn.out"),
                        up: try linear("ffn.up"), down: try linear("ffn.down"),
                        attnNormWeight: try FloatVector(file, p + "attn_norm.weight"), attnNormBias: try FloatVector(file, p + "attn_norm.bias"),
                        ffnNormWeight: try FloatVector(file, p + "ffn_norm.weight"), ffnNormBias: try FloatVector(file, p + "ffn_norm.bias"))
                })
            }
        }
        layers = try built.values()
        switch m.head {
        case .roberta:
            headDense = try Linear(file: file, name: "head.dense", workers: workers)
            headOut = try Linear(file: file, name: "head.out_proj", workers: workers)
        case .bertPooler:
            headDense = try Linear(file: file, name: "pooler.dense", workers: workers)
            headOut = try Linear(file: file, name: "head.out_proj", workers: workers)
        case .none:
            headDense = nil
            headOut = nil
        }
        #if OpenBLAS
        // Sito splits every GEMM over the cores itself; OpenBLAS must not start threads of its own inside.
        openblas_set_num_threads(1)
        #endif
    }

    /// Rows of the FFN's intermediate activations computed at once (bounds memory for long inputs).
    static let ffnChunk = 512

    /// Runs the encoder on a packed batch; returns per sequence the head's outputs ([num_labels] logits)
    /// or, for embedding models, the pooled [hidden] vector (the file's Normalize module, if any, is applied
    /// by Embedder: `Embedder.normalized`).
    /// The activation buffers are allocated here, once per call; inside the layer loop only small
    /// bookkeeping is (the attention work counter; a row of floats per block for two-pass int8).
    /// Activation memory: x, q, k, v [T, hidden] + u [min(T, ffnChunk), ffn] floats + the Linear scratch
    /// (the largest over the layers' projections: int8 T·in bytes + 4·T; two-pass int8 twice that plus
    /// T·out floats; bf16 2·T·in bytes) + the attention workspace (AttentionWorkspace: 91 KB per core, plus
    /// (2·L + 1)·headDim bf16 values per core for the longest sequence L when some layer runs bf16 attention).
    func forward(_ batch: PackedBatch) -> [[Float]] {
        let T = batch.tokens, H = m.hidden, F = m.ffn
        if T == 0 { return [] }
        let x = UnsafeMutablePointer<Float>.allocate(capacity: T * H)
        let q = UnsafeMutablePointer<Float>.allocate(capacity: T * H)
        let k = UnsafeMutablePointer<Float>.allocate(capacity: T * H)
        let v = UnsafeMutablePointer<Float>.allocate(capacity: T * H)
        let chunk = min(T, Encoder.ffnChunk)
        let u = UnsafeMutablePointer<Float>.allocate(capacity: chunk * F)
        // The largest need of ANY layer: with --keep-float, layers (and Q, K, V within one) differ in dtype,
        // and an f32 first layer needs no scratch while an int8 later one does.
        let scratchBytes = layers.map { l in
            [l.q.scratchBytes(rows: T), l.k.scratchBytes(rows: T), l.v.scratchBytes(rows: T), l.out.scratchBytes(rows: T),
             l.up.scratchBytes(rows: chunk), l.down.scratchBytes(rows: chunk)].max()!
        }.max() ?? 0
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(64, scratchBytes), alignment: 64)
        defer {
            x.deallocate(); q.deallocate(); k.deallocate(); v.deallocate(); u.deallocate()
            scratch.deallocate()
        }
        embed(batch, into: x)
        let attention = Attention(heads: m.heads, headDim: H / m.heads, precision: attentionPrecision)
        let workspace = AttentionWorkspace(starts: batch.starts, heads: m.heads, headDim: H / m.heads, workers: workers,
                                           bf16: layers.contains { attention.usesBF16($0) })
        // Heads and CLS pooling read only each sequence's first row: the last layer's output projection
        // and FFN then run on those rows alone (exact: rows do not mix after attention). Attention itself
        // still sees every row as key and value.
        let onlyFirstRows = (headDense != nil || m.pooling == .cls) && batch.sequences < T
        for (index, layer) in layers.enumerated() {
            // Q, K and V read the same x: it is converted (int8 / bf16) once for the three.
            if layer.q.inputKind == layer.k.inputKind && layer.q.inputKind == layer.v.inputKind {
                let xin = layer.q.prepare(x, ldx: H, rows: T, scratch: scratch)
                layer.q.apply(prepared: xin, rows: T, into: q, ldy: H)
                layer.k.apply(prepared: xin, rows: T, into: k, ldy: H)
                layer.v.apply(prepared: xin, rows: T, into: v, ldy: H)
            } else {   // mixed dtypes (--keep-float on some of them)
                layer.q.apply(x, ldx: H, rows: T, into: q, ldy: H, scratch: scratch)
                layer.k.apply(x, ldx: H, rows: T, into: k, ldy: H, scratch: scratch)
                layer.v.apply(x, ldx: H, rows: T, into: v, ldy: H, scratch: scratch)
            }
            // ctx overwrites q in place (each query block is read, then written, by one work item only).
            attention.run(q: q, k: k, v: v, out: q, ld: H, starts: batch.starts, layer: layer, workspace: workspace)
            if onlyFirstRows && index == layers.count - 1 {
                // Gather the first rows (ctx into v, x into k; both free after attention), finish the layer
                // on those S rows with q as scratch, and put them back where outputs() reads them.
                let S = batch.sequences
                for s in 0..<S {
                    (v + s * H).update(from: q + batch.starts[s] * H, count: H)
                    (k + s * H).update(from: x + batch.starts[s] * H, count: H)
                }
                finishLayer(layer, ctx: v, x: k, rows: S, delta: q, u: u, chunk: chunk, scratch: scratch)
                for s in 0..<S { (x + batch.starts[s] * H).update(from: k + s * H, count: H) }
            } else {
                finishLayer(layer, ctx: q, x: x, rows: T, delta: k, u: u, chunk: chunk, scratch: scratch)
            }
        }
        return outputs(batch, hidden: x, scratch: scratch)
    }

    /// The rest of a layer after attention, over `rows` rows of hidden width:
    ///   x = LN(x + ctx·Woᵀ + bo);  x = LN(x + GELU(x·Wupᵀ + bup)·Wdownᵀ + bdown)   (FFN in row chunks)
    /// ctx, x, delta [rows, hidden] (delta: scratch, distinct from both); u [chunk, ffn].
    private func finishLayer(_ layer: EncoderLayer, ctx: UnsafePointer<Float>, x: UnsafeMutablePointer<Float>, rows T: Int,
                             delta: UnsafeMutablePointer<Float>, u: UnsafeMutablePointer<Float>, chunk: Int,
                             scratch: UnsafeMutableRawPointer) {
        let H = m.hidden, F = m.ffn, eps = Float(m.layerNormEps)
        layer.out.apply(ctx, ldx: H, rows: T, into: delta, ldy: H, scratch: scratch)
        addAndNorm(residual: x, delta: delta, rows: T, width: H, workers: workers, weight: layer.attnNormWeight.pointer, bias: layer.attnNormBias.pointer, eps: eps)
        var r0 = 0
        while r0 < T {
            let rows = min(chunk, T - r0)
            layer.up.apply(x + r0 * H, ldx: H, rows: rows, into: u, ldy: F, scratch: scratch)
            // GELU runs inside the down projection's input conversion, rows still in cache (Linear.prepare).
            let input = layer.down.prepare(u, ldx: F, rows: rows, scratch: scratch) { a, b in sito_gelu_f32(u + a * F, (b - a) * F) }
            layer.down.apply(prepared: input, rows: rows, into: delta + r0 * H, ldy: H)
            r0 += rows
        }
        addAndNorm(residual: x, delta: delta, rows: T, width: H, workers: workers, weight: layer.ffnNormWeight.pointer, bias: layer.ffnNormBias.pointer, eps: eps)
    }

    /// X[t] = LN(word[id] + position[pos] + tokenType[type]).
    private func embed(_ batch: PackedBatch, into x: UnsafeMutablePointer<Float>) {
        let H = m.hidden, T = batch.tokens
        x.initialize(repeating: 0, count: T * H)
        // Position ids first (a sequential count per sequence), then the row sums split over the cores.
        var positions = [Int](repeating: 0, count: T)
        let robertaPositions = architecture == .xlmRoberta
        for s in 0..<batch.sequences {
            var nonPad = 0
            for t in batch.starts[s]..<batch.starts[s + 1] {
                if robertaPositions {
                    // RoBERTa quirk (transformers' create_position_ids_from_input_ids): positions count
                    // non-pad tokens from pad_token_id + 1; a pad token (even one written in the text)
                    // gets position pad_token_id and does not advance the count.
                    if Int(batch.ids[t]) == padId {
                        positions[t] = padId
                    } else {
                        nonPad += 1
                        positions[t] = m.positionOffset - 1 + nonPad
                    }
                } else {
                    positions[t] = m.positionOffset + (t - batch.starts[s])
                }
            }
        }
        let ids = batch.ids, types = batch.typeIds
        // Each block of rows writes only its own rows of x.
        parallelRows(T, workers: workers) { t0, t1 in
            for t in t0..<t1 {
                let row = x + t * H
                word.addRow(Int(ids[t]), into: row)
                position.addRow(positions[t], into: row)
                tokenType.addRow(Int(types[t]), into: row)
            }
        }
        layerNorm(x, rows: T, width: H, workers: workers, weight: embNormWeight.pointer, bias: embNormBias.pointer, eps: Float(m.layerNormEps))
    }

    private func outputs(_ batch: PackedBatch, hidden x: UnsafeMutablePointer<Float>, scratch: UnsafeMutableRawPointer) -> [[Float]] {
        let H = m.hidden, S = batch.sequences
        if let dense = headDense, let out = headOut {
            // Gather first rows → dense → tanh → out_proj.
            let first = UnsafeMutablePointer<Float>.allocate(capacity: S * H)
            let pooled = UnsafeMutablePointer<Float>.allocate(capacity: S * H)
            let logits = UnsafeMutablePointer<Float>.allocate(capacity: S * out.outFeatures)
            defer { first.deallocate(); pooled.deallocate(); logits.deallocate() }
            for s in 0..<S { (first + s * H).update(from: x + batch.starts[s] * H, count: H) }
            let headScratch = UnsafeMutableRawPointer.allocate(byteCount: max(64, dense.scratchBytes(rows: S), out.scratchBytes(rows: S)), alignment: 64)
            defer { headScratch.deallocate() }
            dense.apply(first, ldx: H, rows: S, into: pooled, ldy: H, scratch: headScratch)
            for i in 0..<(S * H) { pooled[i] = tanhf(pooled[i]) }
            out.apply(pooled, ldx: H, rows: S, into: logits, ldy: out.outFeatures, scratch: headScratch)
            return (0..<S).map { s in Array(UnsafeBufferPointer(start: logits + s * out.outFeatures, count: out.outFeatures)) }
        }
        return (0..<S).map { s in
            let a = batch.starts[s], b = batch.starts[s + 1]
            var v = [Float](repeating: 0, count: H)
            if m.pooling == .cls {
                for j in 0..<H { v[j] = x[a * H + j] }
            } else {
                for t in a..<b { for j in 0..<H { v[j] += x[t * H + j] } }
                let n = Float(max(1, b - a))
                for j in 0..<H { v[j] /= n }
            }
            return v
        }
    }
}

/// x[r] = LN(x[r] + delta[r]) · weight + bias, per row; x, delta [rows, width]. Rows split over `workers`.
func addAndNorm(residual x: UnsafeMutablePointer<Float>, delta: UnsafePointer<Float>, rows: Int, width: Int, workers: Int,
                weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float) {
    parallelRows(rows, workers: workers) { r0, r1 in
        sito_add_layernorm_f32(x + r0 * width, width, delta + r0 * width, width, r1 - r0, width, weight, bias, eps)
    }
}

/// In-place LayerNorm over each row of x [rows, width]: (x - mean) / sqrt(var + eps) · weight + bias,
/// with the biased variance, as torch.nn.LayerNorm (sums in double: sito_add_layernorm_f32).
func layerNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, workers: Int,
               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float) {
    parallelRows(rows, workers: workers) { r0, r1 in
        sito_add_layernorm_f32(x + r0 * width, width, nil, 0, r1 - r0, width, weight, bias, eps)
    }
}

/// Splits [0, n) into one contiguous block per worker (each at least `minRows` long) and runs them at
/// once; body(r0, r1) must write only rows [r0, r1) of its outputs.
func parallelRows(_ n: Int, workers: Int, minRows: Int = 8, _ body: (Int, Int) -> Void) {
    let blocks = max(1, min(workers, n / max(1, minRows)))
    if blocks == 1 {
        if n > 0 { body(0, n) }
        return
    }
    let per = (n + blocks - 1) / blocks
    parallelFor(blocks) { i in
        let r0 = i * per, r1 = min(n, r0 + per)
        if r0 < r1 { body(r0, r1) }
    }
}
