// Fixtures.swift: where the tests find the generated fixtures (tools/setup.sh makes them) and the
// committed goldens.
import Foundation
import XCTest

enum Fixtures {
    /// The repository root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let models = root.appendingPathComponent(".cache/fixtures/models")
    static let goldens = root.appendingPathComponent("Tests/Fixtures/goldens")

    /// A generated model folder; fails the test with the fix when it is missing.
    static func model(_ name: String) throws -> URL {
        let url = models.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) else {
            XCTFail("fixture \(url.path) is missing: run tools/setup.sh")
            throw XCTSkip("missing fixture")
        }
        return url
    }

    static func golden(_ name: String) -> String { goldens.appendingPathComponent(name).path }

    /// A fresh temporary folder, removed at process exit by the OS's tmp policy; tests clean up themselves.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sito-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Copies a model folder (symlinking big files) so a test can break it.
    static func copyModel(_ name: String) throws -> URL {
        let source = try model(name)
        let dest = try temporaryFolder().appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dest, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: dest.appendingPathComponent(file))
        }
        return dest
    }
}
