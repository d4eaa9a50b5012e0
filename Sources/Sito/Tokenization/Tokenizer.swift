// Tokenizer.swift: the runtime's tokenizer: text → model input ids for the recipe stored in the file
// (formats/tokenization.md). One public type whatever the kind:
//   sentencepiece → SentencePieceTokenizer (XLM-RoBERTa; Hugging Face Unigram parity)
//   wordpiece     → WordPieceTokenizer (BERT family; Hugging Face BertNormalizer + BertPreTokenizer + WordPiece)
//   bpe           → BPETokenizer (RoBERTa / GPT-2 byte-level BPE; Hugging Face ByteLevel + BPE)
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SitoFormat

/// What to do when a text has more tokens than the maximum length.
public enum OverflowPolicy: Sendable, Equatable {
    /// Keep `maxLength - 2` content tokens (transformers `truncation=True`): the first ones, or the last
    /// with `TruncationSide.left`.
    case truncate
    /// Throw `TokenizerError.tooLong`.
    case reject
}

/// Which end of a too-long input is cut (Hugging Face tokenizers' `truncation_side`, TEI's
/// `truncation_direction`). Special tokens stay in place either way; a pair's two parts get the same
/// lengths either way (the recipe's strategy, e.g. longest-first), only the tokens dropped differ.
public enum TruncationSide: String, Sendable, Equatable, CaseIterable {
    /// Keep the start: drop content tokens from the end (transformers' default).
    case right
    /// Keep the end: drop content tokens from the start (`truncation_side="left"`).
    case left

    /// The `count` content tokens kept of `content` (all of them when it is no longer).
    func keep(_ count: Int, of content: [Int32]) -> ArraySlice<Int32> {
        let n = max(0, count)
        switch self {
        case .right: return content.prefix(n)
        case .left: return content.suffix(n)
        }
    }
}

/// The model input for one sequence.
public struct Encoding: Sendable, Equatable {
    /// Model ids, special tokens included: `[bos] + content + [eos]`.
    public var ids: [Int32]
    /// Token type ids, same length as `ids` (all 0 for XLM-RoBERTa).
    public var typeIds: [Int32]
    /// True when content tokens were dropped to fit the maximum length.
    public var truncated: Bool
    /// Length `ids` would have had without truncation (special tokens included).
    public var untruncatedLength: Int

    public init(ids: [Int32], typeIds: [Int32], truncated: Bool, untruncatedLength: Int) {
        self.ids = ids
        self.typeIds = typeIds
        self.truncated = truncated
        self.untruncatedLength = untruncatedLength
    }
}

/// Why a tokenizer could not be built or a text could not be encoded.
public enum TokenizerError: Error, Equatable, Sendable {
    /// A whitespace rule of another tokenizer kind (`bert` for SentencePiece, or the other way round).
    case unsupportedWhitespace(WhitespaceRule)
    case unsupportedRecipe(RecipeKind)
    /// The embedded SentencePiece model (or WordPiece vocabulary) is malformed: formats/tokenization.md,
    /// "Load", lists what the runtime refuses.
    case invalidModel(String)
    /// A sentencepiece id maps outside `[0, model_vocab)`, or an override is malformed.
    case badIdMapping(String)
    /// The recipe needs a special token the tokenizer does not define.
    case missingSpecial(String)
    /// `onOverflow: .reject` and the text needs more than `maxLength` tokens.
    case tooLong(tokens: Int, maxLength: Int)
    /// A requested maximum length below the recipe's special tokens (`InputRecipe.fewestTokens`).
    case maxLengthTooSmall(requested: Int, minimum: Int)
    /// A requested maximum length above the file's `input.max_length`.
    case maxLengthTooLarge(requested: Int, limit: Int)
}

extension TokenizerError: CustomStringConvertible {
    /// A message a user can act on.
    public var description: String {
        switch self {
        case .unsupportedWhitespace(let mode):
            return "tokenizer whitespace mode '\(mode)' is not supported by this tokenizer kind (sentencepiece: 'whitespace-split', 'metaspace-collapse' or 'metaspace'; wordpiece: 'bert'; bpe: 'byte-level')"
        case .unsupportedRecipe(let recipe):
            return "input recipe '\(recipe)' is not supported by this tokenizer kind (sentencepiece: 'joined-pair' or 'single'; wordpiece: 'pair' or 'single'; bpe: 'joined-pair', 'pair' or 'single')"
        case .invalidModel(let reason):
            return "the embedded SentencePiece model is invalid: \(reason)"
        case .badIdMapping(let reason):
            return "the tokenizer's id mapping is invalid: \(reason)"
        case .missingSpecial(let name):
            return "the tokenizer defines no '\(name)' token, which the input recipe needs"
        case .tooLong(let tokens, let maxLength):
            return "input is \(tokens) tokens long, more than the maximum of \(maxLength) (special tokens included); shorten it or allow truncation"
        case .maxLengthTooSmall(let requested, let minimum):
            return "max length \(requested) is too small: at least \(minimum) tokens (the special tokens)"
        case .maxLengthTooLarge(let requested, let limit):
            return "max length \(requested) exceeds the model's limit of \(limit) tokens"
        }
    }
}

extension TokenizerError: LocalizedError {
    public var errorDescription: String? { description }
}


extension InputRecipe {
    /// The fewest tokens a sequence of this recipe has: its special tokens (`<s>`/`[CLS]` and
    /// `</s>`/`[SEP]`; a BERT pair has a second `[SEP]`).
    public var fewestTokens: Int {
        switch recipe {
        case .joinedPair, .single: return 2
        case .pair: return 3
        }
    }

    /// The one check of a requested maximum length (nil: the file's `max_length`), for the tokenizers and
    /// the models alike: at least `fewestTokens`, at most `maxLength`.
    public func checkedMaxLength(_ requested: Int?) throws(TokenizerError) -> Int {
        guard let requested else { return maxLength }
        if requested < fewestTokens { throw .maxLengthTooSmall(requested: requested, minimum: fewestTokens) }
        if requested > maxLength { throw .maxLengthTooLarge(requested: requested, limit: maxLength) }
        return requested
    }
}

/// A loaded tokenizer of any kind. Immutable after init; safe to use from any number of threads at once.
public final class Tokenizer: Sendable {
    private enum Backend: Sendable {
        case sentencePiece(SentencePieceTokenizer)
        case wordPiece(WordPieceTokenizer)
        case bpe(BPETokenizer)
    }

    private let backend: Backend
    public let info: TokenizerInfo
    public let recipe: InputRecipe

    /// Builds the tokenizer from the header's tokenizer and input sections and the tokenizer tensor's bytes.
    public init(info: TokenizerInfo, input recipe: InputRecipe, bytes: UnsafeRawBufferPointer) throws {
        self.info = info
        self.recipe = recipe
        switch info.kind {
        case .sentencepiece: backend = .sentencePiece(try SentencePieceTokenizer(info: info, input: recipe, bytes: bytes))
        case .wordpiece: backend = .wordPiece(try WordPieceTokenizer(info: info, input: recipe, bytes: bytes))
        case .bpe: backend = .bpe(try BPETokenizer(info: info, input: recipe, bytes: bytes))
        }
    }

    /// Entries of the vocabulary in use.
    public var pieceCount: Int {
        switch backend {
        case .sentencePiece(let t): return t.pieceCount
        case .wordPiece(let t): return t.vocabularySize
        case .bpe(let t): return t.vocabularySize
        }
    }

    /// Model ids of one text, without special tokens around it and without truncation.
    public func encode(_ text: String) -> [Int32] {
        switch backend {
        case .sentencePiece(let t): return t.encode(text)
        case .wordPiece(let t): return t.encode(text)
        case .bpe(let t): return t.encode(text)
        }
    }

    /// One text as a whole sequence (embedding models): `<s>`/`[CLS]` + content + `</s>`/`[SEP]`; when
    /// too long, content cut on `truncationSide` to `maxLength - 2` tokens.
    public func encodeSingle(text: String, maxLength: Int? = nil, onOverflow: OverflowPolicy = .truncate,
                             truncationSide: TruncationSide = .right) throws -> Encoding {
        switch backend {
        case .sentencePiece(let t): return try t.encodeSingle(text: text, maxLength: maxLength, onOverflow: onOverflow, side: truncationSide)
        case .wordPiece(let t): return try t.encodeSingle(text: text, maxLength: maxLength, onOverflow: onOverflow, side: truncationSide)
        case .bpe(let t): return try t.encodeSingle(text: text, maxLength: maxLength, onOverflow: onOverflow, side: truncationSide)
        }
    }

    /// A query/document pair by the file's recipe (`joined-pair` for XLM-R and RoBERTa rerankers' model
    /// cards, `pair` for BERT cross-encoders and RoBERTa's `<s> A </s></s> B </s>`). When too long:
    /// `joined-pair` cuts the joined text on `truncationSide` (`.left` eats into the query first); `pair`
    /// keeps longest-first lengths of each part, cut on `truncationSide` of each.
    public func encodePair(query: String, document: String, maxLength: Int? = nil,
                           onOverflow: OverflowPolicy = .truncate, truncationSide: TruncationSide = .right) throws -> Encoding {
        switch backend {
        case .sentencePiece(let t): return try t.encodePair(query: query, document: document, maxLength: maxLength, onOverflow: onOverflow, side: truncationSide)
        case .wordPiece(let t): return try t.encodePair(query: query, document: document, maxLength: maxLength, onOverflow: onOverflow, side: truncationSide)
        case .bpe(let t): return try t.encodePair(query: query, document: document, maxLength: maxLength, onOverflow: onOverflow, side: truncationSide)
        }
    }

    /// The model id of a vocabulary entry (a SentencePiece piece such as "▁Hello", a WordPiece token, or a
    /// byte-level BPE token as tokenizer.json spells it, "Ġkot").
    public func modelId(ofPiece piece: String) -> Int32? {
        switch backend {
        case .sentencePiece(let t): return t.modelId(ofPiece: piece)
        case .wordPiece(let t): return t.modelId(ofPiece: piece)
        case .bpe(let t): return t.modelId(ofPiece: piece)
        }
    }
}
