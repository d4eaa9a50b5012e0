// Attention.swift: multi-head self-attention over packed sequences with the fused C kernel
// (Sources/CSitoKernels/attention.c): for sequence s (rows [a, b) of the packed Q, K, V [T, hidden]) and
// head h (columns [h·d, (h+1)·d)), one kernel call computes the context of every query row over the
// whole sequence with the online-softmax recurrence (FlashAttention): queries in blocks of 64, keys in
// blocks of 64, the scores of one block pair at a time in the worker's scratch, never an [L, L] buffer.
//
// Which operands (AttentionPrecision, ModelOptions.attention; formats/quantization.md, "Runtime scheme"):
//   f32   sito_attention_f32 on Q, K, V as the projections left them. f32 and f16 files (the default),
//         whose fidelity bar is max |Δlogit| ≤ 1e-4 against transformers.
//   bf16  sito_attention_bf16: Q, K, V and the probabilities rounded to bf16, products exact in f32, f32
//         sums (vdpbf16ps where the CPU has it; the same scheme in f32 code elsewhere). The default for
//         every layer whose Q, K and V weights are bf16 or int8 (bf16 and int8 files; a layer kept in
//         float by sito-quantize --keep-float keeps f32 attention): their projections already round
//         their inputs at least as coarsely.
// Work: one item per (sequence, head), handed to the workers (both cores) one at a time, longest
// sequences first: one kernel call, and with bf16 first the packing of the head's K and V to bf16
// (sito_attention_pack_kv_bf16) into the worker's buffer, where all its query blocks then read them while
// they are hot in cache.
// Memory (AttentionWorkspace, made once per forward pass), per worker: sito_attention_scratch_bytes(d)
// (91 KB at d = 64) and, when some layer runs bf16 attention, one packed (sequence, head):
// (2·L + 1)·d bf16 values for the longest sequence L (2 MB at L = 8192, d = 64).
import CSitoKernels
import Synchronization
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
    /// sequence's rows × head columns are read only by the kernel call that writes its result there,
    /// each query block before its output (sito_kernels.h).
    func run(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
             out: UnsafeMutablePointer<Float>, ld: Int, starts: [Int], layer: EncoderLayer, workspace ws: AttentionWorkspace) {
        let d = headDim, bf16 = usesBF16(layer)
        let scale = 1 / sqrtf(Float(d))
        let items = ws.items
        let next = AtomicCounter()
        // Each item writes its own sequence rows × head columns of `out`; each worker uses its own scratch
        // and packed K, V.
        parallelFor(min(items.count, ws.workers)) { w in
            let scratch = ws.scratch(w)
            while true {
                let i = next.increment()
                if i >= items.count { break }
                let (seq, head) = items[i]
                let a = starts[seq], length = starts[seq + 1] - a
                let col = a * ld + head * d
                if bf16 {
                    sito_attention_pack_kv_bf16(k + col, ld, v + col, ld, length, d, ws.packedKV(w))
                    sito_attention_bf16(q + col, ld, ws.packedKV(w), out + col, ld, length, length, d, scale, scratch)
                } else {
                    sito_attention_f32(q + col, ld, k + col, ld, v + col, ld, out + col, ld, length, length, d, scale, scratch)
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

/// Attention's per-forward state: the work items of a packed batch (one per sequence and head, longest
/// sequences first as the batch is packed), every worker's kernel scratch and, when bf16 attention is
/// used, room for one (sequence, head)'s packed K and V per worker. Made once per forward pass and reused
/// by every layer (no allocation in the per-layer path).
final class AttentionWorkspace: @unchecked Sendable {
    // @unchecked: worker w touches only scratch(w) and packedKV(w); items is immutable.
    /// (sequence, head) of every work item.
    let items: [(seq: Int, head: Int)]
    let workers: Int
    private let scratchBuffer: UnsafeMutableRawPointer
    private let scratchStride: Int
    /// Worker w's packed K and V at packed + w · packedStride; nil without bf16.
    private let packed: UnsafeMutablePointer<UInt16>?
    private let packedStride: Int

    init(starts: [Int], heads: Int, headDim: Int, workers: Int, bf16: Bool) {
        let sequences = starts.count - 1
        items = (0..<sequences).flatMap { s in (0..<heads).map { h in (s, h) } }
        self.workers = max(1, workers)
        scratchStride = (sito_attention_scratch_bytes(headDim) + 63) / 64 * 64
        scratchBuffer = .allocate(byteCount: scratchStride * self.workers, alignment: 64)
        let longest = (0..<sequences).map { starts[$0 + 1] - starts[$0] }.max() ?? 0
        packedStride = (sito_attention_kv_bf16_elements(longest, headDim) + 31) / 32 * 32
        packed = bf16 ? .allocate(capacity: max(1, packedStride * self.workers)) : nil
    }

    deinit {
        scratchBuffer.deallocate()
        packed?.deallocate()
    }

    func scratch(_ w: Int) -> UnsafeMutableRawPointer { scratchBuffer + w * scratchStride }

    func packedKV(_ w: Int) -> UnsafeMutablePointer<UInt16> {
        guard let packed else { preconditionFailure("AttentionWorkspace made without bf16 storage") }
        return packed + w * packedStride
    }
}

/// A lock-protected counter handing out work items.
final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)

    /// The value before this call's increment.
    func increment() -> Int {
        value.wrappingAdd(1, ordering: .relaxed).oldValue
    }
}
