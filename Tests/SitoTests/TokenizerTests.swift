// TokenizerTests.swift: the runtime Tokenizer on the real XLM-R tokenizer (converted from
// .cache/fixtures/xlmr-tokenizer/tokenizer.json, fetched by tools/setup.sh): special tokens written in
// the text, whitespace next to them, truncation and rejection, argument errors, concurrent use, and the
// throughput on a long Polish document (printed; formats/tokenization.md, "Throughput").
import Foundation
import Sito
import SitoFormat
import SitoTestSupport
import SitoTools
import XCTest

final class TokenizerTests: XCTestCase {
    static let recipe = InputRecipe(recipe: .joinedPair, separator: "</s></s>", maxLength: 8192, truncation: .right)
    static let cached = Locked<(info: TokenizerInfo, bytes: [UInt8])?>(nil)
    /// Loaded tokenizers by "whitespace/maxLength": loading 250,002 pieces takes seconds in debug builds.
    static let loaded = Locked<[String: Tokenizer]>([:])

    func tokenizer(_ whitespace: WhitespaceRule = .metaspaceCollapse, maxLength: Int = 8192) throws -> Tokenizer {
        let folder = Fixtures.root.appendingPathComponent(".cache/fixtures/xlmr-tokenizer")
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path) else {
            XCTFail("fixture \(folder.path)/tokenizer.json is missing: run tools/setup.sh")
            throw CocoaError(.fileNoSuchFile)
        }
        let converted = try Self.cached.once { try convertTokenizer(folder: folder, modelVocab: 250_002) }
        let key = "\(whitespace)/\(maxLength)"
        return try Self.loaded.withLock { loaded in
            if let t = loaded[key] { return t }
            var info = converted.info
            info.whitespace = whitespace
            var recipe = Self.recipe
            recipe.maxLength = maxLength
            let t = try converted.bytes.withUnsafeBytes { try Tokenizer(info: info, input: recipe, bytes: $0) }
            loaded[key] = t
            return t
        }
    }

    func testModelCardPair() throws {
        let t = try tokenizer()
        let e = try t.encodePair(query: "Jak dożyć 100 lat?", document: "Kiedy?")
        XCTAssertEqual(e.ids, [0, 4422, 54, 53241, 805, 10495, 32, 2, 2, 71086, 32, 2])
        XCTAssertEqual(e.typeIds, [Int32](repeating: 0, count: 12))
        XCTAssertFalse(e.truncated)
        XCTAssertEqual(e.untruncatedLength, 12)
    }

    /// Written specials are split out; whitespace beside them stays a lone "▁" in tokenizer.json's
    /// pipeline and disappears in transformers ≥ 5's class pipeline.
    func testSpecialTokensAndWhitespace() throws {
        let json = try tokenizer(.metaspaceCollapse)
        XCTAssertEqual(json.encode("q</s></s>d"), [8096, 2, 2, 104])
        XCTAssertEqual(json.encode("q </s></s> d "), [8096, 6, 2, 2, 104, 6])
        XCTAssertEqual(json.encode(" </s> "), [6, 2, 6])
        XCTAssertEqual(json.encode("a<mask>b"), [10, 250_001, 876])
        XCTAssertEqual(json.encode("<s>x"), [0, 1022])
        XCTAssertEqual(json.encode(""), [])
        XCTAssertEqual(json.encode("  "), [6])
        XCTAssertEqual(json.encode("＜s＞"), [6, 0], "normalized to '<s>', which Hugging Face's lattice holds")
        XCTAssertEqual(json.encode("🧌🧌 x"), [6, 3, 1022], "unknown characters fuse into one <unk>")
        XCTAssertEqual(json.encode("Ａ\u{301}"), [62], "HF Precompiled drops the mark after a mapped grapheme")
        let cls = try tokenizer(.whitespaceSplit)
        XCTAssertEqual(cls.encode("q </s></s> d "), [8096, 2, 2, 104])
        XCTAssertEqual(cls.encode("  "), [])
    }

    func testLstripAndRstrip() throws {
        var (info, bytes) = try { _ = try tokenizer(); return Self.cached.current! }()
        info.addedTokens = info.addedTokens.map { var t = $0; if t.content == "<mask>" { t.lstrip = true; t.rstrip = true }; return t }
        let t = try bytes.withUnsafeBytes { try Tokenizer(info: info, input: Self.recipe, bytes: $0) }
        XCTAssertEqual(t.encode("a <mask> b"), [10, 250_001, 876], "whitespace on both sides absorbed")
        XCTAssertEqual(t.encode("a\u{3000}\t<mask>"), [10, 250_001], "lstrip takes any Unicode White_Space")
        bytes = []
    }

    func testTruncationKeepsTheFirstTokens() throws {
        let t = try tokenizer(maxLength: 16)
        let words = Array(repeating: "ala ma kota", count: 20).joined(separator: " ")
        let full = t.encode("q</s></s>" + words)
        let e = try t.encodePair(query: "q", document: words, maxLength: 8)
        XCTAssertEqual(e.ids, [0] + full.prefix(6) + [2])
        XCTAssertTrue(e.truncated)
        XCTAssertEqual(e.untruncatedLength, full.count + 2)
        XCTAssertEqual(try t.encodePair(query: "q", document: words).ids.count, 16, "the recipe's max length by default")
        XCTAssertEqual(try t.encodePair(query: "q", document: words, maxLength: 2).ids, [0, 2])
        let exact = try t.encodePair(query: "q", document: "d", maxLength: 6)
        XCTAssertFalse(exact.truncated, "q </s> </s> d fits exactly: 4 + 2")
    }

    /// `truncation_side="left"`: the same number of content tokens, taken from the end; `<s>`/`</s>` stay.
    func testLeftTruncationKeepsTheLastTokens() throws {
        let t = try tokenizer(maxLength: 16)
        let words = (0..<40).map { "słowo\($0)" }.joined(separator: " ")
        let full = t.encode("q</s></s>" + words)
        let e = try t.encodePair(query: "q", document: words, maxLength: 8, truncationSide: .left)
        XCTAssertEqual(e.ids, [0] + full.suffix(6) + [2])
        XCTAssertTrue(e.truncated)
        XCTAssertEqual(e.untruncatedLength, full.count + 2)
        XCTAssertNotEqual(e.ids, try t.encodePair(query: "q", document: words, maxLength: 8).ids)
        let single = try t.encodeSingle(text: words, truncationSide: .left)
        XCTAssertEqual(single.ids, [0] + t.encode(words).suffix(14) + [2])
        // An input that fits is the same whichever side would be cut; rejection does not depend on the side.
        XCTAssertEqual(try t.encodePair(query: "q", document: "d", truncationSide: .left), try t.encodePair(query: "q", document: "d"))
        XCTAssertThrowsError(try t.encodePair(query: "q", document: words, onOverflow: .reject, truncationSide: .left))
    }

    func testRejectOnOverflow() throws {
        let t = try tokenizer(maxLength: 16)
        XCTAssertThrowsError(try t.encodePair(query: "q", document: String(repeating: "słowo ", count: 40), onOverflow: .reject)) { error in
            guard case .tooLong(let tokens, let limit)? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(limit, 16)
            XCTAssertGreaterThan(tokens, 16)
            XCTAssertTrue((error as? LocalizedError)?.errorDescription?.contains("maximum of 16") ?? false)
        }
        XCTAssertNoThrow(try t.encodePair(query: "q", document: "d", onOverflow: .reject))
    }

    func testArgumentAndModelErrors() throws {
        let t = try tokenizer(maxLength: 16)
        XCTAssertThrowsError(try t.encodePair(query: "q", document: "d", maxLength: 17)) {
            XCTAssertEqual($0 as? TokenizerError, .maxLengthTooLarge(requested: 17, limit: 16))
        }
        XCTAssertThrowsError(try t.encodePair(query: "q", document: "d", maxLength: 1)) {
            XCTAssertEqual($0 as? TokenizerError, .maxLengthTooSmall(requested: 1, minimum: 2))
        }
        let (info, bytes) = Self.cached.current!
        var wrong = info
        wrong.whitespace = .bert
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try Tokenizer(info: wrong, input: Self.recipe, bytes: $0) }) {
            XCTAssertEqual($0 as? TokenizerError, .unsupportedWhitespace(.bert))
        }
        wrong = info
        wrong.idOffset = 5
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try Tokenizer(info: wrong, input: Self.recipe, bytes: $0) }) {
            guard case .badIdMapping(let reason)? = $0 as? TokenizerError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("outside [0, 250002)"), reason)
        }
        XCTAssertThrowsError(try [UInt8](bytes.prefix(1000)).withUnsafeBytes { try Tokenizer(info: info, input: Self.recipe, bytes: $0) }) {
            guard case .invalidModel? = $0 as? TokenizerError else { return XCTFail("\($0)") }
        }
    }

    func testConcurrentUseGivesTheSameIds() throws {
        let t = try tokenizer()
        let texts = (0..<64).map { "Zapytanie \($0)</s></s>Dokument numer \($0) — zażółć gęślą jaźń 😀" }
        let expected = texts.map { t.encode($0) }
        let results = Locked<[[Int32]]>(Array(repeating: [], count: texts.count))
        DispatchQueue.concurrentPerform(iterations: texts.count) { i in
            let ids = t.encode(texts[i])
            results.withLock { $0[i] = ids }
        }
        XCTAssertEqual(results.withLock { $0 }, expected)
    }

    /// Tokens per second on a long Polish document (the real gettext catalogs); printed, not asserted,
    /// since debug builds are ~10× slower. Release numbers are in formats/tokenization.md.
    func testThroughputOnALongPolishDocument() throws {
        let t = try tokenizer()
        let text = polishDocument(minimumBytes: 60_000)
        _ = t.encode(text)
        let start = Date()
        var tokens = 0
        var rounds = 0
        while Date().timeIntervalSince(start) < 1 || rounds < 3 {
            tokens += t.encode(text).count
            rounds += 1
        }
        let seconds = Date().timeIntervalSince(start)
        let perSecond = Double(tokens) / seconds
        print("tokenizer throughput: \(Int(perSecond)) tokens/s; 8192 tokens in \(String(format: "%.2f", 8192 / perSecond * 1000)) ms (\(tokens / rounds) tokens per round, \(text.utf8.count) bytes)")
        XCTAssertGreaterThan(tokens, 0)
    }

}
