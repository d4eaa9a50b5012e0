// WordPieceConversion.swift: a BERT-family folder's WordPiece tokenizer (tokenizer.json, or vocab.txt with
// tokenizer_config.json) → the `.sito` tokenizer section and the bytes of `tokenizer.wordpiece`: the
// vocabulary as UTF-8 lines in id order (formats/tokenization.md, "WordPiece").
import Foundation
import SitoFormat

public let wordPieceTensorName = "tokenizer.wordpiece"

public func convertWordPieceTokenizer(folder: URL, modelVocab: Int) throws -> (info: TokenizerInfo, bytes: [UInt8]) {
    let jsonURL = folder.appendingPathComponent("tokenizer.json")
    let vocabURL = folder.appendingPathComponent("vocab.txt")
    var vocab: [String]
    var options: WordPieceOptions
    var specialsFile: String
    if let data = FileManager.default.contents(atPath: jsonURL.path) {
        let file = jsonURL.path
        specialsFile = file
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TokenizerConversionError.malformedJSON(file: file, reason: "not a JSON object")
        }
        guard let model = json["model"] as? [String: Any] else { throw TokenizerConversionError.malformedJSON(file: file, reason: "no \"model\"") }
        let type = model["type"] as? String ?? "?"
        guard type == "WordPiece" else { throw TokenizerConversionError.unsupportedModel(file: file, type: type) }
        guard let map = model["vocab"] as? [String: Any] else { throw TokenizerConversionError.malformedJSON(file: file, reason: "model.vocab is not an object") }
        vocab = [String](repeating: "", count: map.count)
        var seen = [Bool](repeating: false, count: map.count)
        for (token, value) in map {
            guard let n = value as? NSNumber, let id = Int(exactly: n.doubleValue), id >= 0, id < map.count, !seen[id] else {
                throw TokenizerConversionError.malformedJSON(file: file, reason: "vocab ids are not 0..<\(map.count), each once (token \(token.debugDescription))")
            }
            seen[id] = true
            vocab[id] = token
        }
        let normalizer = json["normalizer"] as? [String: Any] ?? [:]
        guard (normalizer["type"] as? String) == "BertNormalizer" else {
            throw TokenizerConversionError.unsupportedPipeline(file: file, component: "normalizer", found: (normalizer["type"] as? String) ?? "none")
        }
        let pre = (json["pre_tokenizer"] as? [String: Any])?["type"] as? String ?? "none"
        guard pre == "BertPreTokenizer" else { throw TokenizerConversionError.unsupportedPipeline(file: file, component: "pre_tokenizer", found: pre) }
        let lowercase = normalizer["lowercase"] as? Bool ?? true
        options = WordPieceOptions(
            lowercase: lowercase, stripAccents: (normalizer["strip_accents"] as? Bool) ?? lowercase,
            cleanText: normalizer["clean_text"] as? Bool ?? true, handleChineseChars: normalizer["handle_chinese_chars"] as? Bool ?? true,
            continuingSubwordPrefix: model["continuing_subword_prefix"] as? String ?? "##",
            maxInputCharsPerWord: (model["max_input_chars_per_word"] as? NSNumber)?.intValue ?? 100)
    } else if let data = FileManager.default.contents(atPath: vocabURL.path) {
        specialsFile = vocabURL.path
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerConversionError.malformedModel(file: vocabURL.path, reason: "not UTF-8")
        }
        vocab = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
        if vocab.last == "" { vocab.removeLast() }
        var config: [String: Any] = [:]
        if let d = FileManager.default.contents(atPath: folder.appendingPathComponent("tokenizer_config.json").path) {
            config = (try? JSONSerialization.jsonObject(with: d)) as? [String: Any] ?? [:]
        }
        let lowercase = config["do_lower_case"] as? Bool ?? true
        options = WordPieceOptions(
            lowercase: lowercase, stripAccents: (config["strip_accents"] as? Bool) ?? lowercase, cleanText: true,
            handleChineseChars: config["tokenize_chinese_chars"] as? Bool ?? true, continuingSubwordPrefix: "##", maxInputCharsPerWord: 100)
    } else {
        throw TokenizerConversionError.missing(folder: folder.path)
    }
    guard vocab.count == modelVocab else {
        throw TokenizerConversionError.vocabMismatch(file: specialsFile, tokenizer: vocab.count, model: modelVocab)
    }
    if let bad = vocab.firstIndex(where: { $0.isEmpty || $0.contains("\n") || $0.contains("\r") }) {
        throw TokenizerConversionError.malformedModel(file: specialsFile, reason: "vocabulary entry \(bad) is empty or contains a line break")
    }
    var index: [String: Int] = [:]
    for (i, t) in vocab.enumerated() where index[t] == nil { index[t] = i }
    func id(_ token: String) throws -> Int {
        guard let i = index[token] else { throw TokenizerConversionError.missingToken(file: specialsFile, token: token) }
        return i
    }
    let specials = SpecialIds(pad: try id("[PAD]"), unk: try id("[UNK]"), mask: index["[MASK]"], cls: try id("[CLS]"), sep: try id("[SEP]"))
    let added = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { t in index[t].map { AddedToken(content: t, id: $0, lstrip: false, rstrip: false) } }
    let bytes = Array(vocab.joined(separator: "\n").utf8) + [0x0A]
    let info = TokenizerInfo(kind: .wordpiece, tensor: wordPieceTensorName, modelVocab: modelVocab, idOffset: 0, idOverrides: [],
                             specials: specials, addedTokens: added, whitespace: .bert, wordpiece: options)
    return (info, bytes)
}
