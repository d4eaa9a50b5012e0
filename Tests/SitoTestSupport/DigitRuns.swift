// DigitRuns.swift: where the numbers are in a JSON text, for the mutation tests that put hostile
// numbers in their place.

/// Byte ranges of every run of ASCII digits.
public func digitRuns(_ bytes: [UInt8]) -> [Range<Int>] {
    var runs: [Range<Int>] = []
    var i = 0
    while i < bytes.count {
        if (0x30...0x39).contains(bytes[i]) {
            let start = i
            while i < bytes.count && (0x30...0x39).contains(bytes[i]) { i += 1 }
            runs.append(start..<i)
        } else {
            i += 1
        }
    }
    return runs
}
