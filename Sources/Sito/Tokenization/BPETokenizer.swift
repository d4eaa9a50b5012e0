// BPETokenizer.swift: the `bpe` kind behind Tokenizer (Tokenizer.swift): byte-level BPE as Hugging Face
// `tokenizers` runs it for GPT-2 / RoBERTa (formats/tokenization.md, "Byte-level BPE"):
//   1. added tokens (<s>, </s>, <mask>, …) split out of the raw text, leftmost-longest; lstrip/rstrip
//      absorb Unicode White_Space (the same rule as the sentencepiece kind)
//   2. ByteLevel pre-tokenizer: [" " prepended when add_prefix_space], then the GPT-2 regex
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      as a hand-written scanner over Unicode scalars (no regex engine in the runtime), each piece's UTF-8
//      bytes mapped through GPT-2's byte-to-unicode alphabet
//   3. BPE per piece: merges by rank (lowest rank first, leftmost on a tie), exactly tokenizers'
//      `Word::merge_all` priority queue
//   4. recipes: joined-pair (the model card: "query</s></s>document", cut from the right), pair
//      (RobertaProcessing <s> A </s></s> B </s>, longest-first: sentence-transformers' CrossEncoder),
//      single
// The `tokenizer.bpe` tensor holds the vocabulary and the merges (format below and in tokenization.md).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SitoFormat

/// GPT-2's byte-to-unicode alphabet: the printable bytes `!`…`~`, `¡`…`¬`, `®`…`ÿ` stand for themselves,
/// the other 68 bytes, in order, for U+0100, U+0101, … (so a space is `Ġ` U+0120, a newline `Ċ` U+010A).
enum ByteLevelAlphabet {
    static let scalars: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The alphabet's string for `bytes` (how the vocabulary spells them).
    static func string<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(scalars[Int(b)]) }
        return String(s)
    }
}

/// The serialized vocabulary and merges of a `bpe` tokenizer (the `tokenizer.bpe` tensor):
///
///     "SBPE"  u32 version (1)  u32 vocab_count  u32 merge_count        (little-endian)
///     vocab_count × (u32 byte_length, UTF-8 bytes)    token of id 0, 1, … as tokenizer.json spells it
///     merge_count × (u32 left id, u32 right id)        merge of rank 0, 1, …
///
/// The result of a merge is the token spelled by the two concatenated, which must be in the vocabulary.
/// Written by SitoTools' `serializeBPE` (BPEConversion.swift).
struct BPEModelData {
    var tokens: [String]
    var merges: [(Int32, Int32)]

    static let magic: [UInt8] = Array("SBPE".utf8)

    /// Parses the tensor; every length and id is checked (a malformed blob is an error, never a crash).
    init(bytes: UnsafeRawBufferPointer) throws {
        var pos = 0
        func u32() throws -> Int {
            guard bytes.count - pos >= 4 else { throw TokenizerError.invalidModel("the BPE model ends early at byte \(pos)") }
            let v = Int(bytes[pos]) | Int(bytes[pos + 1]) << 8 | Int(bytes[pos + 2]) << 16 | Int(bytes[pos + 3]) << 24
            pos += 4
            return v
        }
        guard bytes.count >= 16, Array(bytes[0..<4]) == BPEModelData.magic else {
            throw TokenizerError.invalidModel("the BPE model does not start with \"SBPE\"")
        }
        pos = 4
        let version = try u32()
        guard version == 1 else { throw TokenizerError.invalidModel("BPE model version \(version) is not 1") }
        let vocabCount = try u32(), mergeCount = try u32()
        // Each entry takes at least 4 (token) or 8 (merge) bytes: bounds the counts before allocating.
        guard vocabCount <= (bytes.count - pos) / 4, mergeCount <= (bytes.count - pos) / 8 else {
            throw TokenizerError.invalidModel("BPE model counts (\(vocabCount) tokens, \(mergeCount) merges) exceed its \(bytes.count) bytes")
        }
        var tokens: [String] = []
        tokens.reserveCapacity(vocabCount)
        for id in 0..<vocabCount {
            let length = try u32()
            guard length > 0, length <= bytes.count - pos else { throw TokenizerError.invalidModel("BPE token \(id) has a bad length \(length)") }
            guard let s = String(validating: UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + length)]), as: UTF8.self) else {
                throw TokenizerError.invalidModel("BPE token \(id) is not UTF-8")
            }
            tokens.append(s)
            pos += length
        }
        var merges: [(Int32, Int32)] = []
        merges.reserveCapacity(mergeCount)
        for rank in 0..<mergeCount {
            let l = try u32(), r = try u32()
            guard l < vocabCount, r < vocabCount else { throw TokenizerError.invalidModel("BPE merge \(rank) names an id outside the vocabulary") }
            merges.append((Int32(l), Int32(r)))
        }
        guard pos == bytes.count else { throw TokenizerError.invalidModel("\(bytes.count - pos) bytes after the BPE model's merges") }
        self.tokens = tokens
        self.merges = merges
    }
}

final class BPETokenizer: Sendable {
    let info: TokenizerInfo
    let recipe: InputRecipe
    private let options: BPEOptions
    /// Token (as tokenizer.json spells it, in the byte-level alphabet) → id.
    private let vocab: [String: Int32]
    /// The id of each byte's one-character token; -1 when the vocabulary lacks it (the byte is dropped,
    /// as tokenizers' BPE does without an unk token).
    private let byteIds: [Int32]
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    private let merges: MergeTable
    private let added: AddedTokenSplitter
    private let bos: Int32
    private let eos: Int32

    var vocabularySize: Int { vocab.count }

    init(info: TokenizerInfo, input recipe: InputRecipe, bytes: UnsafeRawBufferPointer) throws {
        guard let options = info.bpe else { throw TokenizerError.invalidModel("a bpe tokenizer without its options") }
        guard info.whitespace == .byteLevel else { throw TokenizerError.unsupportedWhitespace(info.whitespace) }
        guard let bos = info.specials.bos else { throw TokenizerError.missingSpecial("bos") }
        guard let eos = info.specials.eos else { throw TokenizerError.missingSpecial("eos") }
        guard info.idOffset == 0, info.idOverrides.isEmpty else {
            throw TokenizerError.badIdMapping("a bpe tokenizer's ids are the model's (id_offset 0, no overrides)")
        }
        let model = try BPEModelData(bytes: bytes)
        guard model.tokens.count <= info.modelVocab else {
            throw TokenizerError.invalidModel("the BPE vocabulary has \(model.tokens.count) tokens, the model \(info.modelVocab) ids")
        }
        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(model.tokens.count)
        for (i, t) in model.tokens.enumerated() {
            // Keys compared as bytes: String equality is canonical equivalence.
            guard vocab.updateValue(Int32(i), forKey: t) == nil else {
                throw TokenizerError.invalidModel("BPE token \(i) '\(t)' appears twice")
            }
        }
        for id in [bos, eos, info.specials.unk, info.specials.pad] + [info.specials.mask].compactMap({ $0 })
        where !(0..<info.modelVocab).contains(id) {
            throw TokenizerError.badIdMapping("special id \(id) is outside [0, \(info.modelVocab))")
        }
        for token in info.addedTokens {
            guard (0..<info.modelVocab).contains(token.id), !token.content.isEmpty else {
                throw TokenizerError.badIdMapping("added token '\(token.content)' → \(token.id) is outside [0, \(info.modelVocab)) or empty")
            }
        }
        var table = MergeTable(capacity: model.merges.count)
        for (rank, (l, r)) in model.merges.enumerated() {
            let joined = model.tokens[Int(l)] + model.tokens[Int(r)]
            guard let merged = vocab[joined] else {
                throw TokenizerError.invalidModel("BPE merge \(rank) ('\(model.tokens[Int(l)])', '\(model.tokens[Int(r)])') makes '\(joined)', which is not in the vocabulary")
            }
            let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
            // A pair listed twice: the later rank counts (tokenizers collects the merges into a HashMap).
            table.insert(key, UInt64(rank) << 32 | UInt64(UInt32(merged)))
        }
        self.byteIds = ByteLevelAlphabet.scalars.map { vocab[String(Character($0))] ?? -1 }
        self.info = info
        self.recipe = recipe
        self.options = options
        self.vocab = vocab
        self.merges = table
        self.bos = Int32(bos)
        self.eos = Int32(eos)
        self.added = AddedTokenSplitter(info.addedTokens)
    }

    /// The id of a vocabulary entry as tokenizer.json spells it ("Ġkot"), or of an added token.
    func modelId(ofPiece piece: String) -> Int32? {
        vocab[piece] ?? info.addedTokens.first(where: { $0.content == piece }).map { Int32($0.id) }
    }

    // MARK: Recipes

    func encodeSingle(text: String, maxLength: Int?, onOverflow: OverflowPolicy, side: TruncationSide) throws -> Encoding {
        let limit = try recipe.checkedMaxLength(maxLength)
        return try finish(encode(text), limit: limit, onOverflow: onOverflow, side: side)
    }

    func encodePair(query: String, document: String, maxLength: Int?, onOverflow: OverflowPolicy, side: TruncationSide) throws -> Encoding {
        switch recipe.recipe {
        case .joinedPair:
            let limit = try recipe.checkedMaxLength(maxLength)
            return try finish(encode(query + (recipe.separator ?? "") + document), limit: limit, onOverflow: onOverflow, side: side)
        case .pair:
            // RobertaProcessing: <s> A </s> </s> B </s>; tokenizers' LongestFirst on the two contents.
            let limit = try recipe.checkedMaxLength(maxLength)
            if limit < 4 { throw TokenizerError.maxLengthTooSmall(requested: limit, minimum: 4) }
            let a = encode(query), b = encode(document)
            let full = a.count + b.count + 4
            var (n1, n2) = (a.count, b.count)
            if full > limit {
                if onOverflow == .reject { throw TokenizerError.tooLong(tokens: full, maxLength: limit) }
                (n1, n2) = WordPieceTokenizer.longestFirst(a.count, b.count, target: limit - 4)
            }
            let ids = [bos] + side.keep(n1, of: a) + [eos, eos] + side.keep(n2, of: b) + [eos]
            return Encoding(ids: ids, typeIds: [Int32](repeating: 0, count: ids.count), truncated: full > limit, untruncatedLength: full)
        case .single:
            throw TokenizerError.unsupportedRecipe(recipe.recipe)
        }
    }

    /// `[bos] + content + [eos]`, content cut on `side` to `limit - 2` (transformers `truncation=True`
    /// on one sequence).
    private func finish(_ content: [Int32], limit: Int, onOverflow: OverflowPolicy, side: TruncationSide) throws -> Encoding {
        let full = content.count + 2
        if full > limit && onOverflow == .reject { throw TokenizerError.tooLong(tokens: full, maxLength: limit) }
        var ids: [Int32] = [bos]
        ids.reserveCapacity(min(full, limit))
        ids.append(contentsOf: side.keep(limit - 2, of: content))
        ids.append(eos)
        return Encoding(ids: ids, typeIds: [Int32](repeating: 0, count: ids.count), truncated: full > limit, untruncatedLength: full)
    }

    // MARK: Pipeline

    /// Steps 1–3: model ids of one text, without specials and without truncation.
    func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        var text = text
        text.withUTF8 { bytes in
            var scratch = Scratch()
            added.split(bytes, segment: { encodeSegment($0, scratch: &scratch, into: &ids) }, token: { ids.append($0) })
        }
        return ids
    }

    /// Buffers reused across the pieces of one call.
    struct Scratch {
        var classes: [ScalarClass] = []
        var starts: [Int] = []
        var scalars: [UInt32] = []
        var symbols: [Symbol] = []
        var heap: [HeapEntry] = []
        var prefixed: [UInt8] = []
        /// The pre-tokens' end offsets (bytes), from the splitter.
        var cuts: [Int] = []
    }

    private func encodeSegment(_ segment: UnsafeBufferPointer<UInt8>, scratch: inout Scratch, into ids: inout [Int32]) {
        if segment.isEmpty { return }
        if options.addPrefixSpace && segment[0] != 0x20 {
            var prefixed = scratch.prefixed
            prefixed.removeAll(keepingCapacity: true)
            prefixed.append(0x20)
            prefixed.append(contentsOf: segment)
            prefixed.withUnsafeBufferPointer { encodeText($0, scratch: &scratch, into: &ids) }
            scratch.prefixed = prefixed
        } else {
            encodeText(segment, scratch: &scratch, into: &ids)
        }
    }

    /// Step 2 then 3 on one segment.
    private func encodeText(_ text: UnsafeBufferPointer<UInt8>, scratch: inout Scratch, into ids: inout [Int32]) {
        ByteLevelSplitter.split(text, scratch: &scratch)
        let cuts = scratch.cuts
        var from = 0
        for to in cuts {
            bpe(UnsafeBufferPointer(rebasing: text[from..<to]), scratch: &scratch, into: &ids)
            from = to
        }
    }

    /// A candidate merge: `key` = rank << 32 | position (the heap's order: lowest rank, then leftmost).
    struct HeapEntry {
        var key: UInt64
        var merged: Int32
    }

    struct Symbol {
        var id: Int32
        var prev: Int32
        var next: Int32
        var alive: Bool
    }

    /// Step 3: tokenizers' `Word::merge_all` on one pre-token: a min-heap of (rank, position, merged id);
    /// a popped entry whose pair no longer merges into the same id is stale and skipped.
    private func bpe(_ piece: UnsafeBufferPointer<UInt8>, scratch: inout Scratch, into ids: inout [Int32]) {
        if options.ignoreMerges, let id = vocab[ByteLevelAlphabet.string(piece)] {
            ids.append(id)
            return
        }
        if piece.count == 1 {
            let id = byteIds[Int(piece[0])]
            if id >= 0 { ids.append(id) }
            return
        }
        var symbols = scratch.symbols
        symbols.removeAll(keepingCapacity: true)
        for b in piece {
            let id = byteIds[Int(b)]
            if id < 0 { continue }
            let k = Int32(symbols.count)
            symbols.append(Symbol(id: id, prev: k - 1, next: k + 1, alive: true))
        }
        if symbols.isEmpty {
            scratch.symbols = symbols
            return
        }
        symbols[symbols.count - 1].next = -1
        var heap = scratch.heap
        heap.removeAll(keepingCapacity: true)
        func push(_ m: UInt64, _ position: Int32) {
            heap.append(HeapEntry(key: (m >> 32) << 32 | UInt64(UInt32(position)), merged: Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)))
            var i = heap.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                if heap[parent].key <= heap[i].key { break }
                heap.swapAt(parent, i)
                i = parent
            }
        }
        func pop() -> HeapEntry {
            let top = heap[0]
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < heap.count && heap[l].key < heap[m].key { m = l }
                    if r < heap.count && heap[r].key < heap[m].key { m = r }
                    if m == i { break }
                    heap.swapAt(m, i)
                    i = m
                }
            }
            return top
        }
        func lookup(_ a: Int32, _ b: Int32) -> UInt64? { merges.find(UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))) }
        for k in 0..<(symbols.count - 1) {
            if let m = lookup(symbols[k].id, symbols[k + 1].id) { push(m, Int32(k)) }
        }
        while !heap.isEmpty {
            let top = pop()
            let pos = Int(UInt32(truncatingIfNeeded: top.key))
            guard symbols[pos].alive, symbols[pos].next >= 0 else { continue }
            let next = Int(symbols[pos].next)
            // Stale: the pair at `pos` no longer merges into the entry's id (tokenizers' test, kept as is).
            guard let m = lookup(symbols[pos].id, symbols[next].id), Int32(truncatingIfNeeded: m & 0xFFFF_FFFF) == top.merged else { continue }
            symbols[pos].id = top.merged
            symbols[next].alive = false
            let after = symbols[next].next
            symbols[pos].next = after
            if after >= 0 { symbols[Int(after)].prev = Int32(pos) }
            let prev = symbols[pos].prev
            if prev >= 0, let pm = lookup(symbols[Int(prev)].id, symbols[pos].id) { push(pm, prev) }
            if after >= 0, let nm = lookup(symbols[pos].id, symbols[Int(after)].id) { push(nm, Int32(pos)) }
        }
        var k: Int32 = 0
        while k >= 0 {
            ids.append(symbols[Int(k)].id)
            k = symbols[Int(k)].next
        }
        scratch.symbols = symbols
        scratch.heap = heap
    }
}

/// The merges by pair: open addressing with linear probing over a power-of-two table at most half full,
/// Fibonacci hashing of the 64-bit pair key (Swift's Dictionary hashes with SipHash, several times
/// slower on this path). Built once; read-only afterwards.
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let shift: UInt64
    private static let empty = UInt64.max  // no pair of two ids < 2^31 has this key

    init(capacity: Int) {
        var bits: UInt64 = 4
        while (1 << bits) < 2 * max(capacity, 1) { bits += 1 }
        keys = [UInt64](repeating: MergeTable.empty, count: 1 << bits)
        values = [UInt64](repeating: 0, count: 1 << bits)
        shift = 64 - bits
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// Inserts or replaces (a pair listed twice keeps the later value).
    mutating func insert(_ key: UInt64, _ value: UInt64) {
        let mask = keys.count - 1
        var i = slot(key)
        while keys[i] != MergeTable.empty && keys[i] != key { i = (i + 1) & mask }
        keys[i] = key
        values[i] = value
    }

    @inline(__always)
    func find(_ key: UInt64) -> UInt64? {
        let mask = keys.count - 1
        var i = slot(key)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == MergeTable.empty { return nil }
            i = (i + 1) & mask
        }
    }
}

/// The classes the GPT-2 regex tells apart.
enum ScalarClass: UInt8 {
    case letter   // \p{L}
    case number   // \p{N}
    case space    // \s (Unicode White_Space)
    case other    // [^\s\p{L}\p{N}]

    static func of(_ value: UInt32) -> ScalarClass {
        if value < 0x80 {
            switch value {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .space
            default: return .other
            }
        }
        if isWhiteSpace(value) { return .space }
        guard let scalar = Unicode.Scalar(value) else { return .other }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }
}

/// The ByteLevel pre-tokenizer's split: the GPT-2 regex
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, with the alternatives
/// tried in order at each position as a backtracking engine (Oniguruma, in tokenizers) does. Every scalar
/// falls in one class, so the matches tile the text.
enum ByteLevelSplitter {
    /// Fills `scratch.cuts` with the end offset (in bytes) of each pre-token of `text`, in order.
    static func split(_ text: UnsafeBufferPointer<UInt8>, scratch: inout BPETokenizer.Scratch) {
        var classes = scratch.classes, starts = scratch.starts, scalars = scratch.scalars, cuts = scratch.cuts
        cuts.removeAll(keepingCapacity: true)
        classes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        scalars.removeAll(keepingCapacity: true)
        var pos = 0
        let n = text.count
        while pos < n {
            let lead = text[pos]
            var value: UInt32
            var length = utf8Length(lead)
            if pos + length > n { length = n - pos }
            switch length {
            case 1: value = UInt32(lead)
            case 2: value = UInt32(lead & 0x1F) << 6 | UInt32(text[pos + 1] & 0x3F)
            case 3: value = UInt32(lead & 0x0F) << 12 | UInt32(text[pos + 1] & 0x3F) << 6 | UInt32(text[pos + 2] & 0x3F)
            default: value = UInt32(lead & 0x07) << 18 | UInt32(text[pos + 1] & 0x3F) << 12 | UInt32(text[pos + 2] & 0x3F) << 6 | UInt32(text[pos + 3] & 0x3F)
            }
            starts.append(pos)
            scalars.append(value)
            classes.append(ScalarClass.of(value))
            pos += length
        }
        let count = scalars.count
        starts.append(n)
        var i = 0
        while i < count {
            let end = matchEnd(at: i, classes: classes, scalars: scalars)
            cuts.append(starts[end])
            i = end
        }
        scratch.cuts = cuts
        scratch.classes = classes
        scratch.starts = starts
        scratch.scalars = scalars
    }

    /// The end (exclusive, in scalars) of the regex's match starting at scalar `i`.
    @inline(__always)
    static func matchEnd(at i: Int, classes: [ScalarClass], scalars: [UInt32]) -> Int {
        let count = scalars.count
        // 's|'t|'re|'ve|'m|'ll|'d
        if scalars[i] == 0x27 && i + 1 < count {
            switch scalars[i + 1] {
            case 0x73, 0x74, 0x6D, 0x64: return i + 2   // s t m d
            case 0x72, 0x76:                              // re ve
                if i + 2 < count && scalars[i + 2] == 0x65 { return i + 3 }
            case 0x6C:                                    // ll
                if i + 2 < count && scalars[i + 2] == 0x6C { return i + 3 }
            default: break
            }
        }
        //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+
        var from = i
        if scalars[i] == 0x20 && i + 1 < count && classes[i + 1] != .space { from = i + 1 }
        let cls = classes[from]
        if cls != .space {
            var j = from + 1
            while j < count && classes[j] == cls { j += 1 }
            return j
        }
        // \s+(?!\S) | \s+
        var j = i + 1
        while j < count && classes[j] == .space { j += 1 }
        if j == count || j - i == 1 { return j }
        return j - 1
    }
}
