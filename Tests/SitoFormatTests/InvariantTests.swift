// InvariantTests.swift: one test per invariant of formats/sito.md ("Invariants"): a valid tiny file is
// broken by hand in exactly one way and the reader must refuse it with exactly the matching error.
import Foundation
import SitoTestSupport
import XCTest
@testable import SitoFormat

final class InvariantTests: XCTestCase {
    private var sample: Sample!
    private let p = Tiny.path

    override func setUpWithError() throws {
        sample = try Sample(Tiny.bytes(test: self))
        XCTAssertNoThrow(try parse(sample.bytes), "the unbroken sample must be valid")
    }

    private func entry(_ name: String) -> TensorEntry { sample.header.tensors[sample.index(of: name)] }

    /// The sample with `change` applied to the directory entry `name`.
    private func withTensor(_ name: String, _ change: @escaping (inout TensorEntry) -> Void) throws -> [UInt8] {
        let i = sample.index(of: name)
        return try sample.with { change(&$0.tensors[i]) }
    }

    /// A file written by SitoWriter (valid layout, checksums right) with this directory.
    private func written(_ tensors: [TensorEntry]) throws -> [UInt8] {
        try Tiny.bytes(Tiny.header(tensors: tensors), test: self)
    }

    /// The sample with the header's `section.key` set to `value` as untyped JSON (a value no enum knows).
    private func withField(_ section: String, _ key: String, _ value: String) throws -> [UInt8] {
        try sample.withJSON { object in
            var fields = object[section] as! [String: Any]
            fields[key] = value
            object[section] = fields
        }
    }

    private func assertBadMetadata(_ bytes: [UInt8], field: String, file: StaticString = #filePath, line: UInt = #line) {
        assertRefused(bytes, file: file, line: line) {
            guard case let .badMetadata(path, f, reason) = $0 else { return false }
            return path == Tiny.path && f == field && !reason.isEmpty
        }
    }

    // MARK: 1. size and magic

    func testTruncatedAtEveryLength() throws {
        // Every prefix of a valid file: < 16 bytes, inside the header, inside the padding, inside the
        // data. A prefix that only drops the zero padding after the last tensor is still valid.
        let bytes = sample.bytes
        let hl = UInt64(sample.headerLength)
        var counts = [String: Int]()
        for n in 0..<bytes.count {
            let prefix = Array(bytes[0..<n])
            let expected: SitoFormatError?
            if n < 16 {
                expected = .tooSmall(path: p, size: n)
            } else if n < sample.dataOffset {
                expected = .headerLength(path: p, length: hl, fileSize: n)
            } else if let t = sample.header.tensors.first(where: { sample.dataOffset + $0.offset + $0.bytes > n }) {
                expected = .outOfBounds(path: p, tensor: t.name, end: String(sample.dataOffset + t.offset + t.bytes), fileSize: n)
            } else {
                expected = nil
            }
            if let expected {
                XCTAssertThrowsError(try parse(prefix), "length \(n)") { XCTAssertEqual($0 as? SitoFormatError, expected, "length \(n)") }
                counts[String(describing: expected).prefix { $0 != "(" }.description, default: 0] += 1
            } else {
                XCTAssertNoThrow(try parse(prefix), "length \(n)")
                counts["valid", default: 0] += 1
            }
        }
        XCTAssertEqual(counts["tooSmall"], 16)
        XCTAssertGreaterThan(counts["headerLength"] ?? 0, sample.headerLength)
        XCTAssertGreaterThan(counts["outOfBounds"] ?? 0, 1000)
        XCTAssertGreaterThan(counts["valid"] ?? 0, 0, "the tokenizer blob is followed by padding")
    }

    func testTruncatedFilesOnDisk() throws {
        let folder = try Tiny.temporaryFolder(self)
        let last = sample.header.tensors.last!
        let cases: [(Int, (String) -> SitoFormatError)] = [
            (0, { .tooSmall(path: $0, size: 0) }),
            (15, { .tooSmall(path: $0, size: 15) }),
            (16, { .headerLength(path: $0, length: UInt64(self.sample.headerLength), fileSize: 16) }),
            (16 + sample.headerLength / 2, { .headerLength(path: $0, length: UInt64(self.sample.headerLength), fileSize: 16 + self.sample.headerLength / 2) }),
            (sample.dataOffset + last.offset, { .outOfBounds(path: $0, tensor: last.name, end: String(self.sample.dataOffset + last.offset + last.bytes), fileSize: self.sample.dataOffset + last.offset) }),
        ]
        for (n, expected) in cases {
            let url = folder.appendingPathComponent("cut-\(n).sito")
            try Data(sample.bytes[0..<n]).write(to: url)
            XCTAssertThrowsError(try SitoFile(contentsOf: url)) { XCTAssertEqual($0 as? SitoFormatError, expected(url.path), "length \(n)") }
        }
    }

    func testCannotOpen() throws {
        let folder = try Tiny.temporaryFolder(self)
        let missing = folder.appendingPathComponent("missing.sito")
        XCTAssertThrowsError(try SitoFile(contentsOf: missing)) {
            guard case let .cannotOpen(path, reason)? = $0 as? SitoFormatError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, missing.path)
            XCTAssertTrue(reason.contains("No such file"), reason)
        }
        XCTAssertThrowsError(try SitoFile(contentsOf: folder)) {
            XCTAssertEqual($0 as? SitoFormatError, .cannotOpen(path: folder.path, reason: "not a regular file"))
        }
    }

    func testBadMagic() {
        var bytes = sample.bytes
        bytes.replaceSubrange(0..<4, with: Array("GGUF".utf8))
        assertRefused(bytes, .badMagic(path: p, found: [0x47, 0x47, 0x55, 0x46]))
        bytes.replaceSubrange(0..<4, with: Array("sito".utf8))
        assertRefused(bytes, .badMagic(path: p, found: Array("sito".utf8)))
        // A safetensors file (8-byte length, then '{') is not a .sito file either.
        assertRefused([0x10, 0, 0, 0, 0, 0, 0, 0] + Array("{\"a\":1}         ".utf8), .badMagic(path: p, found: [0x10, 0, 0, 0]))
    }

    // MARK: 2. version

    private func withVersion(_ v: UInt32) -> [UInt8] {
        var bytes = sample.bytes
        withUnsafeBytes(of: v.littleEndian) { bytes.replaceSubrange(4..<8, with: $0) }
        return bytes
    }

    func testVersionZero() {
        assertRefused(withVersion(0), .unsupportedVersion(path: p, version: 0))
    }

    func testFutureVersionSaysUpgrade() {
        assertRefused(withVersion(3), .newerVersion(path: p, version: 3))
        assertRefused(withVersion(.max), .newerVersion(path: p, version: .max))
        let message = SitoFormatError.newerVersion(path: p, version: 3).errorDescription!
        XCTAssertTrue(message.contains("newer Sito (format 3)"), message)
        XCTAssertTrue(message.contains("reads format 2"), message)
        XCTAssertTrue(message.contains("upgrade"), message)
        XCTAssertFalse(message.contains("corrupt"), message)
    }

    // MARK: 3. header length

    func testHeaderLengthHugeOrPastTheEnd() {
        let size = sample.bytes.count
        for length: UInt64 in [0, 1, UInt64(size - 15), UInt64(SitoLayout.maxHeaderLength) + 1, 1 << 40, 1 << 63, .max] {
            var bytes = sample.bytes
            withUnsafeBytes(of: length.littleEndian) { bytes.replaceSubrange(8..<16, with: $0) }
            assertRefused(bytes, .headerLength(path: p, length: length, fileSize: size))
        }
        // Exactly the limit is not refused for its size, only because this file is much smaller.
        let atLimit = sample.rebuilt(json: Array("{}".utf8), headerLength: UInt64(SitoLayout.maxHeaderLength))
        assertRefused(atLimit, .headerLength(path: p, length: UInt64(SitoLayout.maxHeaderLength), fileSize: atLimit.count))
    }

    func testHeaderLengthThatSwallowsTheDataIsNotJSON() {
        // 16 + header_length == file size passes the length check; the "header" then ends in binary data.
        var bytes = sample.bytes
        withUnsafeBytes(of: UInt64(bytes.count - 16).littleEndian) { bytes.replaceSubrange(8..<16, with: $0) }
        assertRefused(bytes) { if case .headerNotJSON = $0 { return true } else { return false } }
    }

    // MARK: 4. header JSON

    func testHeaderNotJSON() {
        for text in ["not json", "[1, 2, 3]", "\"sito\"", "{\"sito\": 1", "{}", "nu"] {
            let error = assertRefused(sample.rebuilt(json: Array(text.utf8))) {
                if case .headerNotJSON(Tiny.path, _) = $0 { return true } else { return false }
            }
            XCTAssertNotNil(error, text)
        }
        // Invalid UTF-8 inside a string.
        var json = Array("{\"sito\": \"".utf8)
        json += [0xFF, 0xFE]
        json += Array("\"}".utf8)
        assertRefused(sample.rebuilt(json: json)) { if case .headerNotJSON = $0 { return true } else { return false } }
    }

    func testHeaderMissingKey() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("model", { $0["model"] = nil }),
            ("tensors", { $0["tensors"] = nil }),
            ("model.heads", { var m = $0["model"] as! [String: Any]; m["heads"] = nil; $0["model"] = m }),
            ("tokenizer.specials", { var t = $0["tokenizer"] as! [String: Any]; t["specials"] = nil; $0["tokenizer"] = t }),
            ("tensors[2].xxh64", { var t = $0["tensors"] as! [[String: Any]]; t[2]["xxh64"] = nil; $0["tensors"] = t }),
        ]
        for (key, change) in cases {
            assertRefused(try sample.withJSON(change), .headerNotJSON(path: p, reason: "missing key \(key)"))
        }
    }

    func testHeaderWrongTypeOrNull() throws {
        assertRefused(try sample.withJSON { var m = $0["model"] as! [String: Any]; m["layers"] = "one"; $0["model"] = m },
                      .headerNotJSON(path: p, reason: "wrong type at model.layers"))
        assertRefused(try sample.withJSON { $0["tensors"] = ["name": "x"] },
                      .headerNotJSON(path: p, reason: "wrong type at tensors"))
        assertRefused(try sample.withJSON { $0["sito"] = NSNull() }) {
            if case .headerNotJSON(Tiny.path, let reason) = $0 { return reason.contains("sito") } else { return false }
        }
        // A number too large for Int is refused, not trapped on.
        let huge = String(decoding: try SitoWriter.encode(sample.header), as: UTF8.self)
            .replacingOccurrences(of: "\"offset\":0,", with: "\"offset\":1e30,")
        assertRefused(sample.rebuilt(json: Array(huge.utf8))) {
            if case .headerNotJSON(Tiny.path, _) = $0 { return true } else { return false }
        }
    }

    func testHeaderUnknownKeysAreIgnored() throws {
        let bytes = try sample.withJSON { $0["future_field"] = ["anything": [1, 2, 3]] }
        XCTAssertNoThrow(try parse(bytes))
    }

    func testHeaderVersionDiffersFromPreamble() throws {
        assertRefused(try sample.with { $0.sito = 2 }, .headerVersionMismatch(path: p, header: 2, preamble: 1))
        assertRefused(try sample.with { $0.sito = 0 }, .headerVersionMismatch(path: p, header: 0, preamble: 1))
    }

    // MARK: 6. names, dtypes, shapes

    func testBadTensorName() throws {
        for bad in ["", "Embeddings.word.weight", "a b", "a/b", "a-b", "ż", "a\u{0}b", String(repeating: "a", count: 256)] {
            assertRefused(try withTensor("head.dense.bias") { $0.name = bad }, .badTensorName(path: p, name: bad))
        }
        // 255 bytes of [a-z0-9_.] is fine (schema off: the name is not in the architecture).
        let longest = String(repeating: "a", count: 255)
        XCTAssertNoThrow(try parse(try withTensor("head.dense.bias") { $0.name = longest }, options: SitoOpenOptions(checkSchema: false)))
    }

    func testDuplicateTensorName() throws {
        let bytes = try sample.with { $0.tensors[1].name = $0.tensors[0].name }
        assertRefused(bytes, .duplicateTensor(path: p, name: "embeddings.word.weight"))
    }

    func testUnknownDType() throws {
        let json = String(decoding: try SitoWriter.encode(sample.header), as: UTF8.self)
        let name = sample.header.tensors[0].name
        let broken = json.replacingOccurrences(of: "\"dtype\":\"f32\"", with: "\"dtype\":\"q4_0\"")
        assertRefused(sample.rebuilt(json: Array(broken.utf8)), .unknownDType(path: p, tensor: name, dtype: "q4_0"))
        let upper = json.replacingOccurrences(of: "\"dtype\":\"f32\"", with: "\"dtype\":\"F32\"")
        assertRefused(sample.rebuilt(json: Array(upper.utf8)), .unknownDType(path: p, tensor: name, dtype: "F32"))
    }

    func testBadShape() throws {
        for shape in [[1, 1, 1, 1, 8], [0, 8], [8, 0], [-8], [-1, -8], [SitoLayout.maxDimension + 1]] {
            assertRefused(try withTensor("head.dense.bias") { $0.shape = shape }, .badShape(path: p, tensor: "head.dense.bias", shape: shape))
        }
        // Rank 0 (a scalar) and rank 4 are well-formed.
        let scalar = try withTensor("head.dense.bias") { $0.shape = []; $0.bytes = 4 }
        XCTAssertNoThrow(try parse(scalar, options: SitoOpenOptions(checkSchema: false)))
    }

    // MARK: 7. byte sizes

    func testByteSizeMismatch() throws {
        for declared in [31, 33, 0, -32, 64] {
            assertRefused(try withTensor("head.dense.bias") { $0.bytes = declared },
                          .byteSizeMismatch(path: p, tensor: "head.dense.bias", declared: declared, expected: 32))
        }
    }

    func testShapeWhoseByteSizeOverflows() throws {
        let d = SitoLayout.maxDimension
        for shape in [[d, d], [d, 1 << 23], [1 << 31, 1 << 31, 2], [1 << 16, 1 << 16, 1 << 16, 1 << 16]] {
            assertRefused(try withTensor("head.dense.bias") { $0.shape = shape; $0.bytes = 32 },
                          .sizeOverflow(path: p, tensor: "head.dense.bias"))
        }
        // The largest product that fits is a size mismatch, not an overflow.
        assertRefused(try withTensor("head.dense.bias") { $0.shape = [d, 1 << 20] },
                      .byteSizeMismatch(path: p, tensor: "head.dense.bias", declared: 32, expected: 1 << 62))
    }

    // MARK: 8. alignment and bounds

    func testMisalignedOffset() throws {
        let e = entry("head.dense.bias")
        for delta in [1, 8, 32, 63] {
            assertRefused(try withTensor(e.name) { $0.offset += delta }, .misaligned(path: p, tensor: e.name, offset: e.offset + delta))
        }
        assertRefused(try withTensor(e.name) { $0.offset = -64 }, .misaligned(path: p, tensor: e.name, offset: -64))
    }

    func testOutOfBounds() throws {
        let e = entry("head.out_proj.weight")
        // The edited header may be longer, so the data offset and file size come from the edited file.
        func assertPastTheEnd(offset: Int, shape: [Int]? = nil, bytes: Int? = nil, overflow: Bool = false, line: UInt = #line) throws {
            let broken = try withTensor(e.name) {
                $0.offset = offset
                if let shape { $0.shape = shape }
                if let bytes { $0.bytes = bytes }
            }
            let edited = try Sample(broken)
            let end = overflow ? "(overflow)" : String(edited.dataOffset + offset + (bytes ?? e.bytes))
            assertRefused(broken, .outOfBounds(path: p, tensor: e.name, end: end, fileSize: broken.count), line: line)
        }
        try assertPastTheEnd(offset: e.offset + 64 * 1000)
        // One alignment step past the last tensor's slot.
        let last = sample.header.tensors.last!
        try assertPastTheEnd(offset: (last.offset + last.bytes + 63) / 64 * 64)
        // data_offset + offset + bytes overflows Int (used to trap while computing the message).
        try assertPastTheEnd(offset: Int.max / 64 * 64, overflow: true)
        // offset + bytes itself overflows Int.
        try assertPastTheEnd(offset: Int.max / 64 * 64 - (1 << 61), shape: [1 << 40, 1 << 20], bytes: 1 << 62, overflow: true)
    }

    // MARK: 9. overlaps

    func testOverlap() throws {
        let weight = entry("head.dense.weight") // 8 × 8 f32 = 256 bytes
        XCTAssertEqual(weight.bytes, 256)
        assertRefused(try withTensor("head.dense.bias") { $0.offset = weight.offset + 64 },
                      .overlap(path: p, first: "head.dense.weight", second: "head.dense.bias"))
        // A big tensor that swallows two small ones is caught at its first neighbour.
        let word = entry("embeddings.word.weight")
        let bytes = try sample.with {
            $0.tensors[sample.index(of: "head.dense.bias")].offset = word.offset + 128
            $0.tensors[sample.index(of: "head.out_proj.bias")].offset = word.offset + 320
        }
        assertRefused(bytes, .overlap(path: p, first: "embeddings.word.weight", second: "head.dense.bias"))
        // Touching is not overlapping: in the valid sample the position table starts right where the
        // 512-byte word table ends.
        XCTAssertEqual(word.offset + word.bytes, entry("embeddings.position.weight").offset)
    }

    // MARK: 10. int8 scales

    func testInt8WithoutScale() throws {
        let bytes = try written([Tiny.entry("tokenizer.sentencepiece", .u8, [4]), Tiny.entry("w", .i8, [4, 3])])
        assertRefused(bytes, .missingScale(path: p, tensor: "w"))
    }

    func testOrphanScale() throws {
        let f32Owner = try written([Tiny.entry("tokenizer.sentencepiece", .u8, [4]), Tiny.entry("w", .f32, [4, 3]), Tiny.entry("w.scale", .f32, [4])])
        assertRefused(f32Owner, .orphanScale(path: p, tensor: "w.scale"))
        let noOwner = try written([Tiny.entry("tokenizer.sentencepiece", .u8, [4]), Tiny.entry("v.scale", .f32, [4])])
        assertRefused(noOwner, .orphanScale(path: p, tensor: "v.scale"))
    }

    func testBadScaleShapeOrDType() throws {
        let wrongRows = try written([Tiny.entry("tokenizer.sentencepiece", .u8, [4]), Tiny.entry("w", .i8, [4, 3]), Tiny.entry("w.scale", .f32, [3])])
        assertRefused(wrongRows, .badScaleShape(path: p, tensor: "w.scale", shape: [3], expected: [4]))
        let wrongDType = try written([Tiny.entry("tokenizer.sentencepiece", .u8, [4]), Tiny.entry("w", .i8, [4, 3]), Tiny.entry("w.scale", .f16, [4])])
        assertRefused(wrongDType, .badScaleShape(path: p, tensor: "w.scale", shape: [4], expected: [4]))
    }

    func testInt8ThatIsNotAMatrix() throws {
        // Used to trap on `shape[0]` of a scalar.
        let scalar = try written([Tiny.entry("tokenizer.sentencepiece", .u8, [4]), Tiny.entry("w", .i8, []), Tiny.entry("w.scale", .f32, [1])])
        assertRefused(scalar, .badShape(path: p, tensor: "w", shape: []))
        let vector = try written([Tiny.entry("tokenizer.sentencepiece", .u8, [4]), Tiny.entry("w", .i8, [4]), Tiny.entry("w.scale", .f32, [4])])
        assertRefused(vector, .badShape(path: p, tensor: "w", shape: [4]))
    }

    // MARK: checksum field

    func testBadChecksumField() throws {
        for value in ["", "XYZ", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "0123456789abcdeg", " 123456789abcdef"] {
            assertRefused(try withTensor("head.dense.bias") { $0.xxh64 = value },
                          .badChecksumField(path: p, tensor: "head.dense.bias", value: value))
        }
    }

    // MARK: 11. the architecture's inventory

    func testMissingRequiredTensor() throws {
        let bytes = try sample.with { $0.tensors.removeAll { $0.name == "layers.0.ffn.up.bias" } }
        assertRefused(bytes, .missingTensor(path: p, tensor: "layers.0.ffn.up.bias", architecture: .xlmRoberta))
        XCTAssertNoThrow(try parse(bytes, options: SitoOpenOptions(checkSchema: false)))
    }

    func testUnexpectedTensor() throws {
        let bytes = try written(Tiny.entries() + [Tiny.entry("extra.weight", .f32, [2])])
        assertRefused(bytes, .unexpectedTensor(path: p, tensor: "extra.weight", architecture: .xlmRoberta))
        XCTAssertNoThrow(try parse(bytes, options: SitoOpenOptions(checkSchema: false)))
        // The pooler of a BERT model is not part of an xlm-roberta one.
        let pooler = try written(Tiny.entries() + [Tiny.entry("pooler.dense.bias", .f32, [8])])
        assertRefused(pooler, .unexpectedTensor(path: p, tensor: "pooler.dense.bias", architecture: .xlmRoberta))
    }

    func testWrongShape() throws {
        let bytes = try withTensor("head.dense.bias") { $0.shape = [4]; $0.bytes = 16 }
        assertRefused(bytes, .wrongShape(path: p, tensor: "head.dense.bias", shape: [4], expected: [8]))
        let transposed = try withTensor("layers.0.ffn.up.weight") { $0.shape = [8, 16] }
        assertRefused(transposed, .wrongShape(path: p, tensor: "layers.0.ffn.up.weight", shape: [8, 16], expected: [16, 8]))
        XCTAssertNoThrow(try parse(bytes, options: SitoOpenOptions(checkSchema: false)))
    }

    func testWrongDType() throws {
        let half = try withTensor("head.dense.bias") { $0.dtype = .f16; $0.bytes = 16 }
        assertRefused(half, .wrongDType(path: p, tensor: "head.dense.bias", dtype: .f16, allowed: [.f32]))
        // Tables may be f32/f16/bf16 but not int8.
        var entries = Tiny.entries()
        let i = entries.firstIndex { $0.name == "embeddings.position.weight" }!
        entries[i].dtype = .i8
        entries.insert(Tiny.entry("embeddings.position.weight.scale", .f32, [20]), at: i + 1)
        assertRefused(try written(entries), .wrongDType(path: p, tensor: "embeddings.position.weight", dtype: .i8, allowed: [.f32, .f16, .bf16]))
    }

    // MARK: 12–13. metadata

    func testBadMetadata() throws {
        assertBadMetadata(try sample.with { $0.model.heads = 3 }, field: "model.heads")
        assertBadMetadata(try sample.with { $0.model.heads = 0 }, field: "model.heads")
        assertBadMetadata(try sample.with { $0.input.maxLength = 19 }, field: "input.max_length")
        assertBadMetadata(try sample.with { $0.input.maxLength = 0 }, field: "input.max_length")
        assertBadMetadata(try sample.with { $0.model.layers = 1_000_000 }, field: "model.layers")
        assertBadMetadata(try sample.with { $0.model.vocab = 0 }, field: "model.vocab")
        assertBadMetadata(try sample.with { $0.model.layerNormEps = 0 }, field: "model.layer_norm_eps")
        assertBadMetadata(try withField("model", "activation", "relu"), field: "model.activation")
        assertBadMetadata(try withField("model", "output_activation", "tanh"), field: "model.output_activation")
        assertBadMetadata(try withField("input", "recipe", "triple"), field: "input.recipe")
        assertBadMetadata(try sample.with { $0.input.separator = nil }, field: "input.separator")
        assertBadMetadata(try withField("tokenizer", "kind", "tiktoken"), field: "tokenizer.kind")
        assertBadMetadata(try sample.with { $0.tokenizer.tensor = "tokenizer.wordpiece" }, field: "tokenizer.tensor")
        assertBadMetadata(try sample.with { $0.tokenizer.tensor = "head.dense.bias" }, field: "tokenizer.tensor")
        assertBadMetadata(try sample.with { $0.tokenizer.modelVocab = 17 }, field: "tokenizer.model_vocab")
        assertBadMetadata(try sample.with { $0.tokenizer.specials.mask = 16 }, field: "tokenizer.specials")
        assertBadMetadata(try sample.with { $0.tokenizer.specials.pad = -1 }, field: "tokenizer.specials")
        assertBadMetadata(try sample.with { $0.tokenizer.addedTokens[0].id = 16 }, field: "tokenizer.added_tokens")
        assertBadMetadata(try sample.with { $0.tokenizer.idOverrides = [[1]] }, field: "tokenizer.id_overrides")
        assertBadMetadata(try sample.with { $0.tokenizer.idOverrides = [[0, 16]] }, field: "tokenizer.id_overrides")
        // The boundary itself is valid: max_length + position_offset == max_positions.
        XCTAssertNoThrow(try parse(try sample.with { $0.input.maxLength = 18 }))
    }

    func testUnknownArchitecture() throws {
        assertRefused(try sample.withJSON { $0["architecture"] = "gpt2" },
                      .badMetadata(path: p, field: "architecture", reason: "\"gpt2\" is not xlm-roberta or bert"))
        assertRefused(try sample.with { $0.architecture = .bert },
                      .unsupportedArchitecture(path: p, architecture: .bert, task: .sequenceClassification, head: .roberta))
        assertRefused(try sample.withJSON { $0["task"] = "generation" },
                      .badMetadata(path: p, field: "task", reason: "\"generation\" is not sequence-classification or embedding"))
    }

    func testHyperparametersThatDisagreeWithTheTensors() throws {
        // max_positions 30 needs a 30-row position table; the file has 20 rows.
        assertRefused(try sample.with { $0.model.maxPositions = 30 },
                      .wrongShape(path: p, tensor: "embeddings.position.weight", shape: [20, 8], expected: [30, 8]))
        assertRefused(try sample.with { $0.model.layers = 2 },
                      .missingTensor(path: p, tensor: "layers.1.attn.q.weight", architecture: .xlmRoberta))
    }

    // MARK: errors read well

    func testEveryErrorNamesTheFile() {
        let errors: [SitoFormatError] = [
            .tooSmall(path: p, size: 3), .badMagic(path: p, found: [1, 2, 3, 4]), .unsupportedVersion(path: p, version: 0),
            .headerLength(path: p, length: 9, fileSize: 3), .unknownDType(path: p, tensor: "t", dtype: "q4"),
            .outOfBounds(path: p, tensor: "t", end: "99", fileSize: 3), .overlap(path: p, first: "a", second: "b"),
            .checksumMismatch(path: p, tensor: "t", expected: "0", actual: "1"),
        ]
        for e in errors {
            XCTAssertTrue(e.errorDescription!.hasPrefix("\(p): "), e.errorDescription!)
        }
    }

    // MARK: 14. quantization plan

    /// A quantized tiny file whose header carries `plan`.
    private func planned(_ plan: [String: ProjectionScheme]) throws -> [UInt8] {
        var header = Tiny.header(quantized: true)
        header.quantization?.plan = plan
        return try Tiny.bytes(header, test: self)
    }

    func testPlanEntriesNameProjectionsOfTheSchemesDType() throws {
        XCTAssertNoThrow(try parse(planned(["layers.0.attn.q": .int8TwoPass, "layers.0.ffn.down": .int8, "head.dense": .int8])))
        let field = { (name: String) in "quantization.plan[\"\(name)\"]" }
        assertBadMetadata(try planned(["layers.0.attn.q": .bf16]), field: field("layers.0.attn.q"))   // an i8 weight
        assertBadMetadata(try planned(["layers.3.attn.q": .int8]), field: field("layers.3.attn.q"))   // no such layer
        assertBadMetadata(try planned(["embeddings.word": .int8]), field: field("embeddings.word"))   // not a projection
    }

    func testUnknownPlanSchemeNamesTheEntryAndTheKnownSchemes() throws {
        let bytes = try Sample(planned(["layers.0.attn.q": .int8])).withJSON { object in
            var q = object["quantization"] as! [String: Any]
            q["plan"] = ["layers.0.attn.q": "int4"]
            object["quantization"] = q
        }
        assertRefused(bytes) {
            guard case let .badMetadata(_, field, reason) = $0 else { return false }
            return field == "quantization.plan[\"layers.0.attn.q\"]" && reason.contains("int4") && reason.contains("int8-two-pass")
        }
    }
}
