// FormattingTests.swift: the human-readable numbers and tables of SitoTools/Formatting.swift.
import XCTest
@testable import SitoTools
import SitoCLI

final class FormattingTests: XCTestCase {
    func testBytes() {
        XCTAssertEqual(formatBytes(0), "0 B")
        XCTAssertEqual(formatBytes(1023), "1023 B")
        XCTAssertEqual(formatBytes(1024), "1.00 KiB")
        XCTAssertEqual(formatBytes(1536), "1.50 KiB")
        XCTAssertEqual(formatBytes(50 << 20), "50.0 MiB")
        XCTAssertEqual(formatBytes(1_024_008_192), "977 MiB")
        XCTAssertEqual(formatBytes(2_274_123_456), "2.12 GiB")
        XCTAssertEqual(formatBytes(Int.max), "8.00 EiB")
    }

    func testFixedAndCount() {
        XCTAssertEqual(formatFixed(1.005, digits: 1), "1.0")
        XCTAssertEqual(formatFixed(-2.5, digits: 2), "-2.50")
        XCTAssertEqual(formatFixed(-0.001, digits: 2), "0.00")
        XCTAssertEqual(formatFixed(3.7, digits: 0), "4")
        XCTAssertEqual(formatCount(0), "0")
        XCTAssertEqual(formatCount(999), "999")
        XCTAssertEqual(formatCount(1000), "1,000")
        XCTAssertEqual(formatCount(2_274_123_456), "2,274,123,456")
        XCTAssertEqual(formatCount(-1_234_567), "-1,234,567")
        XCTAssertEqual(formatShape([250002, 1024]), "[250002, 1024]")
        XCTAssertEqual(formatShape([]), "[]")
    }

    func testTable() {
        var table = TextTable(columns: [.init("name"), .init("bytes", align: .right), .init("note")])
        table.append(["embeddings.word.weight", "1,024,008,192"])
        table.append(["b", "4", "x", "dropped"])
        XCTAssertEqual(table.render(indent: "  "), """
              name                            bytes  note
              embeddings.word.weight  1,024,008,192
              b                                   4  x
            """)
    }
}
