// Parallel.swift: the runtime's one way of using several cores: run `body(i)` for i in 0..<count on
// Dispatch's concurrentPerform and wait. Bodies write disjoint memory (documented at each call site).
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The machine's cores: the runtime's workers when ModelOptions.threads is nil.
let runtimeCores = max(1, ProcessInfo.processInfo.activeProcessorCount)

/// Runs body(0..<count) concurrently and returns when all are done.
func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 {
        body(0)
        return
    }
    withoutActuallyEscaping(body) { escapable in
        // Unchecked: concurrentPerform returns before `body` goes out of scope, and callers give each
        // index disjoint output memory.
        let box = UncheckedBox(escapable)
        DispatchQueue.concurrentPerform(iterations: count) { i in box.value(i) }
    }
}

/// Carries a non-Sendable closure into concurrentPerform.
private struct UncheckedBox<T>: @unchecked Sendable {
    // @unchecked: used only by parallelFor, which waits for every iteration before `value` goes out of
    // scope; each iteration writes disjoint memory (the callers' contract above).
    let value: T
    init(_ value: T) { self.value = value }
}

/// One result per index, filled concurrently by parallelFor (each index writes only its own slot).
final class ResultSlots<T>: @unchecked Sendable {
    // @unchecked: slot i is written by iteration i only, and read after parallelFor has returned.
    private let slots: UnsafeMutablePointer<Result<T, Error>?>
    private let count: Int

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: max(1, count))
        slots.initialize(repeating: nil, count: max(1, count))
    }

    deinit {
        slots.deinitialize(count: max(1, count))
        slots.deallocate()
    }

    func set(_ i: Int, _ result: Result<T, Error>) { slots[i] = result }

    /// The values in index order, or the first index's error.
    func values() throws -> [T] {
        try (0..<count).map { try slots[$0]!.get() }
    }
}
