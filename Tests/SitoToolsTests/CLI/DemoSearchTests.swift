// DemoSearchTests.swift: the README's first command shows all-MiniLM-L6-v2 doing what an embedding model
// is good at (tools/demo.sh): semantic search over the real English gettext messages of the committed
// golden. Each of the demo's questions must find its answer first, through the built sito-rerank, so the
// demo never again shows a ranking a newcomer reads as a bug.
import Foundation
import SitoTestSupport
import XCTest

final class DemoSearchTests: XCTestCase {
    /// The demo's questions and the message each must rank first (none shares a keyword with it).
    static let expected = [
        ("I am offline", "Machine is not on the network"),
        ("not enough memory", "No buffer space available"),
        ("pick a typeface", "Whether the label is drawn in the selected font"),
        ("the login was refused", "Authentication is required to remove a user's home area."),
    ]

    func testEachDemoQuestionFindsItsAnswerFirst() throws {
        let work = try scratchFolder("demo-search", removedAfter: self)
        // The corpus exactly as tools/demo.sh builds it: the golden's "real:en" cases, one per line.
        let golden = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.golden("all-minilm-l6-v2.golden.json")))) as! [String: Any]
        let texts = (golden["cases"] as! [[String: Any]]).compactMap { c -> String? in
            guard c["tag"] as? String == "real:en", let t = c["text"] as? String, !t.isBlank, !t.contains("\n") else { return nil }
            return t
        }
        XCTAssertGreaterThan(texts.count, 200)
        let messages = work.appendingPathComponent("messages.txt")
        try Data((texts.joined(separator: "\n") + "\n").utf8).write(to: messages)
        let model = try EmbeddingFixture.get().path
        for (question, answer) in Self.expected {
            let r = try ToolRunner.run("sito-rerank", [model, "--quiet", "--query", question, "--documents", messages.path, "--top", "1", "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
            XCTAssertEqual(rows.first?["document"] as? String, answer, question)
        }
    }
}

private extension String {
    var isBlank: Bool { unicodeScalars.allSatisfy(\.properties.isWhitespace) }
}
