// SentencePieceCheckTests.swift: the tools' libsentencepiece check of an embedded SentencePiece model
// (SitoTools/SentencePieceCheck.swift): the real XLM-R vocabulary and the tiny ones pass; a model the
// runtime refuses, one libsentencepiece refuses, and a conversion that would embed either are named with
// the file; libsentencepiece still answers the lookups the old runtime used it for.
import Foundation
import Sito
import SitoFormat
@testable import SitoTools
import XCTest

final class SentencePieceCheckTests: XCTestCase {
    typealias Piece = SentencePieceModel.Piece

    static func info(vocab: Int, added: [AddedToken] = []) -> TokenizerInfo {
        TokenizerInfo(kind: .sentencepiece, tensor: tokenizerTensorName, modelVocab: vocab, idOffset: 0, idOverrides: [],
                      specials: SpecialIds(bos: 1, pad: 0, eos: 2, unk: 0), addedTokens: added, whitespace: .metaspace)
    }

    static let pieces: [Piece] = [.init("<unk>", score: 0, type: .unknown), .init("<s>", score: 0, type: .control),
                                  .init("</s>", score: 0, type: .control), .init("▁", score: -1), .init("a", score: -2)]

    func check(_ model: SentencePieceModel, _ info: TokenizerInfo) throws -> Int {
        try model.serialized().withUnsafeBytes { try checkSentencePieceTokenizer(info: info, bytes: $0, file: "m.sito") }
    }

    func testTheRealXLMRVocabularyPasses() throws {
        try TokenizerFixtures.requireFixture()
        let converted = try TokenizerFixtures.converted()
        let checked = try converted.bytes.withUnsafeBytes { try checkSentencePieceTokenizer(info: converted.info, bytes: $0, file: "x") }
        XCTAssertEqual(checked, 250_002 + 5, "every piece and the twins of <s>, <pad>, </s>, <unk>, <mask>")
    }

    func testSmallModelsPass() throws {
        XCTAssertEqual(try check(SentencePieceModel(pieces: Self.pieces), Self.info(vocab: 5)), 5)
        let added = [AddedToken(content: "<s>", id: 1, lstrip: false, rstrip: false), AddedToken(content: "<mask>", id: 5, lstrip: true, rstrip: false)]
        XCTAssertEqual(try check(SentencePieceModel(pieces: Self.pieces), Self.info(vocab: 6, added: added)), 7)
        var withUnused = Self.pieces
        withUnused.append(.init("▁a", score: 0, type: .unused))
        withUnused.append(.init("a", score: -3, type: .control))
        XCTAssertEqual(try check(SentencePieceModel(pieces: withUnused), Self.info(vocab: 7)), 7)
    }

    func testWhatTheRuntimeRefusesIsNamed() {
        var pieces = Self.pieces
        pieces[0].type = .normal
        XCTAssertThrowsError(try check(SentencePieceModel(pieces: pieces), Self.info(vocab: 5))) { error in
            XCTAssertEqual(error as? SentencePieceCheckError,
                           .runtimeRefused(file: "m.sito", reason: "the embedded SentencePiece model is invalid: the model has no UNKNOWN piece"))
            XCTAssertEqual((error as? LocalizedError)?.errorDescription,
                           "m.sito: the Sito runtime refuses the embedded tokenizer: the embedded SentencePiece model is invalid: the model has no UNKNOWN piece")
        }
    }

    /// byte_fallback without the 256 byte pieces: the runtime does not read trainer_spec, libsentencepiece does.
    func testWhatLibsentencepieceRefusesIsNamed() {
        var model = SentencePieceModel(pieces: Self.pieces)
        model.byteFallback = true
        XCTAssertThrowsError(try check(model, Self.info(vocab: 5))) { error in
            guard case .refused(let file, let reason)? = error as? SentencePieceCheckError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "m.sito")
            XCTAssertTrue(reason.contains("byte"), reason)
            XCTAssertTrue((error as? LocalizedError)?.errorDescription?.hasPrefix("m.sito: libsentencepiece refuses the embedded SentencePiece model: ") ?? false)
        }
    }

    /// convertTokenizer runs the check, so a folder whose tokenizer fails it converts to nothing.
    func testConversionRunsTheCheck() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sito-spcheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // A fairseq layout (<unk>, <s>, </s>, pieces) whose trainer_spec asks for byte fallback.
        var model = SentencePieceModel(pieces: [.init("<unk>", score: 0, type: .unknown), .init("<s>", score: 0, type: .control),
                                                .init("</s>", score: 0, type: .control), .init("▁", score: -1)])
        let file = folder.appendingPathComponent("sentencepiece.bpe.model")
        try Data(model.serialized()).write(to: file)
        XCTAssertNoThrow(try convertTokenizer(folder: folder, modelVocab: 6))
        model.byteFallback = true
        try Data(model.serialized()).write(to: file)
        XCTAssertThrowsError(try convertTokenizer(folder: folder, modelVocab: 6)) { error in
            guard case .refused(let named, _)? = error as? SentencePieceCheckError else { return XCTFail("\(error)") }
            XCTAssertEqual(named, file.path)
        }
    }

    func testProcessorLookups() throws {
        var model = SentencePieceModel(pieces: Self.pieces)
        model.normalizerName = "identity"
        model.addDummyPrefix = false
        model.escapeWhitespaces = false
        model.removeExtraWhitespaces = false
        let processor = try SentencePieceProcessor(serialized: model.serialized(), file: "m")
        XCTAssertEqual(processor.pieceCount, 5)
        XCTAssertEqual(processor.unknownId, 0)
        XCTAssertEqual(processor.id(ofPiece: Array("▁".utf8)), 3)
        XCTAssertEqual(processor.id(ofPiece: Array("zz".utf8)), 0)
        XCTAssertEqual(processor.piece(4), Array("a".utf8))
        XCTAssertNil(processor.piece(5))
        XCTAssertEqual(processor.encode("▁a"), [3, 4])
        XCTAssertThrowsError(try SentencePieceProcessor(serialized: [0x0A, 0xFF], file: "bad.model")) {
            guard case .refused(let file, _)? = $0 as? SentencePieceCheckError else { return XCTFail("\($0)") }
            XCTAssertEqual(file, "bad.model")
        }
    }
}
