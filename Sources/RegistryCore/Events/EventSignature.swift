import Crypto
import NIOCore

/// The `X-Registry-Signature` header: `sha256=` and the lowercase hex HMAC-SHA256 of the exact
/// request body under the endpoint's secret. A receiver recomputes it over the bytes it got
/// and compares in constant time.
public enum EventSignature {
    public static let headerName = "X-Registry-Signature"

    public static func value(for body: ByteBuffer, secret: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(body.readableBytesView), using: SymmetricKey(data: secret))
        return "sha256=" + code.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
