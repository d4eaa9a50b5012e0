// Formatting.swift: how the sito-* tools print numbers, sizes, shapes and tables for people.
// Machine-readable output (--json) never goes through these: it prints exact integers.

/// Human-readable byte sizes in binary units: `512 B`, `1.50 KiB`, `2.27 GiB`.
public func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    if bytes < 1024 && bytes > -1024 { return "\(bytes) B" }
    var value = Double(bytes)
    var unit = 0
    while abs(value) >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return "\(formatFixed(value, digits: abs(value) < 10 ? 2 : abs(value) < 100 ? 1 : 0)) \(units[unit])"
}

/// `value` with exactly `digits` decimals, without Foundation's locale-dependent formatters.
public func formatFixed(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<max(0, digits) { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9.0e18 else { return "\(value)" }
    let whole = UInt64(scaled)
    let sign = value < 0 && whole != 0 ? "-" : ""
    let intPart = whole / UInt64(scale)
    if digits <= 0 { return "\(sign)\(intPart)" }
    let frac = String(whole % UInt64(scale))
    return "\(sign)\(intPart).\(String(repeating: "0", count: digits - frac.count))\(frac)"
}

/// An integer with thousands separators: `2,274,123,456`.
public func formatCount(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return value < 0 ? "-" + out : out
}

/// A tensor shape as `[250002, 1024]`; a scalar is `[]`.
public func formatShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}

/// A plain-text table with a header row, columns padded to their widest cell.
///
///     var t = TextTable(columns: [.init("name"), .init("bytes", align: .right)])
///     t.append(["embeddings.word.weight", "1,024,008,192"])
///     print(t.render())
public struct TextTable: Sendable {
    public enum Alignment: Sendable { case left, right }

    public struct Column: Sendable {
        public var title: String
        public var align: Alignment
        public init(_ title: String, align: Alignment = .left) {
            self.title = title
            self.align = align
        }
    }

    public var columns: [Column]
    public private(set) var rows: [[String]] = []

    public init(columns: [Column]) { self.columns = columns }

    /// Adds a row; missing cells are empty, extra cells are dropped.
    public mutating func append(_ row: [String]) {
        rows.append((0..<columns.count).map { $0 < row.count ? row[$0] : "" })
    }

    /// The table as lines joined by newlines (no trailing newline), each prefixed by `indent`, cells
    /// separated by two spaces, trailing spaces trimmed.
    public func render(indent: String = "") -> String {
        let all = [columns.map(\.title)] + rows
        var widths = [Int](repeating: 0, count: columns.count)
        for row in all {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        return all.map { row -> String in
            var line = ""
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                if i > 0 { line += "  " }
                line += columns[i].align == .right ? pad + cell : cell + pad
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return indent + line
        }.joined(separator: "\n")
    }
}

extension StringProtocol {
    /// Whether the text is empty or only Unicode white space (a blank line, an empty query).
    public var isBlank: Bool { unicodeScalars.allSatisfy(\.properties.isWhitespace) }
}

/// `text` right-aligned in `width` characters (never cut).
public func padLeft(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}
