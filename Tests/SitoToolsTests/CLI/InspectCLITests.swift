// InspectCLITests.swift: runs the built `sito-inspect` executable on valid, schema-refused, corrupt,
// truncated and missing files and on one whose tokenizer fails its check (SitoTestSupport's tiny model),
// and checks its output and exit codes: 0 readable, 1 corrupt tensors or tokenizer, 2 unreadable.
import Foundation
import SitoFormat
import SitoTestSupport
import XCTest

final class InspectCLITests: XCTestCase {
    private func inspect(_ arguments: [String]) throws -> ToolRun {
        try ToolRunner.run("sito-inspect", arguments)
    }

    private func tinyFile(_ header: SitoHeader = Tiny.header(), name: String = "tiny.sito") throws -> URL {
        let url = try Tiny.temporaryFolder(self).appendingPathComponent(name)
        try Tiny.write(header, to: url)
        return url
    }

    func testValidFile() throws {
        let url = try tinyFile()
        let run = try inspect([url.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stderr, "")
        for expected in ["xlm-roberta / sequence-classification (head roberta)", "schema        ok",
                         "layers 1, hidden 8, heads 2, ffn 16, vocab 16", "position_offset 2",
                         "sentencepiece in tokenizer.sentencepiece (198 B), 16 pieces, model vocab 16",
                         "libsentencepiece check: ok, 17 piece ids agree with the runtime",
                         "mask 15", "quantization  none", "26 tensors", "f32"] {
            XCTAssertTrue(run.stdout.contains(expected), "missing \"\(expected)\" in:\n\(run.stdout)")
        }
        XCTAssertFalse(run.stdout.contains("layers.0.attn.q.weight"), "tensor rows only with --tensors")

        let listed = try inspect([url.path, "--tensors", "--verify-checksums"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains("all 26 tensors match their XXH64"), listed.stdout)
        let row = listed.stdout.split(separator: "\n").first { $0.contains("layers.0.ffn.up.weight") }
        XCTAssertNotNil(row)
        XCTAssertEqual(row?.split(separator: " ").prefix(4).map(String.init), ["layers.0.ffn.up.weight", "f32", "[16,", "8]"])
    }

    func testJSON() throws {
        let url = try tinyFile(Tiny.header(quantized: true))
        let run = try inspect([url.path, "--json", "--tensors", "--verify-checksums"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["architecture"] as? String, "xlm-roberta")
        XCTAssertEqual(object["file"] as? String, url.path)
        XCTAssertEqual(object["file_bytes"] as? Int, try Data(contentsOf: url).count)
        XCTAssertEqual((object["schema"] as? [String: Any])?["ok"] as? Bool, true)
        XCTAssertEqual((object["model"] as? [String: Any])?["max_positions"] as? Int, 20)
        XCTAssertEqual((object["tokenizer"] as? [String: Any])?["vocabulary_size"] as? Int, 16)
        XCTAssertEqual((object["quantization"] as? [String: Any])?["type"] as? String, "int8")
        let tensors = try XCTUnwrap(object["tensors"] as? [String: Any])
        XCTAssertEqual(tensors["count"] as? Int, 34)
        XCTAssertEqual((tensors["list"] as? [Any])?.count, 34)
        XCTAssertEqual(((tensors["by_dtype"] as? [String: Any])?["i8"] as? [String: Any])?["count"] as? Int, 8)
        let checksums = try XCTUnwrap(object["checksums"] as? [String: Any])
        XCTAssertEqual(checksums["verified"] as? Int, 34)
        XCTAssertEqual((checksums["corrupt"] as? [Any])?.count, 0)
    }

    func testCorruptTensorIsNamedAndExitsOne() throws {
        let url = try tinyFile()
        var bytes = try [UInt8](Data(contentsOf: url))
        let sample = try Sample(bytes)
        let victim = sample.header.tensors[sample.index(of: "layers.0.attn_norm.bias")]
        bytes[sample.dataOffset + victim.offset + 5] ^= 0x04
        try Data(bytes).write(to: url)

        let plain = try inspect([url.path])
        XCTAssertEqual(plain.status, 0, "checksums are only read with --verify-checksums")

        let run = try inspect([url.path, "--verify-checksums"])
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertTrue(run.stdout.contains("1 of 26 tensors are CORRUPT"), run.stdout)
        XCTAssertTrue(run.stdout.contains("layers.0.attn_norm.bias: XXH64"), run.stdout)
        XCTAssertTrue(run.stderr.contains("\(url.path): tensor layers.0.attn_norm.bias is corrupt"), run.stderr)

        let json = try inspect([url.path, "--verify-checksums", "--json"])
        XCTAssertEqual(json.status, 1)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let corrupt = (object["checksums"] as? [String: Any])?["corrupt"] as? [[String: Any]]
        XCTAssertEqual(corrupt?.map { $0["tensor"] as? String }, ["layers.0.attn_norm.bias"])
        XCTAssertEqual(corrupt?.first?["expected"] as? String, victim.xxh64)
    }

    /// The embedded SentencePiece model is loaded in the runtime and in libsentencepiece; a model either
    /// refuses (here: its only UNKNOWN piece made NORMAL) is named on stderr with the file, exit 1.
    func testTokenizerThatFailsItsCheckExitsOne() throws {
        let url = try tinyFile()
        var bytes = try [UInt8](Data(contentsOf: url))
        let sample = try Sample(bytes)
        let blob = sample.header.tensors[sample.index(of: "tokenizer.sentencepiece")]
        let start = sample.dataOffset + blob.offset
        let type = try XCTUnwrap((start..<start + blob.bytes - 1).first { bytes[$0] == 0x18 && bytes[$0 + 1] == 0x02 })
        bytes[type + 1] = 0x01
        try Data(bytes).write(to: url)

        let run = try inspect([url.path])
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertTrue(run.stdout.contains("libsentencepiece check: FAILED"), run.stdout)
        XCTAssertTrue(run.stderr.contains("sito-inspect: error: \(url.path): the Sito runtime refuses the embedded tokenizer"), run.stderr)
        XCTAssertTrue(run.stderr.contains("no UNKNOWN piece"), run.stderr)

        let json = try inspect([url.path, "--json"])
        XCTAssertEqual(json.status, 1)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let check = try XCTUnwrap((object["tokenizer"] as? [String: Any])?["check"] as? [String: Any])
        XCTAssertEqual(check["ok"] as? Bool, false)
        XCTAssertTrue((check["error"] as? String)?.contains(url.path) ?? false)
    }

    func testTruncatedFileExitsTwo() throws {
        let url = try tinyFile()
        let bytes = try Data(contentsOf: url)
        let sample = try Sample([UInt8](bytes))
        for length in [0, 10, 100, sample.dataOffset + 700] {
            let cut = url.deletingLastPathComponent().appendingPathComponent("cut-\(length).sito")
            try bytes.prefix(length).write(to: cut)
            let run = try inspect([cut.path])
            XCTAssertEqual(run.status, 2, "length \(length): \(run.stdout)")
            XCTAssertEqual(run.stdout, "")
            XCTAssertTrue(run.stderr.hasPrefix("sito-inspect: error: \(cut.path): "), run.stderr)
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
        }
    }

    func testUnreadableFilesExitTwo() throws {
        let folder = try Tiny.temporaryFolder(self)
        let missing = folder.appendingPathComponent("missing.sito")
        var run = try inspect([missing.path])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.stderr.contains("\(missing.path): cannot open"), run.stderr)

        let text = folder.appendingPathComponent("notes.txt")
        try Data("this is not a model, just some text".utf8).write(to: text)
        run = try inspect([text.path, "--json"])
        XCTAssertEqual(run.status, 2)
        XCTAssertEqual(run.stdout, "")
        XCTAssertTrue(run.stderr.contains("not a .sito file: magic"), run.stderr)

        let future = folder.appendingPathComponent("future.sito")
        var bytes = try [UInt8](Data(contentsOf: try tinyFile()))
        bytes[4] = 7
        try Data(bytes).write(to: future)
        run = try inspect([future.path])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.stderr.contains("format 7") && run.stderr.contains("upgrade"), run.stderr)
    }

    func testFileTheRuntimeWouldRefuseIsShownWithAWarning() throws {
        let url = try tinyFile(Tiny.header(tensors: Tiny.entries() + [Tiny.entry("extra.weight", .f32, [2])]))
        let run = try inspect([url.path, "--tensors"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("warning: the Sito runtime would refuse this file: \(url.path): tensor extra.weight is not part of"), run.stderr)
        XCTAssertTrue(run.stdout.contains("REFUSED by the runtime"), run.stdout)
        XCTAssertTrue(run.stdout.contains("extra.weight"), run.stdout)

        let json = try inspect([url.path, "--json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let schema = try XCTUnwrap(object["schema"] as? [String: Any])
        XCTAssertEqual(schema["ok"] as? Bool, false)
        XCTAssertTrue((schema["error"] as? String)?.contains("extra.weight") ?? false)
    }
}
