// TokenizerFixtures.swift: the real XLM-R tokenizer.json converted once per test process (17 MB), and the
// runtime tokenizer loaded from it once per whitespace mode, for the tokenizer conversion, check and
// parity tests.
import Foundation
import Sito
import SitoFormat
import SitoTestSupport
@testable import SitoTools
import XCTest

/// Shared loading for the tokenizer tests (the real tokenizer.json is 17 MB: convert it once).
enum TokenizerFixtures {
    static let xlmrFolder = Fixtures.root.appendingPathComponent(".cache/fixtures/xlmr-tokenizer")
    static let parityFile = Fixtures.root.appendingPathComponent("Tests/Fixtures/tokenizer/xlmr-parity.json")
    static let recipe = InputRecipe(recipe: .joinedPair, separator: "</s></s>", maxLength: 8192, truncation: .right)

    /// (info, bytes) of the converted real XLM-R tokenizer (call `requireFixture()` first).
    static func converted() throws -> (info: TokenizerInfo, bytes: [UInt8]) {
        try cache.once { try convertTokenizer(folder: xlmrFolder, modelVocab: 250_002) }
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

    private static let loaded = Locked<[WhitespaceRule: Tokenizer]>([:])

    private static let cache = Locked<(info: TokenizerInfo, bytes: [UInt8])?>(nil)
}
