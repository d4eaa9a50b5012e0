// Aarch64ConformanceTests.swift: runs tools/edge/test-aarch64.sh from the package root, so `swift test`
// (and CI) also proves the aarch64 kernel paths: the conformance driver built natively and cross-compiled
// for aarch64-linux-gnu, run under qemu on Cortex-A53 (neon), Cortex-A76 (neon-dotprod) and max
// (neon-bf16, and SITO_ISA=neon-i8mm), every path against the scalar reference (the int8-a16 kernels'
// neon paths included: tools/edge/conformance/int_checks.c). Asserts exit status 0 and
// prints the script's summary. Without clang's aarch64 target, the cross libc/binutils or qemu-aarch64
// (the script's exit status 3) the test is skipped — unless the environment variable CI is set: then it
// fails, so CI cannot silently lose the aarch64 coverage (tools/setup.sh installs the tools).
// Also: the path-name functions follow each architecture's chain of levels (sito_kernels.h tables).
import CSitoKernels
import Foundation
import XCTest

final class Aarch64ConformanceTests: XCTestCase {
    /// The package root: three levels above this file (Tests/CSitoKernelsTests/<file>).
    private static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testPathNamesFollowTheLevelChains() {
        let name = { (f: (sito_isa) -> UnsafePointer<CChar>?, level: sito_isa) in String(cString: f(level)!) }
        let arm: [(sito_isa, i8: String, bf16: String)] = [
            (SITO_ISA_NEON, "neon", "neon"), (SITO_ISA_NEON_DOTPROD, "neon-dotprod", "neon"),
            (SITO_ISA_NEON_I8MM, "neon-i8mm", "neon"), (SITO_ISA_NEON_BF16, "neon-i8mm", "neon-bf16"),
        ]
        let top = sito_kernels_detect_isa()
        for (level, i8, bf16) in arm {
            if sito_isa_family_of(top) == SITO_ISA_FAMILY_ARM {
                guard level.rawValue <= top.rawValue else { continue }
                XCTAssertEqual(name(sito_gemm_i8_path_name, level), i8)
                XCTAssertEqual(name(sito_gemm_bf16_path_name, level), bf16)
                XCTAssertEqual(name(sito_quantize_path_name, level), "neon")
                XCTAssertEqual(name(sito_convert_path_name, level), "neon")
                XCTAssertEqual(name(sito_gemm_i8_a16_path_name, level), "neon")
            } else {
                // Another architecture's level runs the scalar reference here, and is named so.
                XCTAssertEqual(name(sito_gemm_i8_path_name, level), "scalar")
                XCTAssertEqual(name(sito_gemm_bf16_path_name, level), "scalar")
                XCTAssertEqual(name(sito_quantize_path_name, level), "scalar")
                XCTAssertEqual(name(sito_gemm_i8_a16_path_name, level), "scalar")
            }
        }
        if sito_isa_family_of(top) == SITO_ISA_FAMILY_X86 {
            XCTAssertEqual(name(sito_gemm_i8_path_name, SITO_ISA_AVX2), "avx2")
            XCTAssertEqual(name(sito_gemm_bf16_path_name, SITO_ISA_AVX2), "avx2")
            XCTAssertEqual(name(sito_quantize_path_name, SITO_ISA_AVX2), "avx2")
            XCTAssertEqual(name(sito_convert_path_name, SITO_ISA_AVX2), "scalar")
            XCTAssertEqual(name(sito_gemm_i8_a16_path_name, SITO_ISA_AVX2), "avx2")
        }
    }

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
