// ServeArguments.swift: sito-serve's own options (TEI's names where TEI has one) and the configuration
// the server runs with (ServerConfiguration), checked once at start.
import ArgumentParser
import Sito
import SitoCLI

/// `--hostname`, `--port`, the request limits and `--auto-truncate`, with TEI's names and defaults.
public struct ServeArguments: ParsableArguments {
    @Option(help: "Address to listen on (loopback by default; 0.0.0.0 to listen on every interface).")
    public var hostname = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed at start).")
    public var port = 8080

    @Option(name: .customLong("max-client-batch-size"), help: "Most texts (documents) one request may carry (422 above).")
    public var maxClientBatchSize = 32

    @Option(name: .customLong("max-batch-tokens"), help: "Most tokens run through the model at once, across requests (at least --max-length).")
    public var maxBatchTokens = 16384

    @Option(name: .customLong("max-concurrent-requests"), help: "Most requests in flight (tokenizing, queued or running); 429 above.")
    public var maxConcurrentRequests = 512

    @Option(name: .customLong("payload-limit"), help: "Largest request body in bytes (413 above).")
    public var payloadLimit = 2_000_000

    @Flag(name: .customLong("auto-truncate"), help: "Truncate inputs longer than the maximum when a request does not say (`truncate` absent); without it they are refused with 422, as in TEI.")
    public var autoTruncate = false

    @Option(name: .customLong("shutdown-timeout"), help: "Seconds in-flight requests get to finish after SIGTERM/SIGINT.")
    public var shutdownTimeout: Double = 30

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    public var logLevel: LogLevel = .info

    public init() {}

    public func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535 (got \(port))") }
        if maxClientBatchSize < 1 { throw ValidationError("--max-client-batch-size must be at least 1 (got \(maxClientBatchSize))") }
        if maxBatchTokens < 4 { throw ValidationError("--max-batch-tokens must be at least 4 (got \(maxBatchTokens))") }
        if maxConcurrentRequests < 1 { throw ValidationError("--max-concurrent-requests must be at least 1 (got \(maxConcurrentRequests))") }
        if payloadLimit < 1 { throw ValidationError("--payload-limit must be at least 1 byte (got \(payloadLimit))") }
        if !(shutdownTimeout > 0) { throw ValidationError("--shutdown-timeout must be positive (got \(shutdownTimeout))") }
    }
}

/// swift-log's levels, as `--log-level` takes them.
public enum LogLevel: String, CaseIterable, ExpressibleByArgument, Sendable {
    case trace, debug, info, notice, warning, error, critical
}

/// Whether a request's inputs may be truncated when too long.
public enum TruncationPolicy: String, Sendable, Equatable {
    /// As the request says (`truncate`), and `--auto-truncate` when it does not.
    case perRequest
    /// `--no-truncate`: never, whatever the request says (422).
    case never
}

/// Everything the server runs with: the model file and options, and the server's limits.
public struct ServerConfiguration: Sendable {
    public var modelPath: String
    public var modelOptions: ModelOptions
    public var hostname: String
    public var port: Int
    public var maxClientBatchSize: Int
    public var maxBatchTokens: Int
    public var maxConcurrentRequests: Int
    public var payloadLimit: Int
    public var autoTruncate: Bool
    public var truncation: TruncationPolicy
    /// Which end of a too-long input is cut when a request does not say (`truncation_direction`; the
    /// Cohere and OpenAI routes have no such field): `--truncation-direction`, `.right` by default as in TEI.
    public var truncationSide: TruncationSide
    public var shutdownTimeout: Duration
    /// Seams for the tests (a load or a batch held until the test lets it go); nil in the executable.
    var hooks = TestHooks()

    public init(modelPath: String, modelOptions: ModelOptions = ModelOptions(), hostname: String = "127.0.0.1", port: Int = 8080,
                maxClientBatchSize: Int = 32, maxBatchTokens: Int = 16384, maxConcurrentRequests: Int = 512,
                payloadLimit: Int = 2_000_000, autoTruncate: Bool = false, truncation: TruncationPolicy = .perRequest,
                truncationSide: TruncationSide = .right, shutdownTimeout: Duration = .seconds(30)) {
        self.modelPath = modelPath
        self.modelOptions = modelOptions
        self.hostname = hostname
        self.port = port
        self.maxClientBatchSize = maxClientBatchSize
        self.maxBatchTokens = maxBatchTokens
        self.maxConcurrentRequests = maxConcurrentRequests
        self.payloadLimit = payloadLimit
        self.autoTruncate = autoTruncate
        self.truncation = truncation
        self.truncationSide = truncationSide
        self.shutdownTimeout = shutdownTimeout
    }

    /// The command line's configuration. The model is always loaded truncating: whether a request may be
    /// truncated is decided per request (Engine), so `--no-truncate` becomes `TruncationPolicy.never`.
    public init(modelPath: String, model: ModelArguments, serve: ServeArguments) {
        var options = model.options
        options.overflow = .truncate
        self.init(modelPath: modelPath, modelOptions: options, hostname: serve.hostname, port: serve.port,
                  maxClientBatchSize: serve.maxClientBatchSize, maxBatchTokens: serve.maxBatchTokens,
                  maxConcurrentRequests: serve.maxConcurrentRequests, payloadLimit: serve.payloadLimit,
                  autoTruncate: serve.autoTruncate, truncation: model.noTruncate ? .never : .perRequest,
                  truncationSide: model.truncationSide,
                  shutdownTimeout: .milliseconds(Int64(serve.shutdownTimeout * 1000)))
    }
}

/// Places where tests hold the server to make a state last: loading (/health 503) and a batch about to
/// run (requests in flight, a full queue). Both run on the thread that would do the work.
struct TestHooks: Sendable {
    var beforeLoad: (@Sendable () -> Void)?
    var beforeBatch: (@Sendable () -> Void)?
}
