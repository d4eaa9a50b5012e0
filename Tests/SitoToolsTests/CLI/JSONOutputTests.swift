// JSONOutputTests.swift: every tool's `--json` prints exactly the keys formats/cli-json.md documents
// (its `keys:` lines are read here), and every key at every depth is snake_case.
import Foundation
import SitoTestSupport
@testable import SitoTools
import XCTest

final class JSONOutputTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = try scratchFolder("json-output", removedAfter: self)
    }

    /// The documented key lists of each tool's section, in the order they appear.
    private func documentedKeys() throws -> [String: [Set<String>]] {
        let text = try String(contentsOf: Fixtures.root.appendingPathComponent("formats/cli-json.md"), encoding: .utf8)
        var result: [String: [Set<String>]] = [:]
        var tool = ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("## ") { tool = String(line.dropFirst(3)) }
            if line.hasPrefix("keys: ") {
                result[tool, default: []].append(Set(line.dropFirst(6).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }))
            }
        }
        return result
    }

    /// Runs a tool with --json; returns the keys of its object (or of its array's first object), after
    /// checking every key at every depth is snake_case.
    private func printedKeys(_ tool: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Set<String> {
        let r = try ToolRunner.run(tool, arguments + ["--json"])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let value = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
        assertSnakeCase(value, path: tool, file: file, line: line)
        let object = (value as? [[String: Any]])?.first ?? (value as? [String: Any])
        return Set(try XCTUnwrap(object, "\(tool) printed no object", file: file, line: line).keys)
    }

    private func assertSnakeCase(_ value: Any, path: String, file: StaticString, line: UInt) {
        if let object = value as? [String: Any] {
            for (key, child) in object {
                XCTAssertTrue(key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" || $0 == "." }, "\(path).\(key) is not snake_case", file: file, line: line)
                assertSnakeCase(child, path: "\(path).\(key)", file: file, line: line)
            }
        } else if let array = value as? [Any] {
            for child in array.prefix(3) { assertSnakeCase(child, path: "\(path)[]", file: file, line: line) }
        }
    }

    func testEveryToolPrintsTheDocumentedKeys() throws {
        let documented = try documentedKeys()
        let micro = try MicroModel.get()
        let minilm = try EmbeddingFixture.get().path

        XCTAssertEqual(try printedKeys("sito-rerank", [micro.sito.path, "-q", "as", "a", "b"]), documented["sito-rerank"]?[0])
        XCTAssertEqual(try printedKeys("sito-rerank", [minilm, "-q", "to be", "a", "b"]), documented["sito-rerank"]?[1])
        XCTAssertEqual(try printedKeys("sito-embed", [minilm, "a", "b"]), documented["sito-embed"]?[0])
        let converted = work.appendingPathComponent("converted.sito").path
        XCTAssertEqual(try printedKeys("sito-convert", [micro.folder.path, "--output", converted]), documented["sito-convert"]?[0])
        let quantized = work.appendingPathComponent("int8.sito").path
        XCTAssertEqual(try printedKeys("sito-quantize", [converted, "--output", quantized, "--type", "int8"]), documented["sito-quantize"]?[0])
        // --calibrate adds `calibration` (an embedding model and golden; a target all-int8 meets: one measurement).
        let embed = work.appendingPathComponent("embed.sito").path
        _ = try Converter(folder: try Fixtures.model("roberta-tiny-embed")).convert(to: embed)
        let embedGolden = Fixtures.golden("roberta-tiny-embed.golden.json")
        XCTAssertEqual(try printedKeys("sito-quantize", [embed, "--output", work.appendingPathComponent("calibrated.sito").path, "--type", "int8",
                                                         "--calibrate", embedGolden, "--min-mean-cosine", "0.5"]), documented["sito-quantize"]?[1])
        let inspect = try printedKeys("sito-inspect", [quantized])
        XCTAssertEqual(inspect, documented["sito-inspect"]?[0])
        let golden = work.appendingPathComponent("micro.golden.json")
        try JSONSerialization.data(withJSONObject: micro.golden).write(to: golden)
        XCTAssertEqual(try printedKeys("sito-verify", [micro.sito.path, "--golden", golden.path]), documented["sito-verify"]?[0])
        XCTAssertEqual(try printedKeys("sito-verify", [minilm, "--golden", Fixtures.golden("all-minilm-l6-v2.golden.json")]),
                       documented["sito-verify"]?[1])
    }
}
