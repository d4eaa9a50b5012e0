// ExecutableTests.swift: through the built executables. sito-serve's scores equal sito-rerank's --json
// for the same file and inputs; SIGTERM while requests are in flight lets them finish and exits 0.
import Foundation
import NIOCore
import NIOPosix
import SitoTestSupport
import XCTest
@testable import SitoServer

final class ExecutableTests: XCTestCase {
    /// An executable built next to the test bundle.
    private func binary(_ name: String) throws -> URL { try ToolRunner.binary(name) }

    /// A running sito-serve and the port it printed.
    private struct Served {
        let process: Process
        let port: Int
        let stderr: Pipe
    }

    private func launch(_ arguments: [String]) throws -> Served {
        let process = Process()
        process.executableURL = try binary("sito-serve")
        process.arguments = arguments + ["--hostname", "127.0.0.1", "--port", "0", "--log-level", "warning"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Read stderr until the "listening" line (bounded: 30 s).
        var text = ""
        let deadline = Date().addingTimeInterval(30)
        let handle = err.fileHandleForReading
        while Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if let range = text.range(of: #"listening on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let port = Int(text[range].split(separator: ":").last!)!
                return Served(process: process, port: port, stderr: err)
            }
        }
        process.terminate()
        XCTFail("sito-serve did not print its port: \(text)")
        throw XCTSkip("no port")
    }

    func testScoresEqualSitoRerankJSON() async throws {
        let file = try ServerFixtures.sito("bert-tiny-cls")
        let query = "where do cats sleep"
        let documents = ["cats sleep on warm stones", "the river floods in spring", "a cat sleeps anywhere"]
        let cli = Process()
        cli.executableURL = try binary("sito-rerank")
        cli.arguments = [file.path, "--query", query, "--json"] + documents
        let out = Pipe()
        cli.standardOutput = out
        try cli.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        cli.waitUntilExit()
        XCTAssertEqual(cli.terminationStatus, 0, "sito-rerank failed")
        struct Row: Decodable { var index: Int; var logit: Float }
        let rows = try JSONDecoder().decode([Row].self, from: data)

        let served = try launch([file.path])
        defer { served.process.terminate(); served.process.waitUntilExit() }
        let client = Client(port: served.port)
        try await client.waitReady()
        struct Rank: Decodable { var index: Int; var score: Float }
        let answer = try await client.post("/rerank", json: ["query": AnyEncodable(query), "texts": AnyEncodable(documents), "raw_scores": AnyEncodable(true)])
        let ranks = try answer.decode([Rank].self)
        XCTAssertEqual(ranks.map(\.index), rows.map(\.index))
        XCTAssertEqual(ranks.map(\.score), rows.map(\.logit))
    }

    func testSIGTERMUnderLoadFinishesInFlightAndExitsZero() async throws {
        let file = try ServerFixtures.sito("xlmr-tiny")
        let served = try launch([file.path, "--max-batch-tokens", "1024", "--auto-truncate"])
        let client = Client(port: served.port)
        try await client.waitReady()
        // Small enough for a debug build on a shared 2-core machine (about 3 s of work in all).
        let n = 12
        let body = try String(decoding: JSONEncoder().encode(["query": AnyEncodable("which text is about rain"),
                                                              "texts": AnyEncodable((0..<4).map { longText(60, seed: $0) })]), as: UTF8.self)
        // One request surely in flight at SIGTERM (the others may all be done on a fast machine): its head
        // and half its body go before the signal (the server holds its permit while reading the body), the
        // rest after; it must still be answered.
        let bytes = Array(body.utf8)
        let head = "POST /rerank HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(bytes.count)\r\n\r\n"
        let (release, releaseSink) = AsyncStream<Void>.makeStream()
        let held = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: served.port)) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let heldTimeout = Task { try await Task.sleep(for: .seconds(30)); held.channel.close(promise: nil) }
        defer { heldTimeout.cancel() }
        let heldAnswer = Task {
            try await held.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: Array(head.utf8) + bytes[..<(bytes.count / 2)]))
                for await _ in release { break }
                try await outbound.write(ByteBuffer(bytes: bytes[(bytes.count / 2)...]))
                var text = ""
                for try await var chunk in inbound {
                    text += chunk.readString(length: chunk.readableBytes) ?? ""
                    if text.contains("}]") { break }
                }
                return text
            }
        }
        let answers = try await withThrowingTaskGroup(of: Result<HTTPAnswer, any Error>.self) { group in
            for _ in 0..<n { group.addTask { await attempt { try await client.post("/rerank", body) } } }
            // Wait until the server holds requests in flight, then SIGTERM it.
            var inFlight = 0
            for _ in 0..<500 {
                let metrics = try await client.get("/metrics").body
                inFlight = metrics.split(separator: "\n").first { $0.hasPrefix("te_queue_size ") }.flatMap { Int(Double($0.split(separator: " ").last!) ?? 0) } ?? 0
                if inFlight >= 2 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            XCTAssertGreaterThan(inFlight, 0, "no request was in flight when SIGTERM was sent")
            kill(served.process.processIdentifier, SIGTERM)
            try await Task.sleep(for: .milliseconds(200))
            releaseSink.yield()
            var out: [Result<HTTPAnswer, any Error>] = []
            for try await r in group { out.append(r) }
            return out
        }
        // Bounded wait for the exit (the shutdown timeout is 30 s).
        for _ in 0..<600 where served.process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        XCTAssertFalse(served.process.isRunning)
        if served.process.isRunning { served.process.terminate() }
        served.process.waitUntilExit()
        XCTAssertEqual(served.process.terminationStatus, 0, String(decoding: served.stderr.fileHandleForReading.availableData, as: UTF8.self))
        XCTAssertEqual(served.process.terminationReason, .exit)
        let heldText = try await heldAnswer.value
        XCTAssertTrue(heldText.hasPrefix("HTTP/1.1 200 "), "the request still reading its body at SIGTERM: \(heldText)")
        let ok = answers.filter { (try? $0.get().status) == 200 }.count
        XCTAssertEqual(ok, n, "requests in flight at SIGTERM did not all finish: \(answers.map { r in (try? r.get().status).map(String.init) ?? "\(r)" })")
        // After the exit nothing listens any more.
        let after = await attempt { try await client.get("/health") }
        XCTAssertNil(try? after.get())
    }
}

/// The result of an async throwing call.
func attempt<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}
