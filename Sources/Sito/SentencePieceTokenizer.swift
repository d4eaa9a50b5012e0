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
//   6. `<s>` + ids + `</s>`, truncated to max_length by dropping content tokens from the right
//
// libsentencepiece loads and validates the embedded model (and answers piece lookups). It does not
// segment: its normalizer's whitespace rules and longest-match charsmap walk differ from Hugging Face's,
// and its Viterbi sums scores in f32, which breaks ties differently (21 of 20,000 corpus strings, all
// repeated punctuation such as "...."). formats/tokenization.md has the measurements.
import CSentencePiece
import Foundation
import SitoFormat

/// A loaded SentencePiece tokenizer (behind `Tokenizer`). Immutable after init; safe to use from any
/// number of threads at once.
///
/// `@unchecked Sendable`: the only non-Sendable member is the libsentencepiece processor pointer, which
/// is never mutated after init and whose `Encode` is `const` and stateless (CSentencePiece.h).
final class SentencePieceTokenizer: @unchecked Sendable {
    public let info: TokenizerInfo
    public let recipe: InputRecipe
    /// Number of pieces in the processor actually used (the embedded model plus pieces added at load).
    public let pieceCount: Int

    private let processor: OpaquePointer
    /// sentencepiece id (of the load-time model) → model id.
    private let idMap: [Int32]
    private let charsmap: PrecompiledCharsmap
    private let lattice: UnigramLattice
    private let whitespace: WhitespaceMode
    /// Added tokens, longest content first (ties: smaller id first).
    private let added: [AddedPattern]
    /// `firstByte[b]` is true when some added token starts with byte b.
    private let firstByte: [Bool]
    private let bos: Int32
    private let eos: Int32

    struct AddedPattern {
        let bytes: [UInt8]
        let id: Int32
        let lstrip: Bool
        let rstrip: Bool
    }

    /// Builds the tokenizer from the header's tokenizer and input sections and the bytes of the
    /// tokenizer tensor (a serialized sentencepiece ModelProto). The bytes are copied.
    public init(info: TokenizerInfo, input recipe: InputRecipe, bytes: UnsafeRawBufferPointer) throws {
        guard info.kind == "sentencepiece" else { throw TokenizerError.unsupportedKind(info.kind) }
        guard let mode = WhitespaceMode(rawValue: info.whitespace) else {
            throw TokenizerError.unsupportedWhitespace(info.whitespace)
        }
        whitespace = mode
        guard recipe.recipe == "joined-pair" || recipe.recipe == "single" else {
            throw TokenizerError.unsupportedRecipe(recipe.recipe)
        }
        guard let bos = info.specials.bos else { throw TokenizerError.missingSpecial("bos") }
        guard let eos = info.specials.eos else { throw TokenizerError.missingSpecial("eos") }
        for (name, id) in [("bos", bos), ("eos", eos)] where !(0..<info.modelVocab).contains(id) {
            throw TokenizerError.badIdMapping("special '\(name)' id \(id) is outside [0, \(info.modelVocab))")
        }
        self.info = info
        self.recipe = recipe
        self.bos = Int32(bos)
        self.eos = Int32(eos)

        // Read the embedded model, then derive the processor's model (formats/tokenization.md, "Load").
        let model = try EmbeddedSentencePieceModel(bytes)
        charsmap = try PrecompiledCharsmap(model.precompiledCharsmap)
        var overrides: [Int: Int] = [:]
        for pair in info.idOverrides {
            guard pair.count == 2 else { throw TokenizerError.badIdMapping("override \(pair) is not a [sentencepiece id, model id] pair") }
            overrides[pair[0]] = pair[1]
        }
        var map: [Int32] = []
        map.reserveCapacity(model.pieces.count + info.addedTokens.count)
        for spId in model.pieces.indices {
            let modelId = overrides[spId] ?? spId + info.idOffset
            guard (0..<info.modelVocab).contains(modelId) else {
                throw TokenizerError.badIdMapping("sentencepiece id \(spId) ('\(model.pieces[spId].text)') maps to \(modelId), outside [0, \(info.modelVocab))")
            }
            map.append(Int32(modelId))
        }
        // Hugging Face's Unigram lattice holds every vocabulary entry, special tokens included (at their
        // score, 0 for XLM-R), so "＜s＞" normalizes to "<s>" and becomes id 0. libsentencepiece never
        // matches CONTROL/UNKNOWN pieces, so each added token without a NORMAL piece gets one appended.
        var extraPieces: [(text: [UInt8], score: Float)] = []
        // Only the added tokens' texts matter here: look them up in one pass over the pieces instead of
        // hashing all 250k piece texts (that was a third of the load time).
        let addedTexts = Set(info.addedTokens.map { Array($0.content.utf8) })
        var addedFirstBytes = [Bool](repeating: false, count: 256)
        for text in addedTexts { if let b = text.first { addedFirstBytes[Int(b)] = true } }
        var normalTexts = Set<[UInt8]>()
        var scoreOf: [[UInt8]: Float] = [:]
        for piece in model.pieces {
            guard let b = piece.text.first, addedFirstBytes[Int(b)], addedTexts.contains(piece.text) else { continue }
            // NORMAL, USER_DEFINED and UNUSED pieces share libsentencepiece's piece table.
            if piece.type == 1 || piece.type == 4 || piece.type == 5 { normalTexts.insert(piece.text) }
            if scoreOf[piece.text] == nil { scoreOf[piece.text] = piece.score }
        }
        for token in info.addedTokens {
            guard (0..<info.modelVocab).contains(token.id) else {
                throw TokenizerError.badIdMapping("added token '\(token.content)' has id \(token.id), outside [0, \(info.modelVocab))")
            }
            let text = Array(token.content.utf8)
            guard !text.isEmpty else { throw TokenizerError.badIdMapping("an added token is empty") }
            if normalTexts.insert(text).inserted {
                extraPieces.append((text, scoreOf[text] ?? 0))  // f32 scores of specials are exact (0 for XLM-R)
                map.append(Int32(token.id))
            }
        }
        idMap = map
        var latticePieces: [(text: [UInt8], score: Double, id: Int32)] = []
        latticePieces.reserveCapacity(map.count)
        for (spId, piece) in model.pieces.enumerated() where piece.type != 5 {
            latticePieces.append((piece.text, piece.exactScore ?? Double(piece.score), map[spId]))
        }
        for (k, extra) in extraPieces.enumerated() {
            latticePieces.append((extra.text, Double(extra.score), map[model.pieces.count + k]))
        }
        guard let unkModelId = model.pieces.firstIndex(where: { $0.type == 2 }).map({ map[$0] }) else {
            throw TokenizerError.invalidModel("the model has no UNKNOWN piece")
        }
        lattice = UnigramLattice(pieces: latticePieces, unkId: unkModelId)
        let derived = model.derived(appending: extraPieces)
        var error = [CChar](repeating: 0, count: 512)
        let loaded = derived.withUnsafeBytes { raw in
            sito_sp_load(raw.baseAddress, raw.count, &error, error.count)
        }
        guard let loaded else {
            throw TokenizerError.invalidModel(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let count = Int(sito_sp_piece_count(loaded))
        guard count == map.count else {
            sito_sp_free(loaded)
            throw TokenizerError.invalidModel("libsentencepiece loaded \(count) pieces, expected \(map.count)")
        }
        processor = loaded
        pieceCount = count

        added = info.addedTokens
            .map { AddedPattern(bytes: Array($0.content.utf8), id: Int32($0.id), lstrip: $0.lstrip, rstrip: $0.rstrip) }
            .sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        var first = [Bool](repeating: false, count: 256)
        for pattern in added { first[Int(pattern.bytes[0])] = true }
        firstByte = first
    }

    deinit { sito_sp_free(processor) }

    // MARK: Public API

    /// Model ids of one text, without `<s>`/`</s>` and without truncation (special tokens written in the
    /// text are split out and mapped to their ids).
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        var text = text
        text.withUTF8 { encodeContent($0, into: &ids) }
        return ids
    }

    /// One text as a whole sequence: `<s>` + encode(text) + `</s>` (embedding models).
    public func encodeSingle(text: String, maxLength: Int? = nil, onOverflow: OverflowPolicy = .truncate) throws -> Encoding {
        try finish(encode(text), maxLength: maxLength, onOverflow: onOverflow)
    }

    /// A query/document pair, by the recipe of the file. `joined-pair` (XLM-R rerankers): the single
    /// text `query + separator + document`, exactly as the model card's `tokenizer(f"{q}</s></s>{d}",
    /// truncation=True, max_length=N)`. `maxLength` defaults to the recipe's and may not exceed it.
    public func encodePair(query: String, document: String, maxLength: Int? = nil,
                           onOverflow: OverflowPolicy = .truncate) throws -> Encoding {
        guard recipe.recipe == "joined-pair" else { throw TokenizerError.unsupportedRecipe(recipe.recipe) }
        let text = query + (recipe.separator ?? "") + document
        return try finish(encode(text), maxLength: maxLength, onOverflow: onOverflow)
    }

    /// The model id of a piece of the embedded model (e.g. "▁Hello"), or nil when there is none.
    public func modelId(ofPiece piece: String) -> Int32? {
        var piece = piece
        return piece.withUTF8 { buffer -> Int32? in
            let id = buffer.withMemoryRebound(to: CChar.self) { sito_sp_piece_to_id(processor, $0.baseAddress, $0.count) }
            if id == sito_sp_unk_id(processor) && !pieceText(id).elementsEqual(buffer) { return nil }
            return idMap[Int(id)]
        }
    }

    // MARK: Steps

    private func finish(_ content: [Int32], maxLength: Int?, onOverflow: OverflowPolicy) throws -> Encoding {
        let limit = maxLength ?? recipe.maxLength
        guard limit >= 2 && limit <= recipe.maxLength else {
            throw TokenizerError.badMaxLength(requested: limit, limit: recipe.maxLength)
        }
        let full = content.count + 2
        var kept = content[...]
        if full > limit {
            if onOverflow == .reject { throw TokenizerError.tooLong(tokens: full, maxLength: limit) }
            kept = content.prefix(limit - 2)
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
        let n = bytes.count
        var segmentStart = 0
        var pos = 0
        while pos < n {
            guard firstByte[Int(bytes[pos])], let pattern = match(bytes, at: pos) else {
                pos += 1
                continue
            }
            var start = pos
            var end = pos + pattern.bytes.count
            if pattern.lstrip { start = skipWhitespaceBackward(bytes, from: start, notBefore: segmentStart) }
            if pattern.rstrip { end = skipWhitespaceForward(bytes, from: end) }
            encodeSegment(UnsafeBufferPointer(rebasing: bytes[segmentStart..<start]), into: &ids)
            ids.append(pattern.id)
            segmentStart = end
            pos = end
        }
        encodeSegment(UnsafeBufferPointer(rebasing: bytes[segmentStart..<n]), into: &ids)
    }

    /// The longest added token starting at `pos`.
    private func match(_ bytes: UnsafeBufferPointer<UInt8>, at pos: Int) -> AddedPattern? {
        let remaining = bytes.count - pos
        for pattern in added where pattern.bytes.count <= remaining {
            var equal = true
            for k in 0..<pattern.bytes.count where bytes[pos + k] != pattern.bytes[k] {
                equal = false
                break
            }
            if equal { return pattern }
        }
        return nil
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

    /// The same segmentation done by libsentencepiece (for tests: it differs from Hugging Face only
    /// where f32 score sums break ties differently; formats/tokenization.md, "Viterbi").
    func sentencePieceIds(_ text: String) -> [Int32] {
        var bytes = Array(text.utf8)
        var spIds = [Int32](repeating: 0, count: bytes.count + 1)
        let produced = bytes.withUnsafeMutableBytes { raw in
            spIds.withUnsafeMutableBufferPointer {
                sito_sp_encode(processor, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, $0.baseAddress, $0.count)
            }
        }
        return produced < 0 ? [] : spIds.prefix(Int(produced)).map { idMap[Int($0)] }
    }

    /// Steps 2–3 alone: the "▁"-joined normalized text of one segment (no added-token splitting).
    func metaspaced(_ text: String) -> String {
        var out = WordBuilder(mode: whitespace, capacity: text.utf8.count * 2)
        var text = text
        text.withUTF8 { normalize($0, into: &out) }
        guard let from = out.start() else { return "" }
        return String(decoding: out.bytes[from...], as: UTF8.self)
    }

    private func pieceText(_ id: Int32) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = buffer.withUnsafeMutableBytes { sito_sp_id_to_piece(processor, id, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        if length < 0 { return [] }
        if Int(length) > buffer.count {
            buffer = [UInt8](repeating: 0, count: Int(length))
            _ = buffer.withUnsafeMutableBytes { sito_sp_id_to_piece(processor, id, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        }
        return Array(buffer.prefix(Int(length)))
    }
}

// MARK: - Helpers

/// How whitespace of the normalized text becomes "▁" (formats/tokenization.md, "Whitespace").
enum WhitespaceMode: String, CaseIterable {
    /// tokenizer.json as written for XLM-R: collapse runs of U+0020, then Metaspace (prepend "▁"
    /// unless the text starts with a space; every space becomes "▁", so trailing spaces give a lone "▁").
    case metaspaceCollapse = "metaspace-collapse"
    /// The same without the collapse (older tokenizer.json files: `Precompiled` alone).
    case metaspace = "metaspace"
    /// transformers ≥ 5 `XLMRobertaTokenizer`: split on Unicode White_Space (dropped), "▁" before each word.
    case whitespaceSplit = "whitespace-split"
}

/// Accumulates the normalized segment as the "▁"-joined string libsentencepiece encodes.
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
private func utf8Length(_ lead: UInt8) -> Int {
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
private func skipWhitespaceBackward(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, notBefore limit: Int) -> Int {
    var pos = from
    while pos > limit, let (s, start) = scalar(before: pos, in: bytes), isWhiteSpace(s.value), start >= limit {
        pos = start
    }
    return pos
}

/// Hugging Face `rstrip`: moves `from` right over Unicode White_Space.
private func skipWhitespaceForward(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int {
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

    init(_ blob: ArraySlice<UInt8>) throws {
        if blob.isEmpty {
            units = []
            normalized = []
            spans = [:]
            return
        }
        let bytes = Array(blob)
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

/// The parts of a serialized sentencepiece ModelProto the runtime needs, read with a minimal protobuf
/// wire-format reader (field numbers from sentencepiece_model.proto: ModelProto.pieces = 1 {piece = 1,
/// score = 2, type = 3}, trainer_spec = 2, normalizer_spec = 3 {precompiled_charsmap = 2}).
struct EmbeddedSentencePieceModel {
    struct Piece {
        var text: [UInt8]
        var score: Float
        var type: Int
        /// Field 200 (Sito extension, fixed64): the exact f64 score when the f32 `score` rounds it.
        var exactScore: Double?
    }

    let bytes: [UInt8]
    var pieces: [Piece] = []
    var precompiledCharsmap: ArraySlice<UInt8> = []
    /// Byte ranges of the top-level fields other than normalizer_spec, kept verbatim in the derived model.
    var keptFields: [Range<Int>] = []

    init(_ raw: UnsafeRawBufferPointer) throws {
        bytes = Array(raw)
        var reader = WireReader(bytes: bytes, range: 0..<bytes.count)
        while let field = try reader.next() {
            switch (field.number, field.payload) {
            case (1, .bytes(let r)):
                pieces.append(try EmbeddedSentencePieceModel.piece(bytes, r))
                keptFields.append(field.span)
            case (3, .bytes(let r)):
                var inner = WireReader(bytes: bytes, range: r)
                while let f = try inner.next() {
                    if f.number == 2, case .bytes(let c) = f.payload { precompiledCharsmap = bytes[c] }
                }
            default:
                keptFields.append(field.span)
            }
        }
        guard !pieces.isEmpty else { throw TokenizerError.invalidModel("the model has no pieces") }
    }

    private static func piece(_ bytes: [UInt8], _ range: Range<Int>) throws -> Piece {
        var piece = Piece(text: [], score: 0, type: 1)
        var reader = WireReader(bytes: bytes, range: range)
        while let f = try reader.next() {
            switch (f.number, f.payload) {
            case (1, .bytes(let r)): piece.text = Array(bytes[r])
            case (2, .fixed32(let v)): piece.score = Float(bitPattern: v)
            case (3, .varint(let v)): piece.type = Int(truncatingIfNeeded: v)
            case (200, .fixed64(let v)): piece.exactScore = Double(bitPattern: v)
            default: break
            }
        }
        return piece
    }

    /// The model the processor runs: the same pieces (plus `extra` NORMAL pieces at the end) with an
    /// identity normalizer that adds no prefix, keeps every space and escapes nothing.
    func derived(appending extra: [(text: [UInt8], score: Float)]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 64 + extra.count * 16)
        // Fields are copied in file order. Repeated `pieces` keep their relative order even when other
        // fields sit between them, so every id is unchanged; the extra pieces get the next ids.
        for span in keptFields { out.append(contentsOf: bytes[span]) }
        for piece in extra {
            var inner = WireWriter()
            inner.bytes(1, piece.text)
            inner.fixed32(2, piece.score.bitPattern)
            inner.varint(3, 1)
            var outer = WireWriter()
            outer.bytes(1, inner.out)
            out.append(contentsOf: outer.out)
        }
        var normalizer = WireWriter()
        normalizer.bytes(1, Array("identity".utf8))
        normalizer.varint(3, 0)  // add_dummy_prefix
        normalizer.varint(4, 0)  // remove_extra_whitespaces
        normalizer.varint(5, 0)  // escape_whitespaces
        var outer = WireWriter()
        outer.bytes(3, normalizer.out)
        out.append(contentsOf: outer.out)
        return out
    }
}

/// Protobuf wire format, reading (enough for sentencepiece's ModelProto). The one protobuf reader of the
/// package: the tools' SentencePieceModel and sito-inspect use it too (`package` access).
package struct WireReader {
    package enum Payload {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(Range<Int>)
        case fixed32(UInt32)
    }

    package struct Field {
        package var number: Int
        package var payload: Payload
        /// The whole field, key included.
        package var span: Range<Int>
    }

    let bytes: [UInt8]
    var pos: Int
    let end: Int

    package init(bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        pos = range.lowerBound
        end = range.upperBound
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < end else { throw TokenizerError.invalidModel("truncated varint at byte \(pos)") }
            let b = bytes[pos]
            pos += 1
            guard shift < 64 else { throw TokenizerError.invalidModel("varint longer than 10 bytes at byte \(pos)") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// The next field, or nil at the end. Throws `TokenizerError.invalidModel` naming the byte offset.
    package mutating func next() throws -> Field? {
        guard pos < end else { return nil }
        let start = pos
        let key = try varint()
        let number = Int(key >> 3)
        guard number > 0 else { throw TokenizerError.invalidModel("field number 0 at byte \(start)") }
        let payload: Payload
        switch key & 7 {
        case 0: payload = .varint(try varint())
        case 1:
            guard end - pos >= 8 else { throw TokenizerError.invalidModel("truncated fixed64 at byte \(pos)") }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(bytes[pos + k]) << (8 * UInt64(k)) }
            pos += 8
            payload = .fixed64(v)
        case 2:
            let length = try varint()
            guard length <= UInt64(end - pos) else { throw TokenizerError.invalidModel("field \(number) at byte \(start) runs past the end") }
            payload = .bytes(pos..<pos + Int(length))
            pos += Int(length)
        case 5:
            guard end - pos >= 4 else { throw TokenizerError.invalidModel("truncated fixed32 at byte \(pos)") }
            let v = UInt32(bytes[pos]) | UInt32(bytes[pos + 1]) << 8 | UInt32(bytes[pos + 2]) << 16 | UInt32(bytes[pos + 3]) << 24
            pos += 4
            payload = .fixed32(v)
        default:
            throw TokenizerError.invalidModel("unsupported wire type \(key & 7) at byte \(start)")
        }
        return Field(number: number, payload: payload, span: start..<pos)
    }
}

/// Protobuf wire format, writing. The one protobuf writer of the package (the converter's
/// SentencePieceModel uses it too).
package struct WireWriter {
    package var out: [UInt8] = []

    package init() {}

    mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    package mutating func varint(_ field: Int, _ value: UInt64) {
        rawVarint(UInt64(field) << 3)
        rawVarint(value)
    }

    /// int32/int64 fields: negative values are sign-extended to 64 bits (10 bytes), as protobuf does.
    package mutating func int(_ field: Int, _ value: Int) {
        varint(field, UInt64(bitPattern: Int64(value)))
    }

    package mutating func fixed32(_ field: Int, _ value: UInt32) {
        rawVarint(UInt64(field) << 3 | 5)
        for k in 0..<4 { out.append(UInt8((value >> (8 * UInt32(k))) & 0xFF)) }
    }

    package mutating func fixed64(_ field: Int, _ value: UInt64) {
        rawVarint(UInt64(field) << 3 | 1)
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(k)))) }
    }

    package mutating func bytes(_ field: Int, _ value: [UInt8]) {
        rawVarint(UInt64(field) << 3 | 2)
        rawVarint(UInt64(value.count))
        out.append(contentsOf: value)
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
///
/// Pieces are found with a hash table of every prefix of every piece (FNV-1a over the bytes, so the
/// hash of a prefix extends byte by byte); entries are verified against the piece's bytes.
struct UnigramLattice {
    /// Open addressing: `slotHash[i]` (0 = empty) and `slotPiece[i]` (piece index, or -1 for a prefix only).
    private let slotHash: [UInt32]
    private let slotPiece: [Int32]
    private let mask: Int
    private let pieceBytes: [UInt8]
    private let pieceStart: [Int32]
    private let pieceLength: [UInt8]
    private let pieceScore: [Double]
    private let pieceId: [Int32]
    private let maxPieceBytes: Int
    private let unkId: Int32
    private let unkScore: Double

    init(pieces: [(text: [UInt8], score: Double, id: Int32)], unkId: Int32) {
        var prefixCount = 0
        var maxBytes = 0
        for p in pieces {
            prefixCount += p.text.count
            maxBytes = max(maxBytes, p.text.count)
        }
        var capacity = 1024
        while capacity < prefixCount * 2 { capacity <<= 1 }  // distinct prefixes ≤ total: load ≤ 0.5
        var hashes = [UInt32](repeating: 0, count: capacity)
        var values = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        var bytes: [UInt8] = []
        var starts: [Int32] = []
        var lengths: [UInt8] = []
        var scores: [Double] = []
        var ids: [Int32] = []
        var minScore = Double.infinity
        // Piece strings are unique (libsentencepiece refuses duplicates; the added-token twins are
        // only added where no NORMAL piece has the text).
        for p in pieces where !p.text.isEmpty && p.text.count <= 255 {
            let index = Int32(ids.count)
            starts.append(Int32(bytes.count))
            bytes.append(contentsOf: p.text)
            lengths.append(UInt8(p.text.count))
            scores.append(p.score)
            ids.append(p.id)
            minScore = min(minScore, p.score)
            var h = UnigramLattice.seed
            for (k, byte) in p.text.enumerated() {
                h = UnigramLattice.step(h, byte)
                var slot = UnigramLattice.slot(h, mask)
                let tag = UnigramLattice.tag(h, k + 1)
                // Find this prefix's slot (same tag and, for pieces, same bytes) or an empty one.
                while hashes[slot] != 0 {
                    if hashes[slot] == tag {
                        let existing = values[slot]
                        if existing < 0 { break }
                        let e = Int(existing)
                        if Int(lengths[e]) == k + 1 && bytes[Int(starts[e])..<Int(starts[e]) + k + 1].elementsEqual(p.text[0...k]) { break }
                    }
                    slot = (slot + 1) & mask
                }
                hashes[slot] = tag
                if k + 1 == p.text.count { values[slot] = index }
            }
        }
        slotHash = hashes
        slotPiece = values
        self.mask = mask
        pieceBytes = bytes
        pieceStart = starts
        pieceLength = lengths
        pieceScore = scores
        pieceId = ids
        maxPieceBytes = maxBytes
        self.unkId = unkId
        unkScore = (minScore.isFinite ? minScore : 0) - 10
    }

    private static let seed: UInt64 = 0xcbf2_9ce4_8422_2325
    @inline(__always) private static func step(_ h: UInt64, _ byte: UInt8) -> UInt64 { (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    @inline(__always) private static func mix(_ h: UInt64) -> UInt64 {
        var x = h ^ (h >> 31)
        x = x &* 0x7fb5_d329_728e_a185
        return x ^ (x >> 27)
    }
    @inline(__always) private static func slot(_ h: UInt64, _ mask: Int) -> Int { Int(truncatingIfNeeded: mix(h)) & mask }
    /// A non-zero 32-bit tag: high bits of the mixed hash with the prefix length folded in.
    @inline(__always) private static func tag(_ h: UInt64, _ length: Int) -> UInt32 {
        let t = UInt32(truncatingIfNeeded: mix(h) >> 32) ^ UInt32(truncatingIfNeeded: length &* 0x9E37_79B1)
        return t == 0 ? 1 : t
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
        if n == 0 { return }
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
            var h = UnigramLattice.seed
            var end = start
            let limit = min(n, start + maxPieceBytes)
            while end < limit {
                h = UnigramLattice.step(h, word[end])
                end += 1
                let tag = UnigramLattice.tag(h, end - start)
                var slot = UnigramLattice.slot(h, mask)
                var found = false
                var hit: Int32 = -1
                while slotHash[slot] != 0 {
                    if slotHash[slot] == tag {
                        let candidate = slotPiece[slot]
                        if candidate < 0 {
                            found = true
                            break
                        }
                        // A piece slot with this tag also proves the prefix may exist (a prefix-only
                        // slot can be taken over by a piece whose tag collides); false positives only
                        // cost an extra step.
                        found = true
                        let c = Int(candidate)
                        if Int(pieceLength[c]) == end - start {
                            let s = Int(pieceStart[c])
                            var same = true
                            for j in 0..<(end - start) where pieceBytes[s + j] != word[start + j] {
                                same = false
                                break
                            }
                            if same {
                                hit = candidate
                                break
                            }
                        }
                    }
                    slot = (slot + 1) & mask
                }
                if !found { break }  // no piece starts with these bytes
                if hit >= 0 {
                    let candidate = here + pieceScore[Int(hit)]
                    if from[end] < 0 || candidate > score[end] {
                        score[end] = candidate
                        from[end] = Int32(start)
                        piece[end] = pieceId[Int(hit)]
                    }
                    if end - start == charLength { coveredChar = true }
                }
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
