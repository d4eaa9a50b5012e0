// ISASelectionTests.swift: run-time instruction-set detection, its names, and sito_kernels_set_isa
// clamping to what this CPU has.
import CSitoKernels
import Foundation
import XCTest

final class ISASelectionTests: XCTestCase {
    func testDetectionAndNames() {
        let detected = sito_kernels_detect_isa()
        XCTAssertLessThanOrEqual(sito_kernels_isa().rawValue, detected.rawValue)
        XCTAssertEqual(String(cString: sito_kernels_isa_name(SITO_ISA_SCALAR)), "scalar")
        XCTAssertEqual(String(cString: sito_kernels_isa_name(SITO_ISA_AVX512_BF16)), "avx512bf16")
        XCTAssertEqual(String(cString: sito_kernels_isa_name(sito_isa(rawValue: 99))), "?")
        XCTAssertEqual(String(cString: sito_gemm_i8_path_name(SITO_ISA_SCALAR)), "scalar")
        XCTAssertEqual(String(cString: sito_gemm_bf16_path_name(SITO_ISA_SCALAR)), "scalar")
        print("CSitoKernels: detected \(String(cString: sito_kernels_isa_name(detected))); int8 GEMM path "
              + "\(String(cString: sito_gemm_i8_path_name(detected))), bf16 GEMM path "
              + "\(String(cString: sito_gemm_bf16_path_name(detected)))")
    }

    func testSetISAClampsToDetected() {
        let original = sito_kernels_isa()
        defer { sito_kernels_set_isa(original) }
        XCTAssertEqual(sito_kernels_set_isa(SITO_ISA_SCALAR), SITO_ISA_SCALAR)
        XCTAssertEqual(sito_kernels_isa(), SITO_ISA_SCALAR)
        XCTAssertEqual(sito_kernels_set_isa(SITO_ISA_AVX512_BF16), sito_kernels_detect_isa())
    }

    #if arch(x86_64)
    func testDevelopmentMachineLevel() throws {
        // On a CPU that reports AVX512_BF16 in /proc/cpuinfo the detector must find the top level.
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { throw XCTSkip("no /proc/cpuinfo") }
        let flags = Set(cpuinfo.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
        if flags.contains("avx512_bf16") && flags.contains("avx512_vnni") && flags.contains("avx512bw") {
            XCTAssertEqual(sito_kernels_detect_isa(), SITO_ISA_AVX512_BF16)
        } else if flags.contains("avx2") && flags.contains("fma") {
            XCTAssertGreaterThanOrEqual(sito_kernels_detect_isa().rawValue, SITO_ISA_AVX2.rawValue)
        }
    }
    #endif
}
