// sito-inspect: shows what is inside a .sito file (formats/sito.md) — metadata, tokenizer, tensors —
// checks an embedded SentencePiece model with libsentencepiece (SitoTools/SentencePieceCheck.swift), and
// verifies tensor checksums on request. It opens files without the architecture schema check so it can
// show files the runtime would refuse, and says so with a warning.
// Exit codes: 0 readable (and checksums fine when asked), 1 corrupt tensors or a tokenizer that fails
// its check, 2 unreadable file.
import ArgumentParser
import Foundation
import SitoCLI
import SitoFormat
import SitoTools

@main
struct SitoInspect: SitoTool {
    static let configuration = CommandConfiguration(
        commandName: "sito-inspect",
        abstract: "Show the metadata, tokenizer and tensors of a .sito file.",
        discussion: """
        An embedded SentencePiece model is also loaded in libsentencepiece, which must agree with the \
        runtime on every piece id. Exit codes: 0 the file is readable (and its checksums match when \
        --verify-checksums is given), 1 some tensors are corrupt or the tokenizer fails its check, 2 the \
        file cannot be read as a .sito file.
        """)

    @Argument(help: "The .sito file.")
    var file: String

    @OptionGroup(title: "Output")
    var output: OutputArguments

    @Flag(help: "Recompute every tensor's XXH64 and name each one that does not match (exit 1 if any).")
    var verifyChecksums = false

    @Flag(help: "List every tensor (name, dtype, shape, layout, bytes, offset) instead of a summary by dtype.")
    var tensors = false

    func execute() throws {
        let tool = Self.toolName
        let sito = try SitoFile(contentsOf: URL(fileURLWithPath: file), options: SitoOpenOptions(checkSchema: false))
        let schemaError = sito.schemaError()
        if let schemaError {
            ToolExit.warn(tool, "the Sito runtime would refuse this file: \(schemaError.errorDescription ?? "\(schemaError)")")
        }
        let mismatches: [SitoFormatError]? = verifyChecksums ? sito.checksumMismatches() : nil
        var tokenizerCheck: InspectReport.Check?
        do {
            tokenizerCheck = try checkSentencePieceTokenizer(of: sito).map { InspectReport.Check(ok: true, pieces: $0) }
        } catch {
            tokenizerCheck = InspectReport.Check(ok: false, error: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        let report = InspectReport(file: sito, schemaError: schemaError, mismatches: mismatches, tokenizerCheck: tokenizerCheck,
                                   listTensors: tensors)
        if output.json {
            ToolExit.printJSON(report)
        } else {
            print(report.text(), terminator: "")
        }
        var failed = false
        if let mismatches, !mismatches.isEmpty {
            for m in mismatches { StandardStream.error.write("\(tool): error: \(m.errorDescription ?? "\(m)")\n") }
            failed = true
        }
        if let check = tokenizerCheck, !check.ok {
            StandardStream.error.write("\(tool): error: \(check.error ?? "")\n")
            failed = true
        }
        if failed { throw ExitCode(ToolExit.checkFailed) }
    }
}

/// Everything sito-inspect reports; its JSON form is the `--json` output.
struct InspectReport: Encodable {
    struct Schema: Encodable {
        var ok: Bool
        var error: String?
    }
    /// The libsentencepiece check of an embedded SentencePiece model.
    struct Check: Encodable {
        var ok: Bool
        /// Pieces whose ids were compared.
        var pieces: Int?
        var error: String?
    }
    struct Tokenizer: Encodable {
        var kind: TokenizerKind
        var tensor: String
        var bytes: Int?
        /// Pieces in the embedded SentencePiece model; nil when the blob is not one.
        var vocabularySize: Int?
        var modelVocab: Int
        var idOffset: Int
        var idOverrides: [[Int]]
        var specials: SpecialIds
        var addedTokens: [AddedToken]
        var whitespace: WhitespaceRule
        /// Nil when there is nothing to check (a wordpiece vocabulary, a missing tensor).
        var check: Check?

        enum CodingKeys: String, CodingKey {
            case kind, tensor, bytes, vocabularySize = "vocabulary_size", modelVocab = "model_vocab", idOffset = "id_offset"
            case idOverrides = "id_overrides", specials, addedTokens = "added_tokens", whitespace, check
        }
    }
    struct DTypeTotal: Encodable {
        var count: Int
        var bytes: Int
    }
    struct Tensors: Encodable {
        var count: Int
        var bytes: Int
        var byDType: [String: DTypeTotal]
        /// Every directory entry, with --tensors only.
        var list: [TensorEntry]?

        enum CodingKeys: String, CodingKey { case count, bytes, byDType = "by_dtype", list }
    }
    struct Corrupt: Encodable {
        var tensor: String
        var expected: String
        var actual: String
    }
    struct Checksums: Encodable {
        var verified: Int
        var corrupt: [Corrupt]
    }

    var file: String
    var fileBytes: Int
    var format: Int
    var headerBytes: Int
    var dataOffset: Int
    var schema: Schema
    var architecture: Architecture
    var task: ModelTask
    var model: ModelHyperparameters
    var input: InputRecipe
    var tokenizer: Tokenizer
    var source: SourceInfo
    var converter: ConverterInfo
    var created: String
    var quantization: QuantizationInfo?
    var tensors: Tensors
    var checksums: Checksums?

    enum CodingKeys: String, CodingKey {
        case file, fileBytes = "file_bytes", format, headerBytes = "header_bytes", dataOffset = "data_offset", schema
        case architecture, task, model, input, tokenizer, source, converter, created, quantization, tensors, checksums
    }

    init(file sito: SitoFile, schemaError: SitoFormatError?, mismatches: [SitoFormatError]?, tokenizerCheck: Check?, listTensors: Bool) {
        let h = sito.header
        file = sito.path
        fileBytes = sito.fileSize
        format = h.sito
        dataOffset = sito.dataOffset
        headerBytes = sito.dataOffset - SitoLayout.preambleSize
        schema = Schema(ok: schemaError == nil, error: schemaError?.errorDescription)
        architecture = h.architecture
        task = h.task
        model = h.model
        input = h.input
        let blob = sito.tensor(h.tokenizer.tensor)
        tokenizer = Tokenizer(
            kind: h.tokenizer.kind, tensor: h.tokenizer.tensor, bytes: blob?.entry.bytes,
            vocabularySize: h.tokenizer.kind == .sentencepiece ? blob.flatMap { sentencePieceCount($0.bytes) }
                : h.tokenizer.kind == .bpe ? blob.flatMap { bpeTokenCount($0.bytes) }
                : blob.map { $0.bytes.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 } },  // wordpiece: one entry per line
            modelVocab: h.tokenizer.modelVocab, idOffset: h.tokenizer.idOffset, idOverrides: h.tokenizer.idOverrides,
            specials: h.tokenizer.specials, addedTokens: h.tokenizer.addedTokens, whitespace: h.tokenizer.whitespace,
            check: tokenizerCheck)
        source = h.source
        converter = h.converter
        created = h.created
        quantization = h.quantization
        var byDType: [String: DTypeTotal] = [:]
        for t in h.tensors {
            byDType[t.dtype.rawValue, default: DTypeTotal(count: 0, bytes: 0)].count += 1
            byDType[t.dtype.rawValue]!.bytes += t.bytes
        }
        tensors = Tensors(count: h.tensors.count, bytes: h.tensors.reduce(0) { $0 + $1.bytes }, byDType: byDType,
                          list: listTensors ? h.tensors : nil)
        checksums = mismatches.map { list in
            Checksums(verified: h.tensors.count, corrupt: list.compactMap {
                switch $0 {
                case let .checksumMismatch(_, tensor, expected, actual): return Corrupt(tensor: tensor, expected: expected, actual: actual)
                case let .invalidInt8(_, tensor): return Corrupt(tensor: tensor, expected: "no -128 in int8 data", actual: "holds -128")
                default: return nil
                }
            })
        }
    }

    /// The human-readable report.
    func text() -> String {
        var out = ""
        func line(_ label: String, _ value: String) {
            out += label.padding(toLength: 14, withPad: " ", startingAt: 0) + value + "\n"
        }
        let m = model
        line("file", "\(file) (\(formatBytes(fileBytes)), \(formatCount(fileBytes)) bytes)")
        line("format", "sito \(format), header \(formatBytes(headerBytes)), data at byte \(dataOffset)")
        line("architecture", "\(architecture) / \(task) (head \(m.head))")
        line("schema", schema.ok ? "ok" : "REFUSED by the runtime: \(schema.error ?? "")")
        line("model", "layers \(m.layers), hidden \(m.hidden), heads \(m.heads), ffn \(m.ffn), vocab \(m.vocab), type_vocab \(m.typeVocab)")
        line("", "max_positions \(m.maxPositions), position_offset \(m.positionOffset), layer_norm_eps \(m.layerNormEps), activation \(m.activation)")
        line("", "num_labels \(m.numLabels), output_activation \(m.outputActivation), pooling \(m.pooling), normalize \(m.normalize)")
        var recipe = input.recipe.rawValue
        if let separator = input.separator { recipe += ", separator \(quoted(separator))" }
        line("input", "\(recipe), max_length \(input.maxLength), truncation \(input.truncation)")
        var src = source.name
        if let revision = source.revision { src += " @ \(revision)" }
        if !source.filesXXH64.isEmpty { src += " (\(source.filesXXH64.count) source file\(source.filesXXH64.count == 1 ? "" : "s") hashed)" }
        line("source", src)
        line("converter", "\(converter.name) \(converter.version)")
        line("created", created)
        if let q = quantization {
            var text = "\(q.type): \(q.scheme), by \(q.tool.name) \(q.tool.version)"
            if !q.keepFloat.isEmpty { text += "; kept in float: \(q.keepFloat.joined(separator: ", "))" }
            line("quantization", text)
            if let plan = q.plan {
                let rest = Quantizer.projections(of: model).filter { plan[$0] == nil }.count
                let passes = q.activations ?? .onePass == .twoPass ? "two activation passes" : "one activation pass"
                line("plan", Calibrator.counts(plan) + (rest > 0 ? " (the other \(rest) projections: \(q.type), \(passes))" : ""))
                for l in Calibrator.planLines(plan) { line("", l) }
            }
            if let c = q.calibration {
                line("calibrated", "for \(Calibrator.describe(c.target)); estimated cost \(formatFixed(c.estimatedCost, digits: 3))× all int8 (cost model \(c.costModel?.rawValue ?? "of files before cost models: avx512-vnni"))")
                line("", "calibration \(c.calibration.golden) (\(c.calibration.cases) cases, xxh64 \(c.calibration.goldenXXH64)): \(Calibrator.describe(c.calibration))")
                if let e = c.evaluation {
                    line("", "evaluation \(e.golden) (\(e.cases) cases, xxh64 \(e.goldenXXH64)): \(Calibrator.describe(e))")
                }
            }
        } else {
            line("quantization", "none")
        }

        let t = tokenizer
        let vocab = t.vocabularySize.map { "\(formatCount($0)) \(t.kind == .wordpiece ? "entries" : "pieces")" } ?? "vocabulary size unknown"
        let size = t.bytes.map { " (\(formatBytes($0)))" } ?? " (missing)"
        line("tokenizer", "\(t.kind) in \(t.tensor)\(size), \(vocab), model vocab \(formatCount(t.modelVocab))")
        var ids = "model id = overrides[id] ?? id + \(t.idOffset)"
        if !t.idOverrides.isEmpty {
            ids += "; overrides " + t.idOverrides.map { $0.map(String.init).joined(separator: "→") }.joined(separator: ", ")
        }
        line("", ids)
        let s = t.specials
        let named: [(String, Int?)] = [("bos", s.bos), ("pad", s.pad), ("eos", s.eos), ("unk", s.unk), ("mask", s.mask), ("cls", s.cls), ("sep", s.sep)]
        line("", "specials " + named.compactMap { name, id in id.map { "\(name) \($0)" } }.joined(separator: ", ") + ", whitespace \(t.whitespace)")
        if t.addedTokens.isEmpty {
            line("", "no added tokens")
        } else {
            let shown = t.addedTokens.prefix(8).map { "\(quoted($0.content)) \($0.id)" }.joined(separator: ", ")
            let more = t.addedTokens.count > 8 ? ", … (\(t.addedTokens.count - 8) more)" : ""
            line("", "added tokens (\(t.addedTokens.count)): \(shown)\(more)")
        }
        if let check = t.check {
            line("", check.ok ? "libsentencepiece check: ok, \(formatCount(check.pieces ?? 0)) piece ids agree with the runtime"
                              : "libsentencepiece check: FAILED (see the error)")
        }

        out += "\n"
        line("tensors", "\(formatCount(tensors.count)) tensors, \(formatBytes(tensors.bytes)) of data (\(formatCount(tensors.bytes)) bytes)")
        if let list = tensors.list {
            var table = TextTable(columns: [.init("name"), .init("dtype"), .init("shape"), .init("layout"),
                                            .init("bytes", align: .right), .init("offset", align: .right)])
            for e in list {
                table.append([e.name, e.dtype.rawValue, formatShape(e.shape), e.effectiveLayout.rawValue, formatCount(e.bytes), formatCount(e.offset)])
            }
            out += table.render(indent: "  ") + "\n"
            out += "  (offsets are from the data section at byte \(formatCount(dataOffset)))\n"
        } else {
            var table = TextTable(columns: [.init("dtype"), .init("count", align: .right), .init("bytes", align: .right), .init("size", align: .right)])
            for d in DType.allCases {
                guard let total = tensors.byDType[d.rawValue] else { continue }
                table.append([d.rawValue, formatCount(total.count), formatCount(total.bytes), formatBytes(total.bytes)])
            }
            table.append(["total", formatCount(tensors.count), formatCount(tensors.bytes), formatBytes(tensors.bytes)])
            table.append(["file", "", formatCount(fileBytes), formatBytes(fileBytes)])
            out += table.render(indent: "  ") + "\n"
        }
        if let c = checksums {
            out += "\n"
            if c.corrupt.isEmpty {
                line("checksums", "all \(formatCount(c.verified)) tensors match their XXH64")
            } else {
                line("checksums", "\(c.corrupt.count) of \(formatCount(c.verified)) tensors are CORRUPT:")
                for bad in c.corrupt { out += "  \(bad.tensor): XXH64 \(bad.actual), the header says \(bad.expected)\n" }
            }
        }
        return out
    }

    private func quoted(_ s: String) -> String {
        "\"" + s.unicodeScalars.map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }.joined() + "\""
    }
}

/// Number of pieces in a serialized SentencePiece `ModelProto`, or nil when the bytes are not a valid one
/// (the converter's own decoder, over the package's one protobuf reader).
func sentencePieceCount(_ bytes: UnsafeRawBufferPointer) -> Int? {
    (try? SentencePieceModel(serialized: Array(bytes)))?.pieces.count
}

/// The token count in a `tokenizer.bpe` blob's header ("SBPE", version, count; formats/tokenization.md).
private func bpeTokenCount(_ b: UnsafeRawBufferPointer) -> Int? {
    guard b.count >= 16, b[0] == 0x53, b[1] == 0x42, b[2] == 0x50, b[3] == 0x45 else { return nil }
    return Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
}
