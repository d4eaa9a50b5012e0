// BuiltTools.swift: running the built sito-* executables from a test, as a user runs them (the
// executables land next to the test bundle), and the assertion every bad-input case shares.
import Foundation
import XCTest

enum BuiltTools {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var seconds: Double
    }

    /// An executable built next to the test bundle (SwiftPM puts executables and the .xctest together).
    static func binary(_ name: String) throws -> URL {
        final class Anchor {}
        var folders = [Bundle.main.bundleURL, Bundle(for: Anchor.self).bundleURL.deletingLastPathComponent()]
        if let exe = Bundle.main.executableURL { folders.append(exe.deletingLastPathComponent()) }
        for folder in folders {
            let candidate = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw XCTSkip("\(name) is not built next to the tests (looked in \(folders.map(\.path)))")
    }

    /// Runs `tool` with `arguments` in `directory` (the test process's own when nil).
    static func run(_ tool: String, _ arguments: [String], in directory: URL? = nil) throws -> Run {
        let process = Process()
        process.executableURL = try binary(tool)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        // stderr is small; read stdout to the end first.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self), seconds: Date().timeIntervalSince(start))
    }

    /// Exit code 2, no crash, and every phrase present on stderr.
    static func assertBadInput(_ r: Run, _ phrases: [String], _ context: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 2, "\(context) stdout: \(r.stdout) stderr: \(r.stderr)", file: file, line: line)
        for p in phrases {
            XCTAssertTrue(r.stderr.contains(p), "\(context): missing \"\(p)\" in stderr:\n\(r.stderr)", file: file, line: line)
        }
        XCTAssertFalse(r.stderr.contains("Fatal error"), context, file: file, line: line)
    }
}
