// SitoFile.swift: opens a `.sito` file by memory-mapping it, validates every invariant of
// formats/sito.md once, and hands out zero-copy views of its tensors. After `open` succeeds, the hot
// paths trust the data.
import CSitoKernels
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A zero-copy view of one tensor inside a mapped file.
public struct TensorView: @unchecked Sendable {
    // @unchecked: `base` points into a read-only mapping owned by the SitoFile, which outlives every
    // view it hands out (views are only obtained from, and used while holding, the file).
    public let entry: TensorEntry
    public let base: UnsafeRawPointer

    public var name: String { entry.name }
    public var dtype: DType { entry.dtype }
    public var shape: [Int] { entry.shape }
    public var layout: TensorLayout { entry.effectiveLayout }
    public var count: Int { entry.shape.reduce(1, *) }
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: entry.bytes) }

    /// Typed pointer; the caller checks `dtype` first.
    public func pointer<T>(as type: T.Type) -> UnsafePointer<T> {
        base.assumingMemoryBound(to: type)
    }
}

/// Options for opening a file.
public struct SitoOpenOptions: Sendable {
    /// Verify every tensor's XXH64 while opening (reads the whole file).
    public var verifyChecksums: Bool
    /// Check the tensor inventory against the architecture's schema. Only `sito-inspect` turns this off,
    /// to show what is in a file the runtime would refuse.
    public var checkSchema: Bool

    public init(verifyChecksums: Bool = false, checkSchema: Bool = true) {
        self.verifyChecksums = verifyChecksums
        self.checkSchema = checkSchema
    }
}

/// An opened, validated `.sito` file.
public final class SitoFile: @unchecked Sendable {
    // @unchecked: all stored properties are immutable after init; the mapping is read-only
    // (PROT_READ) and unmapped only in deinit, when no one can hold a view any more.
    public let path: String
    public let header: SitoHeader
    public let fileSize: Int
    /// Byte offset of the data section.
    public let dataOffset: Int
    private let mapping: UnsafeMutableRawPointer?
    private let index: [String: Int]

    /// Opens and validates `url`. Throws `SitoFormatError` naming the file and the problem.
    public init(contentsOf url: URL, options: SitoOpenOptions = SitoOpenOptions()) throws {
        let path = url.path
        self.path = path
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SitoFormatError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw SitoFormatError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        if (st.st_mode & S_IFMT) != S_IFREG { throw SitoFormatError.cannotOpen(path: path, reason: "not a regular file") }
        let size = Int(st.st_size)
        self.fileSize = size
        if size < SitoLayout.preambleSize { throw SitoFormatError.tooSmall(path: path, size: size) }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw SitoFormatError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        do {
            let raw = UnsafeRawBufferPointer(start: map, count: size)
            let parsed = try SitoFile.parse(raw, path: path, options: options)
            self.header = parsed.header
            self.dataOffset = parsed.dataOffset
            self.index = parsed.index
            self.mapping = map
        } catch {
            munmap(map, size)
            throw error
        }
    }

    deinit {
        if let mapping { munmap(mapping, fileSize) }
    }

    /// The tensor named `name`, or nil.
    public func tensor(_ name: String) -> TensorView? {
        guard let i = index[name], let mapping else { return nil }
        let entry = header.tensors[i]
        return TensorView(entry: entry, base: UnsafeRawPointer(mapping + dataOffset + entry.offset))
    }

    /// The tensor named `name`; throws when absent (the schema check makes that impossible for required ones).
    public func require(_ name: String) throws -> TensorView {
        guard let t = tensor(name) else {
            throw SitoFormatError.missingTensor(path: path, tensor: name, architecture: header.architecture)
        }
        return t
    }

    /// Recomputes every tensor's XXH64; throws `checksumMismatch` naming the first bad tensor.
    public func verifyChecksums() throws {
        if let first = checksumMismatches().first { throw first }
    }

    /// Names of every tensor whose checksum does not match, for a full report.
    public func corruptTensors() -> [String] {
        checksumMismatches().compactMap { error in
            if case let .checksumMismatch(_, tensor, _, _) = error { return tensor } else { return nil }
        }
    }

    /// A `checksumMismatch` for every tensor whose XXH64 differs from the header's (or `invalidInt8` for
    /// an i8 tensor holding -128), in directory order.
    public func checksumMismatches() -> [SitoFormatError] {
        header.tensors.compactMap { entry in
            guard let view = tensor(entry.name) else { return nil }
            return SitoFile.integrityError(entry, at: view.base, path: path)
        }
    }

    /// What a full read of one tensor's bytes finds wrong: a checksum mismatch, or -128 in int8 data.
    static func integrityError(_ entry: TensorEntry, at base: UnsafeRawPointer, path: String) -> SitoFormatError? {
        let actual = hex64(sito_xxh64(base, entry.bytes, 0))
        if actual != entry.xxh64 {
            return .checksumMismatch(path: path, tensor: entry.name, expected: entry.xxh64, actual: actual)
        }
        if entry.dtype == .i8 && memchr(base, 0x80, entry.bytes) != nil {
            return .invalidInt8(path: path, tensor: entry.name)
        }
        return nil
    }

    /// The error a default open (architecture schema checked) would throw for this file, or nil. For a
    /// file opened with `checkSchema: false` (sito-inspect) to say why the runtime would refuse it.
    public func schemaError() -> SitoFormatError? {
        do {
            try SitoFile.validateMetadata(header, index: index, path: path, checkSchema: true)
            return nil
        } catch let error as SitoFormatError {
            return error
        } catch {
            return .badMetadata(path: path, field: "", reason: "\(error)")
        }
    }

    // MARK: - Validation

    struct Parsed {
        let header: SitoHeader
        let dataOffset: Int
        let index: [String: Int]
    }

    /// Validates the preamble, the header and the directory of the bytes `raw` (the whole file).
    /// Pure: used by `init` and by the mutation tests on in-memory buffers.
    static func parse(_ raw: UnsafeRawBufferPointer, path: String, options: SitoOpenOptions) throws -> Parsed {
        let size = raw.count
        if size < SitoLayout.preambleSize { throw SitoFormatError.tooSmall(path: path, size: size) }
        let magic = Array(raw[0..<4])
        if magic != SitoLayout.magic { throw SitoFormatError.badMagic(path: path, found: magic) }
        let version = raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
        if version == 0 { throw SitoFormatError.unsupportedVersion(path: path, version: version) }
        if version > UInt32(SitoFormatVersion.current) { throw SitoFormatError.newerVersion(path: path, version: version) }
        let headerLength = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
        guard headerLength >= 2, headerLength <= UInt64(SitoLayout.maxHeaderLength),
              UInt64(SitoLayout.preambleSize) + headerLength <= UInt64(size) else {
            throw SitoFormatError.headerLength(path: path, length: headerLength, fileSize: size)
        }
        let hl = Int(headerLength)
        guard let dataOffset = SitoLayout.aligned(SitoLayout.preambleSize + hl), dataOffset <= size else {
            throw SitoFormatError.headerLength(path: path, length: headerLength, fileSize: size)
        }
        let json = Data(raw[SitoLayout.preambleSize..<(SitoLayout.preambleSize + hl)])
        let header: SitoHeader
        do {
            header = try JSONDecoder().decode(SitoHeader.self, from: json)
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw SitoFormatError.headerNotJSON(path: path, reason: "missing key \(describe(ctx.codingPath + [key]))")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw SitoFormatError.headerNotJSON(path: path, reason: "wrong type at \(describe(ctx.codingPath))")
        } catch let DecodingError.valueNotFound(_, ctx) {
            throw SitoFormatError.headerNotJSON(path: path, reason: "null at \(describe(ctx.codingPath))")
        } catch let DecodingError.dataCorrupted(ctx) {
            if let error = unknownValueError(in: json, at: ctx.codingPath, path: path) { throw error }
            let at = ctx.codingPath.isEmpty ? "" : " at \(describe(ctx.codingPath))"
            throw SitoFormatError.headerNotJSON(path: path, reason: "\(ctx.debugDescription)\(at)")
        } catch {
            throw SitoFormatError.headerNotJSON(path: path, reason: "\(error)")
        }
        if header.sito != Int(version) {
            throw SitoFormatError.headerVersionMismatch(path: path, header: header.sito, preamble: Int(version))
        }
        let index = try validateDirectory(header, path: path, dataSize: size - dataOffset, fileSize: size)
        try validateMetadata(header, index: index, path: path, checkSchema: options.checkSchema)
        if options.verifyChecksums {
            for entry in header.tensors {
                if let error = integrityError(entry, at: raw.baseAddress! + dataOffset + entry.offset, path: path) { throw error }
            }
        }
        return Parsed(header: header, dataOffset: dataOffset, index: index)
    }

    /// When decoding failed on a value no enum of the format knows (a newer writer's, or corruption), the
    /// error that names it rather than "not JSON": `unknownDType`/`unknownLayout` for a tensor's dtype or
    /// layout, `badMetadata` naming the field and the values it knows for a word of the header's vocabulary.
    private static func unknownValueError(in json: Data, at codingPath: [CodingKey], path: String) -> SitoFormatError? {
        guard let probe = try? JSONDecoder().decode(JSONProbe.self, from: json),
              let found = probe.value(at: codingPath) else { return nil }
        let value: String
        switch found {
        case let .string(s): value = s
        case let .integer(n): value = String(n)
        case .array, .object, .other: return nil
        }
        let keys = codingPath.map(\.stringValue)
        if keys.count == 3, keys[0] == "tensors", let i = codingPath[1].intValue {
            let name: String
            if case let .string(n)? = probe.value(at: Array(codingPath.prefix(2)), then: "name") { name = n } else { name = "#\(i)" }
            switch keys[2] {
            case "dtype": return .unknownDType(path: path, tensor: name, dtype: value)
            case "layout": return .unknownLayout(path: path, tensor: name, layout: value)
            default: return nil
            }
        }
        if keys.count == 3, keys[0] == "quantization", keys[1] == "plan" {
            // Plan keys are projection names (with dots): name the entry, and the schemes known.
            return .badMetadata(path: path, field: "quantization.plan[\"\(keys[2])\"]",
                                reason: "\"\(value)\" is not \(ProjectionScheme.knownValues)")
        }
        let field = keys.joined(separator: ".")
        guard let known = headerVocabularies[field] else { return nil }
        let shown = if case .string = found { "\"\(value)\"" } else { value }
        return .badMetadata(path: path, field: field, reason: "\(shown) is not \(known)")
    }

    /// The header as untyped JSON, strings and integers kept: enough to find the value that failed to decode.
    private enum JSONProbe: Decodable {
        case string(String)
        case integer(Int)
        case array([JSONProbe])
        case object([String: JSONProbe])
        case other

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .string(s) }
            else if let n = try? c.decode(Int.self) { self = .integer(n) }
            else if let a = try? c.decode([JSONProbe].self) { self = .array(a) }
            else if let o = try? c.decode([String: JSONProbe].self) { self = .object(o) }
            else { self = .other }
        }

        func value(at path: [CodingKey], then key: String? = nil) -> JSONProbe? {
            var node = self
            for k in path {
                switch node {
                case let .array(items):
                    guard let i = k.intValue, items.indices.contains(i) else { return nil }
                    node = items[i]
                case let .object(fields):
                    guard let next = fields[k.stringValue] else { return nil }
                    node = next
                default:
                    return nil
                }
            }
            guard let key else { return node }
            if case let .object(fields) = node { return fields[key] }
            return nil
        }
    }

    private static func describe(_ path: [CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
    }

    static func isValidName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard !utf8.isEmpty, utf8.count <= SitoLayout.maxNameLength else { return false }
        return utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2E }
    }

    /// Byte size of a tensor of `shape` and `dtype`, or nil on overflow or a malformed shape.
    public static func byteSize(shape: [Int], dtype: DType) -> Int? {
        guard shape.count <= SitoLayout.maxRank else { return nil }
        var total = dtype.size
        for d in shape {
            guard d >= 1, d <= SitoLayout.maxDimension else { return nil }
            let (p, o) = total.multipliedReportingOverflow(by: d)
            if o { return nil }
            total = p
        }
        return total
    }

    /// Invariants 6–10: names, dtypes, shapes, sizes, alignment, bounds, overlaps, scale companions.
    static func validateDirectory(_ header: SitoHeader, path: String, dataSize: Int, fileSize: Int) throws -> [String: Int] {
        var index: [String: Int] = [:]
        index.reserveCapacity(header.tensors.count)
        for (i, t) in header.tensors.enumerated() {
            guard isValidName(t.name) else { throw SitoFormatError.badTensorName(path: path, name: t.name) }
            if index[t.name] != nil { throw SitoFormatError.duplicateTensor(path: path, name: t.name) }
            index[t.name] = i
            guard t.shape.count <= SitoLayout.maxRank, t.shape.allSatisfy({ $0 >= 1 && $0 <= SitoLayout.maxDimension }) else {
                throw SitoFormatError.badShape(path: path, tensor: t.name, shape: t.shape)
            }
            guard let expected = byteSize(shape: t.shape, dtype: t.dtype) else {
                throw SitoFormatError.sizeOverflow(path: path, tensor: t.name)
            }
            if t.bytes != expected {
                throw SitoFormatError.byteSizeMismatch(path: path, tensor: t.name, declared: t.bytes, expected: expected)
            }
            if t.offset < 0 || t.offset % SitoLayout.alignment != 0 {
                throw SitoFormatError.misaligned(path: path, tensor: t.name, offset: t.offset)
            }
            let (end, overflow) = t.offset.addingReportingOverflow(t.bytes)
            if overflow || end > dataSize {
                // The absolute end can overflow even when `end` does not (offset near Int.max): checked too.
                let (absolute, past) = end.addingReportingOverflow(fileSize - dataSize)
                let shown = overflow || past ? "(overflow)" : String(absolute)
                throw SitoFormatError.outOfBounds(path: path, tensor: t.name, end: shown, fileSize: fileSize)
            }
            if let reason = t.effectiveLayout.unsupportedReason(dtype: t.dtype, shape: t.shape) {
                throw SitoFormatError.badLayout(path: path, tensor: t.name, reason: reason)
            }
            if t.effectiveLayout != .rowMajor && header.sito < 2 {
                throw SitoFormatError.badLayout(path: path, tensor: t.name, reason: "layout \(t.effectiveLayout.rawValue) needs format 2, the file says \(header.sito)")
            }
            let digits = t.xxh64.utf8
            guard digits.count == 16, digits.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
                throw SitoFormatError.badChecksumField(path: path, tensor: t.name, value: t.xxh64)
            }
        }
        // Overlaps: sort by offset, compare neighbours.
        let sorted = header.tensors.sorted { $0.offset < $1.offset }
        if sorted.count > 1 {
            for i in 1..<sorted.count where sorted[i - 1].offset + sorted[i - 1].bytes > sorted[i].offset {
                throw SitoFormatError.overlap(path: path, first: sorted[i - 1].name, second: sorted[i].name)
            }
        }
        // Scale companions.
        for t in header.tensors {
            if t.dtype == .i8 {
                // An i8 tensor is a [rows, cols] matrix (checked first: t.shape[0] of a scalar would trap).
                guard t.shape.count == 2 else { throw SitoFormatError.badShape(path: path, tensor: t.name, shape: t.shape) }
                let scaleName = t.name + scaleSuffix
                guard let si = index[scaleName] else { throw SitoFormatError.missingScale(path: path, tensor: t.name) }
                let s = header.tensors[si]
                if s.dtype != .f32 || s.shape != [t.shape[0]] {
                    throw SitoFormatError.badScaleShape(path: path, tensor: s.name, shape: s.shape, expected: [t.shape[0]])
                }
            } else if t.name.hasSuffix(scaleSuffix) {
                let owner = String(t.name.dropLast(scaleSuffix.count))
                guard let oi = index[owner], header.tensors[oi].dtype == .i8 else {
                    throw SitoFormatError.orphanScale(path: path, tensor: t.name)
                }
            }
        }
        return index
    }

    /// Invariants 11–13: hyperparameters, tokenizer, input recipe, and the architecture's inventory.
    static func validateMetadata(_ h: SitoHeader, index: [String: Int], path: String, checkSchema: Bool) throws {
        let m = h.model
        func bad(_ field: String, _ reason: String) -> SitoFormatError {
            .badMetadata(path: path, field: field, reason: reason)
        }
        let limits: [(String, Int, ClosedRange<Int>)] = [
            ("model.layers", m.layers, SitoLimits.layers), ("model.hidden", m.hidden, SitoLimits.hidden),
            ("model.heads", m.heads, SitoLimits.heads), ("model.ffn", m.ffn, SitoLimits.ffn),
            ("model.vocab", m.vocab, SitoLimits.vocab), ("model.max_positions", m.maxPositions, SitoLimits.maxPositions),
            ("model.position_offset", m.positionOffset, SitoLimits.positionOffset), ("model.type_vocab", m.typeVocab, SitoLimits.typeVocab),
            ("model.num_labels", m.numLabels, SitoLimits.numLabels), ("input.max_length", h.input.maxLength, SitoLimits.maxLength),
        ]
        for (field, value, range) in limits where !range.contains(value) {
            throw bad(field, "\(value) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        if m.hidden % m.heads != 0 { throw bad("model.heads", "hidden \(m.hidden) is not divisible by heads \(m.heads)") }
        if !(m.layerNormEps > 0 && m.layerNormEps < 1) { throw bad("model.layer_norm_eps", "\(m.layerNormEps) is not in (0, 1)") }
        guard ArchitectureSchema.isSupported(architecture: h.architecture, task: h.task, head: m.head) else {
            throw SitoFormatError.unsupportedArchitecture(path: path, architecture: h.architecture, task: h.task, head: m.head)
        }
        if h.architecture == .xlmRoberta && m.positionOffset < 1 {
            // RoBERTa positions start at padding_idx + 1, and pad tokens take row padding_idx.
            throw bad("model.position_offset", "an xlm-roberta model needs position_offset = pad_token_id + 1 ≥ 1")
        }
        if (h.task == .embedding) != (m.pooling != .none) {
            throw bad("model.pooling", "\"\(m.pooling)\" does not fit task \"\(h.task)\" (embedding: mean or cls; otherwise none)")
        }
        let truncation: Truncation
        switch h.input.recipe {
        case .joinedPair, .single: truncation = .right
        case .pair: truncation = .longestFirst
        }
        if h.input.truncation != truncation {
            throw bad("input.truncation", "\"\(h.input.truncation)\" does not fit recipe \"\(h.input.recipe)\" (\(truncation))")
        }
        if h.input.maxLength + m.positionOffset > m.maxPositions {
            throw bad("input.max_length", "\(h.input.maxLength) + position offset \(m.positionOffset) exceeds max_positions \(m.maxPositions)")
        }
        if h.input.recipe == .joinedPair && (h.input.separator ?? "").isEmpty {
            throw bad("input.separator", "a joined-pair recipe needs a separator")
        }
        let t = h.tokenizer
        guard let ti = index[t.tensor], h.tensors[ti].dtype == .u8 else {
            throw bad("tokenizer.tensor", "no u8 tensor named \"\(t.tensor)\" holds the tokenizer")
        }
        if t.modelVocab != m.vocab { throw bad("tokenizer.model_vocab", "\(t.modelVocab) differs from model.vocab \(m.vocab)") }
        let specials = [t.specials.bos, t.specials.pad, t.specials.eos, t.specials.unk, t.specials.mask, t.specials.cls, t.specials.sep]
        for id in specials.compactMap({ $0 }) where !(0..<m.vocab).contains(id) {
            throw bad("tokenizer.specials", "id \(id) is outside the vocabulary 0..<\(m.vocab)")
        }
        for a in t.addedTokens where !(0..<m.vocab).contains(a.id) || a.content.isEmpty {
            throw bad("tokenizer.added_tokens", "\"\(a.content)\" → \(a.id) is not a valid added token")
        }
        if abs(t.idOffset) > m.vocab {
            throw bad("tokenizer.id_offset", "\(t.idOffset) is larger than the vocabulary")
        }
        if let wp = t.wordpiece, !(1...1024).contains(wp.maxInputCharsPerWord) {
            throw bad("tokenizer.wordpiece.max_input_chars_per_word", "\(wp.maxInputCharsPerWord) is outside 1…1024")
        }
        for pair in t.idOverrides where pair.count != 2 || !(0..<m.vocab).contains(pair[1]) || pair[0] < 0 {
            throw bad("tokenizer.id_overrides", "\(pair) is not a [tokenizer id, model id] pair inside the vocabulary")
        }
        if let plan = h.quantization?.plan {
            // Each entry names a projection whose weight has the scheme's dtype (sorted: one error, always the same).
            let projections = Set(ArchitectureSchema.quantizableProjections(for: m).map(\.name))
            for (name, scheme) in plan.sorted(by: { $0.key < $1.key }) {
                let field = "quantization.plan[\"\(name)\"]"
                guard let i = index[name + ".weight"], projections.contains(name + ".weight") else {
                    throw bad(field, "no projection \(name) (a weight \(name).weight) in the file")
                }
                let dtype = h.tensors[i].dtype
                if dtype != scheme.weightDType {
                    throw bad(field, "\"\(scheme)\" needs a \(scheme.weightDType) weight; \(name).weight is \(dtype)")
                }
            }
        }
        if !checkSchema { return }
        let expected = ArchitectureSchema.expectedTensors(for: m)
        var known = Set<String>()
        for e in expected {
            known.insert(e.name)
            guard let i = index[e.name] else {
                throw SitoFormatError.missingTensor(path: path, tensor: e.name, architecture: h.architecture)
            }
            let entry = h.tensors[i]
            if entry.shape != e.shape {
                throw SitoFormatError.wrongShape(path: path, tensor: e.name, shape: entry.shape, expected: e.shape)
            }
            if !e.allowed.contains(entry.dtype) {
                throw SitoFormatError.wrongDType(path: path, tensor: e.name, dtype: entry.dtype, allowed: e.allowed)
            }
            if entry.effectiveLayout != .rowMajor && !e.projection {
                throw SitoFormatError.badLayout(path: path, tensor: e.name, reason: "only projection matrices may use layout \(entry.effectiveLayout.rawValue); this tensor is read by rows")
            }
            if entry.dtype == .i8 { known.insert(e.name + scaleSuffix) }
        }
        for entry in h.tensors where !known.contains(entry.name) && entry.name != t.tensor {
            throw SitoFormatError.unexpectedTensor(path: path, tensor: entry.name, architecture: h.architecture)
        }
    }
}
