// ConvertOutputSafetyTests.swift: sito-convert never writes over a file of the folder it reads, under
// any spelling of the output path, never replaces an existing file that is not a .sito file, and checks
// the output before any conversion work starts — through the built executables. The rule is shared with
// sito-quantize (SitoTools/OutputSafety.swift); one case here runs it through the quantizer.
import Foundation
import SitoFormat
import XCTest

final class ConvertOutputSafetyTests: XCTestCase {
    private var work: URL!
    private let fm = FileManager.default

    override func setUpWithError() throws {
        work = try scratchFolder("convert-output")
    }

    override func tearDownWithError() throws {
        try? fm.removeItem(at: work)
    }

    /// A private copy of the micro XLM-R model folder (config.json, tokenizer.json, tokenizer_config.json,
    /// special_tokens_map.json, model.safetensors).
    private func microFolder() throws -> URL {
        let folder = work.appendingPathComponent("model")
        try fm.copyItem(at: try MicroModel.get().folder, to: folder)
        return folder
    }

    /// Every regular file under `folder` (relative path → bytes).
    private func snapshot(_ folder: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let base = folder.resolvingSymlinksInPath().path
        for case let url as URL in fm.enumerator(at: folder.resolvingSymlinksInPath(), includingPropertiesForKeys: nil)! {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue else { continue }
            out[String(url.resolvingSymlinksInPath().path.dropFirst(base.count))] = try Data(contentsOf: url)
        }
        return out
    }

    /// sito-convert `model` → `output` (run in `directory`) is refused with exit 2, names `output`, says
    /// why, and leaves every file of `folder` byte-identical (and creates none).
    private func assertRefused(model: String, output: String, in directory: URL? = nil, folder: URL, why: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try snapshot(folder)
        let r = try ToolRunner.run("sito-convert", [model, "--output", output], in: directory)
        ToolRunner.assertBadInput(r, ["sito-convert: error:", output, why], "--output \(output)", file: file, line: line)
        let after = try snapshot(folder)
        XCTAssertEqual(Set(after.keys), Set(before.keys), "--output \(output): files added or removed", file: file, line: line)
        for (name, data) in before where after[name] != data {
            XCTFail("--output \(output): \(name) changed", file: file, line: line)
        }
    }

    private let readsIt = "refusing to overwrite the input"

    func testConfigJSONUnderEverySpellingIsRefused() throws {
        let folder = try microFolder()
        let config = folder.appendingPathComponent("config.json").path
        try fm.createDirectory(at: work.appendingPathComponent("other"), withIntermediateDirectories: true)
        // Spellings of the same file.
        for output in [config, folder.path + "/./config.json", folder.path + "//config.json",
                       work.path + "/other/../model/config.json", folder.path + "/././/config.json"] {
            try assertRefused(model: folder.path, output: output, folder: folder, why: readsIt)
        }
        // Relative to the working directory, with the model folder relative too and spelled otherwise.
        try assertRefused(model: "model", output: "model/config.json", in: work, folder: folder, why: readsIt)
        try assertRefused(model: "./model/", output: "other/../model/config.json", in: work, folder: folder, why: readsIt)
        try assertRefused(model: ".", output: "config.json", in: folder, folder: folder, why: readsIt)
        // The output a symlink to config.json (absolute and relative link text).
        let link = work.appendingPathComponent("out.sito").path
        try fm.createSymbolicLink(atPath: link, withDestinationPath: config)
        try assertRefused(model: folder.path, output: link, folder: folder, why: readsIt)
        let relativeLink = work.appendingPathComponent("other/rel.sito").path
        try fm.createSymbolicLink(atPath: relativeLink, withDestinationPath: "../model/config.json")
        try assertRefused(model: folder.path, output: relativeLink, folder: folder, why: readsIt)
        // A symlinked folder on the way: of the output, and of the model folder.
        let alias = work.appendingPathComponent("alias")
        try fm.createSymbolicLink(atPath: alias.path, withDestinationPath: folder.path)
        try assertRefused(model: folder.path, output: alias.path + "/config.json", folder: folder, why: readsIt)
        try assertRefused(model: alias.path, output: config, folder: folder, why: readsIt)
        // A hard link: another name, the same inode.
        let hard = work.appendingPathComponent("hard.sito").path
        try fm.linkItem(atPath: config, toPath: hard)
        try assertRefused(model: folder.path, output: hard, folder: folder, why: readsIt)
    }

    func testEveryTokenizerFileIsRefused() throws {
        let folder = try microFolder()
        for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] {
            try assertRefused(model: folder.path, output: folder.appendingPathComponent(name).path, folder: folder, why: readsIt)
        }
        // Files the converter may read (it looks for them) are refused even when they do not exist yet.
        for name in ["sentencepiece.bpe.model", "vocab.txt", "model.safetensors.index.json"] {
            try assertRefused(model: folder.path, output: folder.appendingPathComponent(name).path, folder: folder, why: readsIt)
        }
        try assertRefused(model: folder.path, output: folder.appendingPathComponent("model.safetensors").path, folder: folder, why: readsIt)
    }

    func testShardsAndTheIndexAreRefused() throws {
        let folder = work.appendingPathComponent("long")
        try fm.copyItem(at: try Fixtures.model("xlmr-tiny-long"), to: folder)
        for name in ["model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                     "model.safetensors"] {
            try assertRefused(model: folder.path, output: folder.appendingPathComponent(name).path, folder: folder, why: readsIt)
        }
        try assertRefused(model: folder.path, output: work.path + "/long/../long/./model.safetensors.index.json", folder: folder, why: readsIt)
    }

    func testSentenceTransformersFilesAreRefused() throws {
        let source = Fixtures.root.appendingPathComponent(".cache/fixtures/all-minilm-l6-v2")
        guard fm.fileExists(atPath: source.appendingPathComponent("modules.json").path) else {
            return XCTFail("fixture \(source.path) is missing: run tools/setup.sh")
        }
        // Small files copied; the 90 MB weights linked (only ever read).
        let folder = work.appendingPathComponent("minilm")
        try fm.createDirectory(at: folder.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: source.path) where name != "1_Pooling" {
            let from = source.appendingPathComponent(name), to = folder.appendingPathComponent(name)
            if name == "model.safetensors" { try fm.createSymbolicLink(at: to, withDestinationURL: from) } else { try fm.copyItem(at: from, to: to) }
        }
        try fm.copyItem(at: source.appendingPathComponent("1_Pooling/config.json"), to: folder.appendingPathComponent("1_Pooling/config.json"))
        try fm.createDirectory(at: folder.appendingPathComponent("2_Normalize"), withIntermediateDirectories: true)
        for name in ["modules.json", "sentence_bert_config.json", "1_Pooling/config.json", "2_Normalize/config.json", "vocab.txt",
                     "tokenizer.json", "config.json"] {
            try assertRefused(model: folder.path, output: folder.appendingPathComponent(name).path, folder: folder, why: readsIt)
        }
    }

    func testAnExistingFileThatIsNotASitoFileIsRefused() throws {
        let folder = try microFolder()
        let notes = work.appendingPathComponent("notes.txt")
        try Data("my notes\n".utf8).write(to: notes)
        try assertRefused(model: folder.path, output: notes.path, folder: work, why: "not a .sito file")
        let empty = work.appendingPathComponent("empty.sito")
        try Data().write(to: empty)
        try assertRefused(model: folder.path, output: empty.path, folder: work, why: "not a .sito file")
    }

    func testAnExistingSitoFileIsReplaced() throws {
        let folder = try microFolder()
        let output = work.appendingPathComponent("micro.sito")
        try Data(SitoLayout.magic + Array(repeating: 0, count: 60)).write(to: output)   // a (broken) .sito: magic only
        let r = try ToolRunner.run("sito-convert", [folder.path, "--output", output.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try SitoFile(contentsOf: output).header.architecture, .xlmRoberta)
        // Again, over the valid file it just wrote.
        XCTAssertEqual(try ToolRunner.run("sito-convert", [folder.path, "--output", output.path]).status, 0)
    }

    func testOutputFolderProblemsAreFoundBeforeAnyWork() throws {
        let folder = try microFolder()
        // config.json is broken: had the conversion started, that would be the error.
        try Data("{".utf8).write(to: folder.appendingPathComponent("config.json"))
        let missing = work.appendingPathComponent("no-such-folder/x.sito").path
        let r = try ToolRunner.run("sito-convert", [folder.path, "--output", missing])
        ToolRunner.assertBadInput(r, [missing, "folder \(work.path)/no-such-folder does not exist"])
        XCTAssertFalse(r.stderr.contains("config.json"), r.stderr)
        XCTAssertLessThan(r.seconds, 20)
        // The output folder is a file.
        let file = work.appendingPathComponent("plain")
        try Data("x".utf8).write(to: file)
        let r2 = try ToolRunner.run("sito-convert", [folder.path, "--output", file.path + "/x.sito"])
        ToolRunner.assertBadInput(r2, [file.path + "/x.sito", "is not a folder"])
        // The output is a folder.
        let r3 = try ToolRunner.run("sito-convert", [folder.path, "--output", work.path])
        ToolRunner.assertBadInput(r3, [work.path, "is a folder"])
        XCTAssertFalse(r3.stderr.contains("config.json"), r3.stderr)
    }

    /// sito-quantize shares the rule: its input under another name, and an existing non-.sito file.
    func testQuantizeSharesTheRule() throws {
        let input = work.appendingPathComponent("m.sito")
        try fm.copyItem(at: try MicroModel.get().sito, to: input)
        let link = work.appendingPathComponent("link.sito").path
        try fm.createSymbolicLink(atPath: link, withDestinationPath: "m.sito")
        let notes = work.appendingPathComponent("notes.txt")
        try Data("keep me\n".utf8).write(to: notes)
        let before = try snapshot(work)
        for (output, why) in [(link, "refusing to overwrite the input"), (notes.path, "not a .sito file"),
                              (work.path + "/none/q.sito", "does not exist")] {
            let r = try ToolRunner.run("sito-quantize", [input.path, "-o", output, "--type", "int8"])
            ToolRunner.assertBadInput(r, ["sito-quantize: error:", output, why], output)
        }
        XCTAssertEqual(try snapshot(work), before)
    }
}
