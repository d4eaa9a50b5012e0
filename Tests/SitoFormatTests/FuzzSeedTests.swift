// FuzzSeedTests.swift: writes the seed corpus of the sito-fuzz harness (README, "Fuzzing") when
// SITO_FUZZ_SEEDS names a folder; skipped otherwise. Seeds are small valid files (a few KB), each
// prefixed with sito-fuzz's selector byte: 0x00 .sito, 0x02 .sito without the schema check,
// 0x04 .sito with checksums, 0x01 safetensors.
//
//   SITO_FUZZ_SEEDS=.cache/fuzz/seeds swift test --scratch-path .build-rel --filter FuzzSeedTests
import Foundation
import SitoTestSupport
import XCTest
@testable import SitoFormat

final class FuzzSeedTests: XCTestCase {
    func testWriteSeeds() throws {
        guard let folder = ProcessInfo.processInfo.environment["SITO_FUZZ_SEEDS"] else {
            throw XCTSkip("set SITO_FUZZ_SEEDS=<folder> to write the fuzz seed corpus")
        }
        let url = URL(fileURLWithPath: folder)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        var seeds: [(String, [UInt8])] = []
        let f32 = try Tiny.bytes(test: self)
        let int8 = try Tiny.bytes(Tiny.header(quantized: true), test: self)
        for (selector, suffix) in [(UInt8(0), ""), (2, "-noschema"), (4, "-checksums")] {
            seeds.append(("sito-f32\(suffix)", [selector] + f32))
            seeds.append(("sito-int8\(suffix)", [selector] + int8))
        }
        // A .sito whose tensor data is cut off: the header and directory still get parsed.
        seeds.append(("sito-f32-header-only", [0] + Array(f32.prefix(Int(f32.count / 2)))))
        // safetensors: float, bf16 and integer tensors with metadata; an empty file of tensors; a scalar.
        func st(_ header: String, data: Int) -> [UInt8] {
            var out: [UInt8] = [1]
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out += $0 }
            return out + Array(header.utf8) + [UInt8](repeating: 0x3F, count: data)
        }
        seeds.append(("st-mixed", st(#"{"__metadata__":{"format":"pt"},"a.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]},"position_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[32,48]}}"#, data: 48)))
        seeds.append(("st-f16", st(#"{"x":{"dtype":"F16","shape":[2,2,2],"data_offsets":[0,16]},"y":{"dtype":"U8","shape":[3],"data_offsets":[16,19]}}"#, data: 19)))
        seeds.append(("st-empty", st(#"{}"#, data: 0)))
        seeds.append(("st-scalar", st(#"{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"z":{"dtype":"BOOL","shape":[0],"data_offsets":[8,8]}}"#, data: 8)))
        for (name, bytes) in seeds {
            try Data(bytes).write(to: url.appendingPathComponent(name))
        }
        print("FuzzSeedTests: wrote \(seeds.count) seeds to \(folder) (largest \(seeds.map(\.1.count).max()!) bytes)")
    }
}
