// HostileInputTests.swift: deterministic mutation testing of every input the tools and the runtime read
// (issue 6, item 1). Each test starts from a valid file of the micro model (HostileSupport.swift), breaks
// it thousands of ways — truncations, bit flips, hostile numbers (huge, negative, overlapping,
// overflowing), wrong types and dtypes, missing and duplicated keys — and feeds it to the real entry
// point: SafetensorsFile and the Converter; the Converter for config.json; convertTokenizer for
// tokenizer.json; the runtime Tokenizer for SentencePiece model bytes; GoldenFile.load + Verifier for
// goldens; the Quantizer and Reranker for `.sito` files. Every case must end in a thrown error or a valid
// result: a trap kills the test process, a hang trips the watchdog (which aborts naming the case), and
// the peak RSS is checked so that no header number drives an allocation.
//
// Counts (printed, one line per input kind): see README "Reliability". The `.sito` reader's own 12,000
// cases are in Tests/SitoFormatTests/MutationTests.swift.
import Foundation
import Sito
import SitoFormat
@testable import SitoTools
import XCTest

final class HostileInputTests: XCTestCase {
    /// Peak RSS growth a whole suite may cause. The micro model is 0.3 MB; a 100 MB header is the
    /// largest allocation a hostile number can buy (the safetensors header cap), and only when the file
    /// really is that large.
    static let rssBudgetMiB = 512

    private func run(_ name: String, cases: Int, seed: UInt64, _ body: (Int, inout Rng, inout Outcomes) throws -> Void) rethrows {
        let start = Date()
        let rssBefore = peakRSSMiB()
        let watchdog = Watchdog()
        defer { watchdog.stop() }
        var rng = Rng(seed: seed)
        var outcomes = Outcomes(name)
        for n in 0..<cases {
            watchdog.begin("\(name) #\(n)")
            outcomes.cases = n
            let before = outcomes.recorded
            try body(n, &rng, &outcomes)
            XCTAssertGreaterThan(outcomes.recorded, before, "case \(n) recorded no outcome")
        }
        outcomes.cases = cases
        outcomes.report(seconds: Date().timeIntervalSince(start))
        XCTAssertLessThan(peakRSSMiB() - rssBefore, HostileInputTests.rssBudgetMiB, "\(name): peak RSS grew too much")
    }

    // MARK: safetensors → SafetensorsFile and Converter

    func testSafetensorsMutations() throws {
        let micro = try MicroModel.get()
        let work = try scratchFolder("st")
        defer { try? FileManager.default.removeItem(at: work) }
        let folder = try copyMicroFolder(micro, into: work)
        let stPath = folder.appendingPathComponent("model.safetensors").path
        let base = micro.safetensors
        let (json, dataStart) = splitSafetensors(base)!
        let header = try JSONSerialization.jsonObject(with: Data(json)) as! [String: Any]
        let names = header.keys.filter { $0 != "__metadata__" }.sorted()
        let dtypes: [Any] = ["F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "f32", "", "F32 ", 5, NSNull()]
        let shapes: [Any] = [[1 << 32, 1 << 32], [Int.max, 2], [Int.max], [1 << 62, 4], [-1, 32], [32, -1], [0], [0, 32],
                             [Int](), [1, 1, 1, 1, 1, 1, 1, 1, 1], [3037000500, 3037000500], [1 << 40, 1 << 40, 1 << 40], "32", [1.5]]
        var converted = 0
        try run("safetensors", cases: 2400, seed: 0x5AFE_0001) { n, rng, outcomes in
            var bytes: [UInt8]
            switch n % 6 {
            case 0: // one field of one tensor set to a hostile dtype, shape or offsets
                let name = rng.pick(names)
                var entry = header[name] as! [String: Any]
                let offsets = entry["data_offsets"] as! [Int]
                let (a, b) = (offsets[0], offsets[1])
                switch rng.below(3) {
                case 0: entry["dtype"] = rng.pick(dtypes)
                case 1: entry["shape"] = rng.pick(shapes)
                default:
                    entry["data_offsets"] = rng.pick([
                        [a, b + 1], [a, b - 1], [a - 4, b - 4], [a + 4, b + 4], [b, a], [0, b - a], [a, Int.max],
                        [Int.max - (b - a), Int.max], [-(b - a), 0], [a, a], [a + (1 << 40), b + (1 << 40)], [a], [a, b, b],
                        [Int.min, Int.min + (b - a)], [a &+ Int.max, b &+ Int.max],
                    ] as [[Int]])
                }
                var edited = header
                edited[name] = entry
                bytes = rebuildSafetensors(json: [UInt8](try JSONSerialization.data(withJSONObject: edited, options: [.sortedKeys])), base: base, dataStart: dataStart)
            case 1: // a generic JSON mutation of the header
                bytes = rebuildSafetensors(json: mutateJSON(header, &rng, keyBias: ["dtype", "shape", "data_offsets"]), base: base, dataStart: dataStart)
            case 2: // a hostile header length
                bytes = base
                let hl = UInt64(json.count)
                let value = rng.pick([0, 1, 2, hl - 1, hl + 1, hl + 8, UInt64(base.count - 8), UInt64(base.count - 7), UInt64(base.count),
                                      100_000_000, 100_000_001, 1 << 32, 1 << 63, UInt64.max, UInt64.max - 7])
                withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
            case 3: // truncated: in the header half the time
                let limit = rng.chance(2) ? dataStart + 1 : base.count
                bytes = Array(base.prefix(rng.below(limit)))
            case 4: // bit flips in the length and header
                bytes = base
                for _ in 0..<(1 + rng.below(3)) { bytes[rng.below(dataStart)] ^= UInt8(1 << rng.below(8)) }
            default: // data bytes: flipped bits, or a NaN / infinity written over a weight
                bytes = base
                let at = dataStart + rng.below(base.count - dataStart - 4) & ~3
                if rng.chance(2) {
                    bytes[at + rng.below(4)] ^= UInt8(1 << rng.below(8))
                } else {
                    let v: Float = rng.pick([.nan, .infinity, -.infinity, .greatestFiniteMagnitude])
                    withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.replaceSubrange(at..<(at + 4), with: $0) }
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: stPath))
            do {
                _ = try SafetensorsFile(path: stPath)
                // Whatever the parser accepts goes through a whole conversion.
                let out = work.appendingPathComponent("out.sito").path
                do {
                    _ = try Converter(folder: folder).convert(to: out)
                } catch {
                    outcomes.error(error)
                    return
                }
                // What the converter writes, the runtime's reader opens, checksums included.
                XCTAssertNoThrow(try SitoFile(contentsOf: URL(fileURLWithPath: out), options: SitoOpenOptions(verifyChecksums: true)), "case \(n)")
                try FileManager.default.removeItem(atPath: out)
                converted += 1
                outcomes.valid("converted")
            } catch {
                outcomes.error(error)
            }
        }
        XCTAssertGreaterThan(converted, 50, "data mutations and harmless header edits convert")
    }

    /// The header `json` with `base`'s data section after it.
    private func rebuildSafetensors(json: [UInt8], base: [UInt8], dataStart: Int) -> [UInt8] {
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
        return out + json + base[dataStart...]
    }

    private func copyMicroFolder(_ micro: MicroModel, into work: URL) throws -> URL {
        let folder = work.appendingPathComponent("xlmr-micro")
        try FileManager.default.copyItem(at: micro.folder, to: folder)
        return folder
    }

    // MARK: config.json → Converter

    func testConfigMutations() throws {
        let micro = try MicroModel.get()
        let work = try scratchFolder("cfg")
        defer { try? FileManager.default.removeItem(at: work) }
        let folder = try copyMicroFolder(micro, into: work)
        let configURL = folder.appendingPathComponent("config.json")
        let keys: Set<String> = ["architectures", "hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size",
                                 "vocab_size", "max_position_embeddings", "type_vocab_size", "pad_token_id", "num_labels",
                                 "id2label", "layer_norm_eps", "hidden_act", "position_embedding_type"]
        let architectures: [Any] = [["BertForSequenceClassification"], ["XLMRobertaModel"], [], ["XLMRobertaForSequenceClassification", "X"],
                                    "XLMRobertaForSequenceClassification", [5], NSNull()]
        try run("config", cases: 600, seed: 0xC0F1_0002) { n, rng, outcomes in
            let bytes: [UInt8]
            if n % 5 == 0 {
                var c = micro.config
                c["architectures"] = rng.pick(architectures)
                bytes = [UInt8](try JSONSerialization.data(withJSONObject: c, options: [.sortedKeys]))
            } else {
                bytes = mutateJSON(micro.config, &rng, keyBias: keys)
            }
            try Data(bytes).write(to: configURL)
            let out = work.appendingPathComponent("out.sito").path
            do {
                _ = try Converter(folder: folder).convert(to: out)
            } catch {
                outcomes.error(error)
                return
            }
            // What the converter writes, the runtime's reader opens.
            XCTAssertNoThrow(try SitoFile(contentsOf: URL(fileURLWithPath: out)), "case \(n)")
            try FileManager.default.removeItem(atPath: out)
            outcomes.valid("converted")
        }
    }

    // MARK: tokenizer.json → convertTokenizer (→ runtime Tokenizer when it converts)

    func testTokenizerJSONMutations() throws {
        let micro = try MicroModel.get()
        let work = try scratchFolder("tok")
        defer { try? FileManager.default.removeItem(at: work) }
        let folder = work.appendingPathComponent("t")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // Most cases use the pipeline with an empty charsmap (a 4 KB file); every sixteenth the real
        // 320 KB charsmap, whose base64 text then takes most of the random byte mutations.
        let light = micro.tokenizerJSON
        let keys: Set<String> = ["vocab", "unk_id", "type", "added_tokens", "id", "content", "special", "normalized", "single_word",
                                 "lstrip", "rstrip", "normalizer", "normalizers", "pre_tokenizer", "post_processor", "model",
                                 "precompiled_charsmap", "replacement", "prepend_scheme", "add_prefix_space", "ids", "byte_fallback"]
        let scores: [Any] = [Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude, Double.leastNonzeroMagnitude, 0, 1, 1e300, "NaN", NSNull(), "-3.5", [1.0]]
        var tokenizersBuilt = 0
        try run("tokenizer.json", cases: 1200, seed: 0x70CE_0003) { n, rng, outcomes in
            let original = n % 16 == 15 ? micro.tokenizerJSONFull : light
            var bytes: [UInt8]
            if n % 6 == 1 {
                // A vocabulary entry with a bad score, an empty or duplicated piece, or the wrong shape.
                var tok = original
                var model = tok["model"] as! [String: Any]
                var vocab = model["vocab"] as! [Any]
                let i = rng.below(vocab.count)
                switch rng.below(4) {
                case 0: vocab[i] = [(vocab[i] as! [Any])[0], rng.pick(scores)]
                case 1: vocab[i] = [rng.pick(["", "▁", "<s>", (vocab[rng.below(vocab.count)] as! [Any])[0]]), -1.0]
                case 2: vocab[i] = rng.pick([[Any](), ["x"], ["x", 1.0, 2.0], [1.0, "x"], "x"] as [Any])
                default: vocab.remove(at: i)
                }
                model["vocab"] = vocab
                tok["model"] = model
                bytes = [UInt8](try JSONSerialization.data(withJSONObject: tok, options: [.sortedKeys]))
                if rng.chance(3), let runs = Optional(digitRuns(bytes)), !runs.isEmpty {
                    bytes.replaceSubrange(rng.pick(runs), with: Array(rng.pick(hostileLiterals).utf8))
                }
            } else {
                bytes = mutateJSON(original, &rng, keyBias: keys)
            }
            try Data(bytes).write(to: folder.appendingPathComponent("tokenizer.json"))
            do {
                let converted = try convertTokenizer(folder: folder, modelVocab: MicroModel.vocab)
                // What converts must load in the runtime, or be refused there with an error.
                do {
                    let t = try converted.bytes.withUnsafeBytes {
                        try Tokenizer(info: converted.info, input: microRecipe, bytes: $0)
                    }
                    for text in sampleTexts { _ = try t.encodePair(query: text, document: text, maxLength: 32, onOverflow: .truncate) }
                    tokenizersBuilt += 1
                    outcomes.valid("converted and loaded")
                } catch {
                    outcomes.error(error)
                }
            } catch {
                outcomes.error(error)
            }
        }
        XCTAssertGreaterThan(tokenizersBuilt, 50)
    }

    let microRecipe = InputRecipe(recipe: .joinedPair, separator: "</s></s>", maxLength: 32, truncation: .right)
    let sampleTexts = ["as is", "", "  s, s.  ", "<s></s><mask> s", "Zażółć gęślą jaźń", "日本語のテキスト", "\u{0}\u{FFFD}\u{1F600}", String(repeating: "s.", count: 40)]

    // MARK: SentencePiece model bytes → runtime Tokenizer

    func testSentencePieceMutations() throws {
        let micro = try MicroModel.get()
        // The converted model with the real charsmap (what a converted XLM-R file holds), and one without.
        let full = micro.sentencePieceFull
        let light = micro.sentencePiece
        let info = micro.tokenizerInfo
        var loaded = 0
        run("sentencepiece", cases: 2400, seed: 0x5E7E_0004) { n, rng, outcomes in
            let base = n % 6 == 5 ? full : light
            var bytes = base
            switch n % 8 {
            case 0, 1, 2: // one field of the protobuf rewritten (length, number, wire type, piece contents)
                bytes = mutateProto(base, &rng)
            case 3: // a flipped bit
                bytes[rng.below(bytes.count)] ^= UInt8(1 << rng.below(8))
            case 4: // a few random bytes
                for _ in 0..<(1 + rng.below(4)) { bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            case 5: // truncated
                bytes = Array(base.prefix(rng.below(base.count)))
            case 6: // random bytes appended (a field with a hostile length, or garbage)
                bytes += (0..<(1 + rng.below(16))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            default: // a protobuf field inserted at the front: huge length, huge varint, unknown wire type
                bytes = rng.pick([[0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
                                  [0x08] + [UInt8](repeating: 0xFF, count: 11), [0x0B], [0x0F], [0x00], [0x1A, 0x05, 0x12, 0xFF, 0xFF, 0xFF, 0x7F],
                                  [0x1A, 0x06, 0x12, 0x04, 0xFF, 0xFF, 0xFF, 0x7F], [0x0A, 0x02, 0x1D, 0x00]]) + bytes
            }
            do {
                let t = try bytes.withUnsafeBytes { try Tokenizer(info: info, input: microRecipe, bytes: $0) }
                for text in sampleTexts {
                    let e = try t.encodePair(query: text, document: text, maxLength: 32, onOverflow: .truncate)
                    XCTAssertLessThanOrEqual(e.ids.count, 32)
                    XCTAssertTrue(e.ids.allSatisfy { $0 >= 0 && Int($0) < MicroModel.vocab }, "case \(n): ids outside the vocabulary")
                }
                loaded += 1
                outcomes.valid("loaded and encoded")
            } catch {
                outcomes.error(error)
            }
        }
        XCTAssertGreaterThan(loaded, 100)
    }

    // MARK: fairseq sentencepiece.bpe.model → convertTokenizer (the tools' own protobuf reader) → Tokenizer

    func testFairseqSentencePieceModelMutations() throws {
        let micro = try MicroModel.get()
        let work = try scratchFolder("fairseq")
        defer { try? FileManager.default.removeItem(at: work) }
        // fairseq's layout: <unk>, <s>, </s>, then pieces; ids shift by one and <pad>, <mask> are added.
        let vocab = (micro.tokenizerJSON["model"] as! [String: Any])["vocab"] as! [[Any]]
        var pieces: [SentencePieceModel.Piece] = [.init("<unk>", score: 0, type: .unknown), .init("<s>", score: 0, type: .control),
                                                  .init("</s>", score: 0, type: .control)]
        for entry in vocab[4..<(MicroModel.vocab - 1)] {
            pieces.append(.init(entry[0] as! String, score: Float((entry[1] as! NSNumber).doubleValue)))
        }
        let base = SentencePieceModel(pieces: pieces).serialized()
        let modelVocab = pieces.count + 2
        try Data(base).write(to: work.appendingPathComponent("sentencepiece.bpe.model"))
        XCTAssertNoThrow(try convertTokenizer(folder: work, modelVocab: modelVocab), "the unmutated model converts")
        let recipe = InputRecipe(recipe: .joinedPair, separator: "</s></s>", maxLength: 32, truncation: .right)
        var loaded = 0
        try run("sentencepiece.bpe.model", cases: 800, seed: 0xFA1F_0007) { n, rng, outcomes in
            var bytes = base
            switch n % 4 {
            case 0, 1: bytes = mutateProto(base, &rng)
            case 2:
                for _ in 0..<(1 + rng.below(3)) { bytes[rng.below(bytes.count)] ^= UInt8(1 << rng.below(8)) }
            default: bytes = Array(base.prefix(rng.below(base.count)))
            }
            try Data(bytes).write(to: work.appendingPathComponent("sentencepiece.bpe.model"))
            do {
                let converted = try convertTokenizer(folder: work, modelVocab: modelVocab)
                let t = try converted.bytes.withUnsafeBytes { try Tokenizer(info: converted.info, input: recipe, bytes: $0) }
                for text in sampleTexts {
                    let e = try t.encodePair(query: text, document: text, maxLength: 32, onOverflow: .truncate)
                    XCTAssertTrue(e.ids.allSatisfy { $0 >= 0 && Int($0) < modelVocab }, "case \(n): ids outside the vocabulary")
                }
                loaded += 1
                outcomes.valid("converted, loaded and encoded")
            } catch {
                outcomes.error(error)
            }
        }
        XCTAssertGreaterThan(loaded, 50)
    }

    // MARK: golden JSON → GoldenFile.load + Verifier

    func testGoldenMutations() throws {
        let micro = try MicroModel.get()
        let work = try scratchFolder("golden")
        defer { try? FileManager.default.removeItem(at: work) }
        let path = work.appendingPathComponent("g.json").path
        let keys: Set<String> = ["format", "max_length", "cases", "input_ids", "logits", "query", "document", "text", "embedding"]
        var reports = 0
        let shared = try Reranker(contentsOf: micro.sito)
        try run("golden", cases: 900, seed: 0x601D_0005) { _, rng, outcomes in
            try Data(mutateJSON(micro.golden, &rng, keyBias: keys)).write(to: URL(fileURLWithPath: path))
            do {
                // sito-verify's path: load, open with the golden's max length, verify.
                let golden = try GoldenFile.load(path: path)
                let reranker = golden.maxLength == nil || golden.maxLength == 32
                    ? shared : try Reranker(contentsOf: micro.sito, options: ModelOptions(maxLength: golden.maxLength))
                let report = try Verifier.verify(reranker, golden: golden, goldenPath: path)
                reports += 1
                outcomes.valid(report.passed ? "verified: passed" : "verified: failed")
            } catch {
                outcomes.error(error)
            }
        }
        XCTAssertGreaterThan(reports, 50)
    }

    // MARK: .sito → Quantizer and Reranker

    func testSitoMutationsThroughQuantizerAndReranker() throws {
        let micro = try MicroModel.get()
        let work = try scratchFolder("sito")
        defer { try? FileManager.default.removeItem(at: work) }
        let base = [UInt8](try Data(contentsOf: micro.sito))
        let headerLength = base.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian) }
        let json = Array(base[16..<(16 + headerLength)])
        let header = try JSONSerialization.jsonObject(with: Data(json)) as! [String: Any]
        let dataOffset = (16 + headerLength + 63) / 64 * 64
        let file = try SitoFile(contentsOf: micro.sito)
        let blob = try file.require("tokenizer.sentencepiece")
        let blobRange = (dataOffset + blob.entry.offset)..<(dataOffset + blob.entry.offset + blob.entry.bytes)
        let input = work.appendingPathComponent("in.sito")
        let output = work.appendingPathComponent("out.sito")
        let keys: Set<String> = ["offset", "bytes", "shape", "dtype", "name", "layers", "hidden", "heads", "ffn", "vocab",
                                 "max_positions", "position_offset", "max_length", "num_labels", "tensor", "specials", "id_offset",
                                 "id_overrides", "added_tokens", "whitespace", "recipe", "separator", "quantization"]
        var quantized = 0, scored = 0
        try run("sito", cases: 1200, seed: 0x5170_0006) { n, rng, outcomes in
            var bytes = base
            switch n % 5 {
            case 0: // the header JSON mutated (structure, types, hostile numbers), the file rebuilt around it
                bytes = rebuildSito(json: mutateJSON(header, &rng, keyBias: keys), base: base, dataOffset: dataOffset)
            case 1: // data bytes: flipped bits, or NaN / infinity over a weight (checksums not verified at open)
                let at = dataOffset + rng.below(base.count - dataOffset - 4) & ~3
                let v: Float = rng.pick([.nan, .infinity, -.infinity, .greatestFiniteMagnitude, 1e30])
                if rng.chance(2) { bytes[at] ^= UInt8(1 << rng.below(8)) } else {
                    withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.replaceSubrange(at..<(at + 4), with: $0) }
                }
            case 2: // the embedded tokenizer's bytes
                for _ in 0..<(1 + rng.below(3)) { bytes[blobRange.lowerBound + rng.below(blobRange.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            case 3: // a hostile number in place of one in the header text
                var edited = json
                let runs = digitRuns(edited)
                edited.replaceSubrange(rng.pick(runs), with: Array(rng.pick(hostileLiterals + ["0", "-1", "64", "4294967296", "1099511627776"]).utf8))
                bytes = rebuildSito(json: edited, base: base, dataOffset: dataOffset)
            default: // truncated, or bit flips in the preamble and header
                if rng.chance(2) {
                    bytes = Array(base.prefix(rng.below(base.count)))
                } else {
                    bytes[rng.below(dataOffset)] ^= UInt8(1 << rng.below(8))
                }
            }
            try Data(bytes).write(to: input)
            do {
                let q = Quantizer(type: n % 2 == 0 ? .int8 : .bf16)
                _ = try q.quantize(input: input.path, output: output.path)
                _ = try SitoFile(contentsOf: output)
                try FileManager.default.removeItem(at: output)
                quantized += 1
                outcomes.valid("quantized")
            } catch {
                outcomes.error(error)
            }
            do {
                let r = try Reranker(contentsOf: input, options: ModelOptions(verifyChecksums: n % 7 == 0))
                let s = try r.score(query: "as is", documents: ["s, s.", "", String(repeating: "a s ", count: 30)])
                XCTAssertEqual(s.count, 3)
                scored += 1
                outcomes.valid("scored")
            } catch {
                outcomes.error(error)
            }
        }
        XCTAssertGreaterThan(quantized, 100)
        XCTAssertGreaterThan(scored, 100)
    }

    /// Preamble + `json` + space padding + `base`'s data section.
    private func rebuildSito(json: [UInt8], base: [UInt8], dataOffset: Int) -> [UInt8] {
        var out: [UInt8] = Array(base[0..<8])
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
        out += json
        let aligned = (out.count + 63) / 64 * 64
        out += [UInt8](repeating: 0x20, count: aligned - out.count)
        return out + base[dataOffset...]
    }
}

/// One protobuf-aware mutation of a serialized ModelProto: a top-level field (or a field inside a piece)
/// gets a hostile length, number, wire type or contents, or is removed or repeated.
func mutateProto(_ bytes: [UInt8], _ rng: inout Rng, depth: Int = 0) -> [UInt8] {
    struct Field { var key: Range<Int>; var length: Range<Int>?; var payload: Range<Int> }
    func varint(_ b: [UInt8], _ pos: inout Int, _ end: Int) -> UInt64? {
        var v: UInt64 = 0, shift: UInt64 = 0
        while pos < end, shift < 64 {
            let x = b[pos]; pos += 1
            v |= UInt64(x & 0x7F) << shift
            if x & 0x80 == 0 { return v }
            shift += 7
        }
        return nil
    }
    func fields(_ b: [UInt8], _ range: Range<Int>) -> [Field] {
        var out: [Field] = []
        var pos = range.lowerBound
        while pos < range.upperBound {
            let k0 = pos
            guard let key = varint(b, &pos, range.upperBound) else { break }
            let keyRange = k0..<pos
            switch key & 7 {
            case 0: let p0 = pos; guard varint(b, &pos, range.upperBound) != nil else { return out }; out.append(Field(key: keyRange, length: nil, payload: p0..<pos))
            case 1: guard pos + 8 <= range.upperBound else { return out }; out.append(Field(key: keyRange, length: nil, payload: pos..<(pos + 8))); pos += 8
            case 5: guard pos + 4 <= range.upperBound else { return out }; out.append(Field(key: keyRange, length: nil, payload: pos..<(pos + 4))); pos += 4
            case 2:
                let l0 = pos
                guard let n = varint(b, &pos, range.upperBound), n <= UInt64(range.upperBound - pos) else { return out }
                out.append(Field(key: keyRange, length: l0..<pos, payload: pos..<(pos + Int(n)))); pos += Int(n)
            default: return out
            }
        }
        return out
    }
    func encodeVarint(_ value: UInt64) -> [UInt8] {
        var v = value, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        return out + [UInt8(v)]
    }
    let top = fields(bytes, 0..<bytes.count)
    guard !top.isEmpty else { return bytes }
    // Half the time, a field inside one piece (text, score, type), the piece's length kept consistent.
    if depth == 0 && rng.chance(2) {
        let pieces = top.filter { bytes[$0.key.lowerBound] == 0x0A && $0.length != nil }
        if !pieces.isEmpty {
            let piece = rng.pick(pieces)
            let inner = mutateProto(Array(bytes[piece.payload]), &rng, depth: 1)
            var out = bytes
            out.replaceSubrange(piece.length!.lowerBound..<piece.payload.upperBound, with: encodeVarint(UInt64(inner.count)) + inner)
            return out
        }
    }
    let target = top[rng.below(top.count)]
    var out = bytes
    switch rng.below(7) {
    case 0: // hostile length (for length-delimited fields) or hostile varint payload
        if let l = target.length {
            out.replaceSubrange(l, with: encodeVarint(rng.pick([0, 1, UInt64(target.payload.count + 1), 1 << 31, 1 << 32, UInt64.max, UInt64(Int.max)])))
        } else if target.payload.count == 4 {
            let f: Float = rng.pick([.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0, .leastNonzeroMagnitude])
            withUnsafeBytes(of: f.bitPattern.littleEndian) { out.replaceSubrange(target.payload, with: $0) }
        } else {
            out.replaceSubrange(target.payload, with: encodeVarint(rng.pick([0, 1, 2, 3, 4, 5, 6, 255, 1 << 31, 1 << 32, UInt64.max])))
        }
    case 1: // field removed
        out.removeSubrange(target.key.lowerBound..<target.payload.upperBound)
    case 2: // field repeated
        out.insert(contentsOf: bytes[target.key.lowerBound..<target.payload.upperBound], at: target.payload.upperBound)
    case 3: // another field number, same wire type
        let wire = UInt64(bytes[target.key.lowerBound] & 7)
        out.replaceSubrange(target.key, with: encodeVarint(UInt64(rng.pick([1, 2, 3, 4, 5, 200, 536_870_911])) << 3 | wire))
    case 4: // another wire type, same number
        let key = bytes[target.key.lowerBound]
        out[target.key.lowerBound] = (key & ~7) | UInt8(rng.pick([0, 1, 2, 3, 4, 5, 6, 7]))
    case 5: // payload bytes: invalid UTF-8, empty text, a NUL
        if target.length != nil, !target.payload.isEmpty {
            out[target.payload.lowerBound + rng.below(target.payload.count)] = rng.pick([0x00, 0x80, 0xC0, 0xFF, 0xE2, 0x20])
        }
    default: // payload emptied
        if let l = target.length {
            out.replaceSubrange(l.lowerBound..<target.payload.upperBound, with: [0])
        }
    }
    return out
}
