// Engine.swift: the one loaded model every request shares, and what a request asks of it: validate and
// tokenize (exactly as sito-rerank does: Reranker.encode / Embedder.encode), queue the sequences on the
// Scheduler, and turn the outputs into scores or embeddings, with the time each step took.
//
// The model is mapped once, on a thread of its own, while the server already answers (/health: 503 until
// it is ready). At most --max-concurrent-requests requests are in flight at once (from reading the body to the
// last output); the next one gets 429 at once instead of a place in an ever longer queue.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Sito
import SitoCLI
import SitoFormat
import Synchronization

/// Where a request's time went (TEI's x-*-time headers).
public struct Timings: Sendable {
    public var tokenization: Duration = .zero
    public var queue: Duration = .zero
    public var inference: Duration = .zero
}

/// One scored document, in input order.
public struct RankedText: Sendable, Equatable {
    public var index: Int
    /// The model's raw output (the logit of a reranker; the cosine for an embedding model).
    public var raw: Float
    /// The output activation applied (sigmoid for one-label rerankers; the cosine again for an embedding model).
    public var score: Float
    public var tokens: Int
    public var truncated: Bool
}

public struct RerankOutcome: Sendable {
    public var results: [RankedText]
    public var timings: Timings
    /// Tokens the model saw, over all sequences.
    public var tokens: Int
}

public struct EmbedOutcome: Sendable {
    public var embeddings: [[Float]]
    public var timings: Timings
    public var tokens: Int
}

/// The kind of model the file holds, as /info names it.
public enum ModelKind: String, Sendable, Codable {
    case reranker
    case embedding
}

public final class Engine: Sendable {
    enum State: Sendable {
        case loading
        case ready(Model, Scheduler)
        case failed(String)
        case stopped
    }

    public let configuration: ServerConfiguration
    let metrics: ServerMetrics
    private let state = Mutex<State>(.loading)
    private let inFlight = Atomic<Int>(0)

    init(configuration: ServerConfiguration, metrics: ServerMetrics) {
        self.configuration = configuration
        self.metrics = metrics
    }

    /// Maps the file on a thread of its own and makes the scheduler; throws what the runtime threw.
    func load() async throws {
        // The scheduler's batches (up to --max-batch-tokens, across requests) run through the encoder in
        // passes of at most the runtime's own batch (ModelOptions.maxBatchTokens, 4096 tokens): one pass of
        // 16,384 tokens was 9-19% slower per text for all-MiniLM-L6-v2 on an AVX-512 machine, its
        // activations far outside the caches (BENCHMARKS.md, "sito-serve on AVX-512 VNNI"); the full-size
        // reranker ran at the same speed either way. A sequence longer than that is a pass of its own.
        var modelOptions = configuration.modelOptions
        modelOptions.maxBatchTokens = min(configuration.maxBatchTokens, modelOptions.maxBatchTokens)
        let options = modelOptions
        let url = URL(fileURLWithPath: configuration.modelPath)
        let beforeLoad = configuration.hooks.beforeLoad
        let result: Result<Model, any Error> = await withCheckedContinuation { c in
            InferenceThread.start(name: "sito-load") {
                beforeLoad?()
                c.resume(returning: Result { try Model(contentsOf: url, options: options) })
            }
        }
        let model: Model
        do {
            model = try result.get()
        } catch {
            state.withLock { $0 = .failed((error as? LocalizedError)?.errorDescription ?? "\(error)") }
            throw error
        }
        if configuration.maxBatchTokens < model.maxLength {
            let message = "--max-batch-tokens \(configuration.maxBatchTokens) is smaller than the model's maximum length \(model.maxLength): a long input could never run"
            state.withLock { $0 = .failed(message) }
            throw ServerStartError(message: message)
        }
        let run: @Sendable ([ModelInput]) throws -> [[Float]]
        let beforeBatch = configuration.hooks.beforeBatch
        switch model {
        case .reranker(let r): run = { beforeBatch?(); return try r.logits(inputIds: $0.map(\.ids), typeIds: $0.map { $0.typeIds ?? [] }) }
        // An embedding model's batches give pooled vectors; each request normalizes its own (embed, rerank).
        case .embedder(let e): run = { beforeBatch?(); return try e.embed(inputIds: $0.map(\.ids), output: .pooled) }
        }
        let metrics = self.metrics
        let scheduler = Scheduler(maxBatchTokens: configuration.maxBatchTokens, run: run) { metrics.batch($0) }
        state.withLock { $0 = .ready(model, scheduler) }
    }

    /// Drains the queue (what is queued still runs) and stops the inference thread.
    func shutdown() async {
        let scheduler: Scheduler? = state.withLock { s in
            if case .ready(_, let scheduler) = s { return scheduler }
            return nil
        }
        await scheduler?.shutdown()
        state.withLock { $0 = .stopped }
    }

    /// The model once loaded.
    var model: Model? {
        state.withLock { s in
            if case .ready(let m, _) = s { return m }
            return nil
        }
    }

    var loadError: String? {
        state.withLock { s in
            if case .failed(let m) = s { return m }
            return nil
        }
    }

    var kind: ModelKind? {
        switch model {
        case .reranker?: return .reranker
        case .embedder?: return .embedding
        case nil: return nil
        }
    }

    /// Requests whose work was dropped because their client went away.
    var droppedRequests: Int {
        state.withLock { s in
            if case .ready(_, let scheduler) = s { return scheduler.dropped }
            return 0
        }
    }

    /// Requests in flight now.
    var requestsInFlight: Int { inFlight.load(ordering: .relaxed) }

    private func ready() throws -> (Model, Scheduler) {
        try state.withLock { s in
            switch s {
            case .ready(let m, let scheduler): return (m, scheduler)
            case .loading: throw APIError.loading
            case .failed(let message): throw APIError(.serviceUnavailable, .unhealthy, "the model failed to load: \(message)")
            case .stopped: throw APIError.shuttingDown
            }
        }
    }

    /// Runs `body` holding one of the --max-concurrent-requests permits; 429 when none is free. Taken by
    /// the routes before the body is read, so that a full server buffers no more request bodies.
    func withPermit<T>(_ body: () async throws -> T) async throws -> T {
        let now = inFlight.add(1, ordering: .relaxed).newValue
        metrics.requestsInFlight(now)
        defer { metrics.requestsInFlight(inFlight.subtract(1, ordering: .relaxed).newValue) }
        if now > configuration.maxConcurrentRequests { throw APIError.overloaded(limit: configuration.maxConcurrentRequests) }
        return try await body()
    }

    /// Whether a request may truncate: `--no-truncate` never; otherwise `truncate`, and --auto-truncate
    /// when the request does not say.
    func mayTruncate(_ truncate: Bool?) -> Bool {
        configuration.truncation == .never ? false : (truncate ?? configuration.autoTruncate)
    }

    private func checkBatch(_ count: Int, field: String) throws {
        if count == 0 { throw APIError.validation("`\(field)` cannot be empty") }
        if count > configuration.maxClientBatchSize {
            throw APIError.validation("batch size \(count) > maximum allowed batch size \(configuration.maxClientBatchSize) (--max-client-batch-size)")
        }
    }

    private static func tooLong(_ error: ModelError) -> APIError {
        APIError.validation((error.errorDescription ?? "\(error)") + "; send truncate: true, or start the server with --auto-truncate")
    }

    /// Each text's tokens, truncated on `side` to the model's maximum; a text that had to be truncated
    /// when the request does not allow it is a 422 naming its index among `texts` and its part.
    private static func encode(_ texts: [String], part: InputPart, _ embedder: Embedder, allowTruncation: Bool, side: TruncationSide) throws -> [Encoding] {
        try texts.enumerated().map { i, text in
            let e = try embedder.encode(text, truncationSide: side)
            if e.truncated && !allowTruncation {
                throw tooLong(.inputTooLong(index: i, part: part, tokens: e.untruncatedLength, limit: embedder.maxLength))
            }
            return e
        }
    }

    private func submit(_ scheduler: Scheduler, _ inputs: [ModelInput], isGone: @escaping @Sendable () -> Bool) async throws -> ScheduledResult {
        do {
            return try await scheduler.submit(inputs, isGone: isGone)
        } catch let error as SchedulerError {
            switch error {
            case .cancelled: throw CancellationError()
            case .stopped: throw APIError.shuttingDown
            case .backend(let message): throw APIError(.internalServerError, .backend, "the model failed: \(message)")
            }
        }
    }

    /// Scores `texts` against `query`, in input order. A reranker gives logits and their activation; an
    /// embedding model ranks by cosine similarity between the query's and each text's embedding, as
    /// sito-rerank does. Inputs too long are cut on `truncationSide` (nil: --truncation-direction's).
    func rerank(query: String, texts: [String], truncate: Bool?, truncationSide: TruncationSide? = nil,
                isGone: @escaping @Sendable () -> Bool = { false }) async throws -> RerankOutcome {
        let (model, scheduler) = try ready()
        try checkBatch(texts.count, field: "texts")
        // sito-rerank's rule (SitoCLI.TextRules): empty or only white space is refused.
        do { try TextRules.checkQuery(query) } catch { throw APIError.validation("`query`: \(error)") }
        let allowTruncation = mayTruncate(truncate)
        let side = truncationSide ?? configuration.truncationSide
        var timings = Timings()
        let t0 = ContinuousClock.now
        switch model {
        case .reranker(let reranker):
            var encodings: [Encoding] = []
            encodings.reserveCapacity(texts.count)
            for (i, text) in texts.enumerated() {
                let e = try reranker.encode(query: query, document: text, truncationSide: side)
                if e.truncated && !allowTruncation {
                    throw Self.tooLong(.inputTooLong(index: i, part: reranker.queryFits(query) ? .document : .query,
                                                     tokens: e.untruncatedLength, limit: reranker.maxLength))
                }
                encodings.append(e)
            }
            timings.tokenization = ContinuousClock.now - t0
            encodings.forEach { metrics.inputLength($0.ids.count) }
            let result = try await submit(scheduler, encodings.map { ModelInput(ids: $0.ids, typeIds: $0.typeIds) }, isGone: isGone)
            timings.queue = result.queueTime
            timings.inference = result.inferenceTime
            let ranked = encodings.indices.map { i in
                let l = result.outputs[i]
                return RankedText(index: i, raw: l[l.count - 1], score: reranker.probability(l), tokens: encodings[i].ids.count,
                                  truncated: encodings[i].truncated)
            }
            return RerankOutcome(results: ranked, timings: timings, tokens: encodings.reduce(0) { $0 + $1.ids.count })
        case .embedder(let embedder):
            let encodings = try Self.encode([query], part: .query, embedder, allowTruncation: allowTruncation, side: side)
                + Self.encode(texts, part: .document, embedder, allowTruncation: allowTruncation, side: side)
            timings.tokenization = ContinuousClock.now - t0
            encodings.forEach { metrics.inputLength($0.ids.count) }
            let result = try await submit(scheduler, encodings.map { ModelInput(ids: $0.ids, typeIds: nil) }, isGone: isGone)
            timings.queue = result.queueTime
            timings.inference = result.inferenceTime
            // The file's own output (normalized when it has a Normalize module), as sito-rerank's.
            let vectors = result.outputs.map { embedder.finish(pooled: $0) }
            let q = vectors[0]
            let ranked = texts.indices.map { i in
                let c = Embedder.cosine(q, vectors[i + 1])
                return RankedText(index: i, raw: c, score: c, tokens: encodings[i + 1].ids.count, truncated: encodings[i + 1].truncated)
            }
            return RerankOutcome(results: ranked, timings: timings, tokens: encodings.reduce(0) { $0 + $1.ids.count })
        }
    }

    /// One embedding per text, in input order: L2-normalized (`Embedder.normalized`, as the runtime and
    /// sito-embed, bit for bit) when `normalize`, whether or not the file has a Normalize module; the
    /// pooled vector before any normalization otherwise (TEI's `normalize: false`).
    /// `field`: the request's name for the texts, for error messages (`inputs` on /embed, `input` on /v1/embeddings).
    /// Inputs too long are cut on `truncationSide` (nil: --truncation-direction's).
    func embed(texts: [String], truncate: Bool?, normalize: Bool, truncationSide: TruncationSide? = nil, field: String = "inputs",
               isGone: @escaping @Sendable () -> Bool = { false }) async throws -> EmbedOutcome {
        let (model, scheduler) = try ready()
        guard case .embedder(let embedder) = model else {
            throw APIError.validation("this server's model is a reranker (sequence-classification): it scores pairs on /rerank and /v1/rerank and has no embeddings")
        }
        try checkBatch(texts.count, field: field)
        let allowTruncation = mayTruncate(truncate)
        var timings = Timings()
        let t0 = ContinuousClock.now
        let encodings = try Self.encode(texts, part: .text, embedder, allowTruncation: allowTruncation,
                                        side: truncationSide ?? configuration.truncationSide)
        timings.tokenization = ContinuousClock.now - t0
        encodings.forEach { metrics.inputLength($0.ids.count) }
        let result = try await submit(scheduler, encodings.map { ModelInput(ids: $0.ids, typeIds: nil) }, isGone: isGone)
        timings.queue = result.queueTime
        timings.inference = result.inferenceTime
        let vectors = normalize ? result.outputs.map(Embedder.normalized) : result.outputs
        return EmbedOutcome(embeddings: vectors, timings: timings, tokens: encodings.reduce(0) { $0 + $1.ids.count })
    }
}

/// The model file cannot be served (it cannot be read, is not a model, or does not fit the options): bad
/// input, for which sito-serve exits 2 like every sito-* tool. `message` names the file or the option.
public struct ServerStartError: Error, LocalizedError {
    public let message: String
    public var errorDescription: String? { message }
}
