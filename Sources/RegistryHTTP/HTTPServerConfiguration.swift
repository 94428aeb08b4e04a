import NIOCore

/// Listening address and the connection guardrails that raw NIO leaves to the application.
public struct HTTPServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// A connection that sends nothing for this long while a request (or its body) is due is
    /// closed (slow-loris defence). Never applies while a response is being produced or sent.
    public var idleTimeout: TimeAmount
    /// On shutdown, requests still running after this long are cut off.
    public var shutdownGracePeriod: TimeAmount
    /// Header limits enforced by the parser (a request beyond them gets 400 and a close).
    public var maxHeaderFieldCount: Int
    public var maxHeaderListSize: Int

    public init(
        host: String = "127.0.0.1",
        port: Int = 5000,
        idleTimeout: TimeAmount = .seconds(60),
        shutdownGracePeriod: TimeAmount = .seconds(10),
        maxHeaderFieldCount: Int = 128,
        maxHeaderListSize: Int = 64 * 1024
    ) {
        self.host = host
        self.port = port
        self.idleTimeout = idleTimeout
        self.shutdownGracePeriod = shutdownGracePeriod
        self.maxHeaderFieldCount = maxHeaderFieldCount
        self.maxHeaderListSize = maxHeaderListSize
    }
}
