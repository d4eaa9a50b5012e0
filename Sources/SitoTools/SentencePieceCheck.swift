// SentencePieceCheck.swift: the tools' second opinion on an embedded SentencePiece model. The runtime
// reads the model in Swift alone (Sources/Sito/Tokenization/SentencePieceTokenizer.swift); before sito-convert writes
// a file, and when sito-inspect or sito-verify opens one, the model is also loaded in libsentencepiece
// (Debian libsentencepiece-dev, through CSentencePiece) and the two must agree on every piece's id.
//
// What libsentencepiece loads is the vocabulary the runtime's lattice uses: the embedded model's fields
// with its normalizer replaced by an identity one (the runtime normalizes the Hugging Face way, which no
// libsentencepiece normalizer does) and a NORMAL twin of each added token that no NORMAL/USER_DEFINED/
// UNUSED piece spells (formats/tokenization.md, "Load"). The twins are worked out here independently of
// the runtime, so the piece count and the ids cross-check its rule too.
import CSentencePiece
import Foundation
import Sito
import SitoFormat

/// Why an embedded SentencePiece model failed the check. Every message names the file.
public enum SentencePieceCheckError: Error, Equatable, LocalizedError {
    /// The Sito runtime's own reading of the model failed.
    case runtimeRefused(file: String, reason: String)
    /// libsentencepiece refused the model.
    case refused(file: String, reason: String)
    /// Both loaded it, and they disagree.
    case disagreement(file: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .runtimeRefused(file, reason):
            return "\(file): the Sito runtime refuses the embedded tokenizer: \(reason)"
        case let .refused(file, reason):
            return "\(file): libsentencepiece refuses the embedded SentencePiece model: \(reason)"
        case let .disagreement(file, reason):
            return "\(file): libsentencepiece and the Sito runtime disagree on the embedded SentencePiece model: \(reason)"
        }
    }
}

/// A serialized sentencepiece ModelProto loaded in libsentencepiece (0.1.97).
public final class SentencePieceProcessor {
    private let processor: OpaquePointer

    /// Loads a serialized ModelProto; throws libsentencepiece's reason as `refused(file:reason:)`.
    public init(serialized bytes: [UInt8], file: String) throws {
        var error = [CChar](repeating: 0, count: 512)
        let loaded = bytes.withUnsafeBytes { sito_sp_load($0.baseAddress, $0.count, &error, error.count) }
        guard let loaded else {
            throw SentencePieceCheckError.refused(file: file, reason: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        processor = loaded
    }

    deinit { sito_sp_free(processor) }

    /// Pieces of the model (ids are 0 ..< pieceCount).
    public var pieceCount: Int { Int(sito_sp_piece_count(processor)) }

    /// The id of the unknown piece.
    public var unknownId: Int32 { sito_sp_unk_id(processor) }

    /// The id of the piece whose text is `text` (CONTROL/UNKNOWN pieces first), or `unknownId` when none.
    public func id(ofPiece text: [UInt8]) -> Int32 {
        text.withUnsafeBytes { sito_sp_piece_to_id(processor, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
    }

    /// The text of piece `id`, or nil when `id` is out of range.
    public func piece(_ id: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 256)
        var length = buffer.withUnsafeMutableBytes { sito_sp_id_to_piece(processor, id, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        if length < 0 { return nil }
        if Int(length) > buffer.count {
            buffer = [UInt8](repeating: 0, count: Int(length))
            length = buffer.withUnsafeMutableBytes { sito_sp_id_to_piece(processor, id, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        }
        return Array(buffer.prefix(Int(length)))
    }

    /// libsentencepiece's own segmentation of `text` (its normalizer and f32 Viterbi): sentencepiece
    /// ids, or nil on failure. For comparisons only: it is not Hugging Face's (formats/tokenization.md).
    public func encode(_ text: String) -> [Int32]? {
        var bytes = Array(text.utf8)
        var ids = [Int32](repeating: 0, count: bytes.count + 1)
        let produced = bytes.withUnsafeMutableBytes { raw in
            ids.withUnsafeMutableBufferPointer {
                sito_sp_encode(processor, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, $0.baseAddress, $0.count)
            }
        }
        return produced < 0 ? nil : Array(ids.prefix(Int(produced)))
    }
}

/// Checks the `sentencepiece` tokenizer of a file (or of a conversion about to be written): the runtime
/// Tokenizer builds it, libsentencepiece loads the same vocabulary, both count the same pieces, and for
/// every piece libsentencepiece's id (mapped to a model id) is what `Tokenizer.modelId(ofPiece:)` answers.
/// `file` names the source in errors. Returns the number of pieces checked.
@discardableResult
public func checkSentencePieceTokenizer(info: TokenizerInfo, bytes: UnsafeRawBufferPointer, file: String) throws -> Int {
    // The vocabulary does not depend on the input recipe; any one the tokenizer accepts will do.
    let recipe = InputRecipe(recipe: .single, separator: nil, maxLength: 512, truncation: .right)
    let tokenizer: Tokenizer
    do {
        tokenizer = try Tokenizer(info: info, input: recipe, bytes: bytes)
    } catch {
        throw SentencePieceCheckError.runtimeRefused(file: file, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
    }
    let model = [UInt8](bytes)
    let (derived, pieceCount, twinIds) = try derivedModel(model, info: info, file: file)
    let processor = try SentencePieceProcessor(serialized: derived, file: file)
    func disagree(_ reason: String) -> SentencePieceCheckError { .disagreement(file: file, reason: reason) }
    guard processor.pieceCount == pieceCount + twinIds.count else {
        throw disagree("libsentencepiece loaded \(processor.pieceCount) pieces, expected \(pieceCount) + \(twinIds.count) added-token twins")
    }
    guard tokenizer.pieceCount == processor.pieceCount else {
        throw disagree("libsentencepiece has \(processor.pieceCount) pieces, the runtime \(tokenizer.pieceCount)")
    }
    var overrides: [Int: Int] = [:]
    for pair in info.idOverrides where pair.count == 2 { overrides[pair[0]] = pair[1] }
    for id in 0..<Int32(processor.pieceCount) {
        guard let text = processor.piece(id) else { throw disagree("libsentencepiece has no piece \(id)") }
        guard let string = String(validating: text, as: UTF8.self) else { throw disagree("piece \(id) is not valid UTF-8") }
        let spId = Int(processor.id(ofPiece: text))
        let expected = spId < pieceCount ? overrides[spId] ?? spId + info.idOffset : twinIds[spId - pieceCount]
        let actual = tokenizer.modelId(ofPiece: string)
        guard actual.map(Int.init) == expected else {
            throw disagree("piece \(id) \(string.debugDescription): libsentencepiece gives model id \(expected), the runtime \(actual.map(String.init) ?? "none")")
        }
    }
    return processor.pieceCount
}

/// The model libsentencepiece checks: `model`'s fields in file order, minus normalizer_spec, then the
/// added tokens' NORMAL twins, then an identity normalizer that adds no prefix, keeps every space and
/// escapes nothing. Returns it with the model's piece count and each twin's model id.
func derivedModel(_ model: [UInt8], info: TokenizerInfo, file: String) throws -> (bytes: [UInt8], pieces: Int, twinIds: [Int]) {
    var out: [UInt8] = []
    out.reserveCapacity(model.count + 64 + info.addedTokens.count * 16)
    var pieceCount = 0
    var normalTexts = Set<[UInt8]>()
    var firstScore: [[UInt8]: UInt32] = [:]
    let addedTexts = Set(info.addedTokens.map { Array($0.content.utf8) })
    do {
        try model.withUnsafeBytes { raw in
            var reader = WireReader(raw, range: 0..<raw.count)
            while let field = try reader.next() {
                if field.number == 3 { continue }  // normalizer_spec: replaced below
                // Repeated `pieces` keep their relative order even when other fields sit between them,
                // so every id is unchanged; the twins get the next ids.
                out.append(contentsOf: model[field.span])
                guard field.number == 1, case .bytes(let r) = field.payload else { continue }
                pieceCount += 1
                var text: [UInt8] = []
                var type: UInt64 = 1
                var score: UInt32 = 0
                var inner = WireReader(raw, range: r)
                while let f = try inner.next() {
                    switch (f.number, f.payload) {
                    case (1, .bytes(let t)): text = Array(model[t])
                    case (2, .fixed32(let v)): score = v
                    case (3, .varint(let v)): type = v
                    default: break
                    }
                }
                guard addedTexts.contains(text) else { continue }
                // libsentencepiece's piece map: NORMAL, USER_DEFINED, UNUSED (and, as protobuf reads an
                // unknown enum value, any value outside the enum).
                if ![2, 3, 6].contains(type) { normalTexts.insert(text) }
                if firstScore[text] == nil { firstScore[text] = score }
            }
        }
    } catch {
        throw SentencePieceCheckError.refused(file: file, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
    }
    var twinIds: [Int] = []
    for token in info.addedTokens {
        let text = Array(token.content.utf8)
        guard normalTexts.insert(text).inserted else { continue }
        var inner = WireWriter()
        inner.bytes(1, text)
        inner.fixed32(2, firstScore[text] ?? 0)
        inner.varint(3, 1)
        var outer = WireWriter()
        outer.bytes(1, inner.out)
        out.append(contentsOf: outer.out)
        twinIds.append(token.id)
    }
    var normalizer = WireWriter()
    normalizer.bytes(1, Array("identity".utf8))
    normalizer.varint(3, 0)  // add_dummy_prefix
    normalizer.varint(4, 0)  // remove_extra_whitespaces
    normalizer.varint(5, 0)  // escape_whitespaces
    var outer = WireWriter()
    outer.bytes(3, normalizer.out)
    out.append(contentsOf: outer.out)
    return (out, pieceCount, twinIds)
}

/// The check of a `.sito` file's embedded tokenizer, when it is a `sentencepiece` one whose tensor is
/// present (else nil: a wordpiece vocabulary has nothing for libsentencepiece to check). Returns the
/// number of pieces checked.
@discardableResult
public func checkSentencePieceTokenizer(of file: SitoFile) throws -> Int? {
    let info = file.header.tokenizer
    guard info.kind == .sentencepiece, let blob = file.tensor(info.tensor) else { return nil }
    return try checkSentencePieceTokenizer(info: info, bytes: blob.bytes, file: file.path)
}
