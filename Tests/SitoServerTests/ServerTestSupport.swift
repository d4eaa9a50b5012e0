// ServerTestSupport.swift: what the server's tests share: the fixtures converted once per run (xlmr-tiny,
// bert-tiny-cls, an int8 xlmr-tiny, all-MiniLM-L6-v2), a server on an ephemeral loopback port
// (127.0.0.1 only) that stops when the test's body returns, and a small HTTP client over it.
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
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

/// One HTTP answer.
struct HTTPAnswer: Sendable {
    var status: Int
    var headers: HTTPFields
    var body: String

    func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: Data(body.utf8)) }

    /// The `error_type` of an error body.
    var errorType: String? { (try? json() as? [String: Any])?["error_type"] as? String }

    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
}

/// A client of one server: each request on a fresh loopback connection.
struct Client: Sendable {
    let port: Int

    func request(_ method: HTTPRequest.Method, _ path: String, body: String? = nil, headers: HTTPFields = [:]) async throws -> HTTPAnswer {
        try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(20))) { client in
            var h = headers
            if body != nil, h[.contentType] == nil { h[.contentType] = "application/json" }
            let request = TestClient.Request(path, method: method, authority: "127.0.0.1", headers: h, body: body.map { ByteBuffer(string: $0) })
            let r = try await client.execute(request)
            return HTTPAnswer(status: Int(r.status.code), headers: r.headers, body: r.body.map { String(buffer: $0) } ?? "")
        }
    }

    func get(_ path: String) async throws -> HTTPAnswer { try await request(.get, path) }

    func post(_ path: String, _ json: String) async throws -> HTTPAnswer { try await request(.post, path, body: json) }

    /// POSTs a JSON-encodable value.
    func post(_ path: String, json value: some Encodable) async throws -> HTTPAnswer {
        try await post(path, String(decoding: try JSONEncoder().encode(value), as: UTF8.self))
    }

    /// Polls /health until 200 (at most 10 s).
    func waitReady() async throws {
        for _ in 0..<400 {
            if let r = try? await get("/health"), r.status == 200 { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        XCTFail("the server did not become ready within 10 s")
    }
}

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
