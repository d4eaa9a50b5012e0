// Attention.swift: multi-head self-attention over packed sequences, tiled with an online softmax
// (the FlashAttention recurrence), so memory is O(block²) per worker and never O(L²).
//
// For sequence s (rows [a, b) of the packed matrices) and head h (columns [h·d, (h+1)·d)):
//   for each query block Qb [bq, d]:
//     m = -inf, l = 0, O = 0 [bq, d]
//     for each key block Kb, Vb [bk, d]:
//       S = Qb·Kbᵀ / √d                      [bq, bk]   (cblas_sgemm)
//       m' = max(m, rowmax S); c = exp(m - m'); P = exp(S - m')
//       l = l·c + rowsum P; O = O·c + P·Vb   (cblas_sgemm)
//     ctx[Qb rows, head cols] = O / l
// With one key block (L ≤ keyBlock) this is exactly softmax(QKᵀ/√d)·V.
import COpenBLAS
import Dispatch
import Foundation

struct Attention {
    let heads: Int
    let headDim: Int
    static let queryBlock = 64
    static let keyBlock = 512

    /// q, k, v, out: [T, heads·headDim] with row stride `ld`; `starts` as in PackedBatch.
    func run(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
             out: UnsafeMutablePointer<Float>, ld: Int, starts: [Int]) {
        // Work items: (sequence, head, query block).
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
        let workers = min(items.count, runtimeCores)
        let next = AtomicCounter()
        // Each item writes its own rows × head columns of `out`.
        parallelFor(workers) { _ in
            let Bq = Attention.queryBlock, Bk = Attention.keyBlock, d = headDim
            let sBuf = UnsafeMutablePointer<Float>.allocate(capacity: Bq * Bk)
            let oBuf = UnsafeMutablePointer<Float>.allocate(capacity: Bq * d)
            var rowMax = [Float](repeating: 0, count: Bq)
            var rowSum = [Float](repeating: 0, count: Bq)
            defer { sBuf.deallocate(); oBuf.deallocate() }
            let scale = 1 / sqrtf(Float(d))
            while true {
                let i = next.increment()
                if i >= items.count { break }
                let item = items[i]
                let a = starts[item.seq], length = starts[item.seq + 1] - a
                let bq = min(Bq, length - item.q0)
                let col = item.head * d
                let qBlock = q + (a + item.q0) * ld + col
                oBuf.initialize(repeating: 0, count: bq * d)
                for r in 0..<bq { rowMax[r] = -.infinity; rowSum[r] = 0 }
                var k0 = 0
                while k0 < length {
                    let bk = min(Bk, length - k0)
                    let kBlock = k + (a + k0) * ld + col
                    let vBlock = v + (a + k0) * ld + col
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(bq), Int32(bk), Int32(d),
                                scale, qBlock, Int32(ld), kBlock, Int32(ld), 0, sBuf, Int32(Bk))
                    for r in 0..<bq {
                        let s = sBuf + r * Bk
                        var mx = rowMax[r]
                        for j in 0..<bk where s[j] > mx { mx = s[j] }
                        let correction = expf(rowMax[r] - mx)
                        var sum: Float = 0
                        for j in 0..<bk {
                            let p = expf(s[j] - mx)
                            s[j] = p
                            sum += p
                        }
                        rowSum[r] = rowSum[r] * correction + sum
                        rowMax[r] = mx
                        if correction != 1 {
                            let o = oBuf + r * d
                            for c in 0..<d { o[c] *= correction }
                        }
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(bq), Int32(d), Int32(bk),
                                1, sBuf, Int32(Bk), vBlock, Int32(ld), 1, oBuf, Int32(d))
                    k0 += bk
                }
                let dst = out + (a + item.q0) * ld + col
                for r in 0..<bq {
                    let inv = 1 / rowSum[r]
                    for c in 0..<d { dst[r * ld + c] = oBuf[r * d + c] * inv }
                }
            }
        }
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
