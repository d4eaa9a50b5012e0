// WordPieceParityTests.swift: Sito's WordPiece tokenizer against Hugging Face `tokenizers` on the 20,000
// strings of the XLM-R parity file (Polish and English gettext messages, emoji, mixed scripts, whitespace,
// specials in text), with all-MiniLM-L6-v2's real tokenizer (tools/make_wordpiece_goldens.py). Every id
// must match; mismatches are listed.
import Foundation
@testable import Sito
import SitoFormat
import SitoTestSupport
@testable import SitoTools
import XCTest

final class WordPieceParityTests: XCTestCase {
    struct Parity: Decodable {
        let format: String
        let ids: [String]
    }

    struct Strings: Decodable {
        let strings: [[String?]]
    }

    func tokenizer(recipe kind: RecipeKind = .single, maxLength: Int = 256) throws -> Tokenizer {
        let folder = Fixtures.miniLM
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path) else {
            XCTFail("fixture \(folder.path) is missing: run tools/setup.sh")
            throw CocoaError(.fileNoSuchFile)
        }
        let converted = try convertWordPieceTokenizer(folder: folder, modelVocab: 30522)
        let recipe = InputRecipe(recipe: kind, separator: nil, maxLength: maxLength, truncation: kind == .pair ? .longestFirst : .right)
        return try converted.bytes.withUnsafeBytes { try Tokenizer(info: converted.info, input: recipe, bytes: $0) }
    }

    func testTwentyThousandStringsMatchTokenizers() throws {
        let tok = try tokenizer()
        let fixtures = Fixtures.root.appendingPathComponent("Tests/Fixtures/tokenizer")
        let parity = try JSONDecoder().decode(Parity.self, from: Data(contentsOf: fixtures.appendingPathComponent("minilm-parity.json")))
        let strings = try JSONDecoder().decode(Strings.self, from: Data(contentsOf: fixtures.appendingPathComponent("xlmr-parity.json"))).strings
        XCTAssertEqual(parity.format, "wordpiece-parity/1")
        XCTAssertEqual(parity.ids.count, strings.count)
        XCTAssertGreaterThanOrEqual(strings.count, 20_000)
        var mismatches: [String] = []
        for (i, entry) in strings.enumerated() {
            let text = entry[0] ?? ""
            let expected = parity.ids[i].split(separator: " ").map { Int32($0)! }
            let got = tok.encode(text)
            if got != expected {
                mismatches.append("\(text.debugDescription): expected \(expected.prefix(24)) got \(got.prefix(24))")
            }
        }
        print("wordpiece parity: \(strings.count - mismatches.count)/\(strings.count) exact")
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) mismatches:\n" + mismatches.prefix(20).joined(separator: "\n"))
    }

    func testRecipesAndTruncation() throws {
        let tok = try tokenizer()
        let single = try tok.encodeSingle(text: "Hello, world!")
        XCTAssertEqual(single.ids.first, 101)
        XCTAssertEqual(single.ids.last, 102)
        let long = try tok.encodeSingle(text: String(repeating: "word ", count: 400))
        XCTAssertEqual(long.ids.count, 256)
        XCTAssertTrue(long.truncated)
        XCTAssertEqual(long.ids.last, 102)
        XCTAssertThrowsError(try tok.encodeSingle(text: String(repeating: "word ", count: 400), onOverflow: .reject))
        XCTAssertTrue(WordPieceTokenizer.longestFirst(10, 3, target: 8) == (5, 3))
        XCTAssertTrue(WordPieceTokenizer.longestFirst(3, 10, target: 8) == (3, 5))
        XCTAssertTrue(WordPieceTokenizer.longestFirst(10, 10, target: 7) == (3, 4))
        XCTAssertTrue(WordPieceTokenizer.longestFirst(2, 2, target: 7) == (2, 2))
    }

    /// `truncation_side="left"`: the same lengths as on the right (longest-first for a pair), each part's
    /// tokens taken from its end; [CLS] and [SEP] stay in place.
    func testLeftTruncation() throws {
        let tok = try tokenizer()
        let text = (0..<300).map { "word\($0)" }.joined(separator: " ")
        let content = tok.encode(text)
        let single = try tok.encodeSingle(text: text, truncationSide: .left)
        XCTAssertEqual(single.ids, [101] + content.suffix(254) + [102])
        XCTAssertTrue(single.truncated)
        XCTAssertEqual(single.untruncatedLength, content.count + 2)
        XCTAssertEqual(try tok.encodeSingle(text: "Hello, world!", truncationSide: .left), try tok.encodeSingle(text: "Hello, world!"))

        let pair = try tokenizer(recipe: .pair, maxLength: 16)
        let query = "how long do cats sleep in the afternoon sun", document = "cats sleep on warm stones for many hours every day of the week"
        let a = pair.encode(query), b = pair.encode(document)
        let (n1, n2) = WordPieceTokenizer.longestFirst(a.count, b.count, target: 13)
        XCTAssertLessThan(n1, a.count, "both parts are cut")
        XCTAssertLessThan(n2, b.count)
        let left = try pair.encodePair(query: query, document: document, truncationSide: .left)
        XCTAssertEqual(left.ids, [101] + a.suffix(n1) + [102] + b.suffix(n2) + [102])
        XCTAssertEqual(left.typeIds, [Int32](repeating: 0, count: n1 + 2) + [Int32](repeating: 1, count: n2 + 1))
        let right = try pair.encodePair(query: query, document: document)
        XCTAssertEqual(right.ids, [101] + a.prefix(n1) + [102] + b.prefix(n2) + [102])
        // A short query is kept whole; only the document loses its start.
        let short = try pair.encodePair(query: "cats", document: document, truncationSide: .left)
        XCTAssertEqual(short.ids, [101] + pair.encode("cats") + [102] + b.suffix(16 - 3 - pair.encode("cats").count) + [102])
    }
}
