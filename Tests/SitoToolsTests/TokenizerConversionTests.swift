// TokenizerConversionTests.swift: the sentencepiece ModelProto builder (round trip through
// libsentencepiece), the fairseq sentencepiece.bpe.model path (same ids as tokenizer.json), the choice
// between the two files, and the converter's errors.
import Foundation
import Sito
import SitoFormat
@testable import SitoTools
import XCTest

final class TokenizerConversionTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sito-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    func folder(_ name: String, files: [String: Data]) throws -> URL {
        let url = scratch.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (file, data) in files { try data.write(to: url.appendingPathComponent(file)) }
        return url
    }

    /// A small Unigram tokenizer.json in the XLM-R shape.
    func tinyTokenizerJSON(modelType: String = "Unigram", normalizer: Any? = nil, vocabExtra: [(String, Double)] = []) -> Data {
        var vocab: [[Any]] = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["▁", -2.0], ["▁a", -3.0], ["b", -4.0], ["a", -5.0], ["▁ab", -4.5]]
        vocab += vocabExtra.map { [$0.0, $0.1] }
        vocab.append(["<mask>", 0.0])
        let added: [[String: Any]] = [("<s>", 0), ("<pad>", 1), ("</s>", 2), ("<unk>", 3), ("<mask>", vocab.count - 1)].map {
            ["id": $0.1, "content": $0.0, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true]
        }
        let root: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": normalizer ?? ["type": "Sequence", "normalizers": [["type": "Replace", "pattern": ["Regex": " {2,}"], "content": " "]]],
            "pre_tokenizer": ["type": "Metaspace", "replacement": "▁", "add_prefix_space": true],
            "post_processor": ["type": "TemplateProcessing",
                               "single": [["SpecialToken": ["id": "<s>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]], ["SpecialToken": ["id": "</s>", "type_id": 0]]],
                               "pair": [], "special_tokens": ["<s>": ["id": "<s>", "ids": [0], "tokens": ["<s>"]], "</s>": ["id": "</s>", "ids": [2], "tokens": ["</s>"]]]],
            "decoder": NSNull(),
            "model": modelType == "Unigram" ? ["type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": false] as [String: Any]
                : ["type": modelType, "vocab": ["a": 0], "merges": []] as [String: Any],
        ]
        return try! JSONSerialization.data(withJSONObject: root)
    }

    func load(_ converted: (info: TokenizerInfo, bytes: [UInt8]), maxLength: Int = 512) throws -> Tokenizer {
        try converted.bytes.withUnsafeBytes {
            try Tokenizer(info: converted.info, input: InputRecipe(recipe: .joinedPair, separator: "</s></s>", maxLength: maxLength, truncation: .right), bytes: $0)
        }
    }

    // MARK: Proto builder

    func testProtoRoundTripThroughOwnDecoder() throws {
        var model = SentencePieceModel(pieces: [.init("<unk>", score: 0, type: .unknown), .init("<s>", score: 0, type: .control), .init("▁x", score: -1.5)])
        model.unkId = 0
        model.padId = -1
        model.precompiledCharsmap = [1, 2, 3]
        model.normalizerName = "hf_precompiled"
        model.removeExtraWhitespaces = false
        let decoded = try SentencePieceModel(serialized: model.serialized())
        XCTAssertEqual(decoded, model)
    }

    func testTinyTokenizerJSONLoadsInSentencePiece() throws {
        let dir = try folder("tiny", files: ["tokenizer.json": tinyTokenizerJSON()])
        let converted = try convertTokenizer(folder: dir, modelVocab: 10)
        XCTAssertEqual(converted.info.idOffset, 0)
        XCTAssertEqual(converted.info.idOverrides, [])
        XCTAssertEqual(converted.info.specials, SpecialIds(bos: 0, pad: 1, eos: 2, unk: 3, mask: 9))
        XCTAssertEqual(converted.info.whitespace, .metaspaceCollapse)
        let model = try SentencePieceModel(serialized: converted.bytes)
        XCTAssertEqual(model.pieces.map(\.type), [.control, .control, .control, .unknown, .normal, .normal, .normal, .normal, .normal, .control])
        let tokenizer = try load(converted)
        XCTAssertEqual(tokenizer.pieceCount, 10 + 5, "a NORMAL twin of each added token at load (HF's lattice holds them)")
        XCTAssertEqual(tokenizer.modelId(ofPiece: "▁ab"), 8)
        XCTAssertEqual(tokenizer.modelId(ofPiece: "b"), 6)
        XCTAssertNil(tokenizer.modelId(ofPiece: "zzz"))
        XCTAssertEqual(tokenizer.encode("ab"), [8])
        XCTAssertEqual(tokenizer.encode("a  b "), [5, 4, 6, 4], "collapse, then trailing space → lone ▁")
        XCTAssertEqual(tokenizer.encode("a</s>"), [5, 2])
        XCTAssertEqual(tokenizer.encode("z"), [4, 3], "unknown character → <unk>")
    }

    func testRealTokenizerProto() throws {
        try TokenizerFixtures.requireFixture()
        let converted = try TokenizerFixtures.converted()
        let model = try SentencePieceModel(serialized: converted.bytes)
        XCTAssertEqual(model.pieces.count, 250_002)
        XCTAssertEqual(model.pieces[6].text, "▁")
        XCTAssertEqual(model.pieces[3].type, .unknown)
        XCTAssertEqual(model.pieces[250_001].text, "<mask>")
        XCTAssertEqual(model.pieces[250_001].type, .control)
        XCTAssertGreaterThan(model.precompiledCharsmap.count, 200_000)
        let tokenizer = try TokenizerFixtures.tokenizer()
        XCTAssertEqual(tokenizer.modelId(ofPiece: "▁"), 6)
        XCTAssertEqual(tokenizer.modelId(ofPiece: ","), 4)
        XCTAssertEqual(tokenizer.encode("Jak dożyć 100 lat?"), [4422, 54, 53241, 805, 10495, 32])
    }

    // MARK: fairseq sentencepiece.bpe.model

    /// The real pieces in the fairseq layout (<unk>, <s>, </s>, then HF's pieces 4 ..< 250001) must give
    /// the same model ids as tokenizer.json.
    func testFairseqLayoutGivesTheSameIds() throws {
        try TokenizerFixtures.requireFixture()
        let hf = try SentencePieceModel(serialized: TokenizerFixtures.converted().bytes)
        var pieces: [SentencePieceModel.Piece] = [.init("<unk>", score: 0, type: .unknown), .init("<s>", score: 0, type: .control), .init("</s>", score: 0, type: .control)]
        pieces += hf.pieces[4..<250_001]
        var fairseq = SentencePieceModel(pieces: pieces)
        fairseq.unkId = 0
        fairseq.bosId = 1
        fairseq.eosId = 2
        fairseq.padId = -1
        fairseq.normalizerName = "nmt_nfkc"
        fairseq.precompiledCharsmap = hf.precompiledCharsmap
        let dir = try folder("fairseq", files: ["sentencepiece.bpe.model": Data(fairseq.serialized())])
        let converted = try convertTokenizer(folder: dir, modelVocab: 250_002)
        XCTAssertEqual(converted.info.idOffset, 1)
        XCTAssertEqual(converted.info.idOverrides, [[0, 3], [1, 0], [2, 2]])
        XCTAssertEqual(converted.info.specials, SpecialIds(bos: 0, pad: 1, eos: 2, unk: 3, mask: 250_001))
        XCTAssertEqual(converted.info.whitespace, .whitespaceSplit)
        XCTAssertEqual(converted.bytes, fairseq.serialized(), "the model file is embedded as is")
        let viaFairseq = try load(converted)
        let viaJSON = try TokenizerFixtures.tokenizer(whitespace: .whitespaceSplit)
        let texts = ["Jak dożyć 100 lat?", "query </s></s> document", "＜s＞ i ＜pad＞ i ＜mask＞ ＜unk＞", "🧌🧌 x", "Zażółć gęślą jaźń", "a<mask>b", "<pad>"]
        for text in texts {
            XCTAssertEqual(viaFairseq.encode(text), viaJSON.encode(text), text)
        }
        XCTAssertThrowsError(try convertTokenizer(folder: dir, modelVocab: 250_003)) { error in
            XCTAssertEqual(error as? TokenizerConversionError,
                           .vocabMismatch(file: dir.appendingPathComponent("sentencepiece.bpe.model").path, tokenizer: 250_002, model: 250_003))
        }
    }

    func testTokenizerJSONWinsOverSentencePieceModel() throws {
        let dir = try folder("both", files: ["tokenizer.json": tinyTokenizerJSON(), "sentencepiece.bpe.model": Data([0xFF])])
        let converted = try convertTokenizer(folder: dir, modelVocab: 10)
        XCTAssertEqual(converted.info.idOffset, 0)
    }

    func testWhitespaceRuleFollowsTheTransformersClass() throws {
        let cfg = try JSONSerialization.data(withJSONObject: ["tokenizer_class": "XLMRobertaTokenizer"])
        let a = try convertTokenizer(folder: try folder("cls", files: ["tokenizer.json": tinyTokenizerJSON(), "tokenizer_config.json": cfg]), modelVocab: 10)
        XCTAssertEqual(a.info.whitespace, .whitespaceSplit)
        let model = try JSONSerialization.data(withJSONObject: ["model_type": "xlm-roberta"])
        let b = try convertTokenizer(folder: try folder("cfg", files: ["tokenizer.json": tinyTokenizerJSON(), "config.json": model]), modelVocab: 10)
        XCTAssertEqual(b.info.whitespace, .whitespaceSplit)
        let c = try convertTokenizer(folder: try folder("cfg2", files: ["tokenizer.json": tinyTokenizerJSON(), "config.json": model]), modelVocab: 10, whitespace: .tokenizerJSON)
        XCTAssertEqual(c.info.whitespace, .metaspaceCollapse)
    }

    // MARK: Errors

    func testErrors() throws {
        let empty = try folder("empty", files: [:])
        XCTAssertThrowsError(try convertTokenizer(folder: empty, modelVocab: 10)) { error in
            XCTAssertEqual(error as? TokenizerConversionError, .missing(folder: empty.path))
            XCTAssertTrue((error as? LocalizedError)?.errorDescription?.contains("tokenizer.json") ?? false)
        }
        let bpe = try folder("bpe", files: ["tokenizer.json": tinyTokenizerJSON(modelType: "BPE")])
        XCTAssertThrowsError(try convertTokenizer(folder: bpe, modelVocab: 10)) { error in
            XCTAssertEqual(error as? TokenizerConversionError, .unsupportedModel(file: bpe.appendingPathComponent("tokenizer.json").path, type: "BPE"))
        }
        let wordpiece = try folder("wp", files: ["tokenizer.json": tinyTokenizerJSON(modelType: "WordPiece")])
        XCTAssertThrowsError(try convertTokenizer(folder: wordpiece, modelVocab: 10)) { error in
            XCTAssertTrue((error as? LocalizedError)?.errorDescription?.contains("WordPiece") ?? false, "\(error)")
        }
        let ok = try folder("ok", files: ["tokenizer.json": tinyTokenizerJSON()])
        XCTAssertThrowsError(try convertTokenizer(folder: ok, modelVocab: 12)) { error in
            XCTAssertEqual(error as? TokenizerConversionError, .vocabMismatch(file: ok.appendingPathComponent("tokenizer.json").path, tokenizer: 10, model: 12))
            XCTAssertEqual((error as? LocalizedError)?.errorDescription,
                           "\(ok.path)/tokenizer.json: the tokenizer has 10 ids but the model's embedding table has 12 rows")
        }
        let broken = try folder("broken", files: ["tokenizer.json": Data("{\"model\": [".utf8)])
        XCTAssertThrowsError(try convertTokenizer(folder: broken, modelVocab: 10)) { error in
            guard case .malformedJSON(let file, _)? = error as? TokenizerConversionError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, broken.appendingPathComponent("tokenizer.json").path)
        }
        let oddNormalizer = try folder("norm", files: ["tokenizer.json": tinyTokenizerJSON(normalizer: ["type": "NFKC"])])
        XCTAssertThrowsError(try convertTokenizer(folder: oddNormalizer, modelVocab: 10)) { error in
            guard case .unsupportedPipeline(_, "normalizer step", let found)? = error as? TokenizerConversionError else { return XCTFail("\(error)") }
            XCTAssertTrue(found.contains("NFKC"))
        }
        let garbage = try folder("garbage", files: ["sentencepiece.bpe.model": Data([0x0A, 0xFF, 0x01])])
        XCTAssertThrowsError(try convertTokenizer(folder: garbage, modelVocab: 10)) { error in
            guard case .malformedModel(let file, _)? = error as? TokenizerConversionError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, garbage.appendingPathComponent("sentencepiece.bpe.model").path)
        }
    }
}
