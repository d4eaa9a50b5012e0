// Aarch64ConformanceTests.swift: runs tools/edge/test-aarch64.sh from the package root, so `swift test`
// (and CI) also proves the aarch64 kernel paths: the conformance driver built natively and cross-compiled
// for aarch64-linux-gnu, run under qemu on Cortex-A53 (neon), Cortex-A76 (neon-dotprod) and max
// (neon-bf16, and SITO_ISA=neon-i8mm), every path against the scalar reference. Asserts exit status 0 and
// prints the script's summary. Without clang's aarch64 target, the cross libc/binutils or qemu-aarch64
// (the script's exit status 3) the test is skipped — unless the environment variable CI is set: then it
// fails, so CI cannot silently lose the aarch64 coverage (tools/setup.sh installs the tools).
import Foundation
import XCTest

final class Aarch64ConformanceTests: XCTestCase {
    /// The package root: three levels above this file (Tests/CSitoKernelsTests/<file>).
    private static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testConformanceNativeAndUnderQemu() throws {
        let script = Self.packageRoot.appendingPathComponent("tools/edge/test-aarch64.sh")
        guard FileManager.default.fileExists(atPath: script.path) else {
            XCTFail("missing \(script.path)")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path]
        process.currentDirectoryURL = Self.packageRoot
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()   // until the script closes it
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        print(text)
        let status = process.terminationStatus
        if status == 3 {
            let reason = "aarch64 cross tools or qemu missing (tools/setup.sh installs them):\n\(text)"
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("CI is set, so the aarch64 conformance run must not be skipped: \(reason)")
                return
            }
            throw XCTSkip(reason)
        }
        XCTAssertEqual(status, 0, "tools/edge/test-aarch64.sh failed (exit \(status)); its output is above")
        XCTAssertTrue(text.contains("conformance:"), "no conformance summary in the output")
    }
}
