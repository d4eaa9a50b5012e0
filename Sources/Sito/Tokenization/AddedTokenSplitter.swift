// AddedTokenSplitter.swift: step 1 of the SentencePiece and byte-level BPE pipelines — added tokens
// (<s>, </s>, <mask>, user tokens) split out of the raw UTF-8 text, leftmost first and longest at a
// position first, with Hugging Face's lstrip/rstrip absorbing Unicode White_Space next to a token.
import SitoFormat

/// The added tokens of one tokenizer, ready to split texts.
struct AddedTokenSplitter: Sendable {
    struct Pattern: Sendable {
        let bytes: [UInt8]
        let id: Int32
        let lstrip: Bool
        let rstrip: Bool
    }

    /// Longest first; equal lengths by id (the order a match is tried in).
    private let patterns: [Pattern]
    /// `firstByte[b]` is true when some added token starts with byte b.
    private let firstByte: [Bool]

    /// `tokens` must be non-empty strings (the tokenizers check this first).
    init(_ tokens: [AddedToken]) {
        patterns = tokens
            .map { Pattern(bytes: Array($0.content.utf8), id: Int32($0.id), lstrip: $0.lstrip, rstrip: $0.rstrip) }
            .sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        var first = [Bool](repeating: false, count: 256)
        for pattern in patterns { first[Int(pattern.bytes[0])] = true }
        firstByte = first
    }

    /// Walks `bytes` once: each run of text between added tokens goes to `segment` (possibly empty), each
    /// added token's id to `token`, in text order; the white space a token strips belongs to neither.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, segment: (UnsafeBufferPointer<UInt8>) -> Void, token: (Int32) -> Void) {
        let n = bytes.count
        var segmentStart = 0, pos = 0
        while pos < n {
            guard firstByte[Int(bytes[pos])], let pattern = match(bytes, at: pos) else {
                pos += 1
                continue
            }
            var start = pos, end = pos + pattern.bytes.count
            if pattern.lstrip { start = skipWhitespaceBackward(bytes, from: start, notBefore: segmentStart) }
            if pattern.rstrip { end = skipWhitespaceForward(bytes, from: end) }
            segment(UnsafeBufferPointer(rebasing: bytes[segmentStart..<start]))
            token(pattern.id)
            segmentStart = end
            pos = end
        }
        segment(UnsafeBufferPointer(rebasing: bytes[segmentStart..<n]))
    }

    /// The longest added token starting at `pos`.
    private func match(_ bytes: UnsafeBufferPointer<UInt8>, at pos: Int) -> Pattern? {
        let remaining = bytes.count - pos
        for pattern in patterns where pattern.bytes.count <= remaining {
            var equal = true
            for k in 0..<pattern.bytes.count where bytes[pos + k] != pattern.bytes[k] {
                equal = false
                break
            }
            if equal { return pattern }
        }
        return nil
    }
}
