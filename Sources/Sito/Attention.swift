// Attention.swift: multi-head self-attention over packed sequences with the fused C kernel
// (Sources/CSitoKernels/attention.c): for sequence s (rows [a, b) of the packed Q, K, V [T, hidden]) and
// head h (columns [h·d, (h+1)·d)), each block of ≤ 64 query rows is one work item, and one kernel call
// computes its context over the whole sequence with the online-softmax recurrence (FlashAttention):
// keys in blocks of 64, scores of one block at a time in the worker's scratch, never an [L, L] buffer.
//
// Which operands (AttentionPrecision, RerankerOptions.attention; formats/quantization.md, "Runtime scheme"):
//   f32   sito_attention_f32 on Q, K, V as the projections left them. f32 and f16 files (the default),
//         whose fidelity bar is max |Δlogit| ≤ 1e-4 against transformers.
//   bf16  sito_attention_bf16: Q, K, V and the probabilities rounded to bf16, products exact in f32, f32
//         sums (vdpbf16ps where the CPU has it; the same scheme in f32 code elsewhere). The default for
//         every layer whose Q, K and V weights are bf16 or int8 (bf16 and int8 files; a layer kept in
//         float by sito-quantize --keep-float keeps f32 attention): their projections already round
//         their inputs at least as coarsely. K and V of each (sequence, head) are packed to bf16 once per
//         layer (sito_attention_pack_kv_bf16), then read by all of its query blocks.
// Both cores: the packing and the query blocks are handed out to the workers one at a time.
// Memory (AttentionWorkspace, made once per forward pass): sito_attention_scratch_bytes(d) per worker
// (87 KB at d = 64) and, when some layer runs bf16 attention, the packed K and V of the whole batch:
// Σ_s heads · (2·L_s + 1) · d bf16 values ≈ 4·T·hidden bytes, as much as one f32 [T, hidden] matrix.
import CSitoKernels
import Foundation

/// The operands self-attention multiplies (formats/quantization.md, "Runtime scheme").
public enum AttentionPrecision: String, Sendable, CaseIterable {
    /// bf16 for every layer whose Q, K and V weights are bf16 or int8, f32 for the others (f32 and f16
    /// files, and layers kept in float with `sito-quantize --keep-float`).
    case automatic
    /// Q, K, V and the softmax in f32, whatever the weights.
    case f32
    /// Q, K, V and the probabilities rounded to bf16 (f32 sums), whatever the weights.
    case bf16
}

struct Attention {
    let heads: Int
    let headDim: Int
    let precision: AttentionPrecision
    /// Query rows per work item: the kernel's limit.
    static let queryBlock = Int(SITO_ATTENTION_MAX_QUERIES)

    /// Whether `layer`'s attention runs on bf16 operands (see the file-top comment).
    func usesBF16(_ layer: EncoderLayer) -> Bool {
        switch precision {
        case .f32: return false
        case .bf16: return true
        case .automatic: return [layer.q, layer.k, layer.v].allSatisfy(\.hasLowPrecisionWeights)
        }
    }

    /// q, k, v, out: [T, heads·headDim] with row stride `ld`; `starts` as in PackedBatch (the workspace
    /// was made for the same starts, with bf16 storage if usesBF16(layer)). `out` may be `q` itself: a
    /// query block's rows × head columns are read (completely, before anything is written) only by the
    /// one work item that then writes its result there.
    func run(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
             out: UnsafeMutablePointer<Float>, ld: Int, starts: [Int], layer: EncoderLayer, workspace ws: AttentionWorkspace) {
        let d = headDim, bf16 = usesBF16(layer)
        let scale = 1 / sqrtf(Float(d))
        if bf16 {
            // Each (sequence, head) packs only its own region of the workspace's bf16 storage.
            let next = AtomicCounter()
            parallelFor(min(ws.packJobs, ws.workers)) { _ in
                while true {
                    let job = next.increment()
                    if job >= ws.packJobs { break }
                    let seq = job / heads, head = job % heads
                    let a = starts[seq], length = starts[seq + 1] - a
                    sito_attention_pack_kv_bf16(k + a * ld + head * d, ld, v + a * ld + head * d, ld, length, d,
                                                ws.packedKV(sequence: seq, head: head))
                }
            }
        }
        let items = ws.items
        let next = AtomicCounter()
        // Each item writes its own rows × head columns of `out`; each worker uses its own scratch.
        parallelFor(min(items.count, ws.workers)) { w in
            let scratch = ws.scratch(w)
            while true {
                let i = next.increment()
                if i >= items.count { break }
                let item = items[i]
                let a = starts[item.seq], length = starts[item.seq + 1] - a
                let bq = min(Attention.queryBlock, length - item.q0)
                let rows = (a + item.q0) * ld + item.head * d
                if bf16 {
                    sito_attention_bf16(q + rows, ld, ws.packedKV(sequence: item.seq, head: item.head), out + rows, ld,
                                        bq, length, d, scale, scratch)
                } else {
                    let col = a * ld + item.head * d
                    sito_attention_f32(q + rows, ld, k + col, ld, v + col, ld, out + rows, ld, bq, length, d, scale, scratch)
                }
            }
        }
    }
}

extension Linear {
    /// bf16 or int8 weights (f16 files are widened to f32 at load).
    var hasLowPrecisionWeights: Bool {
        if case .f32 = storage { return false }
        return true
    }
}

/// Attention's per-forward state: the work items of a packed batch, every worker's scratch and, when bf16
/// attention is used, the packed K and V of every (sequence, head). Made once per forward pass and reused
/// by every layer (no allocation in the per-layer path).
final class AttentionWorkspace: @unchecked Sendable {
    // @unchecked: worker w touches only scratch(w); a packing job only its own packedKV region, and the
    // attention items only read them after the packing's parallelFor returned; items is immutable.
    /// (sequence, head, first query row) of every query block.
    let items: [(seq: Int, head: Int, q0: Int)]
    let workers: Int
    /// Number of (sequence, head) pairs whose K and V are packed per bf16 layer.
    let packJobs: Int
    private let heads: Int
    private let scratchBuffer: UnsafeMutableRawPointer
    private let scratchStride: Int
    /// bf16 K and V of (sequence s, head h) at packed + kvOffsets[s] + h · kvElements[s]; nil without bf16.
    private let packed: UnsafeMutablePointer<UInt16>?
    private let kvOffsets: [Int]
    private let kvElements: [Int]

    init(starts: [Int], heads: Int, headDim: Int, workers: Int, bf16: Bool) {
        var items: [(seq: Int, head: Int, q0: Int)] = []
        var offsets: [Int] = [], elements: [Int] = []
        var total = 0
        for s in 0..<(starts.count - 1) {
            let length = starts[s + 1] - starts[s]
            for h in 0..<heads {
                var q0 = 0
                while q0 < length {
                    items.append((s, h, q0))
                    q0 += Attention.queryBlock
                }
            }
            let n = sito_attention_kv_bf16_elements(length, headDim)
            offsets.append(total)
            elements.append(n)
            total += heads * n
        }
        self.items = items
        self.workers = max(1, workers)
        self.heads = heads
        packJobs = (starts.count - 1) * heads
        scratchStride = (sito_attention_scratch_bytes(headDim) + 63) / 64 * 64
        scratchBuffer = .allocate(byteCount: scratchStride * self.workers, alignment: 64)
        packed = bf16 ? .allocate(capacity: max(1, total)) : nil
        kvOffsets = offsets
        kvElements = elements
    }

    deinit {
        scratchBuffer.deallocate()
        packed?.deallocate()
    }

    func scratch(_ w: Int) -> UnsafeMutableRawPointer { scratchBuffer + w * scratchStride }

    func packedKV(sequence s: Int, head h: Int) -> UnsafeMutablePointer<UInt16> {
        guard let packed else { preconditionFailure("AttentionWorkspace made without bf16 storage") }
        return packed + kvOffsets[s] + h * kvElements[s]
    }
}

/// A lock-protected counter handing out work items.
final class AtomicCounter: @unchecked Sendable {
    // @unchecked: every access goes through the lock.
    private var value = 0
    private let lock = NSLock()

    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        let v = value
        value += 1
        return v
    }
}
