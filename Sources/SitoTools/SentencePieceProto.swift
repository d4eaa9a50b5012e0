// SentencePieceProto.swift: sentencepiece's ModelProto as a Swift value, with a hand-written protobuf
// wire-format encoder (WireWriter, here) and decoder (the runtime's WireReader; no swift-protobuf). Only
// the fields Sito writes or checks are modelled; decoding skips the rest.
//
// Field numbers (google/sentencepiece src/sentencepiece_model.proto; this file must match it):
//   ModelProto      { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2;
//                     NormalizerSpec normalizer_spec = 3; }
//   SentencePiece   { string piece = 1; float score = 2; Type type = 3 [default NORMAL];
//                     extensions 200 to max; }  — Sito writes 200: double exact_score (see Piece)
//                     Type: NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6
//   TrainerSpec     { ModelType model_type = 3 [default UNIGRAM = 1; BPE = 2, WORD = 3, CHAR = 4];
//                     int32 vocab_size = 4; bool byte_fallback = 35; int32 unk_id = 40; bos_id = 41;
//                     eos_id = 42; pad_id = 43; }
//   NormalizerSpec  { string name = 1; bytes precompiled_charsmap = 2; bool add_dummy_prefix = 3 [true];
//                     bool remove_extra_whitespaces = 4 [true]; bool escape_whitespaces = 5 [true]; }
import Foundation
import Sito

/// A sentencepiece model: pieces in id order, the trainer fields the runtime relies on, the normalizer.
public struct SentencePieceModel: Equatable, Sendable {
    public enum PieceType: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public struct Piece: Equatable, Sendable {
        public var text: String
        public var score: Float
        public var type: PieceType
        /// The exact score when `score` (f32, all the sentencepiece schema holds) rounds it: written as
        /// field 200 (an extension number of `SentencePiece`, fixed64 double), which libsentencepiece
        /// ignores and the Sito runtime's lattice uses (formats/tokenization.md, "Model proto").
        public var exactScore: Double?

        public init(_ text: String, score: Float, type: PieceType = .normal, exactScore: Double? = nil) {
            self.text = text
            self.score = score
            self.type = type
            self.exactScore = exactScore
        }
    }

    public enum ModelType: Int, Sendable {
        case unigram = 1, bpe = 2, word = 3, char = 4
    }

    public var pieces: [Piece]
    public var modelType: ModelType = .unigram
    public var byteFallback = false
    public var unkId = 0
    public var bosId = 1
    public var eosId = 2
    public var padId = -1
    public var normalizerName = ""
    public var precompiledCharsmap: [UInt8] = []
    public var addDummyPrefix = true
    public var removeExtraWhitespaces = true
    public var escapeWhitespaces = true

    public init(pieces: [Piece]) {
        self.pieces = pieces
    }

    /// The serialized ModelProto: pieces first (in id order), then trainer_spec, then normalizer_spec.
    public func serialized() -> [UInt8] {
        var out = WireWriter()
        out.out.reserveCapacity(pieces.count * 24 + precompiledCharsmap.count + 64)
        var piece = WireWriter()
        for p in pieces {
            piece.out.removeAll(keepingCapacity: true)
            piece.bytes(1, Array(p.text.utf8))
            piece.fixed32(2, p.score.bitPattern)
            piece.varint(3, UInt64(p.type.rawValue))
            if let exact = p.exactScore, Double(p.score) != exact { piece.fixed64(200, exact.bitPattern) }
            out.bytes(1, piece.out)
        }
        var trainer = WireWriter()
        trainer.varint(3, UInt64(modelType.rawValue))
        trainer.int(4, pieces.count)
        trainer.varint(35, byteFallback ? 1 : 0)
        trainer.int(40, unkId)
        trainer.int(41, bosId)
        trainer.int(42, eosId)
        trainer.int(43, padId)
        out.bytes(2, trainer.out)
        var normalizer = WireWriter()
        normalizer.bytes(1, Array(normalizerName.utf8))
        normalizer.bytes(2, precompiledCharsmap)
        normalizer.varint(3, addDummyPrefix ? 1 : 0)
        normalizer.varint(4, removeExtraWhitespaces ? 1 : 0)
        normalizer.varint(5, escapeWhitespaces ? 1 : 0)
        out.bytes(3, normalizer.out)
        return out.out
    }

    /// Decodes a serialized ModelProto (fields not modelled here are skipped; proto2 defaults apply).
    public init(serialized bytes: [UInt8]) throws {
        do {
            try self.init(decoding: bytes)
        } catch TokenizerError.invalidModel(let reason) {
            throw ProtoError.malformed(reason)  // the shared reader's wire errors, as this type's
        }
    }

    private init(decoding bytes: [UInt8]) throws {
        self.pieces = []
        try bytes.withUnsafeBytes { try decode(bytes, $0) }
    }

    private mutating func decode(_ bytes: [UInt8], _ raw: UnsafeRawBufferPointer) throws {
        var reader = WireReader(raw, range: 0..<bytes.count)
        while let field = try reader.next() {
            switch (field.number, field.payload) {
            case (1, .bytes(let r)):
                var piece = Piece("", score: 0, type: .normal)
                var inner = WireReader(raw, range: r)
                while let f = try inner.next() {
                    switch (f.number, f.payload) {
                    case (1, .bytes(let t)):
                        guard let text = String(validatingUTF8: bytes[t]) else {
                            throw ProtoError.malformed("piece \(pieces.count) is not valid UTF-8")
                        }
                        piece.text = text
                    case (2, .fixed32(let v)): piece.score = Float(bitPattern: v)
                    case (200, .fixed64(let v)): piece.exactScore = Double(bitPattern: v)
                    case (3, .varint(let v)):
                        guard let type = PieceType(rawValue: Int(truncatingIfNeeded: v)) else {
                            throw ProtoError.malformed("piece \(pieces.count) has unknown type \(v)")
                        }
                        piece.type = type
                    default: break
                    }
                }
                pieces.append(piece)
            case (2, .bytes(let r)):
                var inner = WireReader(raw, range: r)
                while let f = try inner.next() {
                    guard case .varint(let v) = f.payload else { continue }
                    switch f.number {
                    case 3:
                        guard let type = ModelType(rawValue: Int(truncatingIfNeeded: v)) else {
                            throw ProtoError.malformed("unknown model_type \(v)")
                        }
                        modelType = type
                    case 35: byteFallback = v != 0
                    case 40: unkId = Int(Int32(truncatingIfNeeded: v))
                    case 41: bosId = Int(Int32(truncatingIfNeeded: v))
                    case 42: eosId = Int(Int32(truncatingIfNeeded: v))
                    case 43: padId = Int(Int32(truncatingIfNeeded: v))
                    default: break
                    }
                }
            case (3, .bytes(let r)):
                var inner = WireReader(raw, range: r)
                while let f = try inner.next() {
                    switch (f.number, f.payload) {
                    case (1, .bytes(let t)): normalizerName = String(decoding: bytes[t], as: UTF8.self)
                    case (2, .bytes(let t)): precompiledCharsmap = Array(bytes[t])
                    case (3, .varint(let v)): addDummyPrefix = v != 0
                    case (4, .varint(let v)): removeExtraWhitespaces = v != 0
                    case (5, .varint(let v)): escapeWhitespaces = v != 0
                    default: break
                    }
                }
            default:
                break
            }
        }
    }
}

/// Protobuf wire format, writing: what SentencePieceModel and the libsentencepiece check write.
struct WireWriter {
    var out: [UInt8] = []

    mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    mutating func varint(_ field: Int, _ value: UInt64) {
        rawVarint(UInt64(field) << 3)
        rawVarint(value)
    }

    /// int32/int64 fields: negative values are sign-extended to 64 bits (10 bytes), as protobuf does.
    mutating func int(_ field: Int, _ value: Int) {
        varint(field, UInt64(bitPattern: Int64(value)))
    }

    mutating func fixed32(_ field: Int, _ value: UInt32) {
        rawVarint(UInt64(field) << 3 | 5)
        for k in 0..<4 { out.append(UInt8((value >> (8 * UInt32(k))) & 0xFF)) }
    }

    mutating func fixed64(_ field: Int, _ value: UInt64) {
        rawVarint(UInt64(field) << 3 | 1)
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(k)))) }
    }

    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        rawVarint(UInt64(field) << 3 | 2)
        rawVarint(UInt64(value.count))
        out.append(contentsOf: value)
    }
}

private extension String {
    init?(validatingUTF8 bytes: ArraySlice<UInt8>) {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var scalars = String.UnicodeScalarView()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): scalars.append(s)
            case .emptyInput: self = String(scalars); return
            case .error: return nil
            }
        }
    }
}

public enum ProtoError: Error, Equatable, LocalizedError {
    case malformed(String)

    public var errorDescription: String? {
        switch self {
        case .malformed(let reason): return "malformed sentencepiece model: \(reason)"
        }
    }
}
