import RegistryModel

/// What to do with a manifest fetched by tag, given what the client accepts.
///
/// Digest requests are never negotiated: content-addressed bytes are served as stored.
enum ContentNegotiation {
    enum Decision: Equatable {
        case serve
        /// Serve the index entry for this platform instead (a Docker manifest list to a client
        /// that cannot read one).
        case serveChild(Platform)
        case refuse(reason: String)
    }

    static func decide(storedMediaType: String, accepted: AcceptedMediaTypes, defaultPlatform: Platform) -> Decision {
        switch storedMediaType {
        case MediaType.dockerManifestList where !accepted.accepts(MediaType.dockerManifestList):
            return .serveChild(defaultPlatform)
        case MediaType.ociIndex where !accepted.accepts(MediaType.ociIndex):
            return .refuse(reason: "the manifest is an OCI image index and the request's Accept header lists neither \(MediaType.ociIndex) nor */*")
        default:
            return .serve
        }
    }
}
