// PolishText.swift: real Polish text for the tokenizer throughput tests: the msgstr side of the gettext
// catalogs on this machine (/usr/share/locale/pl), read straight from the .mo files.
import Foundation

/// Polish gettext messages joined with spaces, at least `minimumBytes` of them (less if the machine has fewer).
public func polishDocument(minimumBytes: Int) -> String {
    var parts: [String] = []
    var total = 0
    let dir = "/usr/share/locale/pl/LC_MESSAGES"
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    for file in files where file.hasSuffix(".mo") {
        guard let data = FileManager.default.contents(atPath: dir + "/" + file), data.count >= 28 else { continue }
        let b = [UInt8](data)
        func u32(_ o: Int) -> Int { Int(UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24) }
        guard u32(0) == 0x9504_12DE else { continue }
        let n = u32(8), table = u32(16)
        for i in 1..<max(1, n) {
            let length = u32(table + 8 * i), offset = u32(table + 8 * i + 4)
            guard offset + length <= b.count else { break }
            let s = String(decoding: b[offset..<offset + length].split(separator: 0).first ?? [], as: UTF8.self)
            parts.append(s)
            total += s.utf8.count
            if total >= minimumBytes { return parts.joined(separator: " ") }
        }
    }
    return parts.joined(separator: " ")
}
