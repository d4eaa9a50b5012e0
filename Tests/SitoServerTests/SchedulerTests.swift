// SchedulerTests.swift: the queue on its own, with a model that only records its batches: batches
// respect --max-batch-tokens, interleave requests (a small request is not starved by a huge one queued
// before it), and outputs go back to the right request in order.
import Foundation
import XCTest
import Synchronization
@testable import SitoServer

final class SchedulerTests: XCTestCase {
    /// A fake model: each sequence's output is its ids as floats; records every batch.
    final class Recorder: Sendable {
        let batches = Mutex<[[[Int32]]]>([])
        func run(_ inputs: [ModelInput]) -> [[Float]] {
            batches.withLock { $0.append(inputs.map(\.ids)) }
            Thread.sleep(forTimeInterval: 0.002)
            return inputs.map { $0.ids.map(Float.init) }
        }
    }

    func testOutputsInOrderAndBatchesWithinBudget() async throws {
        let recorder = Recorder()
        let scheduler = Scheduler(maxBatchTokens: 64, run: { recorder.run($0) })
        let results = try await withThrowingTaskGroup(of: (Int, ScheduledResult).self) { group in
            for r in 0..<20 {
                group.addTask {
                    let inputs = (0..<(1 + r % 5)).map { s in ModelInput(ids: Array(repeating: Int32(r * 100 + s), count: 1 + (r + s) % 30)) }
                    return (r, try await scheduler.submit(inputs))
                }
            }
            var out: [Int: ScheduledResult] = [:]
            for try await (r, result) in group { out[r] = result }
            return out
        }
        for r in 0..<20 {
            let outputs = try XCTUnwrap(results[r]).outputs
            XCTAssertEqual(outputs.count, 1 + r % 5)
            for (s, o) in outputs.enumerated() { XCTAssertEqual(o, Array(repeating: Float(r * 100 + s), count: 1 + (r + s) % 30)) }
        }
        for batch in recorder.batches.withLock({ $0 }) { XCTAssertLessThanOrEqual(batch.reduce(0) { $0 + $1.count }, 64) }
        await scheduler.shutdown()
    }

    func testASmallRequestIsNotStarvedByAHugeOne() async throws {
        let recorder = Recorder()
        let gate = Gate()
        let first = Atomic<Bool>(true)
        let scheduler = Scheduler(maxBatchTokens: 40, run: { inputs in
            if first.exchange(false, ordering: .relaxed) { gate.pass() }
            return recorder.run(inputs)
        })
        // 50 sequences of 20 tokens: 25 batches alone. Its first batch waits until a one-sequence request
        // has queued behind it.
        async let huge = scheduler.submit((0..<50).map { _ in ModelInput(ids: Array(repeating: 1, count: 20)) })
        await gate.waitEntered()
        async let small = scheduler.submit([ModelInput(ids: Array(repeating: 2, count: 20))])
        for _ in 0..<400 where scheduler.queued.requests < 2 { try await Task.sleep(for: .milliseconds(5)) }
        XCTAssertEqual(scheduler.queued.requests, 2)
        gate.open()
        let (h, s) = try await (huge, small)
        XCTAssertEqual(s.outputs, [Array(repeating: 2, count: 20)])
        XCTAssertEqual(h.outputs.count, 50)
        let batches = recorder.batches.withLock { $0 }
        let at = try XCTUnwrap(batches.firstIndex { $0.contains { $0.first == 2 } })
        XCTAssertEqual(at, 1, "the small request ran in batch \(at) of \(batches.count), not in the one right after the running batch")
        XCTAssertEqual(batches[1].count, 2, "the batch after the first holds one sequence of each request")
        await scheduler.shutdown()
    }

    func testCancelledWorkIsDroppedAndShutdownDrains() async throws {
        let recorder = Recorder()
        let scheduler = Scheduler(maxBatchTokens: 8, run: { recorder.run($0) })
        let gone = Atomic<Bool>(true)
        do {
            _ = try await scheduler.submit([ModelInput(ids: [1, 2, 3])], isGone: { gone.load(ordering: .relaxed) })
            XCTFail("a gone client's work ran")
        } catch let error as SchedulerError {
            XCTAssertEqual(error, .cancelled)
        }
        XCTAssertEqual(scheduler.dropped, 1)
        let task = Task { try await scheduler.submit((0..<30).map { _ in ModelInput(ids: [5, 5, 5, 5]) }) }
        try await Task.sleep(for: .milliseconds(3))
        await scheduler.shutdown()
        // What was queued before the shutdown still ran to the end.
        let drained = try await task.value
        XCTAssertEqual(drained.outputs.count, 30)
        do {
            _ = try await scheduler.submit([ModelInput(ids: [1])])
            XCTFail("a stopped scheduler took work")
        } catch let error as SchedulerError {
            XCTAssertEqual(error, .stopped)
        }
    }
}
