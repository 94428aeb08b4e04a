// swift-tools-version: 6.2
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swift-oci-registry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "registry", targets: ["registry"]),
        .executable(name: "registry-conformance", targets: ["registry-conformance"]),
        .executable(name: "registry-bench", targets: ["registry-bench"]),
        .library(name: "RegistryServer", targets: ["RegistryServer"]),
        .library(name: "ConformanceKit", targets: ["ConformanceKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Value types of the distribution spec: digests, names, references, media types,
        // manifests, errors. No I/O.
        .target(
            name: "RegistryModel",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // zlib and libzstd from the system (Debian's -dev packages), for RegistryLayers.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // Image layers as streams: media type to compression, gzip/zstd codecs, a tar reader and
        // writer. No I/O: callers feed chunks and receive output through closures.
        .target(
            name: "RegistryLayers",
            dependencies: ["RegistryModel", "CZlib", "CZstd"],
            swiftSettings: strictSettings
        ),
        // Blob store (filesystem) and metadata store (SQLite). Knows nothing about HTTP.
        .target(
            name: "RegistryStorage",
            dependencies: [
                "RegistryModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The metadata store on PostgreSQL, for several registry processes sharing one database.
        .target(
            name: "RegistryPostgres",
            dependencies: [
                "RegistryModel",
                "RegistryStorage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // A distribution-spec client for other registries: manifests byte-exact, blobs streamed,
        // Basic logins and the Docker token flow. Used by the pull-through cache and the mirror.
        .target(
            name: "RegistryUpstream",
            dependencies: [
                "RegistryModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Registry semantics: uploads, manifests, tags, referrers, content negotiation, access,
        // and the pull-through cache of upstream registries.
        .target(
            name: "RegistryCore",
            dependencies: [
                "RegistryModel",
                "RegistryStorage",
                "RegistryUpstream",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                // Event notifications are posted with it (as the upstream client fetches), trusting
                // an endpoint's private CA through NIOSSL.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // HTTP on SwiftNIO: pipeline, router, one handler per resource, OCI error bodies.
        .target(
            name: "RegistryHTTP",
            dependencies: [
                "RegistryModel",
                "RegistryCore",
                "RegistryImages",
                "RegistryStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Our own S3 client for cluster mode's blob storage: SigV4 (headers and presigned URLs),
        // streamed bodies, multipart uploads, listings. No AWS SDK.
        .target(
            name: "RegistryS3",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        // The blob store on S3-compatible object storage, for several registry processes sharing
        // one bucket: the second driver behind RegistryStorage's BlobStore and UploadStore.
        .target(
            name: "RegistryObjectStorage",
            dependencies: [
                "RegistryModel",
                "RegistryStorage",
                "RegistryS3",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // `registry mirror`: copies repositories between registries, or into a local root.
        .target(
            name: "RegistryMirror",
            dependencies: [
                "RegistryModel",
                "RegistryUpstream",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Images as people think of them: `registry inspect`, `history`, `verify`, `squash`, and
        // the web UI's pages, over any source (a registry over HTTP, or a storage root).
        .target(
            name: "RegistryImages",
            dependencies: [
                "RegistryModel",
                "RegistryStorage",
                "RegistryCore",
                "RegistryUpstream",
                "RegistryLayers",
                "RegistryMirror",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Configuration and wiring of the layers into a runnable service.
        .target(
            name: "RegistryServer",
            dependencies: [
                "RegistryModel",
                "RegistryImages",
                "RegistryStorage",
                "RegistryPostgres",
                "RegistryObjectStorage",
                "RegistryS3",
                "RegistryCore",
                "RegistryHTTP",
                "RegistryUpstream",
                "RegistryMirror",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                // An event endpoint's `ca_file` is read into certificates.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "registry",
            dependencies: [
                "RegistryServer",
                "RegistryImages",
                "RegistryStorage",
                "RegistryMirror",
                "RegistryUpstream",
                "RegistryModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictSettings
        ),
        // The OCI conformance checker. Independent of the registry's own code on purpose: it
        // shares no parsing with what it checks.
        .target(
            name: "ConformanceKit",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "conformance/Sources/ConformanceKit",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "registry-conformance",
            dependencies: [
                "ConformanceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "conformance/Sources/registry-conformance",
            swiftSettings: strictSettings
        ),
        // Load generator and measurements for the benchmark harness (Benchmarks/bench.py). Talks
        // HTTP to any registry; shares no code with ours.
        .executableTarget(
            name: "registry-bench",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Benchmarks/Sources/registry-bench",
            swiftSettings: strictSettings
        ),
        // Starts an in-process registry on a temporary root for tests.
        .target(
            name: "RegistryTestSupport",
            dependencies: [
                "RegistryServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/RegistryTestSupport"
        ),
        .testTarget(
            name: "ConformanceTests",
            dependencies: ["ConformanceKit", "RegistryTestSupport", "RegistryCore", "RegistryServer"]
        ),
        .testTarget(
            name: "RegistryCoreTests",
            dependencies: ["RegistryCore", "RegistryModel", "RegistryStorage"]
        ),
        .testTarget(
            name: "RegistryModelTests",
            dependencies: ["RegistryModel"]
        ),
        .testTarget(
            name: "RegistryLayersTests",
            dependencies: ["RegistryLayers", "RegistryModel", "RegistryTestSupport"]
        ),
        // Parsers of what arrives over the network, unit-tested and fuzzed (property-based, with
        // a corpus of nasty inputs in Corpus/), and handlers driven without a socket.
        .testTarget(
            name: "RegistryHTTPTests",
            dependencies: [
                "RegistryHTTP",
                "RegistryCore",
                "RegistryModel",
                "RegistryStorage",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Corpus"]
        ),
        // Signing against AWS's published examples and XML parsing always; the calls against a
        // real radosgw when scripts/engines/start.sh has set REGISTRY_TEST_S3_*.
        .testTarget(
            name: "RegistryS3Tests",
            dependencies: [
                "PseudoRandomBytes",
                "RegistryS3",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "RegistryStorageTests",
            dependencies: [
                "RegistryStorage", "RegistryModel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
            ]
        ),
        // One suite of metadata semantics run against every backend: SQLite always, PostgreSQL
        // when REGISTRY_TEST_POSTGRES_URL is set (scripts/engines/start.sh prints it).
        .testTarget(
            name: "MetadataStoreContractTests",
            dependencies: [
                "RegistryStorage",
                "RegistryPostgres",
                "RegistryModel",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Pseudo-random bodies streamed a buffer at a time, for the tests of large objects.
        .target(
            name: "PseudoRandomBytes",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            path: "Tests/PseudoRandomBytes"
        ),
        // One suite of blob-store semantics run against every driver: the file system always,
        // object storage when REGISTRY_TEST_S3_ENDPOINT is set (scripts/engines/start.sh prints it).
        .testTarget(
            name: "BlobStoreContractTests",
            dependencies: [
                "PseudoRandomBytes",
                "RegistryStorage",
                "RegistryObjectStorage",
                "RegistryS3",
                "RegistryModel",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "RegistryIntegrationTests",
            dependencies: [
                "RegistryServer",
                "RegistryTestSupport",
                "RegistryModel",
                "RegistryCore",
                "RegistryUpstream",
                "RegistryMirror",
                "RegistryImages",
                "RegistryStorage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
