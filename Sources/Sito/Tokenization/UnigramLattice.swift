// UnigramLattice.swift: Hugging Face's Unigram segmentation (formats/tokenization.md, step 4) and the
// piece table it looks pieces up in, built from the embedded model (EmbeddedSentencePieceModel.swift)
// and the model ids SentencePieceTokenizer.swift maps its pieces to. The table also answers
// `modelId(ofPiece:)`.
//
// The table is built on every load of a model, so it is made to be cheap to build: one hash table of
// the whole piece texts (open addressing, verified byte for byte on every hit) and a bitset of the
// hashes of every piece prefix, which ends the search from one start position as soon as no piece
// can start with the bytes seen. The bitset may answer "maybe" for a prefix no piece has (about 9% of
// them for XLM-R), which costs one more step; it never answers "no" for a real prefix, so lookups are
// exact.
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

/// The vocabulary of an embedded sentencepiece model as the runtime uses it: every distinct piece text
/// once, with the lattice's score and id and the id `modelId(ofPiece:)` answers. Immutable after init.
///
/// `@unchecked Sendable`: the buffers are allocated and written in init only, read afterwards, and freed
/// in deinit.
final class PieceTable: @unchecked Sendable {
    struct Entry {
        var start: UInt32
        var length: UInt32
        /// Model id of the lattice piece with this text, or -1 when the lattice has none (a text held
        /// only by UNUSED pieces).
        var latticeId: Int32
        /// Model id `modelId(ofPiece:)` answers for this text.
        var modelId: Int32
        /// The lattice piece's score.
        var score: Double
    }

    /// Pieces in use: the model's, plus the NORMAL twins of added tokens (below).
    let pieceCount: Int
    /// Model id of the UNKNOWN piece.
    let unknownModelId: Int32
    /// The lowest score of a lattice piece.
    let minLatticeScore: Double
    /// Length in bytes of the longest lattice text.
    let maxLatticeBytes: Int
    /// Every buffer below, in one mapping.
    private let memory: ZeroedMemory
    /// Every entry's text, end to end.
    private let text: UnsafeMutablePointer<UInt8>
    private let entries: UnsafeMutablePointer<Entry>
    /// Open addressing, linear probing: `tag << 32 | (entry + 1)`, 0 = empty.
    private let slots: UnsafeMutablePointer<UInt64>
    private let slotMask: Int
    /// Bit `prefixBit(h)` is set for the hash of every prefix (whole text included) of every lattice text.
    private let prefixBits: UnsafeMutablePointer<UInt64>
    private let prefixShift: UInt64

    /// Builds the table of `model`, whose piece i has model id `modelIds[i]`, with a NORMAL twin of each
    /// added token that no NORMAL/USER_DEFINED/UNUSED piece spells. Throws `TokenizerError.invalidModel`
    /// for an empty piece, a BYTE piece, a text repeated within one of libsentencepiece's two piece maps
    /// (NORMAL/USER_DEFINED/UNUSED; CONTROL/UNKNOWN), and no or two UNKNOWN pieces.
    ///
    /// Rules (formats/tokenization.md, "Load"): the lattice holds every piece but the UNUSED ones; where
    /// two lattice pieces share a text, the later one counts. `modelId(ofPiece:)` looks in the
    /// CONTROL/UNKNOWN map first, as libsentencepiece's `PieceToId` does. Hugging Face's lattice holds
    /// every vocabulary entry, special tokens included (at their score, 0 for XLM-R), so "＜s＞"
    /// normalizes to "<s>" and becomes id 0: an added token whose text no NORMAL/USER_DEFINED/UNUSED piece
    /// has (CONTROL/UNKNOWN in the proto, or missing, like the fairseq model's <pad> and <mask>) gets a
    /// NORMAL twin with the f32 score of the model's piece (else 0), mapped to the token's id.
    init(model: EmbeddedSentencePieceModel, modelIds: [Int32], addedTokens: [(text: [UInt8], id: Int32)]) throws {
        let n = model.count
        let maxEntries = n + addedTokens.count
        let textBytes = model.textBytes + addedTokens.reduce(0) { $0 + $1.text.count }
        var capacity = 1024
        while capacity < maxEntries * 2 { capacity <<= 1 }  // load ≤ 0.5
        // 2 to 4 bits per byte of text: XLM-R's 2.6 MB of piece text has 0.78 M distinct prefixes, which set
        // ~9% of 2^23 bits. The bitset (1 MiB) then mostly stays in L2; 2 MiB loads ~10% slower and
        // encodes no faster.
        var bits = 4096
        while bits < textBytes * 2 && bits < 1 << 40 { bits <<= 1 }
        let shift = UInt64(64 - bits.trailingZeroBitCount)
        let mask = capacity - 1

        // One zero-filled mapping for what the table keeps, one for what only the build needs.
        var layout = MemoryLayoutPlan()
        let textAt = layout.add(textBytes, of: UInt8.self)
        let entriesAt = layout.add(maxEntries, of: Entry.self)
        let slotsAt = layout.add(capacity, of: UInt64.self)
        let bitsAt = layout.add(bits / 64, of: UInt64.self)
        var scratchLayout = MemoryLayoutPlan()
        let hashesAt = scratchLayout.add(n, of: UInt64.self)
        let reservedAt = scratchLayout.add(maxEntries, of: Int32.self)
        let classesAt = scratchLayout.add(maxEntries, of: UInt8.self)
        guard let memory = ZeroedMemory(bytes: layout.size), let scratch = ZeroedMemory(bytes: scratchLayout.size) else {
            throw TokenizerError.invalidModel("its lookup tables need \(layout.size + scratchLayout.size) bytes, which cannot be allocated")
        }
        defer { scratch.free() }
        var built = false
        defer { if !built { memory.free() } }
        let text = memory.pointer(at: textAt, to: UInt8.self)
        let entries = memory.pointer(at: entriesAt, to: Entry.self)
        let slots = memory.pointer(at: slotsAt, to: UInt64.self)
        let prefixBits = memory.pointer(at: bitsAt, to: UInt64.self)
        let hashes = scratch.pointer(at: hashesAt, to: UInt64.self)
        // Per entry: the CONTROL/UNKNOWN piece with its text (+ 1; 0 = none), and bit 0 a
        // NORMAL/USER_DEFINED/UNUSED piece (or a twin) has the text, bit 1 a CONTROL/UNKNOWN one.
        let reservedPiece = scratch.pointer(at: reservedAt, to: Int32.self)
        let classes = scratch.pointer(at: classesAt, to: UInt8.self)

        var textEnd = 0
        var entryCount = 0
        var maxLatticeBytes = 0
        var minScore = Double.infinity
        var unknownPiece = -1

        /// The entry of the `length` bytes at `text + start` (mixed hash `m`), created when new.
        func entry(_ m: UInt64, _ start: Int, _ length: Int) -> (index: Int, isNew: Bool) {
            if let e = PieceTable.find(m, text + start, length, slots: slots, mask: mask, entries: entries, text: text) {
                return (e, false)
            }
            var slot = PieceTable.slot(m, mask)
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            entries[entryCount] = Entry(start: UInt32(start), length: UInt32(length), latticeId: -1, modelId: -1, score: 0)
            entryCount += 1
            slots[slot] = UInt64(PieceTable.tag(m, length)) << 32 | UInt64(entryCount)
            return (entryCount - 1, true)
        }
        /// Hash of `length` bytes at `text + start`; with `mark`, its prefixes go into the bitset.
        func hash(_ start: Int, _ length: Int, mark: Bool) -> UInt64 {
            var h = PieceTable.seed
            if mark {
                for k in start..<start + length {
                    h = PieceTable.step(h, text[k])
                    let bit = PieceTable.prefixBit(PieceTable.mix(h), shift)
                    prefixBits[bit >> 6] |= 1 << UInt64(bit & 63)
                }
            } else {
                for k in start..<start + length { h = PieceTable.step(h, text[k]) }
            }
            return PieceTable.mix(h)
        }
        func quoted(_ piece: Int) -> String { "'\(String(decoding: model.text(of: piece), as: UTF8.self))'" }

        try model.types.withUnsafeBufferPointer { types in
            // Pass 1, streaming: copy every text, hash it, and put the prefixes of lattice texts in the bitset.
            for p in 0..<n {
                let source = model.text(of: p)
                guard let base = source.baseAddress, !source.isEmpty else { throw TokenizerError.invalidModel("piece \(p) is empty") }
                (text + textEnd).update(from: base.assumingMemoryBound(to: UInt8.self), count: source.count)
                let isLattice = types[p] != .unused
                hashes[p] = hash(textEnd, source.count, mark: isLattice)
                if isLattice { maxLatticeBytes = max(maxLatticeBytes, source.count) }
                textEnd += source.count
            }
            // Pass 2: the hash table. Apart from its slot, each piece only reads arrays in order, so the
            // random slot reads of many pieces are in flight at once.
            try model.latticeScores.withUnsafeBufferPointer { scores in
                var start = 0
                for p in 0..<n {
                    let type = types[p]
                    guard type != .byte else {
                        throw TokenizerError.invalidModel("piece \(p) (\(quoted(p))) is a BYTE piece; byte fallback is not supported")
                    }
                    let length = Int(model.textLength[p])
                    let e = entry(hashes[p], start, length).index
                    start += length
                    let modelId = modelIds[p]
                    if type == .unknown || type == .control {
                        guard classes[e] & 2 == 0 else { throw TokenizerError.invalidModel("piece \(p) (\(quoted(p))) is defined twice") }
                        classes[e] |= 2
                        reservedPiece[e] = Int32(p + 1)
                        entries[e].modelId = modelId
                    } else {
                        guard classes[e] & 1 == 0 else { throw TokenizerError.invalidModel("piece \(p) (\(quoted(p))) is defined twice") }
                        classes[e] |= 1
                        if classes[e] & 2 == 0 { entries[e].modelId = modelId }
                    }
                    if type == .unknown {
                        guard unknownPiece < 0 else { throw TokenizerError.invalidModel("pieces \(unknownPiece) and \(p) are both UNKNOWN") }
                        unknownPiece = p
                    }
                    if type != .unused {
                        entries[e].latticeId = modelId
                        entries[e].score = scores[p]
                        minScore = min(minScore, scores[p])
                    }
                }
            }
        }
        guard unknownPiece >= 0 else { throw TokenizerError.invalidModel("the model has no UNKNOWN piece") }

        var twins = 0
        for token in addedTokens where !token.text.isEmpty {
            let start = textEnd
            token.text.withUnsafeBufferPointer { (text + start).update(from: $0.baseAddress!, count: $0.count) }
            let (e, isNew) = entry(hash(start, token.text.count, mark: false), start, token.text.count)
            if classes[e] & 1 != 0 { continue }  // a NORMAL/USER_DEFINED/UNUSED piece, or an earlier twin
            if isNew { textEnd += token.text.count }
            _ = hash(start, token.text.count, mark: true)
            let score = reservedPiece[e] > 0 ? Double(model.reservedScores[Int(reservedPiece[e]) - 1] ?? 0) : 0
            classes[e] |= 1
            if classes[e] & 2 == 0 { entries[e].modelId = token.id }
            entries[e].latticeId = token.id
            entries[e].score = score
            minScore = min(minScore, score)
            maxLatticeBytes = max(maxLatticeBytes, token.text.count)
            twins += 1
        }

        self.memory = memory
        self.text = text
        self.entries = entries
        self.slots = slots
        self.slotMask = mask
        self.prefixBits = prefixBits
        self.prefixShift = shift
        self.maxLatticeBytes = maxLatticeBytes
        self.minLatticeScore = minScore
        self.unknownModelId = modelIds[unknownPiece]
        self.pieceCount = n + twins
        built = true
    }

    deinit { memory.free() }

    /// The entry whose text is exactly `bytes`, or nil.
    func find(_ bytes: UnsafeBufferPointer<UInt8>) -> Entry? {
        guard let base = bytes.baseAddress else { return nil }
        var h = PieceTable.seed
        for b in bytes { h = PieceTable.step(h, b) }
        return find(hash: PieceTable.mix(h), base, bytes.count)
    }

    /// The entry of the `length` bytes at `bytes`, whose mixed hash is `m`, or nil.
    @inline(__always)
    func find(hash m: UInt64, _ bytes: UnsafePointer<UInt8>, _ length: Int) -> Entry? {
        PieceTable.find(m, bytes, length, slots: slots, mask: slotMask, entries: entries, text: text).map { entries[$0] }
    }

    @inline(__always)
    private static func find(_ m: UInt64, _ bytes: UnsafePointer<UInt8>, _ length: Int, slots: UnsafeMutablePointer<UInt64>,
                             mask: Int, entries: UnsafeMutablePointer<Entry>, text: UnsafeMutablePointer<UInt8>) -> Int? {
        let tag = UInt64(tag(m, length))
        var slot = PieceTable.slot(m, mask)
        while true {
            let s = slots[slot]
            if s == 0 { return nil }
            if s >> 32 == tag {
                let e = Int(truncatingIfNeeded: s & 0xFFFF_FFFF) - 1
                if Int(entries[e].length) == length {
                    let other = text + Int(entries[e].start)
                    var k = 0
                    while k < length && other[k] == bytes[k] { k += 1 }
                    if k == length { return e }
                }
            }
            slot = (slot + 1) & mask
        }
    }

    /// False when no lattice text starts with the bytes whose mixed hash is `m`.
    @inline(__always)
    func somePieceStarts(with m: UInt64) -> Bool {
        let bit = PieceTable.prefixBit(m, prefixShift)
        return prefixBits[bit >> 6] & (1 << UInt64(bit & 63)) != 0
    }

    // FNV-1a over the bytes, so the hash of a prefix extends byte by byte; mixed before use.
    static let seed: UInt64 = 0xcbf2_9ce4_8422_2325
    @inline(__always) static func step(_ h: UInt64, _ byte: UInt8) -> UInt64 { (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    @inline(__always) static func mix(_ h: UInt64) -> UInt64 {
        var x = h ^ (h >> 31)
        x = x &* 0x7fb5_d329_728e_a185
        return x ^ (x >> 27)
    }
    @inline(__always) private static func slot(_ m: UInt64, _ mask: Int) -> Int { Int(truncatingIfNeeded: m) & mask }
    /// A non-zero 32-bit tag: the high bits of the mixed hash with the length folded in.
    @inline(__always) private static func tag(_ m: UInt64, _ length: Int) -> UInt32 {
        let t = UInt32(truncatingIfNeeded: m >> 32) ^ UInt32(truncatingIfNeeded: length &* 0x9E37_79B1)
        return t == 0 ? 1 : t
    }
    /// The bitset position: the top bits of one more multiplication, independent of slot and tag.
    @inline(__always) private static func prefixBit(_ m: UInt64, _ shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (m &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }
}

/// Hugging Face's Unigram segmentation (`Unigram::encode_optimized`), reproduced step for step:
/// per "▁"-word, a forward Viterbi over byte positions in f64; a candidate replaces the best path
/// ending at a position only when strictly better, so on a tie the path whose last piece starts
/// earliest (was seen first) wins; a position no one-character piece covers gets `<unk>` at
/// `min score − 10`; consecutive `<unk>` pieces are fused into one.
///
/// libsentencepiece 0.1.97 runs the same algorithm with f32 sums, which breaks exact ties differently
/// (e.g. "...." → "..." + "." instead of "." + "..."), so the lattice is walked here.
struct UnigramLattice {
    let table: PieceTable
    let unkId: Int32
    let unkScore: Double

    init(table: PieceTable) {
        self.table = table
        unkId = table.unknownModelId
        // Hugging Face: the lowest score of the vocabulary minus 10.
        unkScore = (table.minLatticeScore.isFinite ? table.minLatticeScore : 0) - 10
    }

    /// Appends the model ids of a "▁"-joined normalized segment.
    func encode(_ text: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        // Words start at each "▁" (E2 96 81); no piece holds "▁" anywhere but first, so words are
        // independent, and Hugging Face encodes each separately (its f64 sums restart at 0).
        var wordStart = 0
        var k = 3
        var score = [Double](repeating: 0, count: 64)
        var from = [Int32](repeating: 0, count: 64)
        var piece = [Int32](repeating: 0, count: 64)
        while k <= text.count {
            if k == text.count || (text[k] == 0xE2 && k + 2 < text.count && text[k + 1] == 0x96 && text[k + 2] == 0x81) {
                encodeWord(UnsafeBufferPointer(rebasing: text[wordStart..<k]), &score, &from, &piece, into: &ids)
                wordStart = k
                k += 3
            } else {
                k += 1
            }
        }
    }

    private func encodeWord(_ word: UnsafeBufferPointer<UInt8>, _ score: inout [Double], _ from: inout [Int32],
                            _ piece: inout [Int32], into ids: inout [Int32]) {
        let n = word.count
        guard n > 0, let base = word.baseAddress else { return }
        if score.count < n + 1 {
            score = [Double](repeating: 0, count: n + 1)
            from = [Int32](repeating: 0, count: n + 1)
            piece = [Int32](repeating: 0, count: n + 1)
        }
        for i in 1...n { from[i] = -1 }
        score[0] = 0
        var start = 0
        while start < n {
            let here = score[start]
            let charLength = min(utf8Length(word[start]), n - start)
            var coveredChar = false
            var h = PieceTable.seed
            var end = start
            let limit = min(n, start + table.maxLatticeBytes)
            while end < limit {
                h = PieceTable.step(h, word[end])
                end += 1
                let m = PieceTable.mix(h)
                if !table.somePieceStarts(with: m) { break }  // no piece starts with these bytes
                guard let entry = table.find(hash: m, base + start, end - start), entry.latticeId >= 0 else { continue }
                let candidate = here + entry.score
                if from[end] < 0 || candidate > score[end] {
                    score[end] = candidate
                    from[end] = Int32(start)
                    piece[end] = entry.latticeId
                }
                if end - start == charLength { coveredChar = true }
            }
            if !coveredChar {
                let end = start + charLength
                let candidate = here + unkScore
                if from[end] < 0 || candidate > score[end] {
                    score[end] = candidate
                    from[end] = Int32(start)
                    piece[end] = unkId
                }
            }
            start += charLength
        }
        // Backtrack, fusing runs of <unk>.
        let first = ids.count
        var end = n
        var previousUnk = false
        while end > 0 {
            let id = piece[end]
            if !(id == unkId && previousUnk) { ids.append(id) }
            previousUnk = id == unkId
            end = Int(from[end])
        }
        ids[first...].reverse()
    }
}

/// Where each buffer of a mapping goes: 64-byte aligned offsets.
private struct MemoryLayoutPlan {
    private(set) var size = 0

    /// Reserves `count` values of `type`; returns their byte offset.
    mutating func add<T>(_ count: Int, of type: T.Type) -> Int {
        let offset = size
        size = (size + count * MemoryLayout<T>.stride + 63) & ~63
        return offset
    }
}

/// Zero-filled memory straight from the kernel (an anonymous mapping), in 2 MiB pages where Linux allows
/// it (transparent huge pages in `madvise` mode): the piece table's buffers are ~15 MB for XLM-R and read
/// at random, so big pages save thousands of page faults at load and TLB misses at every lookup. Being
/// zero-filled already, the buffers need no clearing.
private struct ZeroedMemory {
    let base: UnsafeMutableRawPointer
    let size: Int

    /// Nil when the system has no `bytes` to give.
    init?(bytes: Int) {
        size = max(bytes, 1)
        guard let map = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), map != MAP_FAILED else {
            return nil
        }
        #if os(Linux)
        if size >= 1 << 21 { _ = madvise(map, size, MADV_HUGEPAGE) }  // advice only: 4 KiB pages otherwise
        #endif
        base = map
    }

    func pointer<T>(at offset: Int, to type: T.Type) -> UnsafeMutablePointer<T> {
        (base + offset).bindMemory(to: type, capacity: (size - offset) / MemoryLayout<T>.stride)
    }

    func free() { munmap(base, size) }
}
