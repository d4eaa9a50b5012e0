// SentencePieceTokenizer.swift: the `sentencepiece` kind behind Tokenizer (Tokenizer.swift): text →
// model input ids, reproducing Hugging Face `tokenizers`/transformers exactly for SentencePiece Unigram models (XLM-RoBERTa). The whole recipe, and
// why each step is here, is in formats/tokenization.md; this file must match it step for step.
//
// Pipeline for one text:
//   1. split out added tokens (leftmost, longest first; lstrip/rstrip absorb Unicode White_Space)
//   2. each piece of text between them: Hugging Face `Precompiled` normalization with the model's
//      charsmap, grapheme by grapheme
//   3. whitespace → "▁" by the file's rule (`metaspace-collapse`, `metaspace`, `whitespace-split`);
//      "▁" prefix unless the text already starts with one; empty normalized text gives no tokens
//   4. Hugging Face's Unigram Viterbi per "▁"-word, in f64 (`UnigramLattice`)
//   5. sentencepiece ids → model ids: overrides[sp] ?? sp + id_offset
//   6. `<s>` + ids + `</s>`, truncated to max_length by dropping content tokens from the right (or, with
//      TruncationSide.left, from the left)
//
// The embedded model is read and checked here, in Swift (EmbeddedSentencePieceModel.swift), and its
// pieces go into the lattice's piece table (UnigramLattice.swift). libsentencepiece is not used at run
// time: its normalizer's whitespace rules and longest-match charsmap walk differ from Hugging Face's, and
// its Viterbi sums scores in f32, which breaks ties differently (21 of 20,000 corpus strings, all
// repeated punctuation such as "...."); formats/tokenization.md has the measurements. The tools
// (sito-convert, sito-inspect, sito-verify) load every embedded model in libsentencepiece as well and
// compare its piece ids with this file's (SitoTools/SentencePieceCheck.swift).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SitoFormat

/// A loaded SentencePiece tokenizer (behind `Tokenizer`). Immutable after init; safe to use from any
/// number of threads at once.
final class SentencePieceTokenizer: Sendable {
    let info: TokenizerInfo
    let recipe: InputRecipe
    /// Pieces in use: the embedded model's, plus a NORMAL twin of each added token the model holds only as
    /// a CONTROL/UNKNOWN piece or not at all (below).
    let pieceCount: Int

    private let charsmap: PrecompiledCharsmap
    private let lattice: UnigramLattice
    private let whitespace: WhitespaceMode
    /// Added tokens, longest content first (ties: smaller id first).
    private let added: AddedTokenSplitter
    private let bos: Int32
    private let eos: Int32

    /// Builds the tokenizer from the header's tokenizer and input sections and the bytes of the
    /// tokenizer tensor (a serialized sentencepiece ModelProto). What it needs of the bytes is copied.
    ///
    /// Throws `TokenizerError.invalidModel` for bytes that are not a usable model: malformed protobuf, an
    /// empty piece, a piece text twice among the NORMAL/USER_DEFINED/UNUSED pieces or twice among the
    /// CONTROL/UNKNOWN ones (libsentencepiece's rule), no or two UNKNOWN pieces, a BYTE piece, a bad
    /// charsmap; `badIdMapping` for ids outside `[0, model_vocab)`.
    init(info: TokenizerInfo, input recipe: InputRecipe, bytes: UnsafeRawBufferPointer) throws {
        guard let mode = WhitespaceMode(info.whitespace) else {
            throw TokenizerError.unsupportedWhitespace(info.whitespace)
        }
        whitespace = mode
        switch recipe.recipe {
        case .joinedPair, .single: break
        case .pair: throw TokenizerError.unsupportedRecipe(recipe.recipe)
        }
        guard let bos = info.specials.bos else { throw TokenizerError.missingSpecial("bos") }
        guard let eos = info.specials.eos else { throw TokenizerError.missingSpecial("eos") }
        let vocab = 0..<min(info.modelVocab, Int(Int32.max))
        for (name, id) in [("bos", bos), ("eos", eos)] where !vocab.contains(id) {
            throw TokenizerError.badIdMapping("special '\(name)' id \(id) is outside [0, \(info.modelVocab))")
        }
        self.info = info
        self.recipe = recipe
        self.bos = Int32(bos)
        self.eos = Int32(eos)

        // Read the embedded model (formats/tokenization.md, "Load").
        guard bytes.count < Int(Int32.max) else {
            throw TokenizerError.invalidModel("the model is \(bytes.count) bytes, more than 2 GiB")
        }
        let model = try EmbeddedSentencePieceModel(bytes)
        charsmap = try PrecompiledCharsmap(UnsafeRawBufferPointer(rebasing: bytes[model.charsmap]))
        func quoted(_ piece: Int) -> String { "'\(String(decoding: model.text(of: piece), as: UTF8.self))'" }

        // sentencepiece id → model id: overrides[sp] ?? sp + id_offset.
        let n = model.count
        var overrides: [(spId: Int, modelId: Int)] = []
        for pair in info.idOverrides {
            guard pair.count == 2 else { throw TokenizerError.badIdMapping("override \(pair) is not a [sentencepiece id, model id] pair") }
            overrides.append((pair[0], pair[1]))
        }
        // Walked in step with the pieces: by sentencepiece id, and for one id the last override counts.
        overrides = overrides.enumerated().sorted { ($0.element.spId, $0.offset) < ($1.element.spId, $1.offset) }.map(\.element)
        var next = overrides.firstIndex { $0.spId >= 0 } ?? overrides.count
        var modelIds = [Int32](repeating: 0, count: n)
        for spId in 0..<n {
            var (modelId, overflow) = spId.addingReportingOverflow(info.idOffset)
            while next < overrides.count && overrides[next].spId == spId {
                (modelId, overflow) = (overrides[next].modelId, false)
                next += 1
            }
            guard !overflow, vocab.contains(modelId) else {
                let shown = overflow ? "\(spId) + \(info.idOffset)" : "\(modelId)"
                throw TokenizerError.badIdMapping("sentencepiece id \(spId) (\(quoted(spId))) maps to \(shown), outside [0, \(info.modelVocab))")
            }
            modelIds[spId] = Int32(modelId)
        }

        for token in info.addedTokens {
            guard vocab.contains(token.id) else {
                throw TokenizerError.badIdMapping("added token '\(token.content)' has id \(token.id), outside [0, \(info.modelVocab))")
            }
            guard !token.content.isEmpty else { throw TokenizerError.badIdMapping("an added token is empty") }
        }
        let table = try PieceTable(model: model, modelIds: modelIds,
                                   addedTokens: info.addedTokens.map { (Array($0.content.utf8), Int32($0.id)) })
        pieceCount = table.pieceCount
        lattice = UnigramLattice(table: table)

        added = AddedTokenSplitter(info.addedTokens)
    }

    // MARK: Public API

    /// Model ids of one text, without `<s>`/`</s>` and without truncation (special tokens written in the
    /// text are split out and mapped to their ids).
    func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        var text = text
        text.withUTF8 { encodeContent($0, into: &ids) }
        return ids
    }

    /// One text as a whole sequence: `<s>` + encode(text) + `</s>` (embedding models).
    func encodeSingle(text: String, maxLength: Int? = nil, onOverflow: OverflowPolicy = .truncate,
                      side: TruncationSide = .right) throws -> Encoding {
        try finish(encode(text), maxLength: maxLength, onOverflow: onOverflow, side: side)
    }

    /// A query/document pair, by the recipe of the file. `joined-pair` (XLM-R rerankers): the single
    /// text `query + separator + document`, exactly as the model card's `tokenizer(f"{q}</s></s>{d}",
    /// truncation=True, max_length=N)`. `maxLength` defaults to the recipe's and may not exceed it.
    func encodePair(query: String, document: String, maxLength: Int? = nil,
                           onOverflow: OverflowPolicy = .truncate, side: TruncationSide = .right) throws -> Encoding {
        guard recipe.recipe == .joinedPair else { throw TokenizerError.unsupportedRecipe(recipe.recipe) }
        let text = query + (recipe.separator ?? "") + document
        return try finish(encode(text), maxLength: maxLength, onOverflow: onOverflow, side: side)
    }

    /// The model id of a piece of the embedded model (e.g. "▁Hello"), or of an added token's twin; nil
    /// when there is none. A text held by a CONTROL/UNKNOWN piece and a NORMAL one answers the former's
    /// id, as libsentencepiece's `PieceToId` does.
    func modelId(ofPiece piece: String) -> Int32? {
        var piece = piece
        return piece.withUTF8 { buffer -> Int32? in
            guard let entry = lattice.table.find(buffer), entry.modelId >= 0 else { return nil }
            return entry.modelId
        }
    }

    // MARK: Steps

    private func finish(_ content: [Int32], maxLength: Int?, onOverflow: OverflowPolicy, side: TruncationSide) throws -> Encoding {
        let limit = try recipe.checkedMaxLength(maxLength)
        let full = content.count + 2
        var kept = content[...]
        if full > limit {
            if onOverflow == .reject { throw TokenizerError.tooLong(tokens: full, maxLength: limit) }
            kept = side.keep(limit - 2, of: content)
        }
        var ids: [Int32] = []
        ids.reserveCapacity(kept.count + 2)
        ids.append(bos)
        ids.append(contentsOf: kept)
        ids.append(eos)
        return Encoding(ids: ids, typeIds: [Int32](repeating: 0, count: ids.count), truncated: full > limit,
                        untruncatedLength: full)
    }

    /// Step 1: split out added tokens; everything between them goes through `encodeSegment`.
    private func encodeContent(_ bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        added.split(bytes, segment: { encodeSegment($0, into: &ids) }, token: { ids.append($0) })
    }

    /// Steps 2–5 for the text between two added tokens.
    private func encodeSegment(_ segment: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        if segment.isEmpty { return }
        var out = WordBuilder(mode: whitespace, capacity: segment.count + segment.count / 2 + 8)
        normalize(segment, into: &out)
        guard let from = out.start() else { return }  // normalized to nothing: no tokens, not even "▁"
        out.bytes.withUnsafeBufferPointer { all in
            lattice.encode(UnsafeBufferPointer(rebasing: all[from...]), into: &ids)
        }
    }

    /// Step 2: Hugging Face `Precompiled`, per extended grapheme cluster: a cluster under 6 bytes is
    /// replaced whole by the normalization of its shortest charsmap prefix (sic: "Ａ\u{301}" → "A");
    /// otherwise, or when nothing matches, each code point is looked up alone.
    private func normalize(_ segment: UnsafeBufferPointer<UInt8>, into out: inout WordBuilder) {
        let string = String(decoding: segment, as: UTF8.self)
        var index = string.startIndex
        var offset = 0
        while index < string.endIndex {
            let next = string.index(after: index)
            let length = string.utf8.distance(from: index, to: next)
            let cluster = UnsafeBufferPointer(rebasing: segment[offset..<offset + length])
            offset += length
            index = next
            if length < 6, let replacement = charsmap.transform(cluster) {
                replacement.withUnsafeBufferPointer { out.append($0) }
                continue
            }
            var k = 0
            while k < cluster.count {
                let scalarLength = utf8Length(cluster[k])
                let scalar = UnsafeBufferPointer(rebasing: cluster[k..<min(k + scalarLength, cluster.count)])
                if let replacement = charsmap.transform(scalar) {
                    replacement.withUnsafeBufferPointer { out.append($0) }
                } else {
                    out.append(scalar)
                }
                k += scalarLength
            }
        }
    }

    /// Steps 2–3 alone: the "▁"-joined normalized text of one segment (no added-token splitting).
    func metaspaced(_ text: String) -> String {
        var out = WordBuilder(mode: whitespace, capacity: text.utf8.count * 2)
        var text = text
        text.withUTF8 { normalize($0, into: &out) }
        guard let from = out.start() else { return "" }
        return String(decoding: out.bytes[from...], as: UTF8.self)
    }
}

// MARK: - Helpers

/// How whitespace of the normalized text becomes "▁" (formats/tokenization.md, "Whitespace").
/// The SentencePiece subset of `WhitespaceRule`.
enum WhitespaceMode {
    /// tokenizer.json as written for XLM-R: collapse runs of U+0020, then Metaspace (prepend "▁"
    /// unless the text starts with a space; every space becomes "▁", so trailing spaces give a lone "▁").
    case metaspaceCollapse
    /// The same without the collapse (older tokenizer.json files: `Precompiled` alone).
    case metaspace
    /// transformers ≥ 5 `XLMRobertaTokenizer`: split on Unicode White_Space (dropped), "▁" before each word.
    case whitespaceSplit

    /// The mode of a header's rule; nil for WordPiece's `bert` and byte-level BPE's `byte-level`.
    init?(_ rule: WhitespaceRule) {
        switch rule {
        case .metaspaceCollapse: self = .metaspaceCollapse
        case .metaspace: self = .metaspace
        case .whitespaceSplit: self = .whitespaceSplit
        case .bert, .byteLevel: return nil
        }
    }
}

/// Accumulates the normalized segment as the "▁"-joined string the lattice segments.
struct WordBuilder {
    let mode: WhitespaceMode
    /// Starts with a reserved "▁" (the Metaspace prefix), dropped by `start()` when not wanted.
    var bytes: [UInt8] = [0xE2, 0x96, 0x81]
    private var previousSpace = false
    private var pendingSeparator = false

    init(mode: WhitespaceMode, capacity: Int) {
        self.mode = mode
        bytes.reserveCapacity(capacity)
    }

    /// Appends normalized UTF-8 (whole code points).
    mutating func append(_ chunk: UnsafeBufferPointer<UInt8>) {
        switch mode {
        case .metaspaceCollapse, .metaspace:
            for byte in chunk {
                if byte == 0x20 {
                    if mode == .metaspaceCollapse && previousSpace { continue }
                    bytes.append(0xE2); bytes.append(0x96); bytes.append(0x81)
                    previousSpace = true
                } else {
                    bytes.append(byte)
                    previousSpace = false
                }
            }
        case .whitespaceSplit:
            var k = 0
            while k < chunk.count {
                let length = min(utf8Length(chunk[k]), chunk.count - k)
                if isWhiteSpace(chunk, at: k, length: length) {
                    if bytes.count > 3 { pendingSeparator = true }
                } else {
                    if pendingSeparator {
                        // A new word gets its "▁" unless it already starts with one (Metaspace).
                        if !(length == 3 && chunk[k] == 0xE2 && chunk[k + 1] == 0x96 && chunk[k + 2] == 0x81) {
                            bytes.append(0xE2); bytes.append(0x96); bytes.append(0x81)
                        }
                        pendingSeparator = false
                    }
                    for j in k..<k + length { bytes.append(chunk[j]) }
                }
                k += length
            }
        }
    }

    /// Where the text to encode starts in `bytes` (0: with the prefix "▁", 3: the text already starts
    /// with "▁"), or nil when the segment normalized to nothing.
    func start() -> Int? {
        if bytes.count == 3 { return nil }
        let alreadyPrefixed = bytes.count >= 6 && bytes[3] == 0xE2 && bytes[4] == 0x96 && bytes[5] == 0x81
        return alreadyPrefixed ? 3 : 0
    }
}

/// Unicode White_Space (= Rust `char::is_whitespace`, which Hugging Face uses for WhitespaceSplit and
/// lstrip/rstrip) for the code point of `length` bytes at `k`.
@inline(__always)
private func isWhiteSpace(_ bytes: UnsafeBufferPointer<UInt8>, at k: Int, length: Int) -> Bool {
    let b0 = bytes[k]
    if b0 < 0x80 { return b0 == 0x20 || (b0 >= 0x09 && b0 <= 0x0D) }
    var value: UInt32
    switch length {
    case 2: value = UInt32(b0 & 0x1F) << 6 | UInt32(bytes[k + 1] & 0x3F)
    case 3: value = UInt32(b0 & 0x0F) << 12 | UInt32(bytes[k + 1] & 0x3F) << 6 | UInt32(bytes[k + 2] & 0x3F)
    default: return false
    }
    return isWhiteSpace(value)
}

@inline(__always)
func isWhiteSpace(_ value: UInt32) -> Bool {
    switch value {
    case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
    default: return false
    }
}

@inline(__always)
func utf8Length(_ lead: UInt8) -> Int {
    if lead < 0x80 { return 1 }
    if lead >> 5 == 0b110 { return 2 }
    if lead >> 4 == 0b1110 { return 3 }
    if lead >> 3 == 0b11110 { return 4 }
    return 1
}

/// Decodes the code point that ends just before `end` (valid UTF-8 assumed); returns it and its start.
private func scalar(before end: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (Unicode.Scalar, Int)? {
    var start = end - 1
    while start > 0 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
    var iterator = UnsafeBufferPointer(rebasing: bytes[start..<end]).makeIterator()
    var decoder = UTF8()
    if case .scalarValue(let s) = decoder.decode(&iterator) { return (s, start) }
    return nil
}

/// Hugging Face `lstrip`: moves `from` left over Unicode White_Space (Rust `char::is_whitespace`).
func skipWhitespaceBackward(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, notBefore limit: Int) -> Int {
    var pos = from
    while pos > limit, let (s, start) = scalar(before: pos, in: bytes), isWhiteSpace(s.value), start >= limit {
        pos = start
    }
    return pos
}

/// Hugging Face `rstrip`: moves `from` right over Unicode White_Space.
func skipWhitespaceForward(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int {
    var pos = from
    while pos < bytes.count {
        let length = utf8Length(bytes[pos])
        var iterator = UnsafeBufferPointer(rebasing: bytes[pos..<min(pos + length, bytes.count)]).makeIterator()
        var decoder = UTF8()
        guard case .scalarValue(let s) = decoder.decode(&iterator), isWhiteSpace(s.value) else { break }
        pos += length
    }
    return pos
}

/// SentencePiece's precompiled charsmap, read the way Hugging Face's `Precompiled` normalizer reads it:
/// `u32 trie_bytes` (LE), a darts-clone double array of `trie_bytes / 4` u32 units, then the
/// NUL-terminated replacement strings the trie's values point into.
struct PrecompiledCharsmap {
    private let units: [UInt32]
    private let normalized: [UInt8]
    /// `spans[value]`: the replacement string starting at `normalized[value]`, resolved once.
    private let spans: [Int: Range<Int>]

    init(_ blob: UnsafeRawBufferPointer) throws {
        if blob.isEmpty {
            units = []
            normalized = []
            spans = [:]
            return
        }
        let bytes = [UInt8](blob)
        guard bytes.count >= 4 else { throw TokenizerError.invalidModel("precompiled charsmap is \(bytes.count) bytes, shorter than its 4-byte header") }
        let trieBytes = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard trieBytes % 4 == 0, trieBytes >= 4, trieBytes <= bytes.count - 4 else {
            throw TokenizerError.invalidModel("precompiled charsmap declares a \(trieBytes)-byte trie in a \(bytes.count)-byte blob")
        }
        var units = [UInt32](repeating: 0, count: trieBytes / 4)
        for i in units.indices {
            let o = 4 + 4 * i
            units[i] = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        self.units = units
        normalized = Array(bytes[(4 + trieBytes)...])
        // Resolve every leaf value once, so lookups are allocation-free and bounds are checked here.
        var spans: [Int: Range<Int>] = [:]
        for (i, unit) in units.enumerated() where (unit >> 8) & 1 == 1 {
            let leafPos = i ^ Int(PrecompiledCharsmap.offset(unit))
            guard leafPos < units.count else { continue }
            let value = Int(units[leafPos] & 0x7FFF_FFFF)
            guard value < normalized.count else {
                throw TokenizerError.invalidModel("precompiled charsmap points at byte \(value) of a \(normalized.count)-byte string table")
            }
            var end = value
            while end < normalized.count && normalized[end] != 0 { end += 1 }
            spans[value] = value..<end
        }
        self.spans = spans
    }

    @inline(__always)
    private static func offset(_ unit: UInt32) -> UInt32 { (unit >> 10) << ((unit & (1 << 9)) >> 6) }

    /// The replacement for the shortest trie key that is a prefix of `key` (Hugging Face takes the first
    /// result of darts' common-prefix search), or nil when no key is a prefix.
    func transform(_ key: UnsafeBufferPointer<UInt8>) -> ArraySlice<UInt8>? {
        guard !units.isEmpty else { return nil }
        var nodePos = Int(PrecompiledCharsmap.offset(units[0]))
        for byte in key {
            nodePos ^= Int(byte)
            guard nodePos < units.count else { return nil }
            let unit = units[nodePos]
            guard unit & ((1 << 31) | 0xFF) == UInt32(byte) else { return nil }
            nodePos ^= Int(PrecompiledCharsmap.offset(unit))
            if (unit >> 8) & 1 == 1 {
                guard nodePos < units.count, let span = spans[Int(units[nodePos] & 0x7FFF_FFFF)] else { return nil }
                return normalized[span]
            }
        }
        return nil
    }
}
