// FormatError.swift: one error per invariant of formats/sito.md, each naming the file and what is wrong.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Why a `.sito` file was refused. Every case carries the file path so messages stand on their own.
public enum SitoFormatError: Error, Equatable, Sendable {
    case cannotOpen(path: String, reason: String)
    case tooSmall(path: String, size: Int)
    case badMagic(path: String, found: [UInt8])
    case newerVersion(path: String, version: UInt32)
    case unsupportedVersion(path: String, version: UInt32)
    case headerLength(path: String, length: UInt64, fileSize: Int)
    case headerNotJSON(path: String, reason: String)
    case headerVersionMismatch(path: String, header: Int, preamble: Int)
    case badTensorName(path: String, name: String)
    case duplicateTensor(path: String, name: String)
    case badShape(path: String, tensor: String, shape: [Int])
    case unknownDType(path: String, tensor: String, dtype: String)
    case unknownLayout(path: String, tensor: String, layout: String)
    case badLayout(path: String, tensor: String, reason: String)
    case byteSizeMismatch(path: String, tensor: String, declared: Int, expected: Int)
    case sizeOverflow(path: String, tensor: String)
    case misaligned(path: String, tensor: String, offset: Int)
    case outOfBounds(path: String, tensor: String, end: String, fileSize: Int)
    case overlap(path: String, first: String, second: String)
    case missingScale(path: String, tensor: String)
    case orphanScale(path: String, tensor: String)
    case badScaleShape(path: String, tensor: String, shape: [Int], expected: [Int])
    case badChecksumField(path: String, tensor: String, value: String)
    case checksumMismatch(path: String, tensor: String, expected: String, actual: String)
    case invalidInt8(path: String, tensor: String)
    case missingTensor(path: String, tensor: String, architecture: Architecture)
    case unexpectedTensor(path: String, tensor: String, architecture: Architecture)
    case wrongShape(path: String, tensor: String, shape: [Int], expected: [Int])
    case wrongDType(path: String, tensor: String, dtype: DType, allowed: [DType])
    case badMetadata(path: String, field: String, reason: String)
    /// Known words that do not go together (formats/sito.md, "Architectures").
    case unsupportedArchitecture(path: String, architecture: Architecture, task: ModelTask, head: ClassifierHead)
    case writeFailed(path: String, reason: String)
}

extension SitoFormatError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .cannotOpen(path, reason):
            return "\(path): cannot open: \(reason)"
        case let .tooSmall(path, size):
            return "\(path): not a .sito file: only \(size) bytes (a .sito file starts with a 16-byte preamble)"
        case let .badMagic(path, found):
            let shown = found.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined(separator: " ")
            return "\(path): not a .sito file: magic is [\(shown)], expected \"SITO\" (53 49 54 4f)"
        case let .newerVersion(path, version):
            return "\(path): written by a newer Sito (format \(version)); this build reads format \(SitoFormatVersion.current): upgrade Sito"
        case let .unsupportedVersion(path, version):
            return "\(path): format version \(version) is not valid (this build reads format \(SitoFormatVersion.current))"
        case let .headerLength(path, length, fileSize):
            return "\(path): header length \(length) is impossible (file is \(fileSize) bytes, header limit \(SitoLayout.maxHeaderLength)): truncated or corrupt file"
        case let .headerNotJSON(path, reason):
            return "\(path): header is not a valid .sito JSON header: \(reason)"
        case let .headerVersionMismatch(path, header, preamble):
            return "\(path): header says format \(header) but the preamble says \(preamble): corrupt file"
        case let .badTensorName(path, name):
            return "\(path): tensor name \"\(name)\" is not allowed (1–255 bytes of [a-z0-9_.])"
        case let .duplicateTensor(path, name):
            return "\(path): tensor \(name) appears twice in the directory"
        case let .badShape(path, tensor, shape):
            return "\(path): tensor \(tensor) has an invalid shape \(shape) (rank ≤ 4, every dimension 1…2^40; i8 tensors are [rows, cols])"
        case let .unknownDType(path, tensor, dtype):
            return "\(path): tensor \(tensor) has dtype \"\(dtype)\", which format \(SitoFormatVersion.current) does not know (\(DType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .unknownLayout(path, tensor, layout):
            return "\(path): tensor \(tensor) has layout \"\(layout)\", which format \(SitoFormatVersion.current) does not know (\(TensorLayout.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .badLayout(path, tensor, reason):
            return "\(path): tensor \(tensor): \(reason)"
        case let .byteSizeMismatch(path, tensor, declared, expected):
            return "\(path): tensor \(tensor) declares \(declared) bytes but its shape and dtype need \(expected)"
        case let .sizeOverflow(path, tensor):
            return "\(path): tensor \(tensor): shape × element size overflows"
        case let .misaligned(path, tensor, offset):
            return "\(path): tensor \(tensor) at offset \(offset) is not \(SitoLayout.alignment)-byte aligned"
        case let .outOfBounds(path, tensor, end, fileSize):
            return "\(path): tensor \(tensor) ends at byte \(end), past the end of the file (\(fileSize) bytes): truncated file?"
        case let .overlap(path, first, second):
            return "\(path): tensors \(first) and \(second) overlap"
        case let .missingScale(path, tensor):
            return "\(path): int8 tensor \(tensor) has no \(tensor)\(scaleSuffix) companion"
        case let .orphanScale(path, tensor):
            return "\(path): scale tensor \(tensor) has no int8 owner"
        case let .badScaleShape(path, tensor, shape, expected):
            return "\(path): scale tensor \(tensor) has shape \(shape) and must be f32 of shape \(expected)"
        case let .badChecksumField(path, tensor, value):
            return "\(path): tensor \(tensor) has checksum \"\(value)\", expected 16 lowercase hex digits"
        case let .checksumMismatch(path, tensor, expected, actual):
            return "\(path): tensor \(tensor) is corrupt: XXH64 \(actual), the header says \(expected)"
        case let .invalidInt8(path, tensor):
            return "\(path): int8 tensor \(tensor) contains -128, which the format forbids"
        case let .missingTensor(path, tensor, architecture):
            return "\(path): \(architecture) model lacks the required tensor \(tensor)"
        case let .unexpectedTensor(path, tensor, architecture):
            return "\(path): tensor \(tensor) is not part of a \(architecture) model"
        case let .wrongShape(path, tensor, shape, expected):
            return "\(path): tensor \(tensor) has shape \(shape), the header's hyperparameters need \(expected)"
        case let .wrongDType(path, tensor, dtype, allowed):
            return "\(path): tensor \(tensor) is \(dtype.rawValue), allowed: \(allowed.map(\.rawValue).joined(separator: ", "))"
        case let .badMetadata(path, field, reason):
            return "\(path): header field \(field): \(reason)"
        case let .unsupportedArchitecture(path, architecture, task, head):
            return "\(path): architecture \"\(architecture) (head \(head))\" with task \"\(task)\" is not supported (supported: xlm-roberta/sequence-classification, xlm-roberta/embedding, bert/sequence-classification, bert/embedding)"
        case let .writeFailed(path, reason):
            return "\(path): write failed: \(reason)"
        }
    }
}
