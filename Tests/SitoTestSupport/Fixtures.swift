// Fixtures.swift: where the tests find the generated fixtures (tools/setup.sh makes them) and the
// committed goldens, and the temporary folders they work in.
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

public enum Fixtures {
    /// The repository root, from this file's path.
    public static let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let models = root.appendingPathComponent(".cache/fixtures/models")
    public static let goldens = root.appendingPathComponent("Tests/Fixtures/goldens")
    /// all-MiniLM-L6-v2 as downloaded (real weights, sentence-transformers files).
    public static let miniLM = root.appendingPathComponent(".cache/fixtures/all-minilm-l6-v2")

    /// A generated model folder; fails the test with the fix when it is missing.
    public static func model(_ name: String) throws -> URL {
        let url = models.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) else {
            XCTFail("fixture \(url.path) is missing: run tools/setup.sh")
            throw XCTSkip("missing fixture")
        }
        return url
    }

    public static func golden(_ name: String) -> String { goldens.appendingPathComponent(name).path }

    /// A fresh temporary folder, removed at process exit by the OS's tmp policy; tests clean up themselves.
    public static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sito-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A fresh temporary folder removed by `test`'s teardown.
    public static func temporaryFolder(removedAfter test: XCTestCase) throws -> URL {
        let url = try temporaryFolder()
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Copies a model folder (symlinking big files) so a test can break it.
    public static func copyModel(_ name: String) throws -> URL {
        let source = try model(name)
        let dest = try temporaryFolder().appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dest, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: dest.appendingPathComponent(file))
        }
        return dest
    }
}

/// A scratch folder on tmpfs when there is one: the converter and quantizer fsync every output.
public func scratchFolder(_ name: String) throws -> URL {
    let shm = URL(fileURLWithPath: "/dev/shm")
    var isDir: ObjCBool = false
    let base = FileManager.default.fileExists(atPath: shm.path, isDirectory: &isDir) && isDir.boolValue
        ? shm : FileManager.default.temporaryDirectory
    let url = base.appendingPathComponent("sito-\(name)-\(getpid())-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A scratch folder removed by `test`'s teardown.
public func scratchFolder(_ name: String, removedAfter test: XCTestCase) throws -> URL {
    let url = try scratchFolder(name)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}
