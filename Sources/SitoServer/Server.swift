// Server.swift: puts a server together (engine, metrics, connection watch, routes, Hummingbird) and runs
// it under swift-service-lifecycle: SIGTERM or SIGINT stops accepting connections, lets the requests in
// flight finish (at most --shutdown-timeout, then they are cancelled), drains the scheduler and returns.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Sito

/// The version /info reports.
public let sitoServeVersion = "0.1.0"

/// Loads the model once the server runs (so /health answers 503 meanwhile), and on graceful shutdown
/// drains the queue after the HTTP server has finished its requests (services shut down in reverse order).
struct EngineService: Service {
    let engine: Engine
    let logger: Logger

    func run() async throws {
        let start = ContinuousClock.now
        do {
            try await engine.load()
        } catch {
            let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            logger.critical("the model could not be loaded", metadata: ["error": .string(message)])
            throw error as? ServerStartError ?? ServerStartError(message: message)
        }
        if let model = engine.model {
            logger.info("model ready", metadata: [
                "file": .string(engine.configuration.modelPath), "task": .string(model.header.task.rawValue),
                "architecture": .string(model.header.architecture.rawValue), "max_length": .stringConvertible(model.maxLength),
                "load_ms": .stringConvertible(Int((ContinuousClock.now - start).inMilliseconds)),
            ])
        }
        try? await gracefulShutdown()
        await engine.shutdown()
    }
}

/// A server ready to run: `run()` for the executable, `application` for HummingbirdTesting.
public struct SitoServer: Sendable {
    public let application: Application<RouterResponder<ServerContext>>
    public let configuration: ServerConfiguration
    let engine: Engine
    let logger: Logger

    /// - Parameter onListening: told the address and port once the socket listens (port 0 picks one).
    public init(configuration: ServerConfiguration, logger: Logger,
                onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }) {
        let metrics = ServerMetrics()
        let engine = Engine(configuration: configuration, metrics: metrics)
        let connections = ConnectionRegistry()
        let name = URL(fileURLWithPath: configuration.modelPath).deletingPathExtension().lastPathComponent
        let api = API(engine: engine, metrics: metrics, connections: connections, logger: logger, modelName: name, version: sitoServeVersion)
        let router = Router(context: ServerContext.self)
        router.add(middleware: JSONErrorMiddleware())
        api.register(on: router)
        // Last: it then runs only where no route answered (405 for a known path, else the 404 above).
        router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))
        let http = HTTP1Channel.Configuration(additionalChannelHandlers: [ConnectionWatchHandler(registry: connections),
                                                                            ExpectContinueHandler(payloadLimit: configuration.payloadLimit)])
        let hostname = configuration.hostname
        application = Application(
            router: router,
            server: .http1(configuration: http),
            configuration: ApplicationConfiguration(address: .hostname(hostname, port: configuration.port), serverName: "sito-serve"),
            services: [EngineService(engine: engine, logger: logger)],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                logger.info("listening", metadata: ["address": .string("http://\(hostname):\(port)")])
                await onListening(hostname, port)
            },
            logger: logger)
        self.configuration = configuration
        self.engine = engine
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully within --shutdown-timeout.
    public func run() async throws {
        var group = ServiceGroupConfiguration(services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        try await ServiceGroup(configuration: group).run()
        logger.info("stopped")
    }
}
