// RerankerTests.swift: the public runtime API on the converted tiny fixture: input order, probabilities,
// the overflow policy, bad ids, and concurrent scoring from 8 threads equal to serial scoring.
import Foundation
import Sito
import SitoFormat
import SitoTestSupport
import SitoTools
import XCTest

final class RerankerTests: XCTestCase {
    /// Converts xlmr-tiny once per test into a temporary file.
    func tinyModel() throws -> URL {
        let folder = try Fixtures.model("xlmr-tiny")
        let out = try Fixtures.temporaryFolder(removedAfter: self).appendingPathComponent("tiny.sito")
        _ = try Converter(folder: folder).convert(to: out.path)
        return out
    }

    let query = "Jak dożyć 100 lat?"
    let documents = [
        "Trzeba zdrowo się odżywiać i uprawiać sport.",
        "Trzeba pić alkohol, imprezować i jeździć szybkimi autami.",
        "Gdy trwała kampania politycy zapewniali, że rozprawią się z zakazem niedzielnego handlu.",
    ]

    func testScoresKeepInputOrderAndProbabilityIsSigmoid() throws {
        let reranker = try Reranker(contentsOf: try tinyModel())
        let scores = try reranker.score(query: query, documents: documents)
        XCTAssertEqual(scores.map(\.index), [0, 1, 2])
        for s in scores {
            XCTAssertEqual(s.probability, 1 / (1 + expf(-s.logit)), accuracy: 1e-6)
            XCTAssertFalse(s.truncated)
        }
        // Scoring one document alone gives the same logit as in a batch.
        let alone = try reranker.score(query: query, documents: [documents[2]])
        XCTAssertEqual(alone[0].logit, scores[2].logit, accuracy: 1e-5)
    }

    func testOverflowPolicy() throws {
        let url = try tinyModel()
        let long = String(repeating: "Ala ma kota i psa. ", count: 400)
        let truncating = try Reranker(contentsOf: url)
        let s = try truncating.score(query: query, documents: [long])
        XCTAssertTrue(s[0].truncated)
        XCTAssertEqual(s[0].tokens, truncating.maxLength)
        let strict = try Reranker(contentsOf: url, options: ModelOptions(overflow: .reject))
        XCTAssertThrowsError(try strict.score(query: query, documents: ["krótki", long])) { error in
            guard case .inputTooLong(let index, _, _, _)? = error as? ModelError else { return XCTFail("\(error)") }
            XCTAssertEqual(index, 1)
        }
        XCTAssertThrowsError(try Reranker(contentsOf: url, options: ModelOptions(maxLength: 100_000)))
    }

    func testBadIdsAreErrors() throws {
        let reranker = try Reranker(contentsOf: try tinyModel())
        XCTAssertThrowsError(try reranker.logits(inputIds: [[0, 250_002, 2]]))
        XCTAssertThrowsError(try reranker.logits(inputIds: [[]]))
        XCTAssertThrowsError(try reranker.logits(inputIds: [[Int32](repeating: 5, count: 600)]))
    }

    func testConcurrentScoringEqualsSerial() throws {
        let reranker = try Reranker(contentsOf: try tinyModel())
        let docs = (0..<24).map { "Dokument numer \($0): " + String(repeating: "słowo ", count: $0 * 3) }
        let q = query
        let serial = try reranker.score(query: q, documents: docs)
        let results = Locked<[Result<[Score], Error>?]>(Array(repeating: nil, count: 8))
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let r = Result { try reranker.score(query: q, documents: docs) }
            results.withLock { $0[i] = r }
        }
        for i in 0..<8 {
            let got = try results.current[i]!.get()
            XCTAssertEqual(got.map(\.logit), serial.map(\.logit), "thread \(i)")
        }
    }
}
