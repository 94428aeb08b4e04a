import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// A request body and how it is signed. Bytes in memory are hashed and signed; a stream is sent
/// as it comes with `UNSIGNED-PAYLOAD` (TLS protects it in transit), so no object is ever held
/// whole in memory.
public struct S3Body: Sendable {
    let payload: HTTPClientRequest.Body
    let payloadSHA256: String
    let length: Int64
    /// Whether sending may take as long as the body needs (no response deadline).
    let isStreamed: Bool
    /// Whether the body can be sent again, so that a request that failed on the way may be
    /// retried: bytes in memory can, a stream read once cannot.
    let isReplayable: Bool

    public static let empty = S3Body(
        payload: .bytes(ByteBuffer()), payloadSHA256: SigV4Signer.emptyPayloadSHA256, length: 0, isStreamed: false, isReplayable: true)

    /// Bytes in memory, for small bodies: signed with their SHA-256.
    public static func bytes(_ buffer: ByteBuffer) -> S3Body {
        let digest = buffer.withUnsafeReadableBytes { SHA256.hash(data: $0) }
        return S3Body(
            payload: .bytes(buffer), payloadSHA256: Hex.encode(digest), length: Int64(buffer.readableBytes),
            isStreamed: false, isReplayable: true)
    }

    /// Bytes in memory sent unsigned, like a stream: for megabytes, whose hashing for the
    /// signature would cost more CPU than the upload's own digest. Replayable.
    public static func unsignedBytes(_ buffer: ByteBuffer) -> S3Body {
        S3Body(
            payload: .stream(OneBuffer(buffer: buffer), length: .known(Int64(buffer.readableBytes))),
            payloadSHA256: SigV4Signer.unsignedPayload, length: Int64(buffer.readableBytes), isStreamed: true, isReplayable: true)
    }

    /// Bytes produced as they are sent. S3 needs the length in advance (no chunked uploads);
    /// the request fails if the sequence yields more or fewer bytes. Not replayable.
    public static func stream<Bytes: AsyncSequence & Sendable>(_ bytes: Bytes, length: Int64) -> S3Body
    where Bytes.Element == ByteBuffer {
        S3Body(
            payload: .stream(bytes, length: .known(length)), payloadSHA256: SigV4Signer.unsignedPayload, length: length,
            isStreamed: true, isReplayable: false)
    }
}

/// One buffer as a body stream; each iteration yields it again, so a retry resends it.
struct OneBuffer: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffer: ByteBuffer

    struct AsyncIterator: AsyncIteratorProtocol {
        var buffer: ByteBuffer?
        mutating func next() async -> ByteBuffer? {
            defer { buffer = nil }
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer.readableBytes > 0 ? buffer : nil) }
}
