// Scheduler.swift: the queue between requests and the model. Requests submit their tokenized sequences;
// one dedicated inference thread (InferenceThread, not a NIO event loop nor a thread of Swift's
// cooperative pool) fills each batch up to --max-batch-tokens tokens with one sequence of every waiting
// request first, then with the requests that have the least work left (formBatch), runs the batch, and
// hands each request its outputs when its last sequence is done. Interleaving by request keeps a request
// of 32 long documents from starving the one-document requests that arrive behind it, and a burst of
// equal requests finishes in arrival order rather than all at once. Work of a request whose client went away (or whose task was
// cancelled) is dropped before it starts: a batch already running finishes, the rest is never run.
//
// Because the encoder packs sequences without padding, a sequence's output does not depend on the other
// sequences of its batch (ServerBatchIndependenceTests checks this bit for bit), so batching across
// requests changes no score.
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One sequence as the model takes it.
struct ModelInput: Sendable {
    var ids: [Int32]
    var typeIds: [Int32]?
}

/// What one batch reports, for metrics.
struct BatchReport: Sendable {
    var sequences: Int
    var tokens: Int
    var duration: Duration
}

/// What a request gets back: one output per sequence, in order, and where its time went.
struct ScheduledResult: Sendable {
    var outputs: [[Float]]
    /// From submission to its first sequence's batch starting.
    var queueTime: Duration
    /// From its first batch starting to its last batch ending.
    var inferenceTime: Duration
}

/// Why a submission did not run.
enum SchedulerError: Error, Equatable {
    /// The client went away or the task was cancelled before all of its work started.
    case cancelled
    /// The scheduler has stopped (the server is shutting down and the queue was drained).
    case stopped
    /// The model failed on a batch holding one of the request's sequences.
    case backend(String)
}

/// A request waiting in the queue. Touched only under the scheduler's lock.
private final class Job {
    let sequences: [ModelInput]
    let isGone: @Sendable () -> Bool
    let submitted: ContinuousClock.Instant
    var next = 0
    var done = 0
    var outputs: [[Float]]
    var started: ContinuousClock.Instant?
    var cancelled = false
    var continuation: CheckedContinuation<ScheduledResult, any Error>?

    init(sequences: [ModelInput], isGone: @escaping @Sendable () -> Bool) {
        self.sequences = sequences
        self.isGone = isGone
        self.submitted = .now
        self.outputs = Array(repeating: [], count: sequences.count)
    }
}

/// Runs `body` on a thread of its own (a pthread, outside Dispatch's pools and Swift's executors).
enum InferenceThread {
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        final class Box: @unchecked Sendable {
            // @unchecked: created here, handed to the new thread once, never touched by this one again.
            let body: @Sendable () -> Void
            let name: String
            init(_ body: @escaping @Sendable () -> Void, name: String) { self.body = body; self.name = name }
        }
        let box = Unmanaged.passRetained(Box(body, name: name)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(thread)
    }
}

/// The cross-request batching queue. Sendable: all mutable state is guarded by `lock`.
final class Scheduler: @unchecked Sendable {
    // @unchecked: `jobs`, `stopping` and every Job are read and written only inside
    // `lock.withLock`; the inference thread runs the model outside the lock on copies of the sequences.
    private let lock = Mutex(())
    private let wake = DispatchSemaphore(value: 0)
    private var jobs: [Job] = []
    private var stopping = false
    private var droppedCount = 0
    private var stoppedFlag = false
    private let stoppedSignal = DispatchSemaphore(value: 0)

    let maxBatchTokens: Int
    private let run: @Sendable ([ModelInput]) throws -> [[Float]]
    private let onBatch: @Sendable (BatchReport) -> Void

    /// `run` takes a batch and returns one output per sequence, in order (Reranker.logits or
    /// Embedder.embed(inputIds:)); `onBatch` is told of each batch (metrics).
    init(maxBatchTokens: Int, run: @escaping @Sendable ([ModelInput]) throws -> [[Float]],
         onBatch: @escaping @Sendable (BatchReport) -> Void = { _ in }) {
        self.maxBatchTokens = maxBatchTokens
        self.run = run
        self.onBatch = onBatch
        InferenceThread.start(name: "sito-inference") { [self] in loop() }
    }

    /// Sequences waiting or running, and requests holding them (metrics, tests).
    var queued: (requests: Int, sequences: Int) {
        lock.withLock { _ in (jobs.count, jobs.reduce(0) { $0 + $1.sequences.count - $1.done }) }
    }

    /// Requests dropped so far because their client went away or their task was cancelled.
    var dropped: Int { lock.withLock { _ in droppedCount } }

    /// Queues the sequences and waits for their outputs. `isGone` is asked before each batch: once it is
    /// true (the client disconnected) the request's remaining work is dropped and this throws `.cancelled`,
    /// as it does when the calling task is cancelled.
    func submit(_ sequences: [ModelInput], isGone: @escaping @Sendable () -> Bool = { false }) async throws -> ScheduledResult {
        if sequences.isEmpty { return ScheduledResult(outputs: [], queueTime: .zero, inferenceTime: .zero) }
        let job = Job(sequences: sequences, isGone: isGone)
        let box = JobBox(job)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ScheduledResult, any Error>) in
                let refused: SchedulerError? = lock.withLock { _ in
                    if box.job.cancelled { return .cancelled }
                    if stopping { return .stopped }
                    box.job.continuation = continuation
                    jobs.append(box.job)
                    return nil
                }
                if let refused { continuation.resume(throwing: refused) } else { wake.signal() }
            }
        } onCancel: {
            lock.withLock { _ in box.job.cancelled = true }
            wake.signal()
        }
    }

    /// Stops taking new work; the queue is still drained. Returns when the inference thread has finished.
    func shutdown() async {
        let first: Bool = lock.withLock { _ in
            if stopping { return false }
            stopping = true
            return true
        }
        if first { wake.signal() }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [self] in
                let already = lock.withLock { _ in stoppedFlag }
                if !already {
                    stoppedSignal.wait()
                    stoppedSignal.signal()   // let any other waiter through too
                }
                c.resume()
            }
        }
    }

    // MARK: The inference thread

    private func loop() {
        while true {
            wake.wait()
            while true {
                // Take a batch (and drop the gone) under the lock.
                var dropped: [CheckedContinuation<ScheduledResult, any Error>] = []
                let taken: [(Job, Int)]? = lock.withLock { _ in
                    jobs.removeAll { job in
                        guard job.cancelled || job.isGone() else { return false }
                        if let c = job.continuation { dropped.append(c) }
                        job.continuation = nil
                        droppedCount += 1
                        return true
                    }
                    if jobs.isEmpty { return stopping ? nil : [] }
                    return formBatch()
                }
                for c in dropped { c.resume(throwing: SchedulerError.cancelled) }
                guard let taken else { return finish() }
                if taken.isEmpty { break }
                execute(taken)
            }
        }
    }

    private func finish() {
        lock.withLock { _ in stoppedFlag = true }
        stoppedSignal.signal()
    }

    /// Fills one batch of at most `maxBatchTokens` tokens, in two passes (under the lock):
    ///   1. one sequence of every waiting request, oldest first: every request progresses in every batch,
    ///      so none starves, however large the others;
    ///   2. the rest of the budget to the requests with the fewest sequences left (oldest first among
    ///      equals): a small request finishes in the next batch, and requests of equal size finish in
    ///      arrival order instead of all together at the end of a burst.
    /// A sequence that does not fit is skipped for a smaller one of another request; one longer than
    /// the whole budget runs alone.
    private func formBatch() -> [(Job, Int)] {
        var batch: [(Job, Int)] = []
        var tokens = 0
        func take(_ job: Job) -> Bool {
            guard job.next < job.sequences.count else { return false }
            let length = job.sequences[job.next].ids.count
            if !batch.isEmpty && tokens + length > maxBatchTokens { return false }
            batch.append((job, job.next))
            if job.started == nil { job.started = .now }
            job.next += 1
            tokens += length
            return true
        }
        for job in jobs { _ = take(job) }
        let byWorkLeft = jobs.enumerated().sorted { a, b in
            let (ra, rb) = (a.element.sequences.count - a.element.next, b.element.sequences.count - b.element.next)
            return ra != rb ? ra < rb : a.offset < b.offset
        }.map(\.element)
        for job in byWorkLeft { while take(job) {} }
        return batch
    }

    private func execute(_ taken: [(Job, Int)]) {
        let sequences = taken.map { $0.0.sequences[$0.1] }
        let t0 = ContinuousClock.now
        let result = Result { try run(sequences) }
        let elapsed = ContinuousClock.now - t0
        onBatch(BatchReport(sequences: sequences.count, tokens: sequences.reduce(0) { $0 + $1.ids.count }, duration: elapsed))
        let end = ContinuousClock.now
        var finished: [(CheckedContinuation<ScheduledResult, any Error>, Result<ScheduledResult, any Error>)] = []
        lock.withLock { _ in
            var failedJobs: [ObjectIdentifier] = []
            for (k, (job, i)) in taken.enumerated() {
                switch result {
                case .success(let outputs):
                    job.outputs[i] = outputs[k]
                    job.done += 1
                    if job.done == job.sequences.count, let c = job.continuation {
                        job.continuation = nil
                        let started = job.started ?? job.submitted
                        finished.append((c, .success(ScheduledResult(outputs: job.outputs, queueTime: started - job.submitted,
                                                                     inferenceTime: end - started))))
                    }
                case .failure(let error):
                    if let c = job.continuation {
                        job.continuation = nil
                        finished.append((c, .failure(SchedulerError.backend("\(error)"))))
                    }
                    failedJobs.append(ObjectIdentifier(job))
                }
            }
            jobs.removeAll { job in job.continuation == nil || failedJobs.contains(ObjectIdentifier(job)) }
        }
        for (c, r) in finished { c.resume(with: r) }
    }
}

/// Carries a Job into the cancellation handler. Sendable by construction: the job is touched only under
/// the scheduler's lock.
private final class JobBox: @unchecked Sendable {
    // @unchecked: `job`'s fields are read and written only inside Scheduler.lock.withLock.
    let job: Job
    init(_ job: Job) { self.job = job }
}
