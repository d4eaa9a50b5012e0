// Routes.swift: the HTTP routes and what every request goes through: the body read up to
// --payload-limit (413), JSON decoded (400 for bad JSON, 422 for a wrong shape, as TEI's axum does), the
// engine asked, the answer written with TEI's timing headers, one log line and the metrics.
//   TEI:          POST /rerank, POST /embed (and POST /, as TEI for embedding models), GET /health,
//                 GET /info, GET /metrics
//   Cohere/Jina:  POST /v1/rerank (and /v2/rerank, Cohere's v2 client)
//   OpenAI:       POST /v1/embeddings
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Sito
import SitoFormat

/// Hummingbird's context, with the connection (to know when its client goes away).
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// What a route's work returns: the JSON body and what the log line and metrics need.
struct Reply {
    var body: Data
    var timings: Timings?
    var inputs: Int
    var tokens: Int
}

/// The routes of one server.
struct API: Sendable {
    let engine: Engine
    let metrics: ServerMetrics
    let connections: ConnectionRegistry
    let logger: Logger
    /// The name answered as `model` (the file's name without `.sito`).
    let modelName: String
    let version: String

    func register(on router: Router<ServerContext>) {
        router.post("rerank") { request, context in
            await handle(request, context, endpoint: "/rerank", as: TEIRerankRequest.self) { r, isGone in try await rerankTEI(r, isGone) }
        }
        router.post("embed") { request, context in
            await handle(request, context, endpoint: "/embed", as: TEIEmbedRequest.self) { r, isGone in try await embedTEI(r, isGone) }
        }
        router.post("v1/rerank") { request, context in
            await handle(request, context, endpoint: "/v1/rerank", as: CohereRerankRequest.self) { r, isGone in try await rerankCohere(r, isGone) }
        }
        // Cohere's v2 client posts the same request (documents as strings) to /v2/rerank.
        router.post("v2/rerank") { request, context in
            await handle(request, context, endpoint: "/v2/rerank", as: CohereRerankRequest.self) { r, isGone in try await rerankCohere(r, isGone) }
        }
        // TEI's root route: Hugging Face's InferenceClient (feature_extraction) posts {"inputs"} to the base URL.
        router.post("/") { request, context in
            await handle(request, context, endpoint: "/", as: TEIEmbedRequest.self) { r, isGone in try await embedTEI(r, isGone) }
        }
        router.post("v1/embeddings") { request, context in
            await handle(request, context, endpoint: "/v1/embeddings", as: OpenAIEmbeddingsRequest.self) { r, isGone in try await embedOpenAI(r, isGone) }
        }
        router.get("health") { _, _ in health() }
        router.get("info") { _, _ in info() }
        router.get("metrics") { _, _ in
            metrics.requestsInFlight(engine.requestsInFlight)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
    }

    // MARK: Routes

    private func rerankTEI(_ r: TEIRerankRequest, _ isGone: @escaping @Sendable () -> Bool) async throws -> Reply {
        let outcome = try await engine.rerank(query: r.query, texts: r.texts, truncate: r.truncate, truncationSide: r.truncation_direction?.side, isGone: isGone)
        let raw = r.raw_scores ?? false
        let ranks = Self.bestFirst(outcome.results).map { t in
            TEIRank(index: t.index, score: raw ? t.raw : t.score, text: (r.return_text ?? false) ? r.texts[t.index] : nil)
        }
        return Reply(body: try Self.encode(ranks), timings: outcome.timings, inputs: r.texts.count, tokens: outcome.tokens)
    }

    private func embedTEI(_ r: TEIEmbedRequest, _ isGone: @escaping @Sendable () -> Bool) async throws -> Reply {
        let texts = r.inputs.texts
        let outcome = try await engine.embed(texts: texts, truncate: r.truncate, normalize: r.normalize ?? true,
                                             truncationSide: r.truncation_direction?.side, isGone: isGone)
        return Reply(body: try Self.encode(outcome.embeddings), timings: outcome.timings, inputs: texts.count, tokens: outcome.tokens)
    }

    private func rerankCohere(_ r: CohereRerankRequest, _ isGone: @escaping @Sendable () -> Bool) async throws -> Reply {
        if let n = r.top_n, n < 1 { throw APIError.validation("`top_n` must be at least 1 (got \(n))") }
        let texts = r.documents.map(\.text)
        let outcome = try await engine.rerank(query: r.query, texts: texts, truncate: r.truncate, isGone: isGone)
        var ranked = Self.bestFirst(outcome.results)
        if let n = r.top_n, n < ranked.count { ranked.removeSubrange(n...) }
        let raw = r.raw_scores ?? false
        let results = ranked.map { t in
            CohereRerankResponse.Result(index: t.index, relevance_score: raw ? t.raw : t.score,
                                        document: (r.return_documents ?? false) ? CohereDocument(text: texts[t.index]) : nil)
        }
        let response = CohereRerankResponse(id: UUID().uuidString.lowercased(), model: r.model ?? modelName, results: results,
                                            usage: .init(total_tokens: outcome.tokens))
        return Reply(body: try Self.encode(response), timings: outcome.timings, inputs: texts.count, tokens: outcome.tokens)
    }

    private func embedOpenAI(_ r: OpenAIEmbeddingsRequest, _ isGone: @escaping @Sendable () -> Bool) async throws -> Reply {
        let texts = r.input.texts
        if let d = r.dimensions, let model = engine.model, d != model.header.model.hidden {
            throw APIError.validation("`dimensions` \(d) is not available: this model's embeddings have \(model.header.model.hidden)")
        }
        let outcome = try await engine.embed(texts: texts, truncate: nil, normalize: true, field: "input", isGone: isGone)
        let base64 = r.encoding_format == .base64
        let data = outcome.embeddings.enumerated().map { i, v in
            OpenAIEmbeddingsResponse.Item(embedding: base64 ? .base64(Self.base64(v)) : .floats(v), index: i)
        }
        let response = OpenAIEmbeddingsResponse(data: data, model: r.model ?? modelName,
                                                usage: .init(prompt_tokens: outcome.tokens, total_tokens: outcome.tokens))
        return Reply(body: try Self.encode(response), timings: outcome.timings, inputs: texts.count, tokens: outcome.tokens)
    }

    private func health() -> Response {
        if engine.model != nil { return Response(status: .ok) }
        if let failure = engine.loadError {
            return Self.errorResponse(APIError(.serviceUnavailable, .unhealthy, "the model failed to load: \(failure)"))
        }
        return Self.errorResponse(.loading)
    }

    private func info() -> Response {
        let c = engine.configuration
        var body = TEIInfo(model_id: modelName, model_sha: nil, model_dtype: "unknown",
                           model_type: .init(reranker: nil, embedding: nil),
                           max_concurrent_requests: c.maxConcurrentRequests, max_input_length: c.modelOptions.maxLength ?? 0,
                           max_batch_tokens: c.maxBatchTokens, max_batch_requests: nil, max_client_batch_size: c.maxClientBatchSize,
                           auto_truncate: c.autoTruncate && c.truncation == .perRequest, tokenization_workers: 0, version: version,
                           sha: nil, docker_label: nil, architecture: "unknown", task: "unknown", quantization: nil, ready: false)
        if let model = engine.model {
            let h = model.header
            body.model_sha = h.source.revision
            body.model_dtype = h.quantization?.type.rawValue ?? h.tensors.first { $0.name.hasPrefix("layers.") }.map { "\($0.dtype)" } ?? "f32"
            body.max_input_length = model.maxLength
            body.architecture = h.architecture.rawValue
            body.task = h.task.rawValue
            body.quantization = h.quantization.map { "\($0.type) \($0.scheme)" }
            body.ready = true
            switch model {
            case .reranker:
                let labels = Dictionary(uniqueKeysWithValues: (0..<h.model.numLabels).map { (String($0), "LABEL_\($0)") })
                body.model_type = .init(reranker: ["id2label": labels], embedding: nil)
            case .embedder:
                body.model_type = .init(reranker: nil, embedding: ["pooling": h.model.pooling.rawValue])
            }
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: (try? Self.encode(body)) ?? Data())))
    }

    // MARK: What every POST goes through

    private func handle<In: Decodable>(_ request: Request, _ context: ServerContext, endpoint: String, as type: In.Type,
                                       _ work: (In, @escaping @Sendable () -> Bool) async throws -> Reply) async -> Response {
        let start = ContinuousClock.now
        var status = 200
        var reply: Reply?
        var failure: APIError?
        do {
            // The permit first: beyond --max-concurrent-requests, 429 before any of the body is buffered.
            reply = try await engine.withPermit {
                let bytes = try await readBody(request)
                let input = try Self.decode(In.self, from: bytes)
                return try await work(input, connections.isGone(context.channel))
            }
        } catch let error as APIError {
            failure = error
        } catch is CancellationError {
            // The client went away before its answer: nothing will read what is written.
            failure = APIError(.init(code: 499, reasonPhrase: "Client Closed Request"), .validation, "the client closed the connection")
        } catch {
            failure = APIError(.internalServerError, .backend, "\(error)")
        }
        let total = ContinuousClock.now - start
        var response: Response
        if let reply {
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            if let t = reply.timings {
                headers[HTTPField.Name("x-tokenization-time")!] = String(Int(t.tokenization.inMilliseconds))
                headers[HTTPField.Name("x-queue-time")!] = String(Int(t.queue.inMilliseconds))
                headers[HTTPField.Name("x-inference-time")!] = String(Int(t.inference.inMilliseconds))
            }
            headers[HTTPField.Name("x-total-time")!] = String(Int(total.inMilliseconds))
            headers[HTTPField.Name("x-compute-type")!] = "cpu"
            headers[HTTPField.Name("x-compute-tokens")!] = String(reply.tokens)
            response = Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        } else {
            let error = failure ?? APIError(.internalServerError, .backend, "no answer")
            status = Int(error.status.code)
            response = Self.errorResponse(error)
            response.headers[HTTPField.Name("x-total-time")!] = String(Int(total.inMilliseconds))
        }
        metrics.request(endpoint: endpoint, status: status, duration: total, timings: reply?.timings)
        let t = reply?.timings
        var meta: Logger.Metadata = [
            "endpoint": .string(endpoint), "status": .stringConvertible(status),
            "total_ms": .string(Self.ms(total)),
        ]
        if let reply {
            meta["inputs"] = .stringConvertible(reply.inputs)
            meta["tokens"] = .stringConvertible(reply.tokens)
        }
        if let t {
            meta["tokenization_ms"] = .string(Self.ms(t.tokenization))
            meta["queue_ms"] = .string(Self.ms(t.queue))
            meta["inference_ms"] = .string(Self.ms(t.inference))
        }
        if let failure { meta["error"] = .string(failure.message) }
        logger.info("request", metadata: meta)
        return response
    }

    /// The body, refusing more than --payload-limit bytes (413) before reading them when Content-Length
    /// says so, and while reading otherwise.
    private func readBody(_ request: Request) async throws -> Data {
        let limit = engine.configuration.payloadLimit
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { throw APIError.tooLarge(limit: limit) }
        var data = Data()
        for try await buffer in request.body {
            if data.count + buffer.readableBytes > limit { throw APIError.tooLarge(limit: limit) }
            data.append(contentsOf: buffer.readableBytesView)
        }
        return data
    }

    // MARK: Helpers

    /// Best first, as sito-rerank orders them (higher raw score, then lower index).
    static func bestFirst(_ results: [RankedText]) -> [RankedText] {
        results.sorted { a, b in
            if a.raw.isNaN != b.raw.isNaN { return b.raw.isNaN }
            if !a.raw.isNaN && a.raw != b.raw { return a.raw > b.raw }
            return a.index < b.index
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            switch error {
            case .dataCorrupted(let context) where context.codingPath.isEmpty:
                throw APIError.malformed("the body is not valid JSON: \(context.debugDescription)")
            case .dataCorrupted(let context):
                throw APIError.validation("invalid `\(path(context.codingPath))`: \(context.debugDescription)")
            case .keyNotFound(let key, let context):
                throw APIError.validation("missing field `\(path(context.codingPath + [key]))`")
            case .typeMismatch(_, let context), .valueNotFound(_, let context):
                throw APIError.validation("invalid type at `\(path(context.codingPath))`: \(context.debugDescription)")
            @unknown default:
                throw APIError.malformed("\(error)")
            }
        } catch {
            throw APIError.malformed("the body is not valid JSON: \(error)")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "(body)" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(value)
    }

    static func errorResponse(_ error: APIError) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let body = (try? encode(error.body)) ?? Data()
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private static func ms(_ d: Duration) -> String {
        let v = d.inMilliseconds
        return String(Int(v)) + "." + String(Int((v - Double(Int(v))) * 1000) + 1000).dropFirst()
    }

    /// Little-endian float32s, base64.
    static func base64(_ v: [Float]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(v.count * 4)
        for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return Data(bytes).base64EncodedString()
    }
}
