// Locked.swift: the one lock-protected box of the tests: results written from several threads, and
// values made once per test process and then shared.
import Foundation

public final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched while `lock` is held.
    private var value: Value
    private let lock = NSLock()

    public init(_ value: Value) { self.value = value }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// A copy of the value.
    public var current: Value { withLock { $0 } }
}

extension Locked {
    /// The value made once: `make` runs under the lock the first time, later calls return what it made.
    public func once<T>(_ make: () throws -> T) rethrows -> T where Value == T? {
        try withLock { cached in
            if let cached { return cached }
            let made = try make()
            cached = made
            return made
        }
    }
}
