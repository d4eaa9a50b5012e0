// TokenizerParityTests.swift: Sito's tokenizer against Hugging Face on ≥ 20,000 real strings
// (Tests/Fixtures/tokenizer/xlmr-parity.json, made by tools/make_token_goldens.py; schema token-parity/1
// in that script). The SentencePiece model is built from the real XLM-R tokenizer.json
// (.cache/fixtures/xlmr-tokenizer, fetched by tools/setup.sh), loaded in libsentencepiece through the
// runtime Tokenizer, and every id must match: both whitespace pipelines, and the pair recipe with
// truncation. Mismatches are listed (text, expected, got).
import Foundation
import Sito
import SitoFormat
@testable import SitoTools
import XCTest

/// Shared loading for the tokenizer tests (the real tokenizer.json is 17 MB: convert it once).
enum TokenizerFixtures {
    static let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let xlmrFolder = root.appendingPathComponent(".cache/fixtures/xlmr-tokenizer")
    static let parityFile = root.appendingPathComponent("Tests/Fixtures/tokenizer/xlmr-parity.json")
    static let recipe = InputRecipe(recipe: .joinedPair, separator: "</s></s>", maxLength: 8192, truncation: .right)

    /// (info, bytes) of the converted real XLM-R tokenizer (call `requireFixture()` first).
    static func converted() throws -> (info: TokenizerInfo, bytes: [UInt8]) {
        try cache.withLock { cached in
            if let cached { return cached }
            let value = try convertTokenizer(folder: xlmrFolder, modelVocab: 250_002)
            cached = value
            return value
        }
    }

    static func requireFixture() throws {
        let path = xlmrFolder.appendingPathComponent("tokenizer.json").path
        if !FileManager.default.fileExists(atPath: path) {
            XCTFail("fixture \(path) is missing: run tools/setup.sh (it fetches the pinned XLM-R tokenizer.json)")
            throw CocoaError(.fileNoSuchFile)
        }
    }

    /// The real tokenizer with the given whitespace mode (loaded once per mode: seconds in debug builds).
    static func tokenizer(whitespace: WhitespaceRule = .metaspaceCollapse) throws -> Tokenizer {
        try requireFixture()
        let converted = try converted()
        return try loaded.withLock { loaded in
            if let t = loaded[whitespace] { return t }
            var info = converted.info
            info.whitespace = whitespace
            let t = try converted.bytes.withUnsafeBytes { try Tokenizer(info: info, input: recipe, bytes: $0) }
            loaded[whitespace] = t
            return t
        }
    }

    private static let loaded = Mutex<[WhitespaceRule: Tokenizer]>([:])

    private static let cache = Mutex<(info: TokenizerInfo, bytes: [UInt8])?>(nil)
}

/// A tiny lock-protected box (Synchronization.Mutex needs macOS 15; this keeps the package's macOS 13).
final class Mutex<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

final class TokenizerParityTests: XCTestCase {
    struct Golden {
        var strings: [(text: String, json: [Int32], cls: [Int32])] = []
        var pairs: [(query: String, document: String, maxLength: Int, json: [Int32], cls: [Int32])] = []
        var reference = ""
    }

    static func ids(_ any: Any?) -> [Int32] {
        guard let s = any as? String else { return [] }
        return s.split(separator: " ").map { Int32($0)! }
    }

    static func loadGolden() throws -> Golden {
        let data = try Data(contentsOf: TokenizerFixtures.parityFile)
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(root["format"] as? String, "token-parity/1")
        var golden = Golden()
        golden.reference = "\(root["reference"] ?? "")"
        for case let row as [Any] in try XCTUnwrap(root["strings"] as? [Any]) {
            let json = ids(row[1])
            golden.strings.append((row[0] as! String, json, row[2] is NSNull ? json : ids(row[2])))
        }
        for case let row as [Any] in try XCTUnwrap(root["pairs"] as? [Any]) {
            let json = ids(row[3])
            golden.pairs.append((row[0] as! String, row[1] as! String, row[2] as! Int, json, row[4] is NSNull ? json : ids(row[4])))
        }
        return golden
    }

    func report(_ mismatches: [String], of total: Int, _ what: String) {
        if mismatches.isEmpty { return }
        XCTFail("\(what): \(mismatches.count) of \(total) differ from Hugging Face; first ones:\n" + mismatches.prefix(25).joined(separator: "\n"))
    }

    func runParity(whitespace: WhitespaceRule, useClass: Bool) throws {
        let tokenizer = try TokenizerFixtures.tokenizer(whitespace: whitespace)
        let golden = try Self.loadGolden()
        XCTAssertGreaterThanOrEqual(golden.strings.count, 20_000)
        var bad: [String] = []
        for s in golden.strings {
            let want = useClass ? s.cls : s.json
            let got = tokenizer.encode(s.text)
            if got != want { bad.append("  \(s.text.debugDescription)\n    expected \(want)\n    got      \(got)") }
        }
        report(bad, of: golden.strings.count, "strings, whitespace \(whitespace) (reference \(golden.reference))")
        bad = []
        for p in golden.pairs {
            let want = useClass ? p.cls : p.json
            let got = try tokenizer.encodePair(query: p.query, document: p.document, maxLength: p.maxLength).ids
            if got != want { bad.append("  \(p.query.debugDescription) | \(p.document.prefix(80).debugDescription) max \(p.maxLength)\n    expected \(want.prefix(40))\n    got      \(got.prefix(40))") }
        }
        report(bad, of: golden.pairs.count, "pairs, whitespace \(whitespace)")
    }

    /// tokenizer.json's own pipeline (`tokenizers`; transformers' generic backend).
    func testParityTokenizerJSONPipeline() throws {
        try runParity(whitespace: .metaspaceCollapse, useClass: false)
    }

    /// transformers ≥ 5 XLMRobertaTokenizer (what AutoTokenizer gives for a real XLM-R model folder).
    func testParityTransformersClassPipeline() throws {
        try runParity(whitespace: .whitespaceSplit, useClass: true)
    }
}
