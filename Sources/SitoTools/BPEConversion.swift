// BPEConversion.swift: a RoBERTa-family folder's byte-level BPE tokenizer (tokenizer.json with a BPE model,
// or the older vocab.json + merges.txt with tokenizer_config.json) → the `.sito` tokenizer section (kind
// `bpe`) and the bytes of `tokenizer.bpe` (formats/tokenization.md, "Byte-level BPE"). Both sources of the
// same tokenizer give the same section and the same bytes.
import Foundation
import SitoFormat

public let bpeTensorName = "tokenizer.bpe"

/// True when the folder's tokenizer is a BPE: tokenizer.json's model is BPE, or there is no tokenizer.json
/// and vocab.json + merges.txt are present.
func hasBPETokenizer(folder: URL) -> Bool {
    let json = folder.appendingPathComponent("tokenizer.json")
    if let data = FileManager.default.contents(atPath: json.path) {
        let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        return ((root?["model"] as? [String: Any])?["type"] as? String) == "BPE"
    }
    let fm = FileManager.default
    return fm.fileExists(atPath: folder.appendingPathComponent("vocab.json").path)
        && fm.fileExists(atPath: folder.appendingPathComponent("merges.txt").path)
}

public func convertBPETokenizer(folder: URL, modelVocab: Int) throws -> (info: TokenizerInfo, bytes: [UInt8]) {
    let jsonURL = folder.appendingPathComponent("tokenizer.json")
    let config = jsonObject(folder.appendingPathComponent("tokenizer_config.json")) ?? [:]
    var vocab: [String: Int]
    var merges: [(String, String)]
    var added: [AddedToken]
    var options: BPEOptions
    var bos: String, eos: String
    let file: String
    if let data = FileManager.default.contents(atPath: jsonURL.path) {
        file = jsonURL.path
        func bad(_ reason: String) -> TokenizerConversionError { .malformedJSON(file: file, reason: reason) }
        func pipeline(_ component: String, _ found: Any?) -> TokenizerConversionError {
            .unsupportedPipeline(file: file, component: component, found: found.map { "\($0)" } ?? "none")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw bad("not a JSON object") }
        guard let model = root["model"] as? [String: Any] else { throw bad("no \"model\" object") }
        let type = model["type"] as? String ?? "unknown"
        guard type == "BPE" else { throw TokenizerConversionError.unsupportedModel(file: file, type: type) }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let s = model[key] as? String, !s.isEmpty { throw pipeline("model.\(key)", s) }
        }
        if let d = model["dropout"] as? NSNumber, d.doubleValue != 0 { throw pipeline("model.dropout", d) }
        if (model["byte_fallback"] as? Bool) == true { throw pipeline("model", "BPE with byte_fallback") }
        guard let v = model["vocab"] as? [String: Any] else { throw bad("model.vocab is not an object") }
        vocab = try readVocab(v, file: file)
        // With an unk token, tokenizers emits it for a byte whose one-character token is missing (without
        // one, the byte is dropped, as the runtime does): refused rather than reproduced.
        if model["unk_token"] is String, let byte = missingByte(vocab) {
            throw pipeline("model", "BPE with an unk_token and no token for byte 0x\(String(byte, radix: 16))")
        }
        guard let m = model["merges"] as? [Any] else { throw bad("model.merges is not an array") }
        merges = try m.enumerated().map { i, entry in
            if let s = entry as? String, let pair = splitMerge(s) { return pair }
            if let a = entry as? [String], a.count == 2 { return (a[0], a[1]) }
            throw bad("merge \(i) is neither \"a b\" nor [\"a\", \"b\"]")
        }
        if !(root["normalizer"] is NSNull || root["normalizer"] == nil) {
            throw pipeline("normalizer", (root["normalizer"] as? [String: Any])?["type"] ?? "?")
        }
        guard let pre = root["pre_tokenizer"] as? [String: Any], (pre["type"] as? String) == "ByteLevel" else {
            throw pipeline("pre_tokenizer", (root["pre_tokenizer"] as? [String: Any])?["type"])
        }
        if let regex = pre["use_regex"] as? Bool, !regex { throw pipeline("pre_tokenizer", "ByteLevel without use_regex") }
        options = BPEOptions(addPrefixSpace: pre["add_prefix_space"] as? Bool ?? true, ignoreMerges: model["ignore_merges"] as? Bool ?? false)
        guard let post = root["post_processor"] as? [String: Any], (post["type"] as? String) == "RobertaProcessing",
              let cls = (post["cls"] as? [Any])?.first as? String, let sep = (post["sep"] as? [Any])?.first as? String else {
            throw pipeline("post_processor", (root["post_processor"] as? [String: Any])?["type"])
        }
        (bos, eos) = (cls, sep)
        added = []
        for (i, entry) in ((root["added_tokens"] as? [[String: Any]]) ?? []).enumerated() {
            guard let content = entry["content"] as? String, let id = (entry["id"] as? NSNumber)?.intValue else {
                throw bad("added_tokens[\(i)] has no content or id")
            }
            if (entry["single_word"] as? Bool) == true { throw pipeline("added token \(content.debugDescription)", "single_word") }
            added.append(AddedToken(content: content, id: id, lstrip: entry["lstrip"] as? Bool ?? false, rstrip: entry["rstrip"] as? Bool ?? false))
        }
    } else {
        let vocabURL = folder.appendingPathComponent("vocab.json"), mergesURL = folder.appendingPathComponent("merges.txt")
        guard let vocabData = FileManager.default.contents(atPath: vocabURL.path),
              let mergesData = FileManager.default.contents(atPath: mergesURL.path) else {
            throw TokenizerConversionError.missing(folder: folder.path)
        }
        file = vocabURL.path
        guard let v = (try? JSONSerialization.jsonObject(with: vocabData)) as? [String: Any] else {
            throw TokenizerConversionError.malformedJSON(file: file, reason: "not a JSON object of token → id")
        }
        vocab = try readVocab(v, file: file)
        if let byte = missingByte(vocab) {
            throw TokenizerConversionError.unsupportedPipeline(file: file, component: "vocabulary",
                                                               found: "no token for byte 0x\(String(byte, radix: 16)) (how transformers treats it is not reproduced)")
        }
        guard let text = String(data: mergesData, encoding: .utf8) else {
            throw TokenizerConversionError.malformedModel(file: mergesURL.path, reason: "not UTF-8")
        }
        merges = []
        // tokenizers' `convert_merges_to_hashmap`: a first line starting "#version" is skipped, empty lines too.
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if i == 0 && line.hasPrefix("#version") { continue }
            if line.isEmpty { continue }
            guard let pair = splitMerge(String(line)) else {
                throw TokenizerConversionError.malformedModel(file: mergesURL.path, reason: "line \(i + 1) is not \"a b\"")
            }
            merges.append(pair)
        }
        // transformers' RobertaTokenizer: ByteLevel(add_prefix_space from tokenizer_config.json, default false),
        // RobertaProcessing(sep, cls), added tokens from tokenizer_config.json's added_tokens_decoder, else
        // the class's own (<mask> with lstrip).
        options = BPEOptions(addPrefixSpace: config["add_prefix_space"] as? Bool ?? false, ignoreMerges: false)
        func name(_ key: String, _ fallback: String) -> String {
            if let s = config[key] as? String { return s }
            if let o = config[key] as? [String: Any], let s = o["content"] as? String { return s }
            return fallback
        }
        (bos, eos) = (name("cls_token", "<s>"), name("sep_token", "</s>"))
        if let decoder = config["added_tokens_decoder"] as? [String: [String: Any]] {
            added = try decoder.map { key, entry in
                guard let id = Int(key), let content = entry["content"] as? String else {
                    throw TokenizerConversionError.malformedJSON(file: folder.appendingPathComponent("tokenizer_config.json").path,
                                                                 reason: "added_tokens_decoder entry \(key) has no id or content")
                }
                return AddedToken(content: content, id: id, lstrip: entry["lstrip"] as? Bool ?? false, rstrip: entry["rstrip"] as? Bool ?? false)
            }
        } else {
            added = [("<s>", false), ("<pad>", false), ("</s>", false), ("<unk>", false), ("<mask>", true)].compactMap { t, l in
                vocab[t].map { AddedToken(content: t, id: $0, lstrip: l, rstrip: false) }
            }
        }
    }
    added.sort { $0.id < $1.id }

    // The id space: the BPE vocabulary is 0..<V; added tokens are in it or take the ids V..<modelVocab.
    let total = max(vocab.count, (added.map(\.id).max() ?? -1) + 1)
    guard total == modelVocab else { throw TokenizerConversionError.vocabMismatch(file: file, tokenizer: total, model: modelVocab) }
    var tokens = [String](repeating: "", count: vocab.count)
    for (t, id) in vocab { tokens[id] = t }
    for a in added {
        guard a.id >= 0, a.id < modelVocab, !a.content.isEmpty else {
            throw TokenizerConversionError.malformedModel(file: file, reason: "added token \(a.content.debugDescription) has id \(a.id), outside 0..<\(modelVocab), or is empty")
        }
        if a.id < tokens.count && tokens[a.id] != a.content {
            throw TokenizerConversionError.malformedModel(file: file, reason: "added token \(a.content.debugDescription) has id \(a.id), which the vocabulary gives to \(tokens[a.id].debugDescription)")
        }
    }
    let byId = Dictionary(added.map { ($0.content, $0.id) }, uniquingKeysWith: { a, _ in a })
    func id(_ token: String) throws -> Int {
        guard let i = vocab[token] ?? byId[token] else { throw TokenizerConversionError.missingToken(file: file, token: token) }
        return i
    }
    let pairs: [(Int32, Int32)] = try merges.enumerated().map { rank, pair in
        guard let l = vocab[pair.0], let r = vocab[pair.1] else {
            throw TokenizerConversionError.malformedModel(file: file, reason: "merge \(rank) (\(pair.0.debugDescription), \(pair.1.debugDescription)) names a token outside the vocabulary")
        }
        guard vocab[pair.0 + pair.1] != nil else {
            throw TokenizerConversionError.malformedModel(file: file, reason: "merge \(rank) makes \((pair.0 + pair.1).debugDescription), which is not in the vocabulary")
        }
        return (Int32(l), Int32(r))
    }
    let specials = SpecialIds(bos: try id(bos), pad: try id(config["pad_token"] as? String ?? "<pad>"), eos: try id(eos),
                              unk: try id(config["unk_token"] as? String ?? "<unk>"), mask: vocab["<mask>"] ?? byId["<mask>"])
    let info = TokenizerInfo(kind: .bpe, tensor: bpeTensorName, modelVocab: modelVocab, idOffset: 0, idOverrides: [],
                             specials: specials, addedTokens: added, whitespace: .byteLevel, bpe: options)
    return (info, serializeBPE(tokens: tokens, merges: pairs))
}

/// The `tokenizer.bpe` tensor (formats/tokenization.md, "Byte-level BPE"; read by the runtime's
/// BPEModelData): "SBPE", u32 version 1, u32 token count, u32 merge count, then each token as u32 length +
/// UTF-8, then each merge as u32 left id + u32 right id, little-endian, merges in rank order.
func serializeBPE(tokens: [String], merges: [(Int32, Int32)]) -> [UInt8] {
    var out = Array("SBPE".utf8)
    func u32(_ v: Int) {
        let x = UInt32(v)
        out += [UInt8(x & 0xFF), UInt8((x >> 8) & 0xFF), UInt8((x >> 16) & 0xFF), UInt8(x >> 24)]
    }
    u32(1)
    u32(tokens.count)
    u32(merges.count)
    for t in tokens {
        let b = Array(t.utf8)
        u32(b.count)
        out += b
    }
    for (l, r) in merges {
        u32(Int(l))
        u32(Int(r))
    }
    return out
}

/// The first byte whose GPT-2 byte-level character is not a vocabulary token, or nil when all 256 are.
private func missingByte(_ vocab: [String: Int]) -> Int? {
    var next: UInt32 = 256
    for b in 0..<256 {
        let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
        let scalar = Unicode.Scalar(printable ? UInt32(b) : next)!
        if !printable { next += 1 }
        if vocab[String(Character(scalar))] == nil { return b }
    }
    return nil
}

private func jsonObject(_ url: URL) -> [String: Any]? {
    guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

/// token → id, ids exactly 0..<count, each once, tokens non-empty.
private func readVocab(_ map: [String: Any], file: String) throws -> [String: Int] {
    var out: [String: Int] = [:]
    var seen = [Bool](repeating: false, count: map.count)
    for (token, value) in map {
        guard let n = value as? NSNumber, let id = Int(exactly: n.doubleValue), id >= 0, id < map.count, !seen[id], !token.isEmpty else {
            throw TokenizerConversionError.malformedJSON(file: file, reason: "vocab ids are not 0..<\(map.count), each once (token \(token.debugDescription))")
        }
        seen[id] = true
        out[token] = id
    }
    return out
}

/// "a b" → ("a", "b"): exactly one space (byte-level tokens never hold one).
private func splitMerge(_ s: String) -> (String, String)? {
    let parts = s.split(separator: " ", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
    return (String(parts[0]), String(parts[1]))
}
