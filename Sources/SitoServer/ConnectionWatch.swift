// ConnectionWatch.swift: knows when a client has gone away, so that the scheduler can drop the work of
// its request before it starts. A channel handler on every connection (after HTTP decoding) marks the
// connection closed when its input closes (the client sent FIN: Hummingbird allows half-closure, so the
// channel itself stays active) or the channel goes inactive; a request asks the registry for its
// connection's state by channel.
import NIOCore
import Synchronization

/// Whether one connection's client has gone.
final class ConnectionState: Sendable {
    private let closed = Atomic<Bool>(false)
    var isClosed: Bool { closed.load(ordering: .relaxed) }
    func close() { closed.store(true, ordering: .relaxed) }
}

/// The open connections' states, by channel.
final class ConnectionRegistry: Sendable {
    private let states = Mutex<[ObjectIdentifier: ConnectionState]>([:])

    func register(_ channel: any Channel, _ state: ConnectionState) {
        states.withLock { $0[ObjectIdentifier(channel)] = state }
    }

    func unregister(_ channel: any Channel) {
        _ = states.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// A closure telling whether the client of `channel` has gone (false for an unknown channel: a test
    /// responder without a real connection).
    func isGone(_ channel: any Channel) -> @Sendable () -> Bool {
        let state = states.withLock { $0[ObjectIdentifier(channel)] }
        guard let state else { return { false } }
        return { state.isClosed }
    }

    var count: Int { states.withLock { $0.count } }
}

/// The handler: passes everything through, and records the end of the client's input.
final class ConnectionWatchHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let registry: ConnectionRegistry
    private let state = ConnectionState()

    init(registry: ConnectionRegistry) { self.registry = registry }

    func handlerAdded(context: ChannelHandlerContext) {
        registry.register(context.channel, state)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        registry.unregister(context.channel)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, case .inputClosed = e { state.close() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.close()
        registry.unregister(context.channel)
        context.fireChannelInactive()
    }
}
