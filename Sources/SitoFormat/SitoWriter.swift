// SitoWriter.swift: streams a `.sito` file to disk (formats/sito.md, "Writing"). The caller declares
// the header with every tensor's name, dtype and shape; the writer assigns offsets, then takes each
// tensor's bytes in directory order, in as many chunks as the caller likes, hashing them on the fly,
// and finally rewrites the header with the checksums (fixed width, so the header length never changes).
import CSitoKernels
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public final class SitoWriter {
    public private(set) var header: SitoHeader
    public let dataOffset: Int
    /// Spaces between the header and the data section.
    private let paddingLength: Int
    private let file: AtomicFile
    private var current = 0
    private var written = 0
    private var position: Int
    private var hasher = sito_xxh64_state()

    /// Plans the layout of `header.tensors` (offsets and byte sizes are recomputed here; checksums
    /// filled in as the data arrives) and opens the atomic output.
    public init(destination: String, header: SitoHeader, inputs: [String] = []) throws {
        var planned = header
        var offset = 0
        for i in planned.tensors.indices {
            let t = planned.tensors[i]
            guard SitoFile.isValidName(t.name) else { throw SitoFormatError.badTensorName(path: destination, name: t.name) }
            guard let bytes = SitoFile.byteSize(shape: t.shape, dtype: t.dtype) else {
                throw SitoFormatError.sizeOverflow(path: destination, tensor: t.name)
            }
            planned.tensors[i].offset = offset
            planned.tensors[i].bytes = bytes
            planned.tensors[i].xxh64 = String(repeating: "0", count: 16)
            if let reason = t.effectiveLayout.unsupportedReason(dtype: t.dtype, shape: t.shape) {
                throw SitoFormatError.badLayout(path: destination, tensor: t.name, reason: reason)
            }
            if t.layout == .rowMajor { planned.tensors[i].layout = nil }   // the default is written as absence
            guard let next = SitoLayout.aligned(offset + bytes) else { throw SitoFormatError.sizeOverflow(path: destination, tensor: t.name) }
            offset = next
        }
        planned.sito = planned.requiredVersion   // the lowest version that describes the file
        self.header = planned
        let json = try SitoWriter.encode(planned)
        guard json.count <= SitoLayout.maxHeaderLength else {
            throw SitoFormatError.writeFailed(path: destination, reason: "header of \(json.count) bytes exceeds the format's limit")
        }
        self.dataOffset = SitoLayout.aligned(SitoLayout.preambleSize + json.count)!
        self.paddingLength = dataOffset - SitoLayout.preambleSize - json.count
        self.file = try AtomicFile(destination: destination, inputs: inputs)
        self.position = 0
        // Preamble, header and padding, appended; the header is rewritten in place by finish().
        var head = SitoWriter.preamble(version: planned.sito, headerLength: json.count)
        head += [UInt8](json)
        head += [UInt8](repeating: 0x20, count: dataOffset - SitoLayout.preambleSize - json.count)
        try head.withUnsafeBytes { try file.write($0) }
        sito_xxh64_reset(&hasher, 0)
    }

    static func encode(_ header: SitoHeader) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(header)
    }

    static func preamble(version: Int, headerLength: Int) -> [UInt8] {
        var bytes = SitoLayout.magic
        withUnsafeBytes(of: UInt32(version).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt64(headerLength).littleEndian) { bytes += $0 }
        return bytes
    }

    /// Name of the tensor whose bytes are expected next, or nil when all are written.
    public var nextTensor: TensorEntry? { current < header.tensors.count ? header.tensors[current] : nil }

    /// Appends `chunk` to the current tensor. A chunk never spans two tensors.
    public func append(_ chunk: UnsafeRawBufferPointer) throws {
        guard current < header.tensors.count else {
            throw SitoFormatError.writeFailed(path: file.destination, reason: "more data than the declared tensors")
        }
        let entry = header.tensors[current]
        guard written + chunk.count <= entry.bytes else {
            throw SitoFormatError.writeFailed(path: file.destination, reason: "tensor \(entry.name): more than its \(entry.bytes) bytes")
        }
        try file.write(chunk)
        sito_xxh64_update(&hasher, chunk.baseAddress, chunk.count)
        written += chunk.count
        position += chunk.count
        if written == entry.bytes {
            header.tensors[current].xxh64 = hex64(sito_xxh64_digest(&hasher))
            current += 1
            written = 0
            sito_xxh64_reset(&hasher, 0)
            let next = current < header.tensors.count ? header.tensors[current].offset : SitoLayout.aligned(position)!
            if next > position {
                let zeros = [UInt8](repeating: 0, count: next - position)
                try zeros.withUnsafeBytes { try file.write($0) }
                position = next
            }
        }
    }

    /// Appends a whole tensor given as an array.
    public func append<T>(_ values: [T]) throws {
        try values.withUnsafeBytes { try append($0) }
    }

    /// Checks that every tensor was written, rewrites the header with the checksums, and commits.
    /// Returns the final header.
    @discardableResult
    public func finish() throws -> SitoHeader {
        guard current == header.tensors.count else {
            let name = header.tensors[current].name
            file.abort()
            throw SitoFormatError.writeFailed(path: file.destination, reason: "tensor \(name) was not written completely")
        }
        let json = try SitoWriter.encode(header)
        guard SitoLayout.preambleSize + json.count == dataOffset - paddingLength else {
            file.abort()
            throw SitoFormatError.writeFailed(path: file.destination, reason: "header grew while writing")
        }
        let head = SitoWriter.preamble(version: header.sito, headerLength: json.count) + [UInt8](json)
        try head.withUnsafeBytes { try file.write($0, at: 0) }
        try file.commit()
        return header
    }

    /// Discards everything written so far.
    public func abort() { file.abort() }
}
