// Converter.swift: Hugging Face model folder → one `.sito` file. Reads config.json, the
// safetensors weights (single or sharded), the tokenizer; checks the inventory against the
// architecture's schema; streams every tensor through a bounded buffer into an atomic SitoWriter.
import CSitoKernels
import Foundation
import SitoFormat

/// Storage dtype of matrices in the converter's output (vectors are always f32).
public enum ConvertDType: String, CaseIterable, Sendable {
    case f32, f16, bf16
}

public struct ConversionSummary: Codable, Sendable {
    public let output: String
    public let architecture: String
    public let tensors: Int
    public let bytes: Int
    public let dtype: String
    public let maxLength: Int
    public let tokenizer: TokenizerKind
    public let seconds: Double

    enum CodingKeys: String, CodingKey {
        case output, architecture, tensors, bytes, dtype, tokenizer, seconds
        case maxLength = "max_length"
    }
}

/// What a RoBERTa reranker (byte-level BPE) is fed for a query–document pair (formats/tokenization.md,
/// "Byte-level BPE"). XLM-R (SentencePiece) files always use the model card's recipe; BERT cross-encoders
/// and embedding models have their own.
public enum PairRecipe: String, CaseIterable, Sendable {
    /// The model card: `tokenizer(f"{query}</s></s>{document}", truncation=True)`: recipe `joined-pair`.
    case modelCard = "model-card"
    /// sentence-transformers' `CrossEncoder`: `tokenizer(query, document, truncation=True)`,
    /// `<s> A </s></s> B </s>` cut longest-first: recipe `pair`.
    case crossEncoder = "cross-encoder"
}

public struct Converter {
    public static let version = "0.1.0"

    public let folder: URL
    public let dtype: ConvertDType
    /// Called with (bytes done, bytes total) while writing.
    public var progress: ((Int, Int) -> Void)?
    /// The pair recipe of a RoBERTa (byte-level BPE) reranker; `crossEncoder` is refused for other tokenizers.
    public var pairRecipe: PairRecipe = .modelCard

    public init(folder: URL, dtype: ConvertDType = .f32) {
        self.folder = folder
        self.dtype = dtype
    }

    /// Converts to `output`; nothing is left at `output` unless the whole file was written.
    public func convert(to output: String) throws -> ConversionSummary {
        let start = Date()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDir), isDir.boolValue else {
            throw ConversionError.missingFile(path: folder.path, what: "model folder (not a directory)")
        }
        // Before any work: the output must not be a file this conversion reads, nor anything but a .sito file.
        try OutputSafety.check(output: output, inputs: Converter.inputs(of: folder))
        let config = try HFModelConfig(folder: folder)
        let m = config.hyperparameters
        let weights = try SafetensorsCollection(folder: folder)
        let prefix = HFTensorNames.encoderPrefix(architecture: config.architecture, names: Set(weights.tensors.keys))

        // Inventory: every expected tensor present with its shape; nothing unknown.
        let sourceNames = HFTensorNames.sourceNames(for: m, prefix: prefix)
        let expected = ArchitectureSchema.expectedTensors(for: m)
        var sources: [String: SafetensorsTensor] = [:]
        for e in expected {
            guard let hfName = sourceNames[e.name] else { continue }
            guard let t = weights.tensors[hfName] else { throw ConversionError.missingTensor(folder: folder.path, tensor: hfName) }
            guard t.dtype.isConvertible else {
                throw SafetensorsError.unsupportedDType(path: t.path, tensor: hfName, dtype: t.dtype.rawValue)
            }
            guard t.shape == e.shape else { throw ConversionError.wrongShape(folder: folder.path, tensor: hfName, shape: t.shape, expected: e.shape) }
            sources[e.name] = t
        }
        let used = Set(sourceNames.values)
        for name in weights.tensors.keys.sorted() where !used.contains(name) && !HFTensorNames.isIgnored(name, prefix: prefix, head: m.head) {
            throw ConversionError.unexpectedTensor(folder: folder.path, tensor: name)
        }

        let tokenizer: (info: TokenizerInfo, bytes: [UInt8])
        switch config.architecture.sitoArchitecture {
        case .bert: tokenizer = try convertWordPieceTokenizer(folder: folder, modelVocab: m.vocab)
        case .xlmRoberta:
            if config.architecture == .robertaSequenceClassification || config.architecture == .robertaModel
                || hasBPETokenizer(folder: folder) {
                tokenizer = try convertBPETokenizer(folder: folder, modelVocab: m.vocab)
            } else {
                tokenizer = try convertTokenizer(folder: folder, modelVocab: m.vocab)
            }
        }
        var maxLength = Converter.maxLength(folder: folder, model: m)
        if let seq = config.sentenceTransformers?.maxSeqLength, SitoLimits.maxLength.contains(seq), seq < maxLength { maxLength = seq }
        let input: InputRecipe
        switch config.architecture {
        case .xlmRobertaSequenceClassification, .robertaSequenceClassification:
            switch pairRecipe {
            case .modelCard:
                // The model card's recipe: one string "query</s></s>document", cut from the right.
                input = InputRecipe(recipe: .joinedPair, separator: "</s></s>", maxLength: maxLength, truncation: .right)
            case .crossEncoder:
                guard tokenizer.info.kind == .bpe else {
                    throw ConversionError.badConfig(path: folder.path, reason: "the cross-encoder pair recipe needs a byte-level BPE tokenizer (RoBERTa); this folder's is \(tokenizer.info.kind)")
                }
                input = InputRecipe(recipe: .pair, separator: nil, maxLength: maxLength, truncation: .longestFirst)
            }
        case .bertSequenceClassification:
            input = InputRecipe(recipe: .pair, separator: nil, maxLength: maxLength, truncation: .longestFirst)
        case .bertModel, .robertaModel:
            input = InputRecipe(recipe: .single, separator: nil, maxLength: maxLength, truncation: .right)
        }

        // Header: schema order, then the tokenizer blob.
        var entries: [TensorEntry] = expected.map { e in
            let stored: DType = (e.shape.count == 2 && dtype != .f32 && e.allowed.contains(DType(rawValue: dtype.rawValue)!))
                ? DType(rawValue: dtype.rawValue)! : .f32
            return TensorEntry(name: e.name, dtype: stored, shape: e.shape, offset: 0, bytes: 0, xxh64: "")
        }
        entries.append(TensorEntry(name: tokenizer.info.tensor, dtype: .u8, shape: [tokenizer.bytes.count], offset: 0, bytes: 0, xxh64: ""))
        let header = SitoHeader(
            architecture: config.architecture.sitoArchitecture, task: config.architecture.task, model: m,
            input: input,
            tokenizer: tokenizer.info,
            source: SourceInfo(name: config.nameOrPath.flatMap { $0.isEmpty ? nil : $0 } ?? folder.lastPathComponent,
                               revision: Converter.revision(of: folder), filesXXH64: Converter.smallFileHashes(folder)),
            converter: ConverterInfo(name: "sito-convert", version: Converter.version),
            created: Converter.timestamp(), tensors: entries)

        let writer = try SitoWriter(destination: output, header: header, inputs: weights.files + [folder.path])
        let total = writer.header.tensors.reduce(0) { $0 + $1.bytes }
        var done = 0
        do {
            for entry in writer.header.tensors {
                if entry.name == tokenizer.info.tensor {
                    try tokenizer.bytes.withUnsafeBytes { try writer.append($0) }
                } else {
                    let source = sources[entry.name]!
                    try readWidened(source) { chunk in
                        for v in chunk where !v.isFinite { throw ConversionError.nonFinite(folder: folder.path, tensor: source.name) }
                        try Converter.appendNarrowed(chunk, as: entry.dtype, to: writer)
                    }
                }
                done += entry.bytes
                progress?(done, total)
            }
            let final = try writer.finish()
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? nil
            return ConversionSummary(output: output, architecture: config.architecture.rawValue, tensors: final.tensors.count,
                                     bytes: size ?? 0, dtype: dtype.rawValue, maxLength: maxLength,
                                     tokenizer: tokenizer.info.kind, seconds: Date().timeIntervalSince(start))
        } catch {
            writer.abort()
            throw error
        }
    }

    /// Every file the converter reads or may read in `folder` (whether or not it exists): config.json, the
    /// tokenizer files it looks for, the sentence-transformers configuration (modules.json, its module
    /// folders' config.json, sentence_bert_config.json), every safetensors file, the shard index and the
    /// shards it names. The output may be none of them (OutputSafety).
    public static func inputs(of folder: URL) -> [ProtectedInput] {
        var out = [ProtectedInput(path: folder.path, role: "the model folder")]
        func add(_ name: String, _ what: String) {
            out.append(ProtectedInput(path: folder.appendingPathComponent(name).path, role: "\(what), which sito-convert reads"))
        }
        add("config.json", "the model's config.json")
        for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "sentencepiece.bpe.model", "vocab.txt"] {
            add(name, "a tokenizer file")
        }
        add("model.safetensors", "the weights")
        add("model.safetensors.index.json", "the shard index")
        add("modules.json", "the sentence-transformers module list")
        add("sentence_bert_config.json", "the sentence-transformers configuration")
        func json(_ name: String) -> Any? {
            FileManager.default.contents(atPath: folder.appendingPathComponent(name).path).flatMap { try? JSONSerialization.jsonObject(with: $0) }
        }
        var moduleFolders: Set<String> = ["1_Pooling", "2_Normalize"]
        for module in json("modules.json") as? [[String: Any]] ?? [] {
            if let path = module["path"] as? String, !path.isEmpty { moduleFolders.insert(path) }
        }
        for path in moduleFolders.sorted() { add(path + "/config.json", "a sentence-transformers module's configuration") }
        let listed = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in listed.sorted() where name.hasSuffix(".safetensors") && name != "model.safetensors" { add(name, "a weights file") }
        let shards = ((json("model.safetensors.index.json") as? [String: Any])?["weight_map"] as? [String: Any])?.values.compactMap { $0 as? String } ?? []
        for name in Set(shards).sorted() where !listed.contains(name) { add(name, "a shard named by model.safetensors.index.json") }
        return out
    }

    /// Writes f32 values as `dtype` (f32 as is, f16 and bf16 rounded to nearest even).
    static func appendNarrowed(_ chunk: UnsafeBufferPointer<Float>, as dtype: DType, to writer: SitoWriter) throws {
        switch dtype {
        case .f32:
            try writer.append(UnsafeRawBufferPointer(chunk))
        case .bf16:
            let narrowed = chunk.map { bf16Bits($0) }
            try narrowed.withUnsafeBytes { try writer.append($0) }
        case .f16:
            let narrowed = chunk.map { Float16($0).bitPattern }
            try narrowed.withUnsafeBytes { try writer.append($0) }
        default:
            preconditionFailure("converter writes float tensors only")
        }
    }

    /// The token budget of one sequence: the position table minus the offset, capped by the
    /// tokenizer's `model_max_length` when tokenizer_config.json states a smaller one.
    static func maxLength(folder: URL, model m: ModelHyperparameters) -> Int {
        var length = m.maxPositions - m.positionOffset
        if let data = FileManager.default.contents(atPath: folder.appendingPathComponent("tokenizer_config.json").path),
           let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
           let declared = (json["model_max_length"] as? NSNumber)?.doubleValue, declared >= Double(SitoLimits.maxLength.lowerBound), declared < Double(length) {
            length = Int(declared)
        }
        return length
    }

    /// A Hugging Face cache snapshot folder is named by its commit; use it as the revision.
    static func revision(of folder: URL) -> String? {
        let components = folder.standardizedFileURL.pathComponents
        if components.count >= 2, components[components.count - 2] == "snapshots" { return components.last }
        return nil
    }

    static func smallFileHashes(_ folder: URL) -> [String: String] {
        var out: [String: String] = [:]
        for name in ["config.json", "tokenizer.json", "tokenizer_config.json", "sentencepiece.bpe.model", "vocab.json", "merges.txt",
                     "special_tokens_map.json", "model.safetensors.index.json"] {
            if let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) {
                out[name] = hex64(data.withUnsafeBytes { sito_xxh64($0.baseAddress, $0.count, 0) })
            }
        }
        return out
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date())
    }
}

/// f32 → bf16 bits, round to nearest even; NaN stays a (quiet) NaN.
@inline(__always)
public func bf16Bits(_ x: Float) -> UInt16 {
    let bits = x.bitPattern
    if x.isNaN { return UInt16(bits >> 16) | 0x0040 }
    let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
}
