// ToolRunner.swift: runs the BUILT sito-* executables from the tests (SwiftPM builds them next to the test
// bundle), capturing exit status, stdout and stderr, and the assertion every bad-input test makes.
import Foundation
import XCTest

/// One finished run of a tool.
struct ToolRun {
    var status: Int32
    var stdout: String
    var stderr: String
    /// Wall time of the run.
    var seconds: Double
}

enum ToolRunner {
    private final class BundleMarker {}

    /// An executable built next to the test bundle.
    static func binary(_ name: String) throws -> URL {
        var folders = [Bundle.main.bundleURL, Bundle(for: BundleMarker.self).bundleURL.deletingLastPathComponent()]
        if let exe = Bundle.main.executableURL { folders.append(exe.deletingLastPathComponent()) }
        for folder in folders {
            let candidate = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw XCTSkip("\(name) is not built next to the tests (looked in \(folders.map(\.path)))")
    }

    /// Runs `tool` with `arguments` (and `stdin`, or /dev/null) to the end, in `directory` (the test
    /// process's own when nil).
    static func run(_ tool: String, _ arguments: [String], stdin: Data? = nil, in directory: URL? = nil,
                    environment: [String: String]? = nil) throws -> ToolRun {
        let process = Process()
        process.executableURL = try binary(tool)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        let start = Date()
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(stdin)
            try input.fileHandleForWriting.close()
        }
        // stderr is drained on another thread so that neither pipe can fill up and block the tool.
        nonisolated(unsafe) var stderr = Data()
        let drained = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            stderr = err.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return ToolRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self), seconds: Date().timeIntervalSince(start))
    }

    /// Exit code 2, one `tool: error:` line (or ArgumentParser's usage error), and every phrase present.
    static func assertBadInput(_ r: ToolRun, _ phrases: [String], _ context: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 2, "\(context) stdout: \(r.stdout) stderr: \(r.stderr)", file: file, line: line)
        for p in phrases {
            XCTAssertTrue(r.stderr.contains(p), "\(context): missing \"\(p)\" in stderr:\n\(r.stderr)", file: file, line: line)
        }
        XCTAssertFalse(r.stderr.contains("Fatal error"), context, file: file, line: line)
    }
}
