// MutationTests.swift: deterministic hostile variants of a valid tiny file — bit flips and byte
// overwrites in the preamble and header, hostile numbers in the header JSON, truncations — must each end
// in a SitoFormatError or a valid parse: never a trap (which would kill the test process), never a hang.
import Foundation
import SitoTestSupport
import XCTest
@testable import SitoFormat

final class MutationTests: XCTestCase {
    func testHostileVariantsEndInAnErrorOrAValidFile() throws {
        let sample = try Sample(Tiny.bytes(test: self))
        let json = Array(sample.bytes[16..<(16 + sample.headerLength)])
        // Every run of digits in the header (offsets, sizes, shapes, hyperparameters, ids).
        let numbers = digitRuns(json)
        let hostile = ["0", "-1", "1", "63", "64", "-64", "255", "256", "65536", "4294967296", "1099511627776",
                       "1099511627777", "4611686018427387904", "9223372036854775807", "9223372036854775808",
                       "18446744073709551616", "1e308", "1.5", "null", "\"1\"", "[]", "{}"]
        var rng = SplitMix64(seed: 0x5170_0006)
        var outcomes: [String: Int] = [:]
        let cases = 12_000
        for n in 0..<cases {
            var bytes: [UInt8]
            switch n % 4 {
            case 0: // a flipped bit in the preamble or header
                bytes = sample.bytes
                let at = Int(rng.next() % UInt64(16 + sample.headerLength))
                bytes[at] ^= UInt8(1 << (rng.next() % 8))
            case 1: // a random byte anywhere before the data, or a few random bytes in the JSON
                bytes = sample.bytes
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    bytes[Int(rng.next() % UInt64(sample.dataOffset))] = UInt8(truncatingIfNeeded: rng.next())
                }
            case 2: // a hostile value in place of one or two numbers of the header
                var edited = json
                for _ in 0..<(1 + Int(rng.next() % 2)) {
                    let range = numbers[Int(rng.next() % UInt64(numbers.count))]
                    guard range.upperBound <= edited.count else { continue }
                    edited.replaceSubrange(range, with: Array(hostile[Int(rng.next() % UInt64(hostile.count))].utf8))
                }
                bytes = sample.rebuilt(json: edited)
            default: // a truncation, sometimes with the header length pointing past it
                bytes = Array(sample.bytes.prefix(Int(rng.next() % UInt64(sample.bytes.count))))
                if bytes.count >= 16 && rng.next() % 2 == 0 {
                    withUnsafeBytes(of: rng.next().littleEndian) { bytes.replaceSubrange(8..<16, with: $0) }
                }
            }
            do {
                try parse(bytes, options: SitoOpenOptions(verifyChecksums: n % 8 == 0))
                outcomes["valid", default: 0] += 1
            } catch let error as SitoFormatError {
                outcomes[String(describing: error).prefix { $0 != "(" }.description, default: 0] += 1
            } catch {
                XCTFail("case \(n): not a SitoFormatError: \(error)")
            }
        }
        print("MutationTests: \(cases) cases, 0 crashes; outcomes: " +
              outcomes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        XCTAssertEqual(outcomes.values.reduce(0, +), cases)
        XCTAssertGreaterThan(outcomes.count, 12, "the mutations reach many different checks")
    }
}
