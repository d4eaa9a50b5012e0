// EmbeddingFixture.swift: the real all-MiniLM-L6-v2 embedding model converted once per test process, for
// the tests that run the built tools on an embedding model.
import Foundation
import SitoTestSupport
@testable import SitoTools
import XCTest

/// all-MiniLM-L6-v2 converted to f32 once per test process (real weights: 256 tokens at most).
enum EmbeddingFixture {
    private static let converted = Locked<URL?>(nil)

    static func get() throws -> URL {
        try converted.once {
            let folder = Fixtures.miniLM
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) else {
                throw XCTSkip("all-MiniLM-L6-v2 is missing: run tools/setup.sh")
            }
            let out = try scratchFolder("embedding-fixture").appendingPathComponent("minilm.sito")
            _ = try Converter(folder: folder).convert(to: out.path)
            return out
        }
    }
}
