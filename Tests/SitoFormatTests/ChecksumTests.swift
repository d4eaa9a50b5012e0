// ChecksumTests.swift: the XXH64 implementation against reference vectors, streaming against one-shot,
// and per-tensor checksum verification naming the corrupt tensor (formats/sito.md, "Checksums").
import CSitoKernels
import Foundation
import SitoTestSupport
import XCTest
@testable import SitoFormat

final class ChecksumTests: XCTestCase {
    private func xxh64(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { sito_xxh64($0.baseAddress, $0.count, seed) }
    }

    func testReferenceVectors() {
        // Reference values from the `xxhash` package on PyPI (xxhash.xxh64(data, seed).intdigest()).
        XCTAssertEqual(sito_xxh64(nil, 0, 0), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(xxh64([]), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(xxh64(Array("a".utf8)), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(xxh64(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
        XCTAssertEqual(xxh64(Array("abc".utf8), seed: 42), 0x13C1_D910_7027_70E6)
        let digits = Array(String(repeating: "0123456789", count: 10).utf8) // 100 bytes: stripes + 4-byte + 1-byte tails
        XCTAssertEqual(xxh64(digits), 0xF80E_7B96_315A_FFFA)
        XCTAssertEqual(xxh64(digits, seed: 42), 0x5887_7BAA_9098_2D65)
        let ramp = (0..<768).map { UInt8($0 % 256) }
        XCTAssertEqual(xxh64(ramp), 0x8E03_C838_C596_036F)
        XCTAssertEqual(xxh64(ramp, seed: 42), 0x5A08_DEAD_05DF_1080)
        XCTAssertEqual(hex64(0xEF46_DB37_51D8_E999), "ef46db3751d8e999")
        XCTAssertEqual(hex64(0xA), "000000000000000a")
    }

    func testStreamingEqualsOneShot() {
        var rng = SplitMix64(seed: 0x5174_0001)
        for trial in 0..<200 {
            let length = Int(rng.next() % 600)
            let data = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let seed: UInt64 = trial % 3 == 0 ? 0 : rng.next()
            var state = sito_xxh64_state()
            sito_xxh64_reset(&state, seed)
            var start = 0
            while start < length {
                // Chunks of 0 to 70 bytes: empty updates, and chunks around the 32-byte stripe.
                let end = min(length, start + Int(rng.next() % 71))
                data[start..<end].withUnsafeBytes { sito_xxh64_update(&state, $0.baseAddress, $0.count) }
                start = end
            }
            XCTAssertEqual(sito_xxh64_digest(&state), xxh64(data, seed: seed), "trial \(trial), \(length) bytes")
        }
    }

    func testFlippedBitIsReportedWithTheTensorName() throws {
        let url = try Tiny.temporaryFolder(self).appendingPathComponent("flip.sito")
        try Tiny.write(Tiny.header(), to: url)
        var bytes = try [UInt8](Data(contentsOf: url))
        let sample = try Sample(bytes)
        let victim = sample.header.tensors[sample.index(of: "layers.0.attn.v.weight")]
        let position = sample.dataOffset + victim.offset + victim.bytes / 2
        bytes[position] ^= 0x10
        try Data(bytes).write(to: url)

        let actual = hex64(xxh64(Array(bytes[(sample.dataOffset + victim.offset)..<(sample.dataOffset + victim.offset + victim.bytes)])))
        let expected = SitoFormatError.checksumMismatch(path: url.path, tensor: victim.name, expected: victim.xxh64, actual: actual)
        XCTAssertNotEqual(actual, victim.xxh64)

        // Checksums are not read at open; verifyChecksums() and corruptTensors() find the tensor.
        let file = try SitoFile(contentsOf: url)
        XCTAssertThrowsError(try file.verifyChecksums()) { XCTAssertEqual($0 as? SitoFormatError, expected) }
        XCTAssertEqual(file.corruptTensors(), [victim.name])
        XCTAssertTrue(expected.errorDescription!.contains(victim.name))
        // The opt-in load option refuses the file.
        XCTAssertThrowsError(try SitoFile(contentsOf: url, options: SitoOpenOptions(verifyChecksums: true))) {
            XCTAssertEqual($0 as? SitoFormatError, expected)
        }
    }

    func testEveryCorruptTensorIsListed() throws {
        var bytes = try Tiny.bytes(test: self)
        let sample = try Sample(bytes)
        let victims = ["embeddings.word.weight", "head.out_proj.bias", "tokenizer.sentencepiece"]
        for name in victims {
            let e = sample.header.tensors[sample.index(of: name)]
            bytes[sample.dataOffset + e.offset + e.bytes - 1] ^= 0x01 // the last byte of each
        }
        let url = try Tiny.temporaryFolder(self).appendingPathComponent("many.sito")
        try Data(bytes).write(to: url)
        XCTAssertEqual(try SitoFile(contentsOf: url).corruptTensors(), victims)
        // The first in directory order is the one the throwing check names.
        XCTAssertThrowsError(try parse(bytes, options: SitoOpenOptions(verifyChecksums: true))) {
            guard case let .checksumMismatch(_, tensor, _, _)? = $0 as? SitoFormatError else { return XCTFail("\($0)") }
            XCTAssertEqual(tensor, "embeddings.word.weight")
        }
    }

    func testFlipInPaddingIsNotACorruptTensor() throws {
        var bytes = try Tiny.bytes(test: self)
        let sample = try Sample(bytes)
        let e = sample.header.tensors.last! // the tokenizer: 198 bytes followed by 58 bytes of padding
        bytes[sample.dataOffset + e.offset + e.bytes] ^= 0xFF
        XCTAssertNoThrow(try parse(bytes, options: SitoOpenOptions(verifyChecksums: true)))
    }

    func testChangedChecksumFieldIsReported() throws {
        let sample = try Sample(Tiny.bytes(test: self))
        let i = sample.index(of: "head.dense.weight")
        let bytes = try sample.with { $0.tensors[i].xxh64 = "0000000000000000" }
        assertRefused(bytes, .checksumMismatch(path: Tiny.path, tensor: "head.dense.weight", expected: "0000000000000000",
                                               actual: sample.header.tensors[i].xxh64),
                      options: SitoOpenOptions(verifyChecksums: true))
        XCTAssertNoThrow(try parse(bytes), "checksums are not verified at a plain open")
    }
}
