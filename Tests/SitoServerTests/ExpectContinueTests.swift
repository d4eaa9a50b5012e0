// ExpectContinueTests.swift: `Expect: 100-continue` is answered with `100 Continue` before the body is
// sent (curl asks for bodies over 1 MB and otherwise waits 1 s), and not for a body announced larger than
// --payload-limit, which gets 413 at once. Raw bytes on a loopback socket: the test client's HTTP decoder
// drops 1xx answers.
import NIOCore
import NIOPosix
import XCTest
@testable import SitoServer

final class ExpectContinueTests: XCTestCase {
    /// Sends `head`, reads until `until` appears (at most 5 s), then sends `body` and reads until `then` appears.
    static func exchange(port: Int, head: String, until: String, body: String? = nil, then: String? = nil) async throws -> (String, String) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: port)) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let timeout = Task { try await Task.sleep(for: .seconds(5)); channel.channel.close(promise: nil) }
        defer { timeout.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: head))
            var iterator = inbound.makeAsyncIterator()
            var first = ""
            while !first.contains(until), var chunk = try await iterator.next() { first += chunk.readString(length: chunk.readableBytes) ?? "" }
            guard let body, let then else { return (first, "") }
            try await outbound.write(ByteBuffer(string: body))
            var second = ""
            while !second.contains(then), var chunk = try await iterator.next() { second += chunk.readString(length: chunk.readableBytes) ?? "" }
            return (first, second)
        }
    }

    func testContinueThenAnswer() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        try await withServer(file, { $0.payloadLimit = 1000 }) { client, _ in
            let body = #"{"query": "q", "texts": ["a"]}"#
            let head = "POST /rerank HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\n\r\n"
            let (first, second) = try await Self.exchange(port: client.port, head: head, until: "\r\n\r\n", body: body, then: "}]")
            XCTAssertTrue(first.hasPrefix("HTTP/1.1 100 Continue\r\n"), first)
            XCTAssertTrue(second.hasPrefix("HTTP/1.1 200 OK\r\n"), second)

            // Announced over the limit: no 100, 413 without the body.
            let big = "POST /rerank HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"
            let (refused, _) = try await Self.exchange(port: client.port, head: big, until: "payload_too_large")
            XCTAssertTrue(refused.hasPrefix("HTTP/1.1 413 "), refused)
            XCTAssertFalse(refused.contains("100 Continue"), refused)
        }
    }
}
