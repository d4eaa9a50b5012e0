// ServerTestSupport.swift: what the server's tests share: the fixtures converted once per run (xlmr-tiny,
// bert-tiny-cls, an int8 xlmr-tiny, all-MiniLM-L6-v2), a server on an ephemeral loopback port
// (127.0.0.1 only) that stops when the test's body returns; its client is LoopbackHTTPClient.swift.
import Foundation
import Logging
import ServiceLifecycle
import XCTest
@testable import SitoServer
import Sito
import SitoTestSupport
import SitoTools

enum ServerFixtures {
    private static let converted = Locked<[String: URL]>([:])
    private static let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sito-serve-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// A Hugging Face fixture folder.
    static func source(_ name: String) throws -> URL {
        name == "all-minilm-l6-v2" ? Fixtures.miniLM : try Fixtures.model(name)
    }

    /// The fixture as a `.sito` file (f32), converted once per test run.
    static func sito(_ name: String) throws -> URL {
        try converted.withLock { converted in
            if let url = converted[name] { return url }
            let out = folder.appendingPathComponent("\(name).sito")
            _ = try Converter(folder: try source(name)).convert(to: out.path)
            converted[name] = out
            return out
        }
    }

    /// xlmr-tiny quantized to int8 (the int8 GEMM and bf16 attention paths).
    static func int8(_ name: String) throws -> URL {
        let f32 = try sito(name)
        return try converted.withLock { converted in
            let key = name + "-int8"
            if let url = converted[key] { return url }
            let out = folder.appendingPathComponent("\(key).sito")
            _ = try Quantizer(type: .int8).quantize(input: f32.path, output: out.path)
            converted[key] = out
            return out
        }
    }
}

/// A logger that says nothing below warnings (the tests' output stays readable).
let quietLogger: Logger = {
    var l = Logger(label: "sito-serve-test")
    l.logLevel = .warning
    return l
}()

/// Runs `body` against a server of `model` on 127.0.0.1 and an ephemeral port, then shuts it down
/// gracefully. `ready`: wait for /health 200 first.
func withServer<T: Sendable>(_ model: URL, ready: Bool = true, _ configure: (inout ServerConfiguration) -> Void = { _ in },
                             _ body: @Sendable (Client, SitoServer) async throws -> T) async throws -> T {
    var configuration = ServerConfiguration(modelPath: model.path, hostname: "127.0.0.1", port: 0)
    configure(&configuration)
    let (ports, portSink) = AsyncStream<Int>.makeStream()
    let server = SitoServer(configuration: configuration, logger: quietLogger) { _, port in portSink.yield(port) }
    let group = ServiceGroup(configuration: .init(services: [server.application], logger: quietLogger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw XCTSkip("the server did not start") }
        let client = Client(port: port)
        do {
            if ready { try await client.waitReady() }
            let value = try await body(client, server)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return value
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// A gate a hook waits on until the test opens it (bounded: opens by itself after 20 s).
final class Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let entered = DispatchSemaphore(value: 0)

    /// Called by the hook on the server's thread.
    func pass() {
        entered.signal()
        _ = semaphore.wait(timeout: .now() + 20)
        semaphore.signal()   // once open, stays open
    }

    /// Waits (off the cooperative pool) until some thread reached the gate.
    func waitEntered() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                _ = self.entered.wait(timeout: .now() + 20)
                c.resume()
            }
        }
    }

    func open() { semaphore.signal() }
}

/// A document of about `words` words (for long inputs).
func longText(_ words: Int, seed: Int = 0) -> String {
    let vocabulary = ["the", "river", "Kraków", "mountain", "cat", "sleeps", "on", "warm", "stone", "while", "rain", "falls", "quietly", "over", "old", "town"]
    return (0..<words).map { vocabulary[($0 * 7 + seed) % vocabulary.count] }.joined(separator: " ")
}
