// SafetensorsTests.swift: hand-built broken safetensors headers, each with its own error.
import Foundation
import SitoTestSupport
@testable import SitoTools
import XCTest

final class SafetensorsTests: XCTestCase {
    func parse(_ header: String, dataSize: Int) throws -> [SafetensorsTensor] {
        try SafetensorsFile.parseHeader(Array(header.utf8), path: "t.safetensors", dataStart: 100, fileSize: 100 + dataSize)
    }

    func testValid() throws {
        let t = try parse(#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[16,24]}}"#, dataSize: 24)
        XCTAssertEqual(t.map(\.name), ["a", "b"])
        XCTAssertEqual(t[1].fileOffset, 116)
    }

    func testErrors() {
        let cases: [(String, Int, SafetensorsError)] = [
            ("[]", 0, .headerNotJSON(path: "t.safetensors", reason: "")),
            (#"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,8]}}"#, 8, .unsupportedDType(path: "t.safetensors", tensor: "a", dtype: "Q4")),
            (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8, .sizeMismatch(path: "t.safetensors", tensor: "a", declared: 8, expected: 12)),
            (#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, 8, .overflow(path: "t.safetensors", tensor: "a")),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, 8, .outOfBounds(path: "t.safetensors", tensor: "a")),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, 12, .overlap(path: "t.safetensors", first: "a", second: "b")),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, 16, .hole(path: "t.safetensors", at: 0)),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 12, .hole(path: "t.safetensors", at: 8)),
            (#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#, 8, .badEntry(path: "t.safetensors", tensor: "a", reason: "")),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, 8, .badEntry(path: "t.safetensors", tensor: "a", reason: "")),
        ]
        for (header, size, expected) in cases {
            XCTAssertThrowsError(try parse(header, dataSize: size), header) { error in
                guard let e = error as? SafetensorsError else { return XCTFail("\(error)") }
                switch (e, expected) {
                case (.headerNotJSON, .headerNotJSON), (.badEntry, .badEntry): break
                default: XCTAssertEqual(e, expected, header)
                }
                XCTAssertTrue(e.errorDescription?.hasPrefix("t.safetensors") ?? false)
            }
        }
    }

    func testTruncatedFile() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("m.safetensors").path
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes[0] = 0xFF; bytes[1] = 0xFF; bytes[2] = 0xFF
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { error in
            guard case .headerLength? = error as? SafetensorsError else { return XCTFail("\(error)") }
        }
        _ = FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]))
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { error in
            XCTAssertEqual(error as? SafetensorsError, .tooSmall(path: path, size: 3))
        }
    }
}
