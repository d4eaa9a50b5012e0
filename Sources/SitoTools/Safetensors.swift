// Safetensors.swift: a strict reader of Hugging Face safetensors files (single or sharded), after
// safetensors' own `validate()`: the 8-byte header length is bounded, the header is a JSON object of
// {name: {dtype, shape, data_offsets}} (plus an optional "__metadata__"), every tensor's byte size is
// exactly shape × element size (overflow-checked), offsets lie inside the data section, tensors do not
// overlap and cover the data section without holes. Data is read with pread in bounded chunks so that
// converting a multi-gigabyte model never holds more than one chunk in memory.
import Foundation
import SitoFormat

#if canImport(Glibc)
import Glibc
#endif

/// Why a safetensors file was refused.
public enum SafetensorsError: Error, Equatable, LocalizedError {
    case cannotOpen(path: String, reason: String)
    case tooSmall(path: String, size: Int)
    case headerLength(path: String, length: UInt64, fileSize: Int)
    case headerNotJSON(path: String, reason: String)
    case badEntry(path: String, tensor: String, reason: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case sizeMismatch(path: String, tensor: String, declared: Int, expected: Int)
    case overflow(path: String, tensor: String)
    case outOfBounds(path: String, tensor: String)
    case overlap(path: String, first: String, second: String)
    case hole(path: String, at: Int)
    case readFailed(path: String, reason: String)
    case badIndex(path: String, reason: String)
    case duplicate(path: String, tensor: String)

    public var errorDescription: String? {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .tooSmall(path, size): return "\(path): not a safetensors file: \(size) bytes, fewer than the 8-byte header length"
        case let .headerLength(path, length, size): return "\(path): safetensors header length \(length) is impossible for a file of \(size) bytes (limit 100 MB): truncated or corrupt"
        case let .headerNotJSON(path, reason): return "\(path): safetensors header is not valid: \(reason)"
        case let .badEntry(path, tensor, reason): return "\(path): tensor \(tensor): \(reason)"
        case let .unsupportedDType(path, tensor, dtype): return "\(path): tensor \(tensor) has dtype \(dtype); sito-convert reads weights in F32, F16 and BF16"
        case let .sizeMismatch(path, tensor, declared, expected): return "\(path): tensor \(tensor) spans \(declared) bytes but its shape and dtype need \(expected)"
        case let .overflow(path, tensor): return "\(path): tensor \(tensor): shape × element size overflows"
        case let .outOfBounds(path, tensor): return "\(path): tensor \(tensor) lies outside the file's data section: truncated file?"
        case let .overlap(path, first, second): return "\(path): tensors \(first) and \(second) overlap"
        case let .hole(path, at): return "\(path): the data section has bytes at offset \(at) that belong to no tensor"
        case let .readFailed(path, reason): return "\(path): read failed: \(reason)"
        case let .badIndex(path, reason): return "\(path): \(reason)"
        case let .duplicate(path, tensor): return "\(path): tensor \(tensor) appears in more than one shard"
        }
    }
}

/// dtypes a safetensors header may declare. The converter reads weights in F32, F16 and BF16 only;
/// the others are parsed (and validated) so that buffers such as an I64 `position_ids` can be skipped.
public enum SourceDType: String, Sendable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// Whether sito-convert can read it as weights.
    public var isConvertible: Bool { self == .f32 || self == .f16 || self == .bf16 }
}

/// One tensor of a safetensors file.
public struct SafetensorsTensor: Sendable {
    public let name: String
    public let dtype: SourceDType
    public let shape: [Int]
    /// Absolute byte offset in the file.
    public let fileOffset: Int
    public let bytes: Int
    /// The file that holds it.
    public let path: String
    public var count: Int { shape.reduce(1, *) }
}

/// A parsed safetensors header.
public struct SafetensorsFile: Sendable {
    public static let maxHeaderLength: UInt64 = 100_000_000

    public let path: String
    public let tensors: [SafetensorsTensor]

    /// Parses and validates the header of `path`.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SafetensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafetensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        if size < 8 { throw SafetensorsError.tooSmall(path: path, size: size) }
        var lengthLE: UInt64 = 0
        try withUnsafeMutableBytes(of: &lengthLE) { try SafetensorsFile.readExactly(fd: fd, into: $0, at: 0, path: path) }
        let length = UInt64(littleEndian: lengthLE)
        guard length >= 2, length <= SafetensorsFile.maxHeaderLength, 8 + length <= UInt64(size) else {
            throw SafetensorsError.headerLength(path: path, length: length, fileSize: size)
        }
        var header = [UInt8](repeating: 0, count: Int(length))
        try header.withUnsafeMutableBytes { try SafetensorsFile.readExactly(fd: fd, into: $0, at: 8, path: path) }
        self.tensors = try SafetensorsFile.parseHeader(header, path: path, dataStart: 8 + Int(length), fileSize: size)
    }

    /// Validates a header's JSON bytes; `dataStart` is where the data section begins in the file.
    public static func parseHeader(_ json: [UInt8], path: String, dataStart: Int, fileSize: Int) throws -> [SafetensorsTensor] {
        let dict: [String: RawEntry]
        do {
            dict = try JSONDecoder().decode([String: RawEntry].self, from: Data(json))
        } catch {
            throw SafetensorsError.headerNotJSON(path: path, reason: "not a JSON object of tensor entries (\(error))")
        }
        let dataSize = fileSize - dataStart
        var out: [SafetensorsTensor] = []
        for (name, entry) in dict where name != "__metadata__" {
            guard let dtypeName = entry.dtype else { throw SafetensorsError.badEntry(path: path, tensor: name, reason: "no dtype") }
            guard let dtype = SourceDType(rawValue: dtypeName) else { throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: dtypeName) }
            guard let shape = entry.shape, shape.count <= 8, shape.allSatisfy({ $0 >= 0 }) else {
                throw SafetensorsError.badEntry(path: path, tensor: name, reason: "shape is not a list of at most 8 non-negative integers")
            }
            guard let offsets = entry.dataOffsets, offsets.count == 2, offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw SafetensorsError.badEntry(path: path, tensor: name, reason: "data_offsets is not [begin, end] with begin ≤ end")
            }
            var expected = dtype.size
            for d in shape {
                let (p, o) = expected.multipliedReportingOverflow(by: d)
                if o { throw SafetensorsError.overflow(path: path, tensor: name) }
                expected = p
            }
            let declared = offsets[1] - offsets[0]
            if declared != expected { throw SafetensorsError.sizeMismatch(path: path, tensor: name, declared: declared, expected: expected) }
            if offsets[1] > dataSize { throw SafetensorsError.outOfBounds(path: path, tensor: name) }
            out.append(SafetensorsTensor(name: name, dtype: dtype, shape: shape, fileOffset: dataStart + offsets[0], bytes: declared, path: path))
        }
        out.sort { $0.fileOffset != $1.fileOffset ? $0.fileOffset < $1.fileOffset : $0.name < $1.name }
        var cursor = dataStart
        for (i, t) in out.enumerated() {
            if t.fileOffset < cursor { throw SafetensorsError.overlap(path: path, first: out[i - 1].name, second: t.name) }
            if t.fileOffset > cursor { throw SafetensorsError.hole(path: path, at: cursor - dataStart) }
            cursor = t.fileOffset + t.bytes
        }
        if cursor != fileSize { throw SafetensorsError.hole(path: path, at: cursor - dataStart) }
        return out
    }

    /// One header value: a tensor entry, or `__metadata__` (a string map: every field absent).
    struct RawEntry: Decodable {
        let dtype: String?
        let shape: [Int]?
        let dataOffsets: [Int]?

        enum CodingKeys: String, CodingKey { case dtype, shape, dataOffsets = "data_offsets" }

        init(from decoder: Decoder) throws {
            if let c = try? decoder.container(keyedBy: CodingKeys.self) {
                dtype = try? c.decode(String.self, forKey: .dtype)
                shape = try? c.decode([Int].self, forKey: .shape)
                dataOffsets = try? c.decode([Int].self, forKey: .dataOffsets)
            } else {
                dtype = nil
                shape = nil
                dataOffsets = nil
            }
        }
    }

    static func readExactly(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafetensorsError.readFailed(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { throw SafetensorsError.readFailed(path: path, reason: "unexpected end of file") }
            done += n
        }
    }
}

/// A model's tensors across one or more safetensors files.
public struct SafetensorsCollection: Sendable {
    public let files: [String]
    public let tensors: [String: SafetensorsTensor]

    /// Opens `model.safetensors`, or every shard listed by `model.safetensors.index.json`, in `folder`.
    public init(folder: URL) throws {
        let single = folder.appendingPathComponent("model.safetensors").path
        let indexPath = folder.appendingPathComponent("model.safetensors.index.json").path
        var files: [String]
        if FileManager.default.fileExists(atPath: indexPath) {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: indexPath)) } catch {
                throw SafetensorsError.badIndex(path: indexPath, reason: "cannot read: \(error.localizedDescription)")
            }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = object["weight_map"] as? [String: Any] else {
                throw SafetensorsError.badIndex(path: indexPath, reason: "not a safetensors index (no \"weight_map\" object)")
            }
            var shardNames = Set<String>()
            for (tensor, file) in map {
                guard let f = file as? String, !f.contains("/"), f.hasSuffix(".safetensors") else {
                    throw SafetensorsError.badIndex(path: indexPath, reason: "tensor \(tensor) maps to an invalid shard name")
                }
                shardNames.insert(f)
            }
            files = shardNames.sorted().map { folder.appendingPathComponent($0).path }
            var all: [String: SafetensorsTensor] = [:]
            for f in files {
                for t in try SafetensorsFile(path: f).tensors {
                    if all[t.name] != nil { throw SafetensorsError.duplicate(path: f, tensor: t.name) }
                    all[t.name] = t
                }
            }
            for (tensor, file) in map {
                guard let t = all[tensor], URL(fileURLWithPath: t.path).lastPathComponent == (file as? String) else {
                    throw SafetensorsError.badIndex(path: indexPath, reason: "tensor \(tensor) is not in the shard the index names")
                }
            }
            if all.count != map.count {
                let extra = all.keys.filter { map[$0] == nil }.sorted().first ?? "?"
                throw SafetensorsError.badIndex(path: indexPath, reason: "shard tensor \(extra) is not listed in the index")
            }
            self.files = files
            self.tensors = all
        } else if FileManager.default.fileExists(atPath: single) {
            files = [single]
            self.files = files
            var all: [String: SafetensorsTensor] = [:]
            for t in try SafetensorsFile(path: single).tensors { all[t.name] = t }
            self.tensors = all
        } else {
            throw SafetensorsError.cannotOpen(path: folder.path, reason: "no model.safetensors or model.safetensors.index.json (pytorch_model.bin is not read: convert it to safetensors first)")
        }
    }
}

/// Reads a source tensor in chunks of at most `chunkElements` elements, widened to f32.
/// `body` gets each chunk; the buffer is reused, so `body` must not keep it.
public func readWidened(_ t: SafetensorsTensor, chunkElements: Int = 1 << 20, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
    guard t.dtype.isConvertible else { throw SafetensorsError.unsupportedDType(path: t.path, tensor: t.name, dtype: t.dtype.rawValue) }
    let fd = open(t.path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw SafetensorsError.cannotOpen(path: t.path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    let total = t.count
    var raw = [UInt8](repeating: 0, count: min(total, chunkElements) * t.dtype.size)
    var floats = [Float](repeating: 0, count: min(total, chunkElements))
    var done = 0
    while done < total {
        let n = min(chunkElements, total - done)
        try raw.withUnsafeMutableBytes {
            try SafetensorsFile.readExactly(fd: fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<(n * t.dtype.size)]),
                                            at: t.fileOffset + done * t.dtype.size, path: t.path)
        }
        raw.withUnsafeBytes { src in
            floats.withUnsafeMutableBufferPointer { dst in
                switch t.dtype {
                case .f32:
                    for i in 0..<n { dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case .bf16:
                    for i in 0..<n { dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
                case .f16:
                    for i in 0..<n { dst[i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
                default:
                    preconditionFailure("readWidened takes F32, F16 and BF16 tensors; callers check isConvertible")
                }
            }
        }
        try floats.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<n])) }
        done += n
    }
}
