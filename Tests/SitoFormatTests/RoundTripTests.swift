// RoundTripTests.swift: files written by SitoWriter are valid, laid out as formats/sito.md says, and
// read back bit for bit by SitoFile.
import Foundation
import SitoTestSupport
import XCTest
@testable import SitoFormat

final class RoundTripTests: XCTestCase {
    func testTinyModelInventory() {
        // 5 embedding tensors + 16 per layer + 4 head tensors, then the tokenizer blob.
        let names = Tiny.entries().map(\.name)
        XCTAssertEqual(names.count, 26)
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertEqual(names.first, "embeddings.word.weight")
        XCTAssertTrue(names.contains("layers.0.ffn.down.weight"))
        XCTAssertTrue(names.contains("head.out_proj.bias"))
        XCTAssertEqual(names.last, "tokenizer.sentencepiece")
    }

    func testWrittenFileIsValidAndReadsBack() throws {
        let url = try Tiny.temporaryFolder(self).appendingPathComponent("tiny.sito")
        let written = try Tiny.write(Tiny.header(), to: url)
        let file = try SitoFile(contentsOf: url, options: SitoOpenOptions(verifyChecksums: true))
        XCTAssertEqual(file.header, written)
        XCTAssertEqual(file.header.model, Tiny.model)
        XCTAssertEqual(file.header.tensors.map(\.name), Tiny.entries().map(\.name))
        XCTAssertNoThrow(try file.verifyChecksums())
        XCTAssertEqual(file.corruptTensors(), [])
        for entry in file.header.tensors {
            let view = try file.require(entry.name)
            XCTAssertEqual(Array(view.bytes), Tiny.contents(of: entry), entry.name)
            XCTAssertEqual(view.bytes.count, entry.bytes)
            XCTAssertEqual(Int(bitPattern: view.base) % SitoLayout.alignment, 0, "\(entry.name) is not 64-byte aligned in memory")
        }
        let floats = try file.require("embeddings.norm.weight")
        XCTAssertEqual(floats.count, 8)
        XCTAssertEqual(floats.pointer(as: Float.self)[3], Tiny.contents(of: floats.entry).withUnsafeBytes { $0.load(fromByteOffset: 12, as: Float.self) })
        XCTAssertNil(file.tensor("no.such.tensor"))
        XCTAssertThrowsError(try file.require("no.such.tensor")) { error in
            XCTAssertEqual(error as? SitoFormatError, .missingTensor(path: url.path, tensor: "no.such.tensor", architecture: .xlmRoberta))
        }
    }

    func testLayoutMatchesTheSpec() throws {
        let bytes = try Tiny.bytes(test: self)
        let sample = try Sample(bytes)
        XCTAssertEqual(Array(bytes[0..<4]), Array("SITO".utf8))
        XCTAssertEqual(bytes[4..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian, 1)
        XCTAssertEqual(sample.dataOffset % 64, 0)
        XCTAssertEqual(sample.header.sito, 1)
        // The header is JSON followed by spaces up to data_offset.
        XCTAssertTrue(bytes[(16 + sample.headerLength)..<sample.dataOffset].allSatisfy { $0 == 0x20 })
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(bytes[16..<sample.dataOffset])))
        // Tensors in directory order, each at the next multiple of 64, zeros between them, and the file
        // ends at the end of the last tensor rounded up to 64.
        var expectedOffset = 0
        for entry in sample.header.tensors {
            XCTAssertEqual(entry.offset, expectedOffset, entry.name)
            XCTAssertEqual(entry.bytes, entry.shape.reduce(1, *) * entry.dtype.size, entry.name)
            XCTAssertEqual(entry.xxh64.count, 16)
            let start = sample.dataOffset + entry.offset
            XCTAssertEqual(Array(bytes[start..<(start + entry.bytes)]), Tiny.contents(of: entry), entry.name)
            let next = (entry.offset + entry.bytes + 63) / 64 * 64
            XCTAssertTrue(bytes[(start + entry.bytes)..<(sample.dataOffset + next)].allSatisfy { $0 == 0 }, "padding after \(entry.name)")
            expectedOffset = next
        }
        XCTAssertEqual(bytes.count, sample.dataOffset + expectedOffset)
    }

    func testChunkedWritesGiveTheSameFile() throws {
        let folder = try Tiny.temporaryFolder(self)
        let whole = folder.appendingPathComponent("whole.sito")
        try Tiny.write(Tiny.header(), to: whole)
        for chunk in [1, 3, 31, 32, 33, 64, 1000] {
            let url = folder.appendingPathComponent("chunk-\(chunk).sito")
            try Tiny.write(Tiny.header(), to: url, chunk: chunk)
            XCTAssertEqual(try Data(contentsOf: url), try Data(contentsOf: whole), "chunk \(chunk)")
        }
    }

    func testQuantizedModelReadsBack() throws {
        let url = try Tiny.temporaryFolder(self).appendingPathComponent("q.sito")
        try Tiny.write(Tiny.header(quantized: true), to: url)
        let file = try SitoFile(contentsOf: url, options: SitoOpenOptions(verifyChecksums: true))
        XCTAssertEqual(file.tensor("layers.0.attn.q.weight")?.dtype, .i8)
        XCTAssertEqual(file.tensor("layers.0.attn.q.weight.scale")?.shape, [8])
        XCTAssertEqual(file.tensor("head.out_proj.weight")?.dtype, .f32, "out_proj is not quantizable")
        XCTAssertNotNil(file.header.quantization)
    }

    /// A per-projection plan and its calibration summary (formats/quantization.md, "Per-projection plans")
    /// come back from the file exactly as written; a file without them has neither.
    func testQuantizationPlanAndCalibrationReadBack() throws {
        let url = try Tiny.temporaryFolder(self).appendingPathComponent("plan.sito")
        var header = Tiny.header(quantized: true)
        header.tensors[header.tensors.firstIndex { $0.name == "layers.0.attn.v.weight" }!].dtype = .bf16
        header.tensors.removeAll { $0.name == "layers.0.attn.v.weight.scale" }
        header.tensors = header.tensors.map { e in
            var e = e
            if e.name == "layers.0.attn.v.weight" { e.bytes = e.shape.reduce(1, *) * 2 }
            return e
        }
        let plan: [String: ProjectionScheme] = ["layers.0.attn.q": .int8TwoPass, "layers.0.attn.k": .int8, "layers.0.attn.v": .bf16,
                                                "layers.0.attn.out": .int8A16]
        let measured = MeasuredAccuracy(golden: "cal.golden.json", goldenXXH64: "0123456789abcdef", cases: 400,
                                        meanCosine: 0.9996, minCosine: 0.998, retrievalTop1: 0.9825)
        header.quantization?.plan = plan
        header.quantization?.activations = .twoPass
        header.quantization?.calibration = CalibrationInfo(
            target: AccuracyTarget(minMeanCosine: 0.9995, minTop1: 0.98), calibration: measured,
            evaluation: MeasuredAccuracy(golden: "eval.golden.json", goldenXXH64: "fedcba9876543210", cases: 530,
                                         meanCosine: 0.9995, minCosine: 0.996, retrievalTop1: nil),
            estimatedCost: 1.4, costModel: .avx2)
        let written = try Tiny.write(header, to: url)
        let file = try SitoFile(contentsOf: url, options: SitoOpenOptions(verifyChecksums: true))
        XCTAssertEqual(file.header.quantization, written.quantization)
        XCTAssertEqual(file.header.quantization?.plan, plan)
        XCTAssertEqual(file.header.quantization?.calibration?.calibration, measured)
        XCTAssertEqual(file.header.quantization?.scheme(forInt8Projection: "layers.0.attn.q"), .int8TwoPass)
        XCTAssertEqual(file.header.quantization?.scheme(forInt8Projection: "layers.0.attn.k"), .int8, "the plan wins over activation_passes")
        XCTAssertEqual(file.header.quantization?.scheme(forInt8Projection: "layers.0.attn.out"), .int8A16)
        XCTAssertEqual(file.header.quantization?.scheme(forInt8Projection: "layers.0.ffn.up"), .int8TwoPass, "no entry: the file-wide passes")
        // The JSON keys are the documented snake_case ones.
        let json = String(decoding: try JSONEncoder().encode(file.header.quantization), as: UTF8.self)
        for key in ["\"plan\"", "\"int8-two-pass\"", "\"calibration\"", "\"golden_xxh64\"", "\"min_mean_cosine\"", "\"estimated_cost\"", "\"retrieval_top1\"", "\"int8-a16\"", "\"cost_model\""] {
            XCTAssertTrue(json.contains(key), key)
        }
        // Old files: no plan, the global behaviour.
        let old = QuantizationInfo(type: .int8, scheme: "s", keepFloat: [], tool: ConverterInfo(name: "t", version: "0"))
        XCTAssertEqual(old.scheme(forInt8Projection: "layers.0.attn.q"), .int8)
        XCTAssertNil(try JSONDecoder().decode(QuantizationInfo.self, from: JSONEncoder().encode(old)).plan)
    }

    func testEveryDTypeAndRankRoundTrips() throws {
        // Outside the schema (checkSchema: false): every dtype, rank 0 to 4, sizes around the alignment.
        let entries = [
            Tiny.entry("tokenizer.sentencepiece", .u8, [1]),
            Tiny.entry("a.scalar", .f32, []),
            Tiny.entry("b.f16", .f16, [3, 5]),
            Tiny.entry("c.bf16", .bf16, [2, 2, 2, 2]),
            Tiny.entry("d.u8", .u8, [64]),
            Tiny.entry("e.u8", .u8, [65]),
            Tiny.entry("f.i8", .i8, [4, 3]),
            Tiny.entry("f.i8.scale", .f32, [4]),
        ]
        let url = try Tiny.temporaryFolder(self).appendingPathComponent("all.sito")
        try Tiny.write(Tiny.header(tensors: entries), to: url)
        XCTAssertThrowsError(try SitoFile(contentsOf: url)) { error in
            XCTAssertEqual(error as? SitoFormatError, .missingTensor(path: url.path, tensor: "embeddings.word.weight", architecture: .xlmRoberta))
        }
        let file = try SitoFile(contentsOf: url, options: SitoOpenOptions(verifyChecksums: true, checkSchema: false))
        for entry in file.header.tensors {
            XCTAssertEqual(Array(try file.require(entry.name).bytes), Tiny.contents(of: entry), entry.name)
        }
        XCTAssertEqual(file.tensor("a.scalar")?.count, 1)
        XCTAssertEqual(file.tensor("a.scalar")?.bytes.count, 4)
    }

    func testWriterRefusesWrongAmountsOfData() throws {
        let folder = try Tiny.temporaryFolder(self)
        let url = folder.appendingPathComponent("w.sito")
        // More bytes than the tensor declares.
        do {
            let writer = try SitoWriter(destination: url.path, header: Tiny.header())
            let tooMany = [UInt8](repeating: 0, count: writer.nextTensor!.bytes + 1)
            XCTAssertThrowsError(try tooMany.withUnsafeBytes { try writer.append($0) }) { error in
                guard case .writeFailed(let path, let reason)? = error as? SitoFormatError else { return XCTFail("\(error)") }
                XCTAssertEqual(path, url.path)
                XCTAssertTrue(reason.contains("embeddings.word.weight"), reason)
            }
            writer.abort()
        }
        // finish() before the last tensor.
        do {
            let writer = try SitoWriter(destination: url.path, header: Tiny.header())
            let first = Tiny.contents(of: writer.nextTensor!)
            try first.withUnsafeBytes { try writer.append($0) }
            XCTAssertThrowsError(try writer.finish()) { error in
                guard case .writeFailed(_, let reason)? = error as? SitoFormatError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains("embeddings.position.weight"), reason)
            }
        }
        // Data after the last tensor.
        do {
            let writer = try SitoWriter(destination: url.path, header: Tiny.header(tensors: [Tiny.entry("tokenizer.sentencepiece", .u8, [2])]))
            try writer.append([UInt8](arrayLiteral: 1, 2))
            XCTAssertNil(writer.nextTensor)
            XCTAssertThrowsError(try writer.append([UInt8](arrayLiteral: 3)))
            writer.abort()
        }
        // A writer dropped without finish() leaves nothing behind.
        do {
            let writer = try SitoWriter(destination: url.path, header: Tiny.header())
            try Tiny.contents(of: writer.nextTensor!).withUnsafeBytes { try writer.append($0) }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }

    func testWriterRefusesBadNamesAndOverflowingShapes() throws {
        let url = try Tiny.temporaryFolder(self).appendingPathComponent("w.sito")
        XCTAssertThrowsError(try SitoWriter(destination: url.path, header: Tiny.header(tensors: [Tiny.entry("Bad Name", .f32, [1])]))) { error in
            XCTAssertEqual(error as? SitoFormatError, .badTensorName(path: url.path, name: "Bad Name"))
        }
        XCTAssertThrowsError(try SitoWriter(destination: url.path, header: Tiny.header(tensors: [Tiny.entry("huge", .f32, [1 << 40, 1 << 40])]))) { error in
            XCTAssertEqual(error as? SitoFormatError, .sizeOverflow(path: url.path, tensor: "huge"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    func testEmptyHeaderEncodingRoundTripsThroughJSON() throws {
        // The header the writer emits decodes to the same value (keys, optional fields, doubles).
        let header = Tiny.header()
        let json = try SitoWriter.encode(header)
        var decoded = try JSONDecoder().decode(SitoHeader.self, from: json)
        XCTAssertEqual(decoded, header)
        decoded.quantization = QuantizationInfo(type: .int8, scheme: "s", keepFloat: ["head.*"], tool: ConverterInfo(name: "q", version: "1"))
        XCTAssertEqual(try JSONDecoder().decode(SitoHeader.self, from: SitoWriter.encode(decoded)), decoded)
    }
}
