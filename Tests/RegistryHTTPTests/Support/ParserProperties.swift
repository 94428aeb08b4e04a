import Foundation
import NIOHTTP1
@testable import RegistryCore
@testable import RegistryHTTP
import RegistryModel
import Testing

/// What must hold of each network-facing parser for any input whatsoever: it returns (never
/// traps), and what it returns is within bounds. Shared by the fuzz tests (random inputs) and
/// the corpus tests (inputs kept in `Corpus/<parser>/`), so a crasher found once is checked
/// forever.
enum ParserProperties {
    /// The parsers, by the name of their corpus directory.
    static let all: [String: @Sendable (String) -> Void] = [
        "decimal-number": checkDecimalNumber,
        "content-range": checkContentRange,
        "range": checkRange,
        "content-length": checkContentLength,
        "percent-decoding": checkPercentDecoding,
        "request-target": checkRequestTarget,
        "accept": checkAccept,
        "authorization": checkAuthorization,
        "repository-name": checkRepositoryName,
        "tag": checkTag,
        "digest": checkDigest,
        "manifest": checkManifest,
    ]

    static func isDigits(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    static func checkDecimalNumber(_ text: String) {
        switch DecimalNumber(text) {
        case nil:
            #expect(!isDigits(text[...]), "digits refused: \(text.debugDescription)")
        case .value(let value):
            #expect(value >= 0)
            let significant = text.drop { $0 == "0" }
            #expect(String(value) == (significant.isEmpty ? "0" : String(significant)), "\(text.debugDescription)")
        case .tooLarge:
            #expect(isDigits(text[...]) && text.drop { $0 == "0" }.count >= 19, "\(text.debugDescription)")
        }
    }

    static func checkContentRange(_ header: String) {
        guard let range = ChunkRange(contentRange: header) else { return }
        #expect(range.start >= 0 && range.end >= range.start, "\(header.debugDescription)")
        let (length, overflow) = (range.end - range.start).addingReportingOverflow(1)
        #expect(!overflow && range.length == length && range.length >= 1, "\(header.debugDescription)")
    }

    /// Sizes every `Range` input is resolved against.
    static let blobSizes: [Int64] = [0, 1, 10, 1 << 20, .max - 1, .max]

    static func checkRange(_ header: String) {
        for size in blobSizes {
            checkRange(header, size: size)
        }
    }

    static func checkRange(_ header: String, size: Int64) {
        switch ByteRange.parse(header, size: size) {
        case .whole, .unsatisfiable:
            break
        case .partial(let range):
            #expect(!range.isEmpty && range.lowerBound >= 0 && range.upperBound <= size, "\(header.debugDescription) of \(size)")
        }
    }

    static func checkContentLength(_ value: String) {
        let request = Request(method: .PUT, uri: "/v2/a/manifests/b", headers: ["Content-Length": value])
        if let length = request.contentLength {
            #expect(length >= 0, "\(value.debugDescription)")
        }
    }

    static func checkPercentDecoding(_ text: String) {
        let decoded = PercentDecoding.decode(text[...])
        let queryDecoded = PercentDecoding.decode(text[...], plusAsSpace: true)
        // Decoding only ever shortens (three bytes become one) or keeps.
        #expect(decoded.utf8.count <= text.utf8.count * 3)
        #expect(queryDecoded.utf8.count <= text.utf8.count * 3)
        if !text.contains("%") {
            #expect(decoded == text)
        }
    }

    static func checkRequestTarget(_ target: String) {
        let request = Request(method: .GET, uri: target)
        #expect(request.path.utf8.count <= target.utf8.count)
        #expect(request.query.pairs.count <= target.utf8.count(where: { $0 == UInt8(ascii: "&") }) + 1)
        _ = Route(path: request.path)
        _ = Route(path: target)
    }

    static func checkAccept(_ line: String) {
        let accepted = AcceptedMediaTypes(headerLines: [line, line])
        for type in accepted.types {
            #expect(!type.isEmpty && !type.contains(",") && !type.contains(";"), "\(line.debugDescription)")
            #expect(type == type.lowercased() || type.contains { !$0.isASCII }, "\(line.debugDescription)")
            #expect(type.first != " " && type.last != " ", "\(line.debugDescription)")
        }
    }

    static func checkAuthorization(_ header: String) {
        guard let (user, _) = AccessControl.basicCredentials(header) else { return }
        #expect(!user.contains(":"), "\(header.debugDescription)")
    }

    static func checkRepositoryName(_ text: String) {
        guard let name = RepositoryName(text) else { return }
        #expect(name.value.utf8.count <= RepositoryName.maximumLength)
        #expect(!name.value.hasPrefix("/") && !name.value.hasSuffix("/") && !name.value.contains("//"))
        #expect(!name.value.split(separator: "/").contains { $0 == "." || $0 == ".." })
        #expect(name.value.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || "._-/".utf8.contains($0) })
    }

    static func checkTag(_ text: String) {
        guard let tag = Tag(text) else {
            if !text.contains(":") {
                #expect(throws: RegistryError.self) { try Reference(parsing: text) }
            }
            return
        }
        #expect(tag.value.utf8.count <= Tag.maximumLength)
        #expect(!tag.value.contains(":") && !tag.value.contains("/"))
    }

    static func checkDigest(_ text: String) {
        guard let digest = try? Digest(parsing: text) else { return }
        #expect(digest.description == text, "a digest is kept as written")
        #expect(digest.encoded.utf8.count == digest.algorithm.encodedLength)
    }

    static func checkManifest(_ body: String) {
        for contentType in [nil, MediaType.ociManifest, MediaType.ociIndex, "application/octet-stream"] {
            guard let manifest = try? Manifest(parsing: Array(body.utf8), contentType: contentType) else { continue }
            #expect(MediaType.acceptedManifestTypes.contains(manifest.mediaType))
            let descriptors = manifest.referencedBlobs + manifest.manifests + (manifest.subject.map { [$0] } ?? [])
            #expect(descriptors.allSatisfy { $0.size >= 0 })
        }
    }
}
