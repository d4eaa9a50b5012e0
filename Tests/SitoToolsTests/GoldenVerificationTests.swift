// GoldenVerificationTests.swift: the fidelity bar of issue 3 — convert the fixtures, run sito-verify's
// library path on the committed transformers goldens: f32 zero token mismatches, max |Δlogit| ≤ 1e-4.
import Foundation
import Sito
import SitoFormat
import SitoTestSupport
import SitoTools
import XCTest

final class GoldenVerificationTests: XCTestCase {
    func verify(fixture: String, golden: String, dtype: ConvertDType = .f32) throws -> VerifyReport {
        let folder = try Fixtures.model(fixture)
        let out = try Fixtures.temporaryFolder().appendingPathComponent("\(fixture).sito")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        _ = try Converter(folder: folder, dtype: dtype).convert(to: out.path)
        let goldenPath = Fixtures.golden(golden)
        let g = try GoldenFile.load(path: goldenPath)
        let reranker = try Reranker(contentsOf: out, options: ModelOptions(maxLength: g.maxLength))
        let report = try Verifier.verify(reranker, golden: g, goldenPath: goldenPath)
        print("\(fixture) \(dtype): \(report.cases) cases, \(report.tokenMismatches) token mismatches, max |Δ| \(report.maxAbsError), mean |Δ| \(report.meanAbsError), spearman \(report.spearman ?? -1), top1 \(report.top1Agreement ?? -1)")
        for m in report.firstMismatches {
            print("case \(m.caseIndex): expected \(m.expected.prefix(40)) got \(m.actual.prefix(40))")
        }
        return report
    }

    func testTinyF32MatchesTransformers() throws {
        let r = try verify(fixture: "xlmr-tiny", golden: "xlmr-tiny.golden.json")
        XCTAssertGreaterThanOrEqual(r.cases, 200)
        XCTAssertEqual(r.tokenMismatches, 0)
        XCTAssertLessThanOrEqual(r.maxAbsError, 1e-4)
        XCTAssertTrue(r.passed, r.failures.joined(separator: "; "))
    }

    func testLongF32MatchesTransformers() throws {
        let r = try verify(fixture: "xlmr-tiny-long", golden: "xlmr-tiny-long.golden.json")
        XCTAssertEqual(r.tokenMismatches, 0)
        XCTAssertLessThanOrEqual(r.maxAbsError, 1e-4)
        XCTAssertTrue(r.passed, r.failures.joined(separator: "; "))
    }
}
