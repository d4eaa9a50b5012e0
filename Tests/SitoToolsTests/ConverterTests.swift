// ConverterTests.swift: sito-convert's library path on the generated fixtures: bit-exact round trip,
// sharded bf16 sources, inventory checks, and refusal of unsupported inputs.
import Foundation
import SitoFormat
import SitoTestSupport
@testable import SitoTools
import XCTest

final class ConverterTests: XCTestCase {
    /// Every tensor of the output equals the source values exactly (bf16/f16 widened to f32).
    func assertRoundTrip(_ fixture: String) throws {
        let folder = try Fixtures.model(fixture)
        let out = try Fixtures.temporaryFolder().appendingPathComponent("m.sito")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        _ = try Converter(folder: folder).convert(to: out.path)
        let file = try SitoFile(contentsOf: out, options: SitoOpenOptions(verifyChecksums: true))
        let sources = try SafetensorsCollection(folder: folder)
        let names = HFTensorNames.sourceNames(for: file.header.model)
        XCTAssertEqual(names.count, file.header.tensors.count - 1, "all tensors but the tokenizer come from the checkpoint")
        for (canonical, hf) in names {
            let view = try XCTUnwrap(file.tensor(canonical))
            XCTAssertEqual(view.dtype, .f32)
            var offset = 0
            try readWidened(try XCTUnwrap(sources.tensors[hf])) { chunk in
                let stored = view.pointer(as: Float.self) + offset
                for i in 0..<chunk.count where stored[i].bitPattern != chunk[i].bitPattern {
                    XCTFail("\(canonical)[\(offset + i)]: \(stored[i]) != \(chunk[i])")
                    return
                }
                offset += chunk.count
            }
            XCTAssertEqual(offset, view.count)
        }
        XCTAssertEqual(file.header.input.maxLength, file.header.model.maxPositions - 2)
        XCTAssertEqual(file.header.input.separator, "</s></s>")
    }

    func testRoundTripF32() throws { try assertRoundTrip("xlmr-tiny") }

    func testRoundTripShardedBF16() throws { try assertRoundTrip("xlmr-tiny-long") }

    func testBF16OutputNarrowsMatricesOnly() throws {
        let folder = try Fixtures.model("xlmr-tiny")
        let out = try Fixtures.temporaryFolder().appendingPathComponent("m.sito")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        _ = try Converter(folder: folder, dtype: .bf16).convert(to: out.path)
        let file = try SitoFile(contentsOf: out)
        XCTAssertEqual(file.tensor("layers.0.attn.q.weight")?.dtype, .bf16)
        XCTAssertEqual(file.tensor("layers.0.attn.q.bias")?.dtype, .f32)
        XCTAssertEqual(file.tensor("embeddings.norm.weight")?.dtype, .f32)
    }

    func testRefusesOtherArchitectures() throws {
        let folder = try Fixtures.copyModel("xlmr-tiny")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let config = folder.appendingPathComponent("config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        json["architectures"] = ["GPT2LMHeadModel"]
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        XCTAssertThrowsError(try Converter(folder: folder).convert(to: folder.appendingPathComponent("x.sito").path)) { error in
            XCTAssertEqual(error as? ConversionError, .unsupportedArchitecture(path: config.path, found: "GPT2LMHeadModel"))
            XCTAssertTrue((error as? LocalizedError)?.errorDescription?.contains("XLMRobertaForSequenceClassification") ?? false)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("x.sito").path))
    }

    func testMissingConfigIsNamed() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertThrowsError(try Converter(folder: folder).convert(to: folder.appendingPathComponent("x.sito").path)) { error in
            XCTAssertTrue((error as? LocalizedError)?.errorDescription?.contains("config.json") ?? false, "\(error)")
        }
    }

    func testConfigAndTensorsThatDisagree() throws {
        let folder = try Fixtures.copyModel("xlmr-tiny")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let config = folder.appendingPathComponent("config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        json["num_hidden_layers"] = 3
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        XCTAssertThrowsError(try Converter(folder: folder).convert(to: folder.appendingPathComponent("x.sito").path)) { error in
            XCTAssertEqual(error as? ConversionError, .missingTensor(folder: folder.path, tensor: "roberta.encoder.layer.2.attention.self.query.weight"))
        }
        json["num_hidden_layers"] = 1
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        XCTAssertThrowsError(try Converter(folder: folder).convert(to: folder.appendingPathComponent("x.sito").path)) { error in
            guard case .unexpectedTensor(_, let name)? = error as? ConversionError else { return XCTFail("\(error)") }
            XCTAssertTrue(name.hasPrefix("roberta.encoder.layer.1."), name)
        }
    }

    func testRefusesToOverwriteItsInput() throws {
        let folder = try Fixtures.copyModel("xlmr-tiny")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let weights = folder.appendingPathComponent("model.safetensors")
        let before = try Data(contentsOf: weights).count
        XCTAssertThrowsError(try Converter(folder: folder).convert(to: weights.path))
        XCTAssertEqual(try Data(contentsOf: weights).count, before)
    }
}
