// BPEParityTests.swift: Sito's byte-level BPE tokenizer (kind `bpe`) against Hugging Face `tokenizers` on
// the committed parity file Tests/Fixtures/tokenizer/roberta-parity.json (tools/make_bpe_goldens.py:
// ≥ 20,000 strings — the GPT-2 regex's adversarial cases, Polish and English gettext messages, emoji,
// mixed scripts, whitespace runs, contractions, written </s> and <mask> — and 400 pairs through both
// reranker recipes), with the trained fixture tokenizer Tests/Fixtures/roberta-tokenizer
// (tools/make_bpe_tokenizer.py). Every id must match. Also: vocab.json + merges.txt convert to exactly
// the same tokenizer section and bytes as tokenizer.json; recipes, specials and corrupt blobs; tokens/s of
// the three tokenizer kinds side by side (printed).
import Foundation
import SitoTestSupport
@testable import Sito
import SitoFormat
@testable import SitoTools
import XCTest

final class BPEParityTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let folder = root.appendingPathComponent("Tests/Fixtures/roberta-tokenizer")
    static let parityFile = root.appendingPathComponent("Tests/Fixtures/tokenizer/roberta-parity.json")
    static let vocab = 8000

    static func tokenizer(recipe: RecipeKind, maxLength: Int = 512) throws -> Tokenizer {
        let converted = try convertBPETokenizer(folder: folder, modelVocab: vocab)
        let input = InputRecipe(recipe: recipe, separator: recipe == .joinedPair ? "</s></s>" : nil, maxLength: maxLength,
                                truncation: recipe == .pair ? .longestFirst : .right)
        return try converted.bytes.withUnsafeBytes { try Tokenizer(info: converted.info, input: input, bytes: $0) }
    }

    static func ids(_ s: String) -> [Int32] { s.split(separator: " ").map { Int32($0)! } }

    /// The parity file (schema bpe-parity/1 in tools/make_bpe_goldens.py). Read with JSONDecoder:
    /// JSONSerialization on Linux drops a U+FEFF that starts a string.
    struct Parity: Decodable {
        struct Pair: Decodable {
            let query: String, document: String, maxLength: Int, joined: String, pair: String?

            init(from decoder: Decoder) throws {
                var c = try decoder.unkeyedContainer()
                query = try c.decode(String.self)
                document = try c.decode(String.self)
                maxLength = try c.decode(Int.self)
                joined = try c.decode(String.self)
                pair = try c.decodeIfPresent(String.self)
            }
        }

        let format: String
        let strings: [[String]]
        let pairs: [Pair]
    }

    static func parity() throws -> Parity {
        let parity = try JSONDecoder().decode(Parity.self, from: Data(contentsOf: parityFile))
        XCTAssertEqual(parity.format, "bpe-parity/1")
        return parity
    }

    func testStringsMatchTokenizers() throws {
        let tok = try Self.tokenizer(recipe: .joinedPair)
        let rows = try Self.parity().strings
        XCTAssertGreaterThanOrEqual(rows.count, 20_000)
        var bad: [String] = []
        var tokens = 0
        for row in rows {
            let want = Self.ids(row[1])
            let got = tok.encode(row[0])
            tokens += got.count
            if got != want { bad.append("\(row[0].debugDescription): want \(want.prefix(20)) got \(got.prefix(20))") }
        }
        print("bpe parity: \(rows.count - bad.count)/\(rows.count) strings exact (\(tokens) tokens)")
        XCTAssertTrue(bad.isEmpty, "\(bad.count) mismatches:\n" + bad.prefix(20).joined(separator: "\n"))
    }

    func testPairsMatchTokenizersInBothRecipes() throws {
        let joined = try Self.tokenizer(recipe: .joinedPair)
        let pair = try Self.tokenizer(recipe: .pair)
        let rows = try Self.parity().pairs
        XCTAssertGreaterThanOrEqual(rows.count, 400)
        var bad: [String] = []
        var truncated = 0, pairChecked = 0
        for row in rows {
            let (q, d, n) = (row.query, row.document, row.maxLength)
            let want = Self.ids(row.joined)
            let got = try joined.encodePair(query: q, document: d, maxLength: n)
            if got.ids != want { bad.append("joined \(n) \(q.prefix(40).debugDescription) | \(d.prefix(40).debugDescription): want \(want.prefix(16)) got \(got.ids.prefix(16))") }
            if got.truncated { truncated += 1 }
            XCTAssertEqual(got.truncated, got.untruncatedLength > n)
            if let p = row.pair {
                pairChecked += 1
                let e = try pair.encodePair(query: q, document: d, maxLength: n)
                if e.ids != Self.ids(p) { bad.append("pair \(n) \(q.prefix(40).debugDescription) | \(d.prefix(40).debugDescription): want \(Self.ids(p).prefix(16)) got \(e.ids.prefix(16))") }
            }
        }
        print("bpe parity: \(rows.count) pairs (joined-pair, \(truncated) truncated) + \(pairChecked) pairs (pair recipe): \(bad.count) mismatches")
        XCTAssertTrue(bad.isEmpty, "\(bad.count) mismatches:\n" + bad.prefix(20).joined(separator: "\n"))
    }

    func testVocabAndMergesGiveTheSameTokenizerAsTokenizerJSON() throws {
        let fromJSON = try convertBPETokenizer(folder: Self.folder, modelVocab: Self.vocab)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sito-bpe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"] {
            try FileManager.default.copyItem(at: Self.folder.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let fromPair = try convertBPETokenizer(folder: dir, modelVocab: Self.vocab)
        XCTAssertEqual(fromPair.info, fromJSON.info)
        XCTAssertTrue(fromPair.bytes == fromJSON.bytes, "tokenizer.bpe bytes differ")
        // Without tokenizer_config.json: RobertaTokenizer's defaults give the same result for this vocabulary.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("tokenizer_config.json"))
        let bare = try convertBPETokenizer(folder: dir, modelVocab: Self.vocab)
        XCTAssertEqual(bare.info, fromJSON.info)
        XCTAssertTrue(bare.bytes == fromJSON.bytes)
    }

    /// A BPE with an unk token whose vocabulary lacks a byte's token would emit <unk> where the runtime
    /// drops the byte: the converter refuses it, naming the byte.
    func testUnkTokenWithAMissingByteIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sito-bpe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("tokenizer.json"))
        var root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var model = try XCTUnwrap(root["model"] as? [String: Any])
        var vocab = try XCTUnwrap(model["vocab"] as? [String: Any])
        vocab["renamed-byte-0"] = vocab.removeValue(forKey: "\u{100}")  // byte 0x00's character
        model["vocab"] = vocab
        model["unk_token"] = "<unk>"
        root["model"] = model
        try JSONSerialization.data(withJSONObject: root).write(to: dir.appendingPathComponent("tokenizer.json"))
        XCTAssertThrowsError(try convertBPETokenizer(folder: dir, modelVocab: Self.vocab)) { error in
            let message = (error as? LocalizedError)?.errorDescription ?? ""
            XCTAssertTrue(message.contains("unk_token") && message.contains("0x0"), message)
        }
    }

    func testRecipesSpecialsAndRefusals() throws {
        let joined = try Self.tokenizer(recipe: .joinedPair, maxLength: 16)
        let info = try convertBPETokenizer(folder: Self.folder, modelVocab: Self.vocab).info
        XCTAssertEqual(info.kind, .bpe)
        XCTAssertEqual(info.whitespace, .byteLevel)
        XCTAssertEqual(info.specials, SpecialIds(bos: 0, pad: 1, eos: 2, unk: 3, mask: 7999))
        XCTAssertEqual(info.bpe, BPEOptions(addPrefixSpace: false, ignoreMerges: false))
        XCTAssertEqual(joined.modelId(ofPiece: "<mask>"), 7999)
        XCTAssertEqual(joined.modelId(ofPiece: "Ġ"), joined.encode(" ").first)
        // `<mask>` swallows the spaces before it (lstrip), not after.
        XCTAssertEqual(joined.encode("a   <mask>"), joined.encode("a<mask>"))
        XCTAssertEqual(joined.encode("a</s>b"), joined.encode("a") + [2] + joined.encode("b"))
        let e = try joined.encodePair(query: "Jak dożyć 100 lat?", document: String(repeating: "długi dokument ", count: 20))
        XCTAssertEqual(e.ids.count, 16)
        XCTAssertTrue(e.truncated)
        XCTAssertEqual(e.ids.first, 0)
        XCTAssertEqual(e.ids.last, 2)
        XCTAssertThrowsError(try joined.encodePair(query: "a", document: String(repeating: "b ", count: 40), onOverflow: .reject))
        let pair = try Self.tokenizer(recipe: .pair, maxLength: 16)
        let p = try pair.encodePair(query: "Jak dożyć 100 lat?", document: "Kiedy?")
        XCTAssertEqual(Array(p.ids.prefix(1)), [0])
        XCTAssertEqual(p.ids, [0] + pair.encode("Jak dożyć 100 lat?") + [2, 2] + pair.encode("Kiedy?") + [2])
        XCTAssertThrowsError(try pair.encodePair(query: "a", document: "b", maxLength: 3))
        // A corrupt blob is an error, not a crash.
        let converted = try convertBPETokenizer(folder: Self.folder, modelVocab: Self.vocab)
        let input = InputRecipe(recipe: .joinedPair, separator: "</s></s>", maxLength: 512, truncation: .right)
        for cut in [0, 3, 15, 16, 100, converted.bytes.count - 1] {
            let bytes = Array(converted.bytes.prefix(cut))
            XCTAssertThrowsError(try bytes.withUnsafeBytes { try Tokenizer(info: converted.info, input: input, bytes: $0) })
        }
    }

    /// `truncation_side="left"` in both recipes: `joined-pair` keeps the end of the joined text; `pair`
    /// keeps longest-first lengths, each part's tokens from its end; `<s>`/`</s>` stay in place.
    func testLeftTruncation() throws {
        let query = "Jak dożyć 100 lat i nie zwariować?", document = String(repeating: "długi dokument ", count: 20) + "koniec"
        let joined = try Self.tokenizer(recipe: .joinedPair, maxLength: 16)
        let full = joined.encode(query + "</s></s>" + document)
        let j = try joined.encodePair(query: query, document: document, truncationSide: .left)
        XCTAssertEqual(j.ids, [0] + full.suffix(14) + [2])
        XCTAssertTrue(j.truncated)
        XCTAssertEqual(j.untruncatedLength, full.count + 2)
        XCTAssertEqual(try joined.encodeSingle(text: document, truncationSide: .left).ids, [0] + joined.encode(document).suffix(14) + [2])

        let pair = try Self.tokenizer(recipe: .pair, maxLength: 16)
        let a = pair.encode(query), b = pair.encode(document)
        let (n1, n2) = WordPieceTokenizer.longestFirst(a.count, b.count, target: 12)
        let p = try pair.encodePair(query: query, document: document, truncationSide: .left)
        XCTAssertEqual(p.ids, [0] + a.suffix(n1) + [2, 2] + b.suffix(n2) + [2])
        XCTAssertEqual(try pair.encodePair(query: query, document: document).ids, [0] + a.prefix(n1) + [2, 2] + b.prefix(n2) + [2])
        XCTAssertEqual(try pair.encodePair(query: "a", document: "b", truncationSide: .left), try pair.encodePair(query: "a", document: "b"))
    }

    /// Tokens per second of the three kinds side by side, one thread, on the same texts: a 61 KB Polish
    /// document (TokenizerTests' text) and the parity file's 21,674 strings one by one. The XLM-R
    /// (SentencePiece) and all-MiniLM-L6-v2 (WordPiece) tokenizers come from tools/setup.sh's fixtures;
    /// a missing one is skipped. Printed (formats/tokenization.md, "Byte-level BPE"; release numbers there).
    func testThroughputBesideSentencePieceAndWordPiece() throws {
        var kinds: [(String, Tokenizer)] = [("bpe (roberta fixture, 8,000)", try Self.tokenizer(recipe: .joinedPair))]
        let cache = Self.root.appendingPathComponent(".cache/fixtures")
        let joined = InputRecipe(recipe: .joinedPair, separator: "</s></s>", maxLength: 8192, truncation: .right)
        if let sp = try? convertTokenizer(folder: cache.appendingPathComponent("xlmr-tokenizer"), modelVocab: 250_002) {
            kinds.append(("sentencepiece (xlm-r, 250,002)", try sp.bytes.withUnsafeBytes { try Tokenizer(info: sp.info, input: joined, bytes: $0) }))
        }
        if let wp = try? convertWordPieceTokenizer(folder: cache.appendingPathComponent("all-minilm-l6-v2"), modelVocab: 30522) {
            let single = InputRecipe(recipe: .single, separator: nil, maxLength: 256, truncation: .right)
            kinds.append(("wordpiece (minilm, 30,522)", try wp.bytes.withUnsafeBytes { try Tokenizer(info: wp.info, input: single, bytes: $0) }))
        }
        let text = polishDocument(minimumBytes: 60_000)
        let strings = try Self.parity().strings.map { $0[0] }
        for (name, tok) in kinds {
            func rate(_ body: () -> Int) -> Double {
                _ = body()
                let start = Date()
                var tokens = 0, rounds = 0
                while Date().timeIntervalSince(start) < 1 || rounds < 2 {
                    tokens += body()
                    rounds += 1
                }
                return Double(tokens) / Date().timeIntervalSince(start)
            }
            let document = rate { tok.encode(text).count }
            let many = rate { strings.reduce(0) { $0 + tok.encode($1).count } }
            print("tokenizer throughput, \(name): \(Int(document)) tokens/s on a \(text.utf8.count)-byte Polish document (\(tok.encode(text).count) tokens); \(Int(many)) tokens/s on the \(strings.count) parity strings")
            XCTAssertGreaterThan(document, 0)
        }
    }

}
