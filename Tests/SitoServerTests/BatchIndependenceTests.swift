// BatchIndependenceTests.swift: the claim the scheduler rests on. The encoder packs sequences without
// padding, so a sequence's output does not depend on which sequences share its batch: alone, with short
// or long mates, first or last, the logits (and embeddings) are the same bits. Checked on f32 XLM-R and
// BERT, int8 XLM-R (int8 GEMM, bf16 attention) and all-MiniLM-L6-v2.
import XCTest
@testable import SitoServer
import Sito

final class BatchIndependenceTests: XCTestCase {
    private func sequences(_ encode: (String) throws -> [Int32]) rethrows -> [[Int32]] {
        try (0..<12).map { i in try encode(longText(1 + (i * 37) % 90, seed: i)) }
    }

    private func check(_ run: ([[Int32]]) throws -> [[Float]], _ seqs: [[Int32]], _ name: String) throws {
        let alone = try seqs.map { try run([$0])[0] }
        let together = try run(seqs)
        XCTAssertEqual(together, alone, "\(name): the whole batch differs from one sequence at a time")
        let reversed = try run(seqs.reversed())
        XCTAssertEqual(Array(reversed.reversed()), alone, "\(name): reversed batch")
        for k in [1, 3, 5] {
            let pairs = try run([seqs[k], seqs[0]])
            XCTAssertEqual(pairs[0], alone[k], "\(name): sequence \(k) with a mate")
        }
    }

    func testRerankerLogitsDoNotDependOnBatchMates() throws {
        for (name, file) in [("xlmr-tiny f32", try ServerFixtures.sito("xlmr-tiny")), ("bert-tiny-cls f32", try ServerFixtures.sito("bert-tiny-cls")),
                             ("xlmr-tiny int8", try ServerFixtures.int8("xlmr-tiny"))] {
            let reranker = try Reranker(contentsOf: file)
            let encodings = try (0..<12).map { i in try reranker.encode(query: "query \(i)", document: longText(1 + (i * 37) % 90, seed: i)) }
            try check({ ids in
                let types = ids.map { s in encodings.first { $0.ids == s }!.typeIds }
                return try reranker.logits(inputIds: ids, typeIds: types)
            }, encodings.map(\.ids), name)
        }
    }

    func testEmbeddingsDoNotDependOnBatchMates() throws {
        let embedder = try Embedder(contentsOf: try ServerFixtures.sito("all-minilm-l6-v2"))
        try check({ try embedder.embed(inputIds: $0) }, try sequences { try embedder.encode($0).ids }, "all-MiniLM-L6-v2")
    }
}
