// LayoutTests.swift: the `layout` key of format 2 (formats/sito.md, "Layouts" and invariants 2, 6, 11):
// which tensors may be blocked16, the version a writer stamps, and the reader's refusals.
import Foundation
import SitoTestSupport
import XCTest
@testable import SitoFormat

final class LayoutTests: XCTestCase {
    private let p = Tiny.path

    /// The quantized tiny model with `change` applied to its directory, written by SitoWriter.
    private func quantized(_ change: (inout [TensorEntry]) -> Void) throws -> [UInt8] {
        var tensors = Tiny.entries(quantized: true)
        change(&tensors)
        return try Tiny.bytes(Tiny.header(tensors: tensors, quantized: true), test: self)
    }

    private func set(_ name: String, _ layout: TensorLayout, in tensors: inout [TensorEntry]) {
        tensors[tensors.firstIndex { $0.name == name }!].layout = layout
    }

    private func version(_ bytes: [UInt8]) -> UInt32 {
        bytes[4..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian
    }

    func testRowMajorFilesStayFormatOne() throws {
        let bytes = try quantized { set("layers.0.ffn.up.weight", .rowMajor, in: &$0) }
        XCTAssertEqual(version(bytes), 1)
        let parsed = try parse(bytes)
        XCTAssertEqual(parsed.header.sito, 1)
        XCTAssertNil(parsed.header.tensors.first { $0.name == "layers.0.ffn.up.weight" }!.layout, "row-major is written as absence")
        XCTAssertFalse(String(decoding: bytes.prefix(16 + 4096), as: UTF8.self).contains("\"layout\""))
    }

    func testBlockedProjectionMakesAFormatTwoFile() throws {
        // ffn.up is [16, 8]: 16 rows, 8 columns (a multiple of 4).
        let bytes = try quantized { set("layers.0.ffn.up.weight", .blocked16, in: &$0) }
        XCTAssertEqual(version(bytes), 2)
        let parsed = try parse(bytes)
        XCTAssertEqual(parsed.header.sito, 2)
        XCTAssertEqual(parsed.header.tensors.first { $0.name == "layers.0.ffn.up.weight" }!.effectiveLayout, .blocked16)
    }

    func testWriterRefusesLayoutsTheTensorCannotHave() throws {
        // [8, 8]: rows not a multiple of 16.
        XCTAssertThrowsError(try quantized { set("layers.0.attn.q.weight", .blocked16, in: &$0) }) {
            guard case let .badLayout(_, tensor, reason) = $0 as? SitoFormatError else { return XCTFail("\($0)") }
            XCTAssertEqual(tensor, "layers.0.attn.q.weight")
            XCTAssertTrue(reason.contains("rows % 16"), reason)
        }
        // f32 can never be blocked.
        XCTAssertThrowsError(try Tiny.bytes(Tiny.header(tensors: Tiny.entries().map {
            var e = $0
            if e.name == "layers.0.ffn.up.weight" { e.layout = .blocked16 }
            return e
        }), test: self)) {
            guard case let .badLayout(_, _, reason) = $0 as? SitoFormatError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("only i8 or bf16"), reason)
        }
    }

    func testReaderRefusesBlockedLayoutOnAnImpossibleShape() throws {
        let sample = try Sample(try quantized { set("layers.0.ffn.up.weight", .blocked16, in: &$0) })
        let i = sample.index(of: "layers.0.attn.q.weight")
        let json = try SitoWriter.encode({ var h = sample.header; h.tensors[i].layout = .blocked16; return h }())
        assertRefused(sample.rebuilt(json: [UInt8](json), version: 2)) {
            guard case let .badLayout(path, tensor, _) = $0 else { return false }
            return path == Tiny.path && tensor == "layers.0.attn.q.weight"
        }
    }

    func testReaderRefusesBlockedLayoutInAFormatOneFile() throws {
        let sample = try Sample(try quantized { set("layers.0.ffn.up.weight", .blocked16, in: &$0) })
        let json = try SitoWriter.encode({ var h = sample.header; h.sito = 1; return h }())
        assertRefused(sample.rebuilt(json: [UInt8](json), version: 1)) {
            guard case let .badLayout(_, tensor, reason) = $0 else { return false }
            return tensor == "layers.0.ffn.up.weight" && reason.contains("format 2")
        }
    }

    func testOnlyProjectionsMayBeBlocked() throws {
        // The word table is [16, 8] i8 in the quantized tiny model: blockable by shape, but read by rows.
        XCTAssertThrowsError(try parse(try quantized { set("embeddings.word.weight", .blocked16, in: &$0) })) {
            guard case let .badLayout(_, tensor, reason) = $0 as? SitoFormatError else { return XCTFail("\($0)") }
            XCTAssertEqual(tensor, "embeddings.word.weight")
            XCTAssertTrue(reason.contains("projection"), reason)
        }
    }

    func testUnknownLayoutHasItsOwnError() throws {
        let sample = try Sample(try quantized { set("layers.0.ffn.up.weight", .blocked16, in: &$0) })
        let json = String(decoding: try SitoWriter.encode(sample.header), as: UTF8.self)
        let broken = json.replacingOccurrences(of: "\"layout\":\"blocked16\"", with: "\"layout\":\"blocked32\"")
        XCTAssertNotEqual(broken, json)
        assertRefused(sample.rebuilt(json: Array(broken.utf8), version: 2),
                      .unknownLayout(path: p, tensor: "layers.0.ffn.up.weight", layout: "blocked32"))
    }
}
