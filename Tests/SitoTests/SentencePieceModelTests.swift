// SentencePieceModelTests.swift: the runtime's own reading of an embedded SentencePiece model (no
// libsentencepiece at run time): what it refuses and why, which id a text shared by a CONTROL and a NORMAL
// piece gets, UNUSED pieces, the added tokens' twins, and pieces the piece table must tell apart (tiny
// hand-built models; the real XLM-R vocabulary is in TokenizerTests and TokenizerParityTests).
import Foundation
import Sito
import SitoFormat
import SitoTools
import XCTest

final class SentencePieceModelTests: XCTestCase {
    typealias Piece = SentencePieceModel.Piece
    static let recipe = InputRecipe(recipe: .joinedPair, separator: "</s></s>", maxLength: 64, truncation: .right)

    /// `<unk>` 0, `<s>` 1, `</s>` 2 (CONTROL), then `extra`; ids are sentencepiece ids (offset 0).
    func tokenizer(_ extra: [Piece], added: [AddedToken] = [], vocab: Int? = nil) throws -> Tokenizer {
        var pieces: [Piece] = [.init("<unk>", score: 0, type: .unknown), .init("<s>", score: 0, type: .control), .init("</s>", score: 0, type: .control)]
        pieces += extra
        let bytes = SentencePieceModel(pieces: pieces).serialized()
        let info = TokenizerInfo(kind: .sentencepiece, tensor: "tokenizer.sentencepiece", modelVocab: vocab ?? pieces.count + 8,
                                 idOffset: 0, idOverrides: [], specials: SpecialIds(bos: 1, pad: 0, eos: 2, unk: 0),
                                 addedTokens: added, whitespace: .metaspace)
        return try bytes.withUnsafeBytes { try Tokenizer(info: info, input: Self.recipe, bytes: $0) }
    }

    func assertInvalidModel(_ extra: [Piece], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try tokenizer(extra), file: file, line: line) { error in
            guard case .invalidModel(let reason)? = error as? TokenizerError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertTrue(reason.contains(expected), reason, file: file, line: line)
            XCTAssertTrue("\(error)".contains("the embedded SentencePiece model is invalid"), file: file, line: line)
        }
    }

    func testRefusesWhatLibsentencepieceRefuses() {
        assertInvalidModel([.init("▁a", score: -1), .init("▁a", score: -2)], "piece 4 ('▁a') is defined twice")
        assertInvalidModel([.init("x", score: -1, type: .control), .init("x", score: -2, type: .unknown)], "piece 4 ('x') is defined twice")
        assertInvalidModel([.init("▁a", score: -1), .init("", score: -2)], "piece 4 is empty")
        assertInvalidModel([.init("<unk2>", score: 0, type: .unknown)], "pieces 0 and 3 are both UNKNOWN")
        assertInvalidModel([.init("<0x41>", score: 0, type: .byte)], "BYTE piece")
        let noUnknown = SentencePieceModel(pieces: [.init("<s>", score: 0, type: .control), .init("a", score: -1)]).serialized()
        let info = TokenizerInfo(kind: .sentencepiece, tensor: "t", modelVocab: 4, idOffset: 0, idOverrides: [],
                                 specials: SpecialIds(bos: 0, pad: 0, eos: 0, unk: 0), addedTokens: [], whitespace: .metaspace)
        XCTAssertThrowsError(try noUnknown.withUnsafeBytes { try Tokenizer(info: info, input: Self.recipe, bytes: $0) }) {
            XCTAssertEqual($0 as? TokenizerError, .invalidModel("the model has no UNKNOWN piece"))
        }
        XCTAssertThrowsError(try [UInt8]([0x0A, 0x05, 0x0A]).withUnsafeBytes { try Tokenizer(info: info, input: Self.recipe, bytes: $0) }) {
            XCTAssertEqual($0 as? TokenizerError, .invalidModel("field 1 at byte 0 runs past the end"))
        }
    }

    func testIdsOutsideTheVocabularyAreRefused() {
        XCTAssertThrowsError(try tokenizer([.init("▁a", score: -1)], vocab: 3)) {
            XCTAssertEqual($0 as? TokenizerError, .badIdMapping("sentencepiece id 3 ('▁a') maps to 3, outside [0, 3)"))
        }
    }

    /// A CONTROL and a NORMAL piece may share a text (libsentencepiece keeps them in two maps): the lattice
    /// uses the later one, `modelId(ofPiece:)` the CONTROL one, as libsentencepiece's PieceToId does.
    func testControlAndNormalPieceWithOneText() throws {
        let t = try tokenizer([.init("▁", score: -1), .init("x", score: -2, type: .control), .init("x", score: -3)])
        XCTAssertEqual(t.modelId(ofPiece: "x"), 4)
        XCTAssertEqual(t.encode("x"), [3, 5])
        XCTAssertEqual(t.pieceCount, 6)
    }

    /// UNUSED pieces have ids but never appear in a segmentation.
    func testUnusedPiecesAreNotInTheLattice() throws {
        let t = try tokenizer([.init("▁", score: -1), .init("a", score: -2), .init("▁a", score: 0, type: .unused)])
        XCTAssertEqual(t.modelId(ofPiece: "▁a"), 5)
        XCTAssertEqual(t.encode("a"), [3, 4])
    }

    /// An added token without a NORMAL piece gets a twin (in the lattice: TokenizerTests' "＜s＞"): CONTROL
    /// `<s>` keeps its id in `modelId(ofPiece:)`; `<mask>`, not in the model at all, is found through its twin.
    func testAddedTokensGetTwins() throws {
        let added = [AddedToken(content: "<s>", id: 1, lstrip: false, rstrip: false), AddedToken(content: "<mask>", id: 9, lstrip: true, rstrip: false),
                     AddedToken(content: "<mask>", id: 9, lstrip: false, rstrip: false)]
        let t = try tokenizer([.init("▁", score: -1), .init("<", score: -20), .init("s", score: -20), .init(">", score: -20)], added: added, vocab: 10)
        XCTAssertEqual(t.pieceCount, 7 + 2, "one twin per distinct added text")
        XCTAssertEqual(t.modelId(ofPiece: "<s>"), 1)
        XCTAssertEqual(t.modelId(ofPiece: "<mask>"), 9)
        XCTAssertNil(t.modelId(ofPiece: "<mas"))
        XCTAssertEqual(t.encode("a<mask>"), [3, 0, 9])
    }

    /// Pieces that are prefixes of each other, long pieces, and texts that only look like pieces: the
    /// table compares bytes, so nothing but the exact text matches.
    func testPrefixesAndLongPieces() throws {
        let long = String(repeating: "ab", count: 200)  // 400 bytes
        let t = try tokenizer([.init("▁", score: -1), .init("a", score: -5), .init("b", score: -5), .init("ab", score: -6),
                               .init("▁abab", score: -2), .init(long, score: -1)])
        XCTAssertEqual(t.modelId(ofPiece: "▁abab"), 7)
        XCTAssertNil(t.modelId(ofPiece: "▁aba"))
        XCTAssertNil(t.modelId(ofPiece: "▁ababa"))
        XCTAssertEqual(t.modelId(ofPiece: long), 8)
        XCTAssertEqual(t.encode("abab"), [7])
        XCTAssertEqual(t.encode("ababa"), [7, 4])
        XCTAssertEqual(t.encode("ab ab"), [3, 6, 3, 6])
        XCTAssertEqual(t.encode(" " + long), [3, 8], "pieces longer than 255 bytes are in the lattice")
    }
}
