// EmbeddedSentencePieceModel.swift: reads the serialized sentencepiece ModelProto a `.sito` file embeds
// (the tokenizer tensor) into flat arrays, in place, with the package's one protobuf wire-format reader
// (WireReader; the tools' SentencePieceModel and sito-inspect use it too).
//
// Field numbers (sentencepiece_model.proto): ModelProto { pieces = 1 { piece = 1, score = 2, type = 3,
// 200 = Sito's exact f64 score }, trainer_spec = 2, normalizer_spec = 3 { precompiled_charsmap = 2 } }.
// Only the wire format is checked here; what makes a valid vocabulary (no empty or repeated piece, one
// UNKNOWN piece, …) is checked where the pieces are used (SentencePieceTokenizer.init).

/// The pieces and the charsmap of an embedded sentencepiece model, in flat arrays, so that 250,000
/// pieces cost a handful of allocations. Texts are not copied: they are ranges of the bytes the model was
/// read from, which must outlive this value (it lives only inside SentencePieceTokenizer.init).
struct EmbeddedSentencePieceModel {
    enum PieceType: UInt8 {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// The serialized model.
    let bytes: UnsafeRawBufferPointer
    /// Piece i's text is `bytes[textStart[i] ..< textStart[i] + textLength[i]]`.
    private(set) var textStart: [UInt32] = []
    private(set) var textLength: [UInt32] = []
    /// The score the lattice uses: field 200 (the exact f64 the f32 `score` rounds) when present, else `score`.
    private(set) var latticeScores: [Double] = []
    /// A value outside the enum is NORMAL, as protobuf reads an unknown enum value (the field's default).
    private(set) var types: [PieceType] = []
    /// The f32 `score` of the CONTROL and UNKNOWN pieces (what added-token twins get).
    private(set) var reservedScores: [Int: Float] = [:]
    /// Byte range of the precompiled charsmap in `bytes` (empty when there is none).
    private(set) var charsmap: Range<Int> = 0..<0
    /// Bytes of all piece texts.
    private(set) var textBytes = 0

    var count: Int { types.count }

    func text(of piece: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[Int(textStart[piece])..<Int(textStart[piece] + textLength[piece])])
    }

    /// Parses `bytes` (fewer than 2^32 of them). Throws `TokenizerError.invalidModel` naming what is wrong
    /// and where.
    init(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(bytes.count <= Int(UInt32.max))
        self.bytes = bytes
        // A piece takes 10 bytes or more in practice (key, length, text, score); the arrays grow past that.
        let expected = bytes.count / 10 + 1
        textStart.reserveCapacity(expected)
        textLength.reserveCapacity(expected)
        latticeScores.reserveCapacity(expected)
        types.reserveCapacity(expected)
        var reader = WireReader(bytes, range: 0..<bytes.count)
        while let field = try reader.next() {
            switch (field.number, field.payload) {
            case (1, .bytes(let r)):
                try appendPiece(r)
            case (3, .bytes(let r)):
                var inner = WireReader(bytes, range: r)
                while let f = try inner.next() {
                    if f.number == 2, case .bytes(let c) = f.payload { charsmap = c }
                }
            default:
                break
            }
        }
        guard !types.isEmpty else { throw TokenizerError.invalidModel("the model has no pieces") }
    }

    private mutating func appendPiece(_ range: Range<Int>) throws {
        var text = range.lowerBound..<range.lowerBound
        var score: Float = 0
        var type = PieceType.normal
        var exact: Double?
        var reader = WireReader(bytes, range: range)
        while let f = try reader.next() {
            switch (f.number, f.payload) {
            case (1, .bytes(let r)): text = r
            case (2, .fixed32(let v)): score = Float(bitPattern: v)
            case (3, .varint(let v)): type = PieceType(rawValue: UInt8(truncatingIfNeeded: min(v, 255))) ?? .normal
            case (200, .fixed64(let v)): exact = Double(bitPattern: v)
            default: break
            }
        }
        if type == .control || type == .unknown { reservedScores[types.count] = score }
        textStart.append(UInt32(text.lowerBound))
        textLength.append(UInt32(text.count))
        textBytes += text.count
        latticeScores.append(exact ?? Double(score))
        types.append(type)
    }
}

/// Protobuf wire format, reading (enough for sentencepiece's ModelProto), over bytes the caller keeps
/// alive while the reader is used. The one protobuf reader of the package: the tools' SentencePieceModel
/// and sito-inspect use it too (`package` access).
package struct WireReader {
    package enum Payload {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(Range<Int>)
        case fixed32(UInt32)
    }

    package struct Field {
        package var number: Int
        package var payload: Payload
        /// The whole field, key included.
        package var span: Range<Int>
    }

    let bytes: UnsafeRawBufferPointer
    var pos: Int
    let end: Int

    /// Reads the fields in `range` of `bytes` (offsets in fields and errors are offsets into `bytes`).
    package init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) {
        self.bytes = bytes
        pos = range.lowerBound
        end = min(range.upperBound, bytes.count)
    }

    @inline(__always)
    mutating func varint() throws -> UInt64 {
        if pos < end, bytes[pos] < 0x80 {  // one byte: keys, lengths and types in practice
            pos += 1
            return UInt64(bytes[pos - 1])
        }
        return try longVarint()
    }

    mutating func longVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < end else { throw TokenizerError.invalidModel("truncated varint at byte \(pos)") }
            let b = bytes[pos]
            pos += 1
            guard shift < 64 else { throw TokenizerError.invalidModel("varint longer than 10 bytes at byte \(pos)") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// The next field, or nil at the end. Throws `TokenizerError.invalidModel` naming the byte offset.
    @inline(__always)
    package mutating func next() throws -> Field? {
        guard pos < end else { return nil }
        let start = pos
        let key = try varint()
        let number = Int(key >> 3)
        guard number > 0 else { throw TokenizerError.invalidModel("field number 0 at byte \(start)") }
        let payload: Payload
        switch key & 7 {
        case 0: payload = .varint(try varint())
        case 1:
            guard end - pos >= 8 else { throw TokenizerError.invalidModel("truncated fixed64 at byte \(pos)") }
            payload = .fixed64(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: pos, as: UInt64.self)))
            pos += 8
        case 2:
            let length = try varint()
            guard length <= UInt64(end - pos) else { throw TokenizerError.invalidModel("field \(number) at byte \(start) runs past the end") }
            payload = .bytes(pos..<pos + Int(length))
            pos += Int(length)
        case 5:
            guard end - pos >= 4 else { throw TokenizerError.invalidModel("truncated fixed32 at byte \(pos)") }
            payload = .fixed32(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: pos, as: UInt32.self)))
            pos += 4
        default:
            throw TokenizerError.invalidModel("unsupported wire type \(key & 7) at byte \(start)")
        }
        return Field(number: number, payload: payload, span: start..<pos)
    }
}
