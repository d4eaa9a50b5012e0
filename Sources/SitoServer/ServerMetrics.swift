// ServerMetrics.swift: what /metrics reports, through swift-metrics into a Prometheus registry of the
// server's own (tests run several servers in one process). TEI's names where TEI has one:
//   te_request_count{endpoint,status}     requests answered, by route and HTTP status
//   te_request_duration{endpoint}         seconds from the request's arrival to its answer (histogram)
//   te_request_tokenization_duration      seconds spent tokenizing a request (histogram)
//   te_request_queue_duration             seconds a request waited for its first batch (histogram)
//   te_request_inference_duration         seconds from a request's first batch to its last (histogram)
//   te_request_input_length               tokens per sequence, special tokens included (histogram)
//   te_batch_next_size                    sequences per batch run (histogram)
//   te_batch_next_tokens                  tokens per batch run (histogram)
//   te_batch_inference_duration           seconds per batch run (histogram)
//   te_queue_size                         requests in flight (gauge, set as requests start and end)
import Metrics
import Prometheus

final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let tokenization: Metrics.Timer
    private let queue: Metrics.Timer
    private let inference: Metrics.Timer
    private let inputLengths: Metrics.Recorder
    private let batchSize: Metrics.Recorder
    private let batchTokens: Metrics.Recorder
    private let batchDuration: Metrics.Timer
    private let inFlight: Metrics.Gauge

    init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let fast: [Duration] = [.microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10),
                                .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30)]
        factory.defaultDurationHistogramBuckets = fast
        factory.valueHistogramBuckets = [
            "te_batch_next_size": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
            "te_batch_next_tokens": [16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536],
            "te_request_input_length": [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 8192],
        ]
        self.registry = registry
        self.factory = factory
        tokenization = Metrics.Timer(label: "te_request_tokenization_duration", factory: factory)
        queue = Metrics.Timer(label: "te_request_queue_duration", factory: factory)
        inference = Metrics.Timer(label: "te_request_inference_duration", factory: factory)
        inputLengths = Metrics.Recorder(label: "te_request_input_length", factory: factory)
        batchSize = Metrics.Recorder(label: "te_batch_next_size", factory: factory)
        batchTokens = Metrics.Recorder(label: "te_batch_next_tokens", factory: factory)
        batchDuration = Metrics.Timer(label: "te_batch_inference_duration", factory: factory)
        inFlight = Metrics.Gauge(label: "te_queue_size", factory: factory)
    }

    /// One answered request.
    func request(endpoint: String, status: Int, duration: Duration, timings: Timings?) {
        Metrics.Counter(label: "te_request_count", dimensions: [("endpoint", endpoint), ("status", String(status))], factory: factory).increment()
        Metrics.Timer(label: "te_request_duration", dimensions: [("endpoint", endpoint)], factory: factory).recordNanoseconds(duration.inNanoseconds)
        if let timings {
            tokenization.recordNanoseconds(timings.tokenization.inNanoseconds)
            queue.recordNanoseconds(timings.queue.inNanoseconds)
            inference.recordNanoseconds(timings.inference.inNanoseconds)
        }
    }

    func inputLength(_ tokens: Int) { inputLengths.record(tokens) }

    func batch(_ report: BatchReport) {
        batchSize.record(report.sequences)
        batchTokens.record(report.tokens)
        batchDuration.recordNanoseconds(report.duration.inNanoseconds)
    }

    func requestsInFlight(_ n: Int) { inFlight.record(n) }

    /// The Prometheus text exposition.
    func exposition() -> String { registry.emitToString() }
}

extension Duration {
    /// Whole nanoseconds (saturating).
    var inNanoseconds: Int64 {
        let (s, a) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : ns + a / 1_000_000_000
    }

    /// Milliseconds, as TEI's headers print them.
    var inMilliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
