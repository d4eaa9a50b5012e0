// BatchIndependenceTests.swift: the claim the scheduler rests on, measured. The encoder packs sequences
// without padding, so no sequence sees another's tokens; whether its output is also the same BITS
// whatever shares its batch depends on the GEMM:
//   - int8 and bf16 layers run Sito's own kernels, which compute every row the same way: bit-identical
//     alone, with short or long mates, first or last (xlmr-tiny int8 below). Cross-request batching
//     changes nothing for these files.
//   - f32 layers run OpenBLAS's sgemm, which picks kernels by matrix size (row tails, small-matrix paths):
//     the same sequence in a batch of a different size differs in the last bits (measured: a few ULPs,
//     below 1e-5 relative). For f32 files the server's scores equal sito-rerank's only to that precision.
import XCTest
@testable import SitoServer
import Sito

/// |a - b| ≤ tolerance · max(1, |b|) element by element.
func assertClose(_ a: [[Float]], _ b: [[Float]], relative tolerance: Float, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, message, file: file, line: line)
    for (x, y) in zip(a, b) {
        XCTAssertEqual(x.count, y.count, message, file: file, line: line)
        for (u, v) in zip(x, y) where abs(u - v) > tolerance * max(1, abs(v)) {
            XCTFail("\(message): \(u) vs \(v)", file: file, line: line)
            return
        }
    }
}

final class BatchIndependenceTests: XCTestCase {
    /// Runs each sequence alone, all together, reversed, and with one mate; compares with `compare`.
    private func check(_ run: ([[Int32]]) throws -> [[Float]], _ seqs: [[Int32]], _ name: String,
                       _ compare: ([[Float]], [[Float]], String) -> Void) throws {
        let alone = try seqs.map { try run([$0])[0] }
        compare(try run(seqs), alone, "\(name): the whole batch vs one sequence at a time")
        compare(Array(try run(seqs.reversed()).reversed()), alone, "\(name): reversed batch")
        for k in [1, 3, 5] { compare([try run([seqs[k], seqs[0]])[0]], [alone[k]], "\(name): sequence \(k) with a mate") }
    }

    private func rerankerCheck(_ file: URL, _ name: String, _ compare: ([[Float]], [[Float]], String) -> Void) throws {
        let reranker = try Reranker(contentsOf: file)
        let encodings = try (0..<8).map { i in try reranker.encode(query: "query \(i)", document: longText(1 + (i * 37) % 50, seed: i)) }
        try check({ ids in
            try reranker.logits(inputIds: ids, typeIds: ids.map { s in encodings.first { $0.ids == s }!.typeIds })
        }, encodings.map(\.ids), name, compare)
    }

    func testInt8LogitsAreBitIdenticalWhateverTheBatch() throws {
        try rerankerCheck(try ServerFixtures.int8("xlmr-tiny"), "xlmr-tiny int8") { a, b, m in XCTAssertEqual(a, b, m) }
    }

    func testF32LogitsAgreeWithin1e5WhateverTheBatch() throws {
        for name in ["xlmr-tiny", "bert-tiny-cls"] {
            try rerankerCheck(try ServerFixtures.sito(name), "\(name) f32") { a, b, m in assertClose(a, b, relative: 1e-5, m) }
        }
    }

    func testF32EmbeddingsAgreeWithin1e5WhateverTheBatch() throws {
        let embedder = try Embedder(contentsOf: try ServerFixtures.sito("all-minilm-l6-v2"))
        let seqs = try (0..<8).map { i in try embedder.encode(longText(1 + (i * 37) % 50, seed: i)).ids }
        try check({ try embedder.embed(inputIds: $0) }, seqs, "all-MiniLM-L6-v2") { a, b, m in assertClose(a, b, relative: 1e-5, m) }
    }
}
