// FormatTestSupport.swift: what the format tests add to SitoTestSupport's tiny model through SitoFormat's
// internal API: a whole-file parse with the test path, the refusal assertions, and a Sample re-encoded
// with the writer's own header encoder.
import Foundation
import SitoTestSupport
import XCTest
@testable import SitoFormat

extension Sample {
    /// The file with its header decoded, changed by `change`, and re-encoded.
    func with(_ change: (inout SitoHeader) -> Void) throws -> [UInt8] {
        var h = header
        change(&h)
        return rebuilt(json: [UInt8](try SitoWriter.encode(h)))
    }
}

/// Parses `bytes` as a whole file, with the test path.
@discardableResult
func parse(_ bytes: [UInt8], options: SitoOpenOptions = SitoOpenOptions()) throws -> SitoFile.Parsed {
    try bytes.withUnsafeBytes { try SitoFile.parse($0, path: Tiny.path, options: options) }
}

/// Asserts that `bytes` is refused with exactly `expected`.
func assertRefused(_ bytes: [UInt8], _ expected: SitoFormatError, options: SitoOpenOptions = SitoOpenOptions(),
                   file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try parse(bytes, options: options), file: file, line: line) { error in
        XCTAssertEqual(error as? SitoFormatError, expected, file: file, line: line)
        XCTAssertTrue((error as? LocalizedError)?.errorDescription?.contains(Tiny.path) ?? false, "message does not name the file", file: file, line: line)
    }
}

/// Asserts that `bytes` is refused with a `SitoFormatError` for which `matches` holds, and returns it.
@discardableResult
func assertRefused(_ bytes: [UInt8], options: SitoOpenOptions = SitoOpenOptions(), file: StaticString = #filePath, line: UInt = #line,
                   where matches: (SitoFormatError) -> Bool) -> SitoFormatError? {
    var caught: SitoFormatError?
    XCTAssertThrowsError(try parse(bytes, options: options), file: file, line: line) { error in
        guard let e = error as? SitoFormatError else { return XCTFail("not a SitoFormatError: \(error)", file: file, line: line) }
        caught = e
        XCTAssertTrue(matches(e), "unexpected error: \(e)", file: file, line: line)
    }
    return caught
}
