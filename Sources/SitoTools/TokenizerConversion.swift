// TokenizerConversion.swift: a Hugging Face model folder's tokenizer → the `.sito` tokenizer section
// (TokenizerInfo) and the bytes of a sentencepiece ModelProto. The rules, and why, are in
// formats/tokenization.md ("Conversion"); this file must match it.
//
// Which file wins: `tokenizer.json` when it exists (it is what transformers loads whenever it is
// present), else `sentencepiece.bpe.model` (the original fairseq XLM-R layout). Every result passes the
// libsentencepiece check (SentencePieceCheck.swift) before it is returned.
import Foundation
import SitoFormat

/// Why a folder's tokenizer could not be converted. Every message names the file.
public enum TokenizerConversionError: Error, Equatable, LocalizedError {
    case missing(folder: String)
    case malformedJSON(file: String, reason: String)
    case unsupportedModel(file: String, type: String)
    case unsupportedPipeline(file: String, component: String, found: String)
    case vocabMismatch(file: String, tokenizer: Int, model: Int)
    case malformedModel(file: String, reason: String)
    case missingToken(file: String, token: String)

    public var errorDescription: String? {
        switch self {
        case let .missing(folder):
            return "\(folder): no tokenizer found: expected tokenizer.json (with a Unigram model) or sentencepiece.bpe.model"
        case let .malformedJSON(file, reason):
            return "\(file): not a valid tokenizer.json: \(reason)"
        case let .unsupportedModel(file, type):
            return "\(file): the tokenizer model is \(type); Sito converts SentencePiece Unigram tokenizers only (XLM-RoBERTa)"
        case let .unsupportedPipeline(file, component, found):
            return "\(file): unsupported \(component): \(found) (formats/tokenization.md lists what Sito reproduces)"
        case let .vocabMismatch(file, tokenizer, model):
            return "\(file): the tokenizer has \(tokenizer) ids but the model's embedding table has \(model) rows"
        case let .malformedModel(file, reason):
            return "\(file): \(reason)"
        case let .missingToken(file, token):
            return "\(file): no '\(token)' token, which XLM-RoBERTa inputs need"
        }
    }
}

/// How the converter picks `tokenizer.whitespace` (formats/tokenization.md, "Whitespace").
public enum TokenizerWhitespaceChoice: String, Sendable {
    /// What the installed reference does with this folder: transformers ≥ 5 replaces tokenizer.json's
    /// normalizer and pre-tokenizer for `XLMRobertaTokenizer` folders (`whitespace-split`); otherwise
    /// tokenizer.json's own pipeline (`metaspace-collapse` / `metaspace`).
    case auto
    /// Always tokenizer.json's own pipeline (the `tokenizers` library; transformers 4.x fast tokenizers).
    case tokenizerJSON = "tokenizer-json"
    /// Always transformers ≥ 5 `XLMRobertaTokenizer` (`whitespace-split`).
    case transformersClass = "transformers-class"
}

/// The name of the `u8` tensor the converter stores the sentencepiece model in.
public let tokenizerTensorName = "tokenizer.sentencepiece"

/// Converts the tokenizer of a Hugging Face model folder. `modelVocab` is the row count of the model's
/// word embeddings; the tokenizer's id space must be exactly that size.
public func convertTokenizer(folder: URL, modelVocab: Int) throws -> (info: TokenizerInfo, bytes: [UInt8]) {
    try convertTokenizer(folder: folder, modelVocab: modelVocab, whitespace: .auto)
}

public func convertTokenizer(folder: URL, modelVocab: Int, whitespace: TokenizerWhitespaceChoice)
    throws -> (info: TokenizerInfo, bytes: [UInt8]) {
    let fm = FileManager.default
    let json = folder.appendingPathComponent("tokenizer.json")
    let spm = folder.appendingPathComponent("sentencepiece.bpe.model")
    let classRule = usesXLMRobertaClass(folder: folder)
    let source: URL
    let converted: (info: TokenizerInfo, bytes: [UInt8])
    if fm.fileExists(atPath: json.path) {
        source = json
        converted = try convertTokenizerJSON(json, modelVocab: modelVocab, whitespace: whitespace, classRule: classRule)
    } else if fm.fileExists(atPath: spm.path) {
        source = spm
        converted = try convertFairseqModel(spm, folder: folder, modelVocab: modelVocab)
    } else {
        throw TokenizerConversionError.missing(folder: folder.path)
    }
    // The runtime reads the model alone; libsentencepiece must agree with it before anything is written.
    _ = try converted.bytes.withUnsafeBytes { try checkSentencePieceTokenizer(info: converted.info, bytes: $0, file: source.path) }
    return converted
}

/// True when transformers (≥ 5) `AutoTokenizer` instantiates `XLMRobertaTokenizer` for this folder:
/// tokenizer_config.json names it (or its Fast alias), or names no class and config.json's model_type
/// is `xlm-roberta`.
func usesXLMRobertaClass(folder: URL) -> Bool {
    func object(_ name: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
    if let cls = object("tokenizer_config.json")?["tokenizer_class"] as? String {
        return cls == "XLMRobertaTokenizer" || cls == "XLMRobertaTokenizerFast"
    }
    return (object("config.json")?["model_type"] as? String) == "xlm-roberta"
}

// MARK: tokenizer.json

private func convertTokenizerJSON(_ url: URL, modelVocab: Int, whitespace: TokenizerWhitespaceChoice,
                                  classRule: Bool) throws -> (info: TokenizerInfo, bytes: [UInt8]) {
    let file = url.path
    guard let data = FileManager.default.contents(atPath: file) else {
        throw TokenizerConversionError.malformedModel(file: file, reason: "cannot be read")
    }
    let root: [String: Any]
    do {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TokenizerConversionError.malformedJSON(file: file, reason: "the top level is not a JSON object")
        }
        root = object
    } catch let error as TokenizerConversionError {
        throw error
    } catch {
        throw TokenizerConversionError.malformedJSON(file: file, reason: error.localizedDescription)
    }
    var (pieces, unk) = try unigramPieces(root, data: data, modelVocab: modelVocab, file: file)
    let added = try addedTokens(root, pieces: &pieces, unk: unk, modelVocab: modelVocab, file: file)
    func addedId(_ content: String) -> Int? { added.first { $0.content == content }?.id }
    let (charsmap, collapse) = try normalizerSteps(root, file: file)

    // Pre-tokenizer: Metaspace("▁"), prefix always, split on "▁".
    guard let pre = root["pre_tokenizer"] as? [String: Any], pre["type"] as? String == "Metaspace",
          pre["replacement"] as? String == "▁",
          (pre["prepend_scheme"] as? String).map({ $0 == "always" }) ?? (pre["add_prefix_space"] as? Bool ?? true),
          pre["split"] as? Bool ?? true else {
        throw TokenizerConversionError.unsupportedPipeline(file: file, component: "pre_tokenizer", found: describeJSON(root["pre_tokenizer"]))
    }

    // Post-processor: `<s> A </s>`.
    let (bos, eos) = try sequenceSpecials(root["post_processor"], file: file, describe: describeJSON)
    guard let pad = addedId("<pad>") else { throw TokenizerConversionError.missingToken(file: file, token: "<pad>") }

    var sp = SentencePieceModel(pieces: pieces)
    sp.unkId = unk
    sp.bosId = bos
    sp.eosId = eos
    sp.padId = pad
    sp.normalizerName = "hf_precompiled"
    sp.precompiledCharsmap = charsmap
    // libsentencepiece's closest standalone approximation (the Sito runtime swaps in its own rules):
    // dummy prefix, whitespace escaped, extra whitespace removed when tokenizer.json collapses spaces.
    sp.addDummyPrefix = true
    sp.removeExtraWhitespaces = collapse
    sp.escapeWhitespaces = true

    let mode: WhitespaceRule
    switch whitespace {
    case .transformersClass: mode = .whitespaceSplit
    case .tokenizerJSON: mode = collapse ? .metaspaceCollapse : .metaspace
    case .auto: mode = classRule ? .whitespaceSplit : (collapse ? .metaspaceCollapse : .metaspace)
    }
    let info = TokenizerInfo(
        kind: .sentencepiece, tensor: tokenizerTensorName, modelVocab: modelVocab, idOffset: 0, idOverrides: [],
        specials: SpecialIds(bos: bos, pad: pad, eos: eos, unk: unk, mask: addedId("<mask>")),
        addedTokens: added, whitespace: mode)
    return (info, sp.serialized())
}

/// The Unigram model of tokenizer.json: its pieces (a vocabulary of exactly `modelVocab` entries) and the
/// unknown piece's id.
private func unigramPieces(_ root: [String: Any], data: Data, modelVocab: Int, file: String) throws
    -> (pieces: [SentencePieceModel.Piece], unk: Int) {
    func bad(_ reason: String) -> TokenizerConversionError { .malformedJSON(file: file, reason: reason) }
    guard let model = root["model"] as? [String: Any] else { throw bad("no \"model\" object") }
    let type = model["type"] as? String ?? (model["vocab"] is [Any] ? "Unigram" : "unknown")
    guard type == "Unigram" else { throw TokenizerConversionError.unsupportedModel(file: file, type: type) }
    if let fallback = model["byte_fallback"] as? Bool, fallback {
        throw TokenizerConversionError.unsupportedPipeline(file: file, component: "model", found: "Unigram with byte_fallback")
    }
    // The scores are read with JSONDecoder: JSONSerialization on Linux rounds some 16–17 digit numbers
    // off by an ulp or two, and Hugging Face's Viterbi breaks ties on the exact f64 values.
    guard model["vocab"] is [Any], let vocab = try? JSONDecoder().decode(UnigramVocabFile.self, from: data).model.vocab else {
        throw bad("model.vocab is not an array of [piece, score] pairs")
    }
    guard vocab.count == modelVocab else {
        throw TokenizerConversionError.vocabMismatch(file: file, tokenizer: vocab.count, model: modelVocab)
    }
    guard let unk = model["unk_id"] as? Int, (0..<vocab.count).contains(unk) else {
        throw bad("model.unk_id is missing or outside the vocabulary")
    }
    var pieces: [SentencePieceModel.Piece] = []
    pieces.reserveCapacity(vocab.count)
    // Compare pieces as bytes: Swift's String equality is canonical equivalence, under which distinct
    // pieces such as "\u{64E}\u{651}" and "\u{651}\u{64E}" would collide.
    var seen = Set<[UInt8]>()
    seen.reserveCapacity(vocab.count)
    for (i, entry) in vocab.enumerated() {
        guard !entry.piece.isEmpty else { throw bad("model.vocab[\(i)] is an empty piece") }
        guard seen.insert(Array(entry.piece.utf8)).inserted else { throw bad("model.vocab[\(i)] '\(entry.piece)' appears twice") }
        pieces.append(.init(entry.piece, score: Float(entry.score), type: i == unk ? .unknown : .normal, exactScore: entry.score))
    }
    return (pieces, unk)
}

/// Added tokens: split out of the text before the model sees it. Each must be the vocabulary's piece of
/// its id; special ones (but the unknown piece) become CONTROL pieces of `pieces`.
private func addedTokens(_ root: [String: Any], pieces: inout [SentencePieceModel.Piece], unk: Int, modelVocab: Int,
                         file: String) throws -> [AddedToken] {
    var added: [AddedToken] = []
    for (i, any) in ((root["added_tokens"] as? [Any]) ?? []).enumerated() {
        guard let t = any as? [String: Any], let id = t["id"] as? Int, let content = t["content"] as? String, !content.isEmpty else {
            throw TokenizerConversionError.malformedJSON(file: file, reason: "added_tokens[\(i)] needs an integer id and a non-empty content")
        }
        guard (0..<modelVocab).contains(id), pieces[id].text.utf8.elementsEqual(content.utf8) else {
            throw TokenizerConversionError.unsupportedPipeline(file: file, component: "added token",
                                                               found: "'\(content)' (id \(id)) is not the vocabulary's piece \(id)")
        }
        let special = t["special"] as? Bool ?? false
        if t["single_word"] as? Bool ?? false {
            throw TokenizerConversionError.unsupportedPipeline(file: file, component: "added token", found: "'\(content)' with single_word")
        }
        if !special && (t["normalized"] as? Bool ?? true) {
            throw TokenizerConversionError.unsupportedPipeline(file: file, component: "added token", found: "'\(content)' matched on normalized text")
        }
        if special && id != unk { pieces[id].type = .control }
        added.append(AddedToken(content: content, id: id, lstrip: t["lstrip"] as? Bool ?? false, rstrip: t["rstrip"] as? Bool ?? false))
    }
    return added
}

/// Normalizer: Precompiled, optionally followed by Replace(Regex " {2,}" → " "). Returns the charsmap and
/// whether runs of spaces collapse.
private func normalizerSteps(_ root: [String: Any], file: String) throws -> (charsmap: [UInt8], collapse: Bool) {
    var charsmap: [UInt8] = []
    var collapse = false
    var steps: [[String: Any]] = []
    if let normalizer = root["normalizer"] as? [String: Any] {
        if normalizer["type"] as? String == "Sequence" {
            steps = (normalizer["normalizers"] as? [[String: Any]]) ?? []
        } else {
            steps = [normalizer]
        }
    } else if let n = root["normalizer"], !(n is NSNull) {
        throw TokenizerConversionError.malformedJSON(file: file, reason: "normalizer is not an object")
    }
    for (k, step) in steps.enumerated() {
        switch step["type"] as? String {
        case "Precompiled" where k == 0:
            guard let b64 = step["precompiled_charsmap"] as? String, let bytes = Data(base64Encoded: b64) else {
                throw TokenizerConversionError.malformedJSON(file: file, reason: "normalizer Precompiled.precompiled_charsmap is not base64")
            }
            charsmap = Array(bytes)
        case "Replace" where k == steps.count - 1 && (step["pattern"] as? [String: Any])?["Regex"] as? String == " {2,}" && step["content"] as? String == " ":
            collapse = true
        default:
            throw TokenizerConversionError.unsupportedPipeline(file: file, component: "normalizer step", found: describeJSON(step))
        }
    }
    return (charsmap, collapse)
}

/// A JSON value as compact JSON for messages, cut at 200 characters.
private func describeJSON(_ any: Any?) -> String {
    guard let any, !(any is NSNull) else { return "null" }
    if let data = try? JSONSerialization.data(withJSONObject: any, options: [.sortedKeys, .fragmentsAllowed]) {
        let text = String(decoding: data, as: UTF8.self)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
    return "\(any)"
}

/// `model.vocab` of a Unigram tokenizer.json: `[[piece, score], …]`.
private struct UnigramVocabFile: Decodable {
    struct Entry: Decodable {
        let piece: String
        let score: Double

        init(from decoder: Decoder) throws {
            var pair = try decoder.unkeyedContainer()
            piece = try pair.decode(String.self)
            score = try pair.decode(Double.self)
            guard pair.isAtEnd else {
                throw DecodingError.dataCorruptedError(in: pair, debugDescription: "a vocabulary entry has more than two elements")
            }
        }
    }

    struct Model: Decodable {
        let vocab: [Entry]
    }

    let model: Model
}

/// bos/eos of the single-sequence template: TemplateProcessing `[Special bos, Sequence A, Special eos]`
/// or RobertaProcessing `{cls, sep}`.
private func sequenceSpecials(_ any: Any?, file: String, describe: (Any?) -> String) throws -> (Int, Int) {
    let unsupported = TokenizerConversionError.unsupportedPipeline(file: file, component: "post_processor", found: describe(any))
    guard let post = any as? [String: Any] else { throw unsupported }
    switch post["type"] as? String {
    case "RobertaProcessing":
        guard let cls = post["cls"] as? [Any], let sep = post["sep"] as? [Any], cls.count == 2, sep.count == 2,
              let bos = cls[1] as? Int, let eos = sep[1] as? Int else { throw unsupported }
        return (bos, eos)
    case "TemplateProcessing":
        guard let single = post["single"] as? [[String: Any]], single.count == 3,
              let first = (single[0]["SpecialToken"] as? [String: Any])?["id"] as? String,
              (single[1]["Sequence"] as? [String: Any])?["id"] as? String == "A",
              let last = (single[2]["SpecialToken"] as? [String: Any])?["id"] as? String,
              let specials = post["special_tokens"] as? [String: Any],
              let bos = ((specials[first] as? [String: Any])?["ids"] as? [Int])?.first,
              let eos = ((specials[last] as? [String: Any])?["ids"] as? [Int])?.first else { throw unsupported }
        return (bos, eos)
    default:
        throw unsupported
    }
}

// MARK: sentencepiece.bpe.model (fairseq layout)

/// fairseq's XLM-R dictionary: `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3, then the sentencepiece pieces
/// from sentencepiece id 3 on at id + 1, and `<mask>` last. The sentencepiece model itself has
/// `<unk>`=0, `<s>`=1, `</s>`=2 and neither `<pad>` nor `<mask>`.
private func convertFairseqModel(_ url: URL, folder: URL, modelVocab: Int) throws -> (info: TokenizerInfo, bytes: [UInt8]) {
    let file = url.path
    guard let data = FileManager.default.contents(atPath: file) else {
        throw TokenizerConversionError.malformedModel(file: file, reason: "cannot be read")
    }
    let bytes = [UInt8](data)
    let model: SentencePieceModel
    do {
        model = try SentencePieceModel(serialized: bytes)
    } catch {
        throw TokenizerConversionError.malformedModel(file: file, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
    }
    guard model.modelType == .unigram else {
        throw TokenizerConversionError.unsupportedModel(file: file, type: "SentencePiece \(model.modelType)")
    }
    let expected: [(String, SentencePieceModel.PieceType)] = [("<unk>", .unknown), ("<s>", .control), ("</s>", .control)]
    guard model.pieces.count > 3, zip(model.pieces, expected).allSatisfy({ $0.text == $1.0 && $0.type == $1.1 }) else {
        throw TokenizerConversionError.malformedModel(file: file, reason: "not the fairseq XLM-R layout (<unk>, <s>, </s> as pieces 0, 1, 2)")
    }
    // ids: 0..3 specials, sp 3..<n → 4...n, <mask> = n + 1.
    let idSpace = model.pieces.count + 2
    guard idSpace == modelVocab else {
        throw TokenizerConversionError.vocabMismatch(file: file, tokenizer: idSpace, model: modelVocab)
    }
    let mask = modelVocab - 1
    var added = [
        AddedToken(content: "<s>", id: 0, lstrip: false, rstrip: false),
        AddedToken(content: "<pad>", id: 1, lstrip: false, rstrip: false),
        AddedToken(content: "</s>", id: 2, lstrip: false, rstrip: false),
        AddedToken(content: "<unk>", id: 3, lstrip: false, rstrip: false),
        // transformers' XLMRobertaTokenizer default: the mask token absorbs the whitespace before it.
        AddedToken(content: "<mask>", id: mask, lstrip: true, rstrip: false),
    ]
    // tokenizer_config.json's added_tokens_decoder, when present, states the flags the reference uses.
    if let config = FileManager.default.contents(atPath: folder.appendingPathComponent("tokenizer_config.json").path),
       let object = (try? JSONSerialization.jsonObject(with: config)) as? [String: Any],
       let decoder = object["added_tokens_decoder"] as? [String: Any] {
        for (key, value) in decoder {
            guard let id = Int(key), let t = value as? [String: Any], let content = t["content"] as? String,
                  let k = added.firstIndex(where: { $0.id == id && $0.content == content }) else { continue }
            added[k].lstrip = t["lstrip"] as? Bool ?? added[k].lstrip
            added[k].rstrip = t["rstrip"] as? Bool ?? added[k].rstrip
        }
    }
    let info = TokenizerInfo(
        kind: .sentencepiece, tensor: tokenizerTensorName, modelVocab: modelVocab, idOffset: 1,
        idOverrides: [[0, 3], [1, 0], [2, 2]],
        specials: SpecialIds(bos: 0, pad: 1, eos: 2, unk: 3, mask: mask),
        addedTokens: added,
        // Without tokenizer.json, transformers ≥ 5 builds XLMRobertaTokenizer from the model file.
        whitespace: .whitespaceSplit)
    return (info, bytes)
}
