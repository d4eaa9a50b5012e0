// Attention.swift: multi-head self-attention over packed sequences, tiled with an online softmax
// (the FlashAttention recurrence), so memory is O(block²) per worker and never O(L²).
//
// For sequence s (rows [a, b) of the packed matrices) and head h (columns [h·d, (h+1)·d)):
//   for each query block Qb [bq, d]:
//     m = -inf, l = 0, O = 0 [bq, d]
//     for each key block Kb, Vb [bk, d]:
//       S = Qb·Kbᵀ / √d                      [bq, bk]   (cblas_sgemm)
//       m' = max(m, rowmax S); c = exp(m - m'); P = exp(S - m')
//       l = l·c + rowsum P; O = O·c + P·Vb   (sito_softmax_update_f32, then cblas_sgemm)
//     ctx[Qb rows, head cols] = O / l        (sito_softmax_finish_f32)
// With one key block (L ≤ keyBlock) this is exactly softmax(QKᵀ/√d)·V.
// Memory: per worker S [queryBlock, keyBlock] + O [queryBlock, d] floats (64 × 512 + 64 × 64 = 147 KB at
// d = 64), allocated once per forward pass in an AttentionWorkspace, whatever the sequence length.
import COpenBLAS
import CSitoKernels
import Dispatch
import Foundation

struct Attention {
    let heads: Int
    let headDim: Int
    static let queryBlock = 64
    static let keyBlock = 512

    /// q, k, v, out: [T, heads·headDim] with row stride `ld`; `starts` as in PackedBatch (the workspace
    /// was made for the same starts). `out` may be `q` itself: a query block's rows × head columns are
    /// read only by the one work item that then writes its result there.
    func run(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
             out: UnsafeMutablePointer<Float>, ld: Int, starts: [Int], workspace ws: AttentionWorkspace) {
        let items = ws.items
        let workers = min(items.count, ws.workers)
        let next = AtomicCounter()
        // Each item writes its own rows × head columns of `out`; each worker its own scratch.
        parallelFor(workers) { w in
            let Bq = Attention.queryBlock, Bk = Attention.keyBlock, d = headDim
            let sBuf = ws.scores(w), oBuf = ws.accumulator(w), rowMax = ws.rowMax(w), rowSum = ws.rowSum(w)
            let scale = 1 / sqrtf(Float(d))
            while true {
                let i = next.increment()
                if i >= items.count { break }
                let item = items[i]
                let a = starts[item.seq], length = starts[item.seq + 1] - a
                let bq = min(Bq, length - item.q0)
                let col = item.head * d
                let qBlock = q + (a + item.q0) * ld + col
                oBuf.update(repeating: 0, count: bq * d)
                rowMax.update(repeating: -.infinity, count: bq)
                rowSum.update(repeating: 0, count: bq)
                var k0 = 0
                while k0 < length {
                    let bk = min(Bk, length - k0)
                    let kBlock = k + (a + k0) * ld + col
                    let vBlock = v + (a + k0) * ld + col
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(bq), Int32(bk), Int32(d),
                                scale, qBlock, Int32(ld), kBlock, Int32(ld), 0, sBuf, Int32(Bk))
                    sito_softmax_update_f32(sBuf, Bk, bq, bk, rowMax, rowSum, oBuf, d, d)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(bq), Int32(d), Int32(bk),
                                1, sBuf, Int32(Bk), vBlock, Int32(ld), 1, oBuf, Int32(d))
                    k0 += bk
                }
                sito_softmax_finish_f32(oBuf, d, rowSum, out + (a + item.q0) * ld + col, ld, bq, d)
            }
        }
    }
}

/// Attention's per-forward state: the work items of a packed batch and every worker's scratch, made
/// once per forward pass and reused by every layer (no allocation in the per-layer path).
final class AttentionWorkspace: @unchecked Sendable {
    // @unchecked: worker w touches only its own slices (scores(w), accumulator(w), …); items is immutable.
    /// (sequence, head, first query row) of every query block.
    let items: [(seq: Int, head: Int, q0: Int)]
    let workers: Int
    private let headDim: Int
    private let buffer: UnsafeMutablePointer<Float>
    private let perWorker: Int

    init(starts: [Int], heads: Int, headDim: Int, workers: Int) {
        var items: [(seq: Int, head: Int, q0: Int)] = []
        for s in 0..<(starts.count - 1) {
            let length = starts[s + 1] - starts[s]
            for h in 0..<heads {
                var q0 = 0
                while q0 < length {
                    items.append((s, h, q0))
                    q0 += Attention.queryBlock
                }
            }
        }
        self.items = items
        self.workers = max(1, workers)
        self.headDim = headDim
        let Bq = Attention.queryBlock
        // S [Bq, Bk], O [Bq, d], max [Bq], sum [Bq], each rounded up to 16 floats (64 bytes).
        perWorker = [Bq * Attention.keyBlock, Bq * headDim, Bq, Bq].map { ($0 + 15) / 16 * 16 }.reduce(0, +)
        buffer = .allocate(capacity: perWorker * self.workers)
    }

    deinit { buffer.deallocate() }

    func scores(_ w: Int) -> UnsafeMutablePointer<Float> { buffer + w * perWorker }
    func accumulator(_ w: Int) -> UnsafeMutablePointer<Float> {
        scores(w) + (Attention.queryBlock * Attention.keyBlock + 15) / 16 * 16
    }
    func rowMax(_ w: Int) -> UnsafeMutablePointer<Float> {
        accumulator(w) + (Attention.queryBlock * headDim + 15) / 16 * 16
    }
    func rowSum(_ w: Int) -> UnsafeMutablePointer<Float> { rowMax(w) + (Attention.queryBlock + 15) / 16 * 16 }
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
