// Parallel.swift: the runtime's one way of using several cores: run `body(i)` for i in 0..<count on
// Dispatch's concurrentPerform and wait. Bodies write disjoint memory (documented at each call site).
import Dispatch
import Foundation

/// Cores the runtime uses.
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
