// TinyModel.swift: builds small, valid `.sito` files for the format tests, and rebuilds them with a
// hand-edited header so each test can break exactly one invariant of formats/sito.md.
//
// The tiny model is an xlm-roberta reranker with layers 1, hidden 8, heads 2, ffn 16, vocab 16,
// max_positions 20, position_offset 2 (RoBERTa: pad_token_id + 1), plus a u8 `tokenizer.sentencepiece`
// blob. Tensor values are deterministic, so two writes of the same header give identical bytes.
import Foundation
import XCTest
@testable import SitoFormat

enum Tiny {
    /// Path every in-memory parse reports in its errors.
    static let path = "tiny.sito"

    static let model = ModelHyperparameters(
        layers: 1, hidden: 8, heads: 2, ffn: 16, vocab: 16, maxPositions: 20, positionOffset: 2,
        typeVocab: 1, layerNormEps: 1e-5, activation: .gelu, numLabels: 1, head: .roberta,
        outputActivation: .sigmoid, pooling: .none, normalize: false)

    /// A minimal serialized SentencePiece `ModelProto`: 16 pieces `p00`…`p15` (field 1: piece, score;
    /// `p03` has type UNKNOWN, which a valid model needs) and an empty-ish trainer spec (field 2). 198
    /// bytes: not a multiple of 64, so padding follows it. libsentencepiece and the runtime accept it
    /// (sito-inspect checks).
    static let sentencePieceBlob: [UInt8] = {
        var out: [UInt8] = []
        for i in 0..<16 {
            let text = Array(String(format: "p%02d", i).utf8)
            var piece: [UInt8] = [0x0A, UInt8(text.count)] + text + [0x15]
            withUnsafeBytes(of: Float(-Double(i)).bitPattern.littleEndian) { piece += $0 }
            if i == 3 { piece += [0x18, 0x02] }
            out += [0x0A, UInt8(piece.count)] + piece
        }
        return out + [0x12, 0x02, 0x08, 0x01]
    }()

    static var tokenizerBytes: Int { sentencePieceBlob.count }

    /// The directory of the tiny model: every tensor the schema expects (f32, or `i8` + `.scale` for
    /// the quantizable matrices when `quantized`), then the tokenizer blob. Offsets, sizes and checksums
    /// are placeholders; SitoWriter plans them.
    static func entries(model m: ModelHyperparameters = model, quantized: Bool = false) -> [TensorEntry] {
        var out: [TensorEntry] = []
        for e in ArchitectureSchema.expectedTensors(for: m) {
            if quantized && e.quantizable && e.shape.count == 2 {
                out.append(entry(e.name, .i8, e.shape))
                out.append(entry(e.name + scaleSuffix, .f32, [e.shape[0]]))
            } else {
                out.append(entry(e.name, .f32, e.shape))
            }
        }
        out.append(entry("tokenizer.sentencepiece", .u8, [tokenizerBytes]))
        return out
    }

    static func entry(_ name: String, _ dtype: DType, _ shape: [Int]) -> TensorEntry {
        TensorEntry(name: name, dtype: dtype, shape: shape, offset: 0, bytes: 0, xxh64: "")
    }

    static func header(model m: ModelHyperparameters = model, tensors: [TensorEntry]? = nil, quantized: Bool = false) -> SitoHeader {
        SitoHeader(
            architecture: .xlmRoberta, task: .sequenceClassification, model: m,
            input: InputRecipe(recipe: .joinedPair, separator: "</s></s>", maxLength: m.maxPositions - m.positionOffset,
                               truncation: .right),
            tokenizer: TokenizerInfo(
                kind: .sentencepiece, tensor: "tokenizer.sentencepiece", modelVocab: m.vocab, idOffset: 0,
                idOverrides: [],
                specials: SpecialIds(bos: 0, pad: 1, eos: 2, unk: 3, mask: m.vocab - 1),
                addedTokens: [AddedToken(content: "<mask>", id: m.vocab - 1, lstrip: true, rstrip: false)],
                whitespace: .metaspaceCollapse),
            source: SourceInfo(name: "tests/tiny-xlm-roberta", revision: nil, filesXXH64: ["config.json": "0123456789abcdef"]),
            converter: ConverterInfo(name: "SitoFormatTests", version: "0.0.0"),
            created: "2026-11-26T16:00:00Z",
            tensors: tensors ?? entries(model: m, quantized: quantized),
            quantization: quantized ? QuantizationInfo(type: .int8, scheme: "test", keepFloat: [], tool: ConverterInfo(name: "tests", version: "0")) : nil)
    }

    /// Deterministic contents of a tensor: small floats, int8 in [-127, 127], or bytes.
    static func contents(of e: TensorEntry) -> [UInt8] {
        var seed = UInt64(truncatingIfNeeded: e.name.utf8.reduce(14_695_981_039_346_656_037) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 })
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 33
        }
        let count = e.shape.reduce(1, *)
        switch e.dtype {
        case .f32:
            var values = [Float](repeating: 0, count: count)
            for i in values.indices { values[i] = Float(Int(next() % 2001) - 1000) / 1000 }
            return values.withUnsafeBytes { Array($0) }
        case .f16, .bf16:
            return (0..<(count * 2)).map { _ in UInt8(truncatingIfNeeded: next()) }
        case .i8:
            return (0..<count).map { _ in UInt8(bitPattern: Int8(Int(next() % 255) - 127)) }
        case .u8:
            if e.name == "tokenizer.sentencepiece" && count == sentencePieceBlob.count { return sentencePieceBlob }
            return (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
        }
    }

    /// A fresh empty folder, removed by the test case's teardown.
    static func temporaryFolder(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sito-format-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Writes `header` with SitoWriter, feeding each tensor in chunks of `chunk` bytes (whole when nil).
    @discardableResult
    static func write(_ header: SitoHeader, to url: URL, chunk: Int? = nil) throws -> SitoHeader {
        let writer = try SitoWriter(destination: url.path, header: header)
        while let e = writer.nextTensor {
            let bytes = contents(of: e)
            let step = max(1, chunk ?? bytes.count)
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + step)
                try bytes[start..<end].withUnsafeBytes { try writer.append($0) }
                start = end
            }
        }
        return try writer.finish()
    }

    /// The bytes of a `.sito` file for `header`, written through SitoWriter into a temporary folder.
    static func bytes(_ header: SitoHeader = Tiny.header(), test: XCTestCase) throws -> [UInt8] {
        let url = try temporaryFolder(test).appendingPathComponent("m.sito")
        try write(header, to: url)
        return try [UInt8](Data(contentsOf: url))
    }
}

/// A valid file taken apart: its header and data section, to be put back together with changes.
struct Sample {
    let bytes: [UInt8]
    let header: SitoHeader
    let headerLength: Int
    let dataOffset: Int
    var data: ArraySlice<UInt8> { bytes[dataOffset...] }

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        headerLength = Int(bytes[8..<16].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
        header = try JSONDecoder().decode(SitoHeader.self, from: Data(bytes[16..<(16 + headerLength)]))
        dataOffset = (16 + headerLength + 63) / 64 * 64
    }

    /// A file made of a preamble with `version` and `json` as the header, padded with spaces to a
    /// multiple of 64, followed by this sample's data section (tensor offsets are relative to it).
    func rebuilt(json: [UInt8], version: UInt32 = 1, headerLength declared: UInt64? = nil) -> [UInt8] {
        var out = SitoLayout.magic
        withUnsafeBytes(of: version.littleEndian) { out += $0 }
        withUnsafeBytes(of: (declared ?? UInt64(json.count)).littleEndian) { out += $0 }
        out += json
        let padded = (out.count + 63) / 64 * 64
        out += [UInt8](repeating: 0x20, count: padded - out.count)
        out += data
        return out
    }

    /// The file with its header decoded, changed by `change`, and re-encoded.
    func with(_ change: (inout SitoHeader) -> Void) throws -> [UInt8] {
        var h = header
        change(&h)
        return rebuilt(json: [UInt8](try SitoWriter.encode(h)))
    }

    /// The file with its header edited as untyped JSON (to remove keys or put in values of the wrong type).
    func withJSON(_ change: (inout [String: Any]) -> Void) throws -> [UInt8] {
        var object = try JSONSerialization.jsonObject(with: Data(bytes[16..<(16 + headerLength)])) as! [String: Any]
        change(&object)
        return rebuilt(json: [UInt8](try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])))
    }

    /// Index of the tensor `name` in the directory.
    func index(of name: String) -> Int { header.tensors.firstIndex { $0.name == name }! }
}

/// Parses `bytes` as a whole file, with the test path.
@discardableResult
func parse(_ bytes: [UInt8], options: SitoOpenOptions = SitoOpenOptions()) throws -> SitoFile.Parsed {
    try bytes.withUnsafeBytes { try SitoFile.parse($0, path: Tiny.path, options: options) }
}

/// Asserts that `bytes` is refused with exactly `expected`.
func assertRefused(_ bytes: [UInt8], _ expected: SitoFormatError, options: SitoOpenOptions = SitoOpenOptions(),
                   file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try parse(bytes, options: options), file: file, line: line) { error in
        XCTAssertEqual(error as? SitoFormatError, expected, file: file, line: line)
        XCTAssertTrue((error as? LocalizedError)?.errorDescription?.contains(Tiny.path) ?? false, "message does not name the file", file: file, line: line)
    }
}

/// Asserts that `bytes` is refused with a `SitoFormatError` for which `matches` holds, and returns it.
@discardableResult
func assertRefused(_ bytes: [UInt8], options: SitoOpenOptions = SitoOpenOptions(), file: StaticString = #filePath, line: UInt = #line,
                   where matches: (SitoFormatError) -> Bool) -> SitoFormatError? {
    var caught: SitoFormatError?
    XCTAssertThrowsError(try parse(bytes, options: options), file: file, line: line) { error in
        guard let e = error as? SitoFormatError else { return XCTFail("not a SitoFormatError: \(error)", file: file, line: line) }
        caught = e
        XCTAssertTrue(matches(e), "unexpected error: \(e)", file: file, line: line)
    }
    return caught
}
