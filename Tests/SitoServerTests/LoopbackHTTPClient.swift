// LoopbackHTTPClient.swift: the server tests' HTTP/1.1 client: one request per fresh connection to
// 127.0.0.1, on SwiftNIO's ClientBootstrap with NIOHTTP1's encoder and decoder (Content-Length and chunked
// bodies alike). Every exchange is bounded: the connection is closed after `timeout`, so a test fails
// instead of hanging. A test-only stand-in for HummingbirdTesting's client, whose async-http-client
// brings NIOSSL and swift-crypto (a BoringSSL C build) into `swift test`.
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP answer.
struct HTTPAnswer: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: String

    func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: Data(body.utf8)) }

    /// The `error_type` of an error body.
    var errorType: String? { (try? json() as? [String: Any])?["error_type"] as? String }

    /// The first value of a header (names are case-insensitive).
    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// Why an exchange produced no answer.
enum LoopbackHTTPError: Error, CustomStringConvertible {
    case timedOut(String, Duration)
    case closedBeforeAnswer(String)

    var description: String {
        switch self {
        case .timedOut(let request, let timeout): "\(request): no complete answer within \(timeout)"
        case .closedBeforeAnswer(let request): "\(request): the server closed the connection before a complete answer"
        }
    }
}

/// A client of one server on 127.0.0.1: each request on a fresh connection, closed after the answer.
struct Client: Sendable {
    let port: Int
    /// Longest a whole exchange (connect, send, read the answer) may take.
    var timeout: Duration = .seconds(20)

    func get(_ path: String) async throws -> HTTPAnswer { try await request(.GET, path) }

    func post(_ path: String, _ json: String) async throws -> HTTPAnswer { try await request(.POST, path, body: json) }

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
        throw LoopbackHTTPError.timedOut("GET /health until 200", .seconds(10))
    }

    /// Sends `method path` with `body` (JSON unless `headers` say otherwise) and reads the whole answer.
    func request(_ method: HTTPMethod, _ path: String, body: String? = nil, headers: HTTPHeaders = [:]) async throws -> HTTPAnswer {
        let name = "\(method.rawValue) \(path)"
        let parts = requestParts(method, path, body: body, headers: headers)
        let connection = try await connect { channel in
            try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
        }
        return try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
            group.addTask {
                try await connection.executeThenClose { inbound, outbound in
                    try await outbound.write(contentsOf: parts)
                    var answer: HTTPAnswer?
                    var bytes = ByteBuffer()
                    for try await part in inbound {
                        switch part {
                        case .head(let head):
                            answer = HTTPAnswer(status: Int(head.status.code), headers: head.headers, body: "")
                        case .body(var chunk):
                            bytes.writeBuffer(&chunk)
                        case .end:
                            guard var answer else { throw LoopbackHTTPError.closedBeforeAnswer(name) }
                            answer.body = String(buffer: bytes)
                            return answer
                        }
                    }
                    throw LoopbackHTTPError.closedBeforeAnswer(name)
                }
            }
            group.addTask {
                // Cancelled (and so never closing anything) when the exchange ends first.
                try await Task.sleep(for: timeout)
                connection.channel.close(promise: nil)
                throw LoopbackHTTPError.timedOut(name, timeout)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// A connection that sends one request and never reads its answer; `leave()` closes it: a client
    /// that went away while its request waits on the server.
    struct UnreadRequest: Sendable {
        fileprivate let channel: any Channel

        func leave() async throws { try await channel.close().get() }
    }

    /// Sends `method path` with `body` on a fresh connection and returns without waiting for the answer.
    func send(_ method: HTTPMethod, _ path: String, body: String) async throws -> UnreadRequest {
        let channel = try await connect { $0 }
        let parts = requestParts(method, path, body: body, headers: [:])
        for part in parts.dropLast() { channel.write(part, promise: nil) }
        try await channel.writeAndFlush(parts.last!).get()
        return UnreadRequest(channel: channel)
    }

    /// A connection to 127.0.0.1:`port` with NIOHTTP1's client handlers, handed to `wrap` on its event loop.
    private func connect<Output: Sendable>(_ wrap: @escaping @Sendable (any Channel) throws -> Output) async throws -> Output {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(timeout))
            .connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: port)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try wrap(channel)
                }
            }
    }

    /// Head, body and end of one request (Content-Length, and a JSON Content-Type for a body unless given).
    private func requestParts(_ method: HTTPMethod, _ path: String, body: String?, headers: HTTPHeaders) -> [HTTPClientRequestPart] {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        head.headers.replaceOrAdd(name: "host", value: "127.0.0.1:\(port)")
        guard let body else { return [.head(head), .end(nil)] }
        if !head.headers.contains(name: "content-type") { head.headers.add(name: "content-type", value: "application/json") }
        head.headers.replaceOrAdd(name: "content-length", value: String(body.utf8.count))
        return [.head(head), .body(.byteBuffer(ByteBuffer(string: body))), .end(nil)]
    }
}
