// TokenizerParityTests.swift: Sito's tokenizer against Hugging Face on ≥ 20,000 real strings
// (Tests/Fixtures/tokenizer/xlmr-parity.json, made by tools/make_token_goldens.py; schema token-parity/1
// in that script). The SentencePiece model is built from the real XLM-R tokenizer.json
// (.cache/fixtures/xlmr-tokenizer, fetched by tools/setup.sh), loaded in libsentencepiece through the
// runtime Tokenizer, and every id must match: both whitespace pipelines, and the pair recipe with
// truncation. Mismatches are listed (text, expected, got).
import Foundation
import Sito
import SitoFormat
import SitoTestSupport
@testable import SitoTools
import XCTest

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
