// RuntimeLinkageTests.swift: the executables users ship (sito-rerank, sito-embed) link the runtime only:
// never libsentencepiece or libprotobuf (the tools' tokenizer check), never full Foundation or ICU
// (FoundationEssentials at most). Read from the built executables' ELF NEEDED entries.
import Foundation
import XCTest

final class RuntimeLinkageTests: XCTestCase {
    private func needed(_ tool: String) throws -> [String] {
        guard let readelf = ["/usr/bin/readelf", "/bin/readelf"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("readelf is not installed")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: readelf)
        process.arguments = ["-d", try ToolRunner.binary(tool).path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.split(separator: "\n").compactMap { line in
            guard line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
    }

    func testScoringExecutablesLinkNoToolsLibraries() throws {
        for tool in ["sito-rerank", "sito-embed"] {
            let libraries = try needed(tool)
            XCTAssertFalse(libraries.isEmpty, "\(tool): no NEEDED entries read")
            for forbidden in ["libsentencepiece", "libprotobuf", "libFoundation.so", "libFoundationInternationalization", "libicu", "lib_FoundationICU"] {
                XCTAssertFalse(libraries.contains { $0.hasPrefix(forbidden) }, "\(tool) links \(forbidden): \(libraries)")
            }
        }
        // The tools do link the SentencePiece check: the test reads what it thinks it reads.
        XCTAssertTrue(try needed("sito-verify").contains { $0.hasPrefix("libsentencepiece") })
    }
}
