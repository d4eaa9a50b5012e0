// MicroModel.swift: the micro model the hostile-input tests mutate and the CLI tests run the built tools on.
//
// A copy of the xlmr-tiny fixture folder cut down so that one full conversion costs
// milliseconds, not seconds (xlmr-tiny carries the real 250,002-row vocabulary: a 32 MB safetensors and
// a 17 MB tokenizer.json). Same config.json, tokenizer_config.json and tokenizer.json pipeline (the real
// Precompiled charsmap, Metaspace, TemplateProcessing), same layer tensors; only the vocabulary is the
// real one's first 63 pieces plus `<mask>` (64 ids), the position table keeps 34 rows (32 tokens), and
// the folder's charsmap is empty (the real one is kept beside it for the tokenizer tests).
import Foundation
import Sito
import SitoFormat
import SitoTestSupport
@testable import SitoTools
import XCTest

/// The scratch folder of the micro model, removed at process exit (set once, before the atexit handler).
private let microScratch = Locked<String?>(nil)

/// The micro model folder, its `.sito`, and the pieces the tests mutate. Built once per test process.
final class MicroModel: @unchecked Sendable {
    // @unchecked: immutable after init; the tests only read it.
    static let vocab = 64
    static let positions = 34

    let folder: URL
    let sito: URL
    let config: [String: Any]
    /// tokenizer.json with the real Precompiled charsmap (320 KB), and with an empty one (in the folder).
    let tokenizerJSONFull: [String: Any]
    let tokenizerJSON: [String: Any]
    let safetensors: [UInt8]
    /// The converted SentencePiece model, from each tokenizer.json.
    let sentencePieceFull: [UInt8]
    let sentencePiece: [UInt8]
    let tokenizerInfo: TokenizerInfo
    let golden: [String: Any]

    private static let shared = Locked<MicroModel?>(nil)

    static func get() throws -> MicroModel {
        try shared.once {
            let m = try MicroModel()
            microScratch.withLock { $0 = m.folder.deletingLastPathComponent().path }
            atexit { if let path = microScratch.current { try? FileManager.default.removeItem(atPath: path) } }
            return m
        }
    }

    private init() throws {
        let source = try Fixtures.model("xlmr-tiny")
        folder = try scratchFolder("micro").appendingPathComponent("xlmr-micro")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)

        // config.json: the fixture's, with the smaller tables.
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
        config["vocab_size"] = MicroModel.vocab
        config["max_position_embeddings"] = MicroModel.positions
        self.config = config
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .prettyPrinted]).write(to: folder.appendingPathComponent("config.json"))
        for name in ["tokenizer_config.json", "special_tokens_map.json"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }

        // model.safetensors: every tensor of the fixture, the two tables cut to their first rows.
        let real = try SafetensorsFile(path: source.appendingPathComponent("model.safetensors").path)
        let handle = try FileHandle(forReadingFrom: source.appendingPathComponent("model.safetensors"))
        defer { try? handle.close() }
        var tensors: [RawTensor] = []
        for t in real.tensors {
            var shape = t.shape
            if t.name.hasSuffix("word_embeddings.weight") { shape[0] = MicroModel.vocab }
            if t.name.hasSuffix("position_embeddings.weight") { shape[0] = MicroModel.positions }
            let bytes = shape.reduce(t.dtype.size, *)
            try handle.seek(toOffset: UInt64(t.fileOffset))
            let data = try handle.read(upToCount: bytes) ?? Data()
            tensors.append(RawTensor(name: t.name, dtype: t.dtype.rawValue, shape: shape, data: [UInt8](data)))
        }
        safetensors = safetensorsBytes(tensors)
        try Data(safetensors).write(to: folder.appendingPathComponent("model.safetensors"))

        // tokenizer.json: the real pipeline, the first 63 pieces, `<mask>` as id 63.
        var tok = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("tokenizer.json"))) as! [String: Any]
        var model = tok["model"] as! [String: Any]
        let vocab = model["vocab"] as! [Any]
        model["vocab"] = Array(vocab.prefix(MicroModel.vocab - 1)) + [vocab.last!]
        tok["model"] = model
        tok["added_tokens"] = (tok["added_tokens"] as! [[String: Any]]).map { t -> [String: Any] in
            var t = t
            if t["content"] as? String == "<mask>" { t["id"] = MicroModel.vocab - 1 }
            return t
        }
        tokenizerJSONFull = tok
        try JSONSerialization.data(withJSONObject: tok, options: [.sortedKeys]).write(to: folder.appendingPathComponent("tokenizer.json"))
        sentencePieceFull = try convertTokenizer(folder: folder, modelVocab: MicroModel.vocab).bytes
        // The folder keeps an empty charsmap (Precompiled then changes nothing): parsing the real one costs
        // ~50 ms per load in a debug build, and the SentencePiece and tokenizer.json tests cover it.
        var normalizer = tok["normalizer"] as! [String: Any]
        var steps = normalizer["normalizers"] as! [[String: Any]]
        steps[0]["precompiled_charsmap"] = ""
        normalizer["normalizers"] = steps
        tok["normalizer"] = normalizer
        tokenizerJSON = tok
        try JSONSerialization.data(withJSONObject: tok, options: [.sortedKeys]).write(to: folder.appendingPathComponent("tokenizer.json"))
        let converted = try convertTokenizer(folder: folder, modelVocab: MicroModel.vocab)
        sentencePiece = converted.bytes
        tokenizerInfo = converted.info

        sito = folder.deletingLastPathComponent().appendingPathComponent("micro.sito")
        _ = try Converter(folder: folder).convert(to: sito.path)

        // A golden/1 file the micro model passes: its own outputs, two queries of three documents.
        let reranker = try Reranker(contentsOf: sito)
        var cases: [[String: Any]] = []
        for q in ["as", "is a"] {
            for d in ["s, s.", "a is", "the s"] {
                let e = try reranker.encode(query: q, document: d)
                let l = try reranker.logits(inputIds: [e.ids])[0]
                cases.append(["tag": "pair", "query": q, "document": d, "input_ids": e.ids.map(Int.init), "logits": l.map(Double.init)])
            }
        }
        cases.append(["tag": "ids", "input_ids": [0, 5, 6, 2], "logits": try reranker.logits(inputIds: [[0, 5, 6, 2]])[0].map(Double.init)])
        golden = ["format": "golden/1", "model": "xlmr-micro", "max_length": 32, "cases": cases]
    }
}

