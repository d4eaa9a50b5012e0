// WordPieceTokenizer.swift: the `wordpiece` kind behind Tokenizer (Tokenizer.swift), reproducing Hugging
// Face `tokenizers`' BERT pipeline (formats/tokenization.md, "WordPiece"):
//   1. added tokens ([CLS], [SEP], …) split out of the raw text, longest first
//   2. BertNormalizer, in this order: clean_text (drop NUL, U+FFFD and "other" characters except \t \n \r;
//      White_Space → " "), handle_chinese_chars (" " around CJK ideographs), strip_accents (NFD, drop
//      nonspacing marks), lowercase (full per-scalar lowercase mapping)
//   3. BertPreTokenizer: split on White_Space (dropped) and punctuation (each its own word)
//   4. WordPiece: greedy longest match, continuation pieces prefixed "##"; a word longer than
//      max_input_chars_per_word, or with an unmatchable rest, is one [UNK]
//   5. [CLS] A [SEP] (B [SEP]), token types 0 for A's part and 1 for B's; truncation longest-first (each
//      part cut on its right, or on its left with TruncationSide.left)
// The vocabulary is the `tokenizer.wordpiece` tensor: UTF-8 lines in id order.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SitoFormat
@_spi(_Unicode) import Swift

final class WordPieceTokenizer: Sendable {
    let info: TokenizerInfo
    let recipe: InputRecipe
    let options: WordPieceOptions
    private let vocab: [String: Int32]
    private let added: [(content: [Unicode.Scalar], id: Int32)]
    private let cls: Int32
    private let sep: Int32
    private let unk: Int32

    var vocabularySize: Int { vocab.count }

    init(info: TokenizerInfo, input recipe: InputRecipe, bytes: UnsafeRawBufferPointer) throws {
        guard let options = info.wordpiece else { throw TokenizerError.invalidModel("a wordpiece tokenizer without its options") }
        switch recipe.recipe {
        case .pair, .single: break
        case .joinedPair: throw TokenizerError.unsupportedRecipe(recipe.recipe)
        }
        guard let cls = info.specials.cls else { throw TokenizerError.missingSpecial("cls") }
        guard let sep = info.specials.sep else { throw TokenizerError.missingSpecial("sep") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw TokenizerError.invalidModel("the vocabulary is not UTF-8") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard lines.count == info.modelVocab else {
            throw TokenizerError.invalidModel("the vocabulary has \(lines.count) entries, the model \(info.modelVocab)")
        }
        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(lines.count)
        for (i, line) in lines.enumerated() where vocab[String(line)] == nil { vocab[String(line)] = Int32(i) }
        for id in [cls, sep, info.specials.unk] where !(0..<info.modelVocab).contains(id) {
            throw TokenizerError.badIdMapping("special id \(id) is outside [0, \(info.modelVocab))")
        }
        self.info = info
        self.recipe = recipe
        self.options = options
        self.vocab = vocab
        self.cls = Int32(cls)
        self.sep = Int32(sep)
        self.unk = Int32(info.specials.unk)
        self.added = info.addedTokens.map { (Array($0.content.unicodeScalars), Int32($0.id)) }
            .sorted { $0.content.count != $1.content.count ? $0.content.count > $1.content.count : $0.id < $1.id }
    }

    func modelId(ofPiece piece: String) -> Int32? { vocab[piece] }

    // MARK: Recipes

    func encodeSingle(text: String, maxLength: Int?, onOverflow: OverflowPolicy, side: TruncationSide) throws -> Encoding {
        let limit = try recipe.checkedMaxLength(maxLength)
        let content = encode(text)
        let full = content.count + 2
        if full > limit && onOverflow == .reject { throw TokenizerError.tooLong(tokens: full, maxLength: limit) }
        let kept = side.keep(limit - 2, of: content)
        let ids = [cls] + kept + [sep]
        return Encoding(ids: ids, typeIds: [Int32](repeating: 0, count: ids.count), truncated: full > limit, untruncatedLength: full)
    }

    func encodePair(query: String, document: String, maxLength: Int?, onOverflow: OverflowPolicy, side: TruncationSide) throws -> Encoding {
        guard recipe.recipe == .pair else { throw TokenizerError.unsupportedRecipe(recipe.recipe) }
        let limit = try recipe.checkedMaxLength(maxLength)
        let a = encode(query), b = encode(document)
        let full = a.count + b.count + 3
        var (n1, n2) = (a.count, b.count)
        if full > limit {
            if onOverflow == .reject { throw TokenizerError.tooLong(tokens: full, maxLength: limit) }
            (n1, n2) = WordPieceTokenizer.longestFirst(a.count, b.count, target: limit - 3)
        }
        let ids = [cls] + side.keep(n1, of: a) + [sep] + side.keep(n2, of: b) + [sep]
        let types = [Int32](repeating: 0, count: n1 + 2) + [Int32](repeating: 1, count: n2 + 1)
        return Encoding(ids: ids, typeIds: types, truncated: full > limit, untruncatedLength: full)
    }

    /// tokenizers' `TruncationStrategy::LongestFirst` for a pair: lengths kept of each sequence so that
    /// they sum to at most `target` — the shorter kept whole when it fits in half, else both cut to half
    /// (when `target` is odd the longer sequence gets the extra token; the second one on a tie).
    static func longestFirst(_ a: Int, _ b: Int, target: Int) -> (Int, Int) {
        var n1 = a, n2 = b
        let swapped = n1 > n2
        if swapped { swap(&n1, &n2) }
        if n1 > target { n2 = n1 } else { n2 = max(n1, target - n1) }
        if n1 + n2 > target {
            n1 = target / 2
            n2 = n1 + target % 2
        }
        if swapped { swap(&n1, &n2) }
        return (min(n1, a), min(n2, b))
    }

    // MARK: Pipeline

    /// Steps 1–4: model ids of one text, without [CLS]/[SEP].
    func encode(_ text: String) -> [Int32] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int32] = []
        var segmentStart = 0, pos = 0
        while pos < scalars.count {
            if let match = added.first(where: { pos + $0.content.count <= scalars.count && scalars[pos..<(pos + $0.content.count)].elementsEqual($0.content) }) {
                encodeSegment(scalars[segmentStart..<pos], into: &ids)
                ids.append(match.id)
                pos += match.content.count
                segmentStart = pos
            } else {
                pos += 1
            }
        }
        encodeSegment(scalars[segmentStart..<scalars.count], into: &ids)
        return ids
    }

    private func encodeSegment(_ segment: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) {
        if segment.isEmpty { return }
        for word in WordPieceTokenizer.preTokenize(normalize(segment)) {
            wordPiece(word, into: &ids)
        }
    }

    /// Step 2: BertNormalizer.
    func normalize(_ input: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(input.count + 8)
        for c in input {
            if options.cleanText {
                if c.value == 0 || c.value == 0xFFFD || WordPieceTokenizer.isControl(c) { continue }
                if WordPieceTokenizer.isBertWhitespace(c) {
                    out.append(" ")
                    continue
                }
            }
            if options.handleChineseChars && WordPieceTokenizer.isChineseChar(c.value) {
                out.append(" ")
                out.append(c)
                out.append(" ")
            } else {
                out.append(c)
            }
        }
        if options.stripAccents {
            // NFD, then drop the combining marks (BertNormalizer's strip_accents). The standard library's
            // own NFD (the one String comparison uses): FoundationEssentials has no normalization API,
            // and full Foundation would bring ICU into the runtime. Parity: WordPieceParityTests.
            out = String(String.UnicodeScalarView(out))._nfd.filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if options.lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(out.count)
            for c in out {
                if c.isASCII {
                    lowered.append(c.value >= 65 && c.value <= 90 ? Unicode.Scalar(c.value + 32)! : c)
                } else {
                    lowered.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
                }
            }
            out = lowered
        }
        return out
    }

    /// Step 3: BertPreTokenizer.
    static func preTokenize(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start = 0
        for (i, c) in text.enumerated() {
            if c.properties.isWhitespace {
                if start < i { words.append(text[start..<i]) }
                start = i + 1
            } else if isBertPunctuation(c) {
                if start < i { words.append(text[start..<i]) }
                words.append(text[i..<(i + 1)])
                start = i + 1
            }
        }
        if start < text.count { words.append(text[start..<text.count]) }
        return words
    }

    /// Step 4: greedy longest-match-first WordPiece of one word.
    private func wordPiece(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) {
        if word.count > options.maxInputCharsPerWord {
            ids.append(unk)
            return
        }
        var pieces: [Int32] = []
        var start = word.startIndex
        while start < word.endIndex {
            var end = word.endIndex
            var found: Int32?
            while start < end {
                var candidate = String(String.UnicodeScalarView(word[start..<end]))
                if start > word.startIndex { candidate = options.continuingSubwordPrefix + candidate }
                if let id = vocab[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.append(unk)
                return
            }
            pieces.append(id)
            start = end
        }
        ids.append(contentsOf: pieces)
    }

    // MARK: Character classes (tokenizers' normalizers/bert.rs and pre_tokenizers/bert.rs)

    /// "Other" characters (Cc, Cf, Cn, Co, Cs) except \t, \n, \r.
    static func isControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        switch c.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    static func isBertWhitespace(_ c: Unicode.Scalar) -> Bool {
        c == "\t" || c == "\n" || c == "\r" || c.properties.isWhitespace
    }

    static func isChineseChar(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    /// ASCII punctuation (including symbols such as $ + < = > ^ ` | ~) or any Unicode P* category.
    static func isBertPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}
