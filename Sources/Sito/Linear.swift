// Linear.swift: y = x · Wᵀ + b for every weight dtype a `.sito` file may hold.
//   f32  → on the mapped weights (zero-copy): OpenBLAS cblas_sgemm with the `OpenBLAS` package trait (the
//          default), Sito's own sito_gemm_f32 without it (edge builds)
//   bf16 → sito_gemm_bf16 (activations rounded to bf16 once per call)
//   i8   → sito_gemm_i8 with per-token dynamic activation quantization (formats/quantization.md); with
//          two activation passes, x ≈ q1·s1 + q2·s2 (the second pass quantizes the residual) and
//          y = (q1·s1)·Wᵀ + b + (q2·s2)·Wᵀ, for trained models' outlier activations: one fused kernel
//          (sito_gemm_i8_blocked16_2pass, each weight group read once) on blocked16 weights, two int8 GEMMs
//          and an addition on row-major ones; bit-identical either way. With 16-bit activations
//          (scheme int8-a16), each token's row is quantized to at most sito_a16_levels(K) levels and
//          multiplied by the int8 weights widened to 16 bits (sito_gemm_i8_blocked16_a16 / sito_gemm_i8_a16):
//          as accurate as two passes, at one pass's multiply-adds on AVX2
//   f16  → widened to f32 once at load (the only dtype that is copied)
// Which int8 scheme a projection runs is the header's: its `quantization.plan` entry (int8, int8-two-pass,
// int8-a16), else the file-wide `activation_passes`; a plan may mix int8 and bf16 projections in one file (formats/quantization.md).
// i8 and bf16 weights in the `blocked16` layout (what sito-quantize writes for projections; formats/sito.md,
// "Layouts") go to the blocked16 kernels, row-major ones to the row-major kernels; results are the same
// (int8: bit-identical; bf16: within the kernels' summation bound).
// Work is split over output channels across the machine's cores (blocks of 16 rows).
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
import SitoFormat

/// A linear layer's weights, in place in the mapped file.
struct Linear: @unchecked Sendable {
    // @unchecked: the pointers point into the read-only mapping of the model's SitoFile (kept alive by
    // the model) or into `owned`, which is immutable after init.
    enum Storage {
        case f32(UnsafePointer<Float>)
        case bf16(UnsafePointer<UInt16>, blocked: Bool)
        case i8(UnsafePointer<Int8>, scale: UnsafePointer<Float>, sums: [Int32], activations: Int8Activations, blocked: Bool)
    }

    /// How an int8 projection quantizes its input rows at run time (its ProjectionScheme).
    enum Int8Activations: Equatable {
        /// One int8 row per token.
        case onePass
        /// An int8 row and the int8 row of its residual, per token.
        case twoPass
        /// One 16-bit row per token, in [-levels, levels] (levels = sito_a16_levels(inFeatures)).
        case sixteenBit(levels: Int32)
    }

    /// Output channels (rows of W).
    let outFeatures: Int
    /// Input features (columns of W).
    let inFeatures: Int
    let storage: Storage
    let bias: UnsafePointer<Float>
    /// Backing store when the file's dtype had to be widened (f16).
    private let owned: OwnedFloats?

    /// Blocks each product (and each input conversion) is split into, run at once: the model's workers.
    let workers: Int

    init(file: SitoFile, name: String, workers: Int) throws {
        self.workers = max(1, workers)
        let w = try file.require("\(name).weight")
        let b = try file.require("\(name).bias")
        outFeatures = w.shape[0]
        inFeatures = w.shape[1]
        bias = b.pointer(as: Float.self)
        switch w.dtype {
        case .f32:
            storage = .f32(w.pointer(as: Float.self))
            inputKind = .f32
            owned = nil
        case .bf16:
            storage = .bf16(w.pointer(as: UInt16.self), blocked: w.layout == .blocked16)
            inputKind = .bf16
            owned = nil
        case .i8:
            let s = try file.require("\(name).weight\(scaleSuffix)")
            let blocked = w.layout == .blocked16
            // Per projection: the plan's entry, else the file's activation_passes (formats/quantization.md).
            let activations: Int8Activations
            switch file.header.quantization?.scheme(forInt8Projection: name) ?? .int8 {
            case .int8, .bf16: activations = .onePass
            case .int8TwoPass: activations = .twoPass
            case .int8A16: activations = .sixteenBit(levels: sito_a16_levels(w.shape[1]))
            }
            // Row sums: what the int8 × int8 VNNI paths need (the 16-bit kernels multiply signed by signed).
            var sums: [Int32] = []
            if activations == .onePass || activations == .twoPass {
                sums = [Int32](repeating: 0, count: w.shape[0])
                if blocked {
                    sito_i8_row_sums_blocked16(w.pointer(as: Int8.self), w.shape[0], w.shape[1], &sums)
                } else {
                    sito_i8_row_sums(w.pointer(as: Int8.self), w.shape[1], w.shape[0], w.shape[1], &sums)
                }
            }
            storage = .i8(w.pointer(as: Int8.self), scale: s.pointer(as: Float.self), sums: sums,
                          activations: activations, blocked: blocked)
            inputKind = .int8(activations)
            owned = nil
        case .f16:
            let widened = OwnedFloats(count: w.count)
            sito_f16_to_f32(w.pointer(as: UInt16.self), widened.pointer, w.count)
            owned = widened
            storage = .f32(UnsafePointer(widened.pointer))
            inputKind = .f32
        case .u8:
            throw SitoFormatError.wrongDType(path: file.path, tensor: "\(name).weight", dtype: .u8, allowed: [.f32, .f16, .bf16, .i8])
        }
    }

    /// y [rows, outFeatures] (row stride ldy) = x [rows, inFeatures] (row stride ldx) · Wᵀ + b.
    /// `scratch` must hold `scratchBytes(rows:)` bytes.
    func apply(_ x: UnsafePointer<Float>, ldx: Int, rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int,
               scratch: UnsafeMutableRawPointer) {
        apply(prepared: prepare(x, ldx: ldx, rows: rows, scratch: scratch), rows: rows, into: y, ldy: ldy)
    }

    /// x as this layer's kernel reads it: the f32 rows themselves, or rounded to bf16, or quantized to
    /// int8 rows + per-row scales (in the caller's scratch). Valid for every Linear whose `inputKind` and
    /// `inFeatures` are this one's (Q, K and V share one), until the scratch is reused.
    struct PreparedInput {
        let kind: InputKind
        let x: UnsafePointer<Float>
        let ldx: Int
        let scratch: UnsafeMutableRawPointer
    }

    /// What `prepare` makes of x: layers with equal kinds and inFeatures can share a PreparedInput.
    enum InputKind: Equatable {
        case f32, bf16
        case int8(Int8Activations)
    }

    /// What `prepare` makes of x (stored, not computed from `storage` at each call: set once in init).
    let inputKind: InputKind

    /// Scratch layout of a prepared int8 input of `rows` rows: pass p's int8 rows at `quantOffset(p)`,
    /// its scales at `scaleOffset(p)`; then (apply's) the second pass's output rows. A 16-bit input has
    /// its int16 rows at 0 and its scales at `scaleOffset16`.
    private func quantOffset(_ pass: Int, rows: Int) -> Int {
        pass * (Linear.align(rows * inFeatures) + Linear.align(rows * 4))
    }

    private func scaleOffset(_ pass: Int, rows: Int) -> Int {
        quantOffset(pass, rows: rows) + Linear.align(rows * inFeatures)
    }

    private func scaleOffset16(rows: Int) -> Int { Linear.align(rows * inFeatures * 2) }

    /// Rows converted at once after `prepare`'s hook: small enough to stay in L2 between the two.
    private static let hookRows = 8

    /// Converts x [rows, inFeatures] once (see PreparedInput); `scratch`: `scratchBytes(rows:)` bytes.
    /// `hook(r0, r1)`, if given, runs on rows [r0, r1) of x right before they are converted, on the same
    /// core, a few rows at a time (the FFN's GELU: the rows are converted while still in cache). It may
    /// write those rows of x and nothing else.
    func prepare(_ x: UnsafePointer<Float>, ldx: Int, rows: Int, scratch: UnsafeMutableRawPointer,
                 hook: ((Int, Int) -> Void)? = nil) -> PreparedInput {
        let k = inFeatures
        /// Runs `convert(r0, r1, rowBuffer)` over [0, rows) split over the cores, each core's block in
        /// hook-sized steps; `rowBuffer` is `bufferFloats` floats of the core's own, allocated once per block
        /// (nil when 0).
        func eachBlock(bufferFloats: Int = 0, _ convert: (Int, Int, UnsafeMutablePointer<Float>?) -> Void) {
            parallelRows(rows, workers: workers, minRows: 64) { b0, b1 in
                let buffer = bufferFloats > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: bufferFloats) : nil
                defer { buffer?.deallocate() }
                guard let hook else { return convert(b0, b1, buffer) }
                var r0 = b0
                while r0 < b1 {
                    let r1 = min(b1, r0 + Linear.hookRows)
                    hook(r0, r1)
                    convert(r0, r1, buffer)
                    r0 = r1
                }
            }
        }
        switch storage {
        case .f32:
            if hook != nil { eachBlock { _, _, _ in } }
        case .bf16:
            let xb = scratch.assumingMemoryBound(to: UInt16.self)
            // Rows split over the cores; each block writes its own rows of xb.
            eachBlock { r0, r1, _ in
                for r in r0..<r1 { sito_f32_to_bf16(x + r * ldx, xb + r * k, k) }
            }
        case .i8(_, _, _, .sixteenBit(let levels), _):
            let xq = scratch.assumingMemoryBound(to: Int16.self)
            let xs = (scratch + scaleOffset16(rows: rows)).assumingMemoryBound(to: Float.self)
            eachBlock { r0, r1, _ in
                sito_quantize_rows_i16(x + r0 * ldx, ldx, r1 - r0, k, levels, xq + r0 * k, k, xs + r0)
            }
        case .i8(_, _, _, let activations, _):
            let xq = (scratch + quantOffset(0, rows: rows)).assumingMemoryBound(to: Int8.self)
            let xs = (scratch + scaleOffset(0, rows: rows)).assumingMemoryBound(to: Float.self)
            let rq = (scratch + quantOffset(1, rows: rows)).assumingMemoryBound(to: Int8.self)
            let rs = (scratch + scaleOffset(1, rows: rows)).assumingMemoryBound(to: Float.self)
            eachBlock(bufferFloats: activations == .twoPass ? k : 0) { r0, r1, buffer in
                sito_quantize_rows_i8(x + r0 * ldx, ldx, r1 - r0, k, xq + r0 * k, k, xs + r0)
                guard activations == .twoPass, let residual = buffer else { return }
                // Second pass: r = x − f32(f32(q1)·s1) (one rounded multiply, one rounded subtract,
                // no FMA), quantized per row by the same rule; `residual` is one row of the core's own.
                for r in r0..<r1 {
                    let row = x + r * ldx, q = xq + r * k, s = xs[r]
                    for i in 0..<k {
                        let back = Float(q[i]) * s
                        residual[i] = row[i] - back
                    }
                    sito_quantize_rows_i8(residual, k, 1, k, rq + r * k, k, rs + r)
                }
            }
        }
        return PreparedInput(kind: inputKind, x: x, ldx: ldx, scratch: scratch)
    }

    /// y [rows, outFeatures] (row stride ldy) = prepared x · Wᵀ + b.
    func apply(prepared p: PreparedInput, rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int) {
        precondition(p.kind == inputKind, "PreparedInput of another dtype")
        if rows == 0 { return }
        let n = outFeatures, k = inFeatures
        switch storage {
        case .f32(let w):
            let x = p.x, ldx = p.ldx
            #if OpenBLAS
            for r in 0..<rows { (y + r * ldy).update(from: bias, count: n) }
            parallelOverOutputs(n) { n0, n1 in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n1 - n0), Int32(k),
                            1, x, Int32(ldx), w + n0 * k, Int32(k), 1, y + n0, Int32(ldy))
            }
            #else
            parallelOverOutputs(n) { n0, n1 in
                sito_gemm_f32(x, ldx, w + n0 * k, k, bias + n0, y + n0, ldy, rows, n1 - n0, k)
            }
            #endif
        case .bf16(let w, let blocked):
            let xb = UnsafePointer(p.scratch.assumingMemoryBound(to: UInt16.self))
            parallelOverOutputs(n) { n0, n1 in
                if blocked {
                    sito_gemm_bf16_blocked16(xb, k, w + n0 * k, bias + n0, y + n0, ldy, rows, n1 - n0, k)
                } else {
                    sito_gemm_bf16(xb, k, w + n0 * k, k, bias + n0, y + n0, ldy, rows, n1 - n0, k)
                }
            }
        case .i8(let w, let scale, _, .sixteenBit, let blocked):
            let xq = UnsafePointer(p.scratch.assumingMemoryBound(to: Int16.self))
            let xs = UnsafePointer((p.scratch + scaleOffset16(rows: rows)).assumingMemoryBound(to: Float.self))
            // Each block writes its own columns of y.
            parallelOverOutputs(n) { n0, n1 in
                if blocked {
                    sito_gemm_i8_blocked16_a16(xq, k, xs, w + n0 * k, scale + n0, bias + n0, y + n0, ldy, rows, n1 - n0, k)
                } else {
                    sito_gemm_i8_a16(xq, k, xs, w + n0 * k, k, scale + n0, bias + n0, y + n0, ldy, rows, n1 - n0, k)
                }
            }
        case .i8(let w, let scale, let sums, let activations, let blocked):
            let xq = UnsafePointer((p.scratch + quantOffset(0, rows: rows)).assumingMemoryBound(to: Int8.self))
            let xs = UnsafePointer((p.scratch + scaleOffset(0, rows: rows)).assumingMemoryBound(to: Float.self))
            let rq = UnsafePointer((p.scratch + quantOffset(1, rows: rows)).assumingMemoryBound(to: Int8.self))
            let rs = UnsafePointer((p.scratch + scaleOffset(1, rows: rows)).assumingMemoryBound(to: Float.self))
            let y2 = (p.scratch + quantOffset(2, rows: rows)).assumingMemoryBound(to: Float.self)
            sums.withUnsafeBufferPointer { sp in
                let s = sp.baseAddress!
                // Each block writes its own columns of y (and of y2).
                // One int8 GEMM of `rows` activation rows against weight rows [n0, n1).
                func gemm(_ x: UnsafePointer<Int8>, _ xScale: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                          _ out: UnsafeMutablePointer<Float>, _ ldo: Int, _ n0: Int, _ n1: Int) {
                    if blocked {
                        sito_gemm_i8_blocked16(x, k, xScale, w + n0 * k, scale + n0, s + n0, b.map { $0 + n0 }, out + n0, ldo, rows, n1 - n0, k)
                    } else {
                        sito_gemm_i8(x, k, xScale, w + n0 * k, k, scale + n0, s + n0, b.map { $0 + n0 }, out + n0, ldo, rows, n1 - n0, k)
                    }
                }
                parallelOverOutputs(n) { n0, n1 in
                    // One kernel call per projection, chosen by this projection's own activation scheme.
                    switch activations {
                    case .onePass:
                        gemm(xq, xs, bias, y, ldy, n0, n1)
                        return
                    case .twoPass where blocked:
                        // Fused: each weight group is read once for both passes; bit-identical to the two
                        // GEMMs and the addition below (sito_kernels.h, sito_gemm_i8_blocked16_2pass).
                        sito_gemm_i8_blocked16_2pass(xq, xs, rq, rs, k, w + n0 * k, scale + n0, s + n0, bias + n0,
                                                     y + n0, ldy, rows, n1 - n0, k)
                        return
                    case .twoPass:
                        gemm(xq, xs, bias, y, ldy, n0, n1)
                    case .sixteenBit:
                        preconditionFailure("16-bit activations take the case above")
                    }
                    gemm(rq, rs, nil, y2, n, n0, n1)
                    for r in 0..<rows {
                        let dst = y + r * ldy, src = y2 + r * n
                        for c in n0..<n1 { dst[c] += src[c] }
                    }
                }
            }
        }
    }

    /// Scratch bytes `apply` needs for `rows` rows.
    func scratchBytes(rows: Int) -> Int {
        switch storage {
        case .f32: return 0
        case .bf16: return Linear.align(rows * inFeatures * 2)
        case .i8(_, _, _, let activations, let blocked):
            switch activations {
            case .onePass: return quantOffset(1, rows: rows)
            case .twoPass:
                // Row-major weights add the second pass's output rows (the blocked16 kernel is fused).
                return quantOffset(2, rows: rows) + (blocked ? 0 : Linear.align(rows * outFeatures * 4))
            case .sixteenBit: return scaleOffset16(rows: rows) + Linear.align(rows * 4)
            }
        }
    }

    static func align(_ n: Int) -> Int { (n + 63) & ~63 }

    /// Splits the output columns [0, n) into one contiguous block per worker (multiples of 16 columns) and runs them at
    /// once; each block writes its own columns of y.
    private func parallelOverOutputs(_ n: Int, _ body: (Int, Int) -> Void) {
        if workers <= 1 || n < 64 {
            body(0, n)
            return
        }
        let per = ((n + workers - 1) / workers + 15) / 16 * 16
        let blocks = (n + per - 1) / per
        parallelFor(blocks) { i in body(i * per, min(n, (i + 1) * per)) }
    }
}

/// A heap buffer of floats that lives as long as its owner and is never resized.
final class OwnedFloats: @unchecked Sendable {
    // @unchecked: written once right after allocation (before being shared), read-only afterwards.
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
    }

    deinit { pointer.deallocate() }
}
