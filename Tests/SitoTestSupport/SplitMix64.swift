// SplitMix64.swift: the one deterministic random number generator of the tests: small, fast and the same
// on every run and platform, so a failing case number means the same bytes everywhere.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    public mutating func float() -> Float { Float(next() >> 40) * 0x1p-23 - 1 }
    public mutating func floats(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in scale * float() } }
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    /// In 0..<n (0 when n ≤ 0).
    public mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    public mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }
    public mutating func chance(_ oneIn: Int) -> Bool { below(oneIn) == 0 }
}
