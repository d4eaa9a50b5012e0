// ExpectContinue.swift: answers `Expect: 100-continue` with `100 Continue` (RFC 9110 §10.1.1). Neither
// NIO nor Hummingbird does, so a client that asks (curl for bodies over 1 MB, .NET, Java) waits for its
// own timeout (curl: 1 s) before sending the body. A body announced larger than --payload-limit gets no
// 100: the route answers 413 without reading it.
import HTTPTypes
import NIOCore
import NIOHTTPTypes

final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart
    private let payloadLimit: Int

    init(payloadLimit: Int) { self.payloadLimit = payloadLimit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data), Self.shouldContinue(head, payloadLimit: payloadLimit) {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }

    /// Whether `head` asks for 100-continue and its announced length (if any) is within the limit.
    static func shouldContinue(_ head: HTTPRequest, payloadLimit: Int) -> Bool {
        guard let expect = head.headerFields[.expect], expect.lowercased() == "100-continue" else { return false }
        if let length = head.headerFields[.contentLength].flatMap({ Int($0) }), length > payloadLimit { return false }
        return true
    }
}
