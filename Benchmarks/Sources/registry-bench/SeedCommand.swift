import ArgumentParser
import NIOCore
import NIOPosix

/// Fills a registry for the listing scenarios: one repository with many tags, or many
/// repositories with one image each (cross-repository mounts, so no blob is uploaded twice).
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Create tags in one repository, or many repositories; print what was made."
    )

    @Argument(help: "http://HOST:PORT of the registry.")
    var url: String

    @Option(help: "Create this many tags in --repository.")
    var tags: Int = 0

    @Option(help: "The repository that gets the tags.")
    var repository: String = "bench/tags"

    @Option(help: "Create repositories PREFIX/NNNNN from --first up to this number (exclusive).")
    var repositoriesUpTo: Int = 0

    @Option(help: "The first repository number to create.")
    var first: Int = 0

    @Option(help: "Prefix of the repositories created.")
    var prefix: String = "bench/catalog"

    @Option(help: "Concurrent workers, one connection each.")
    var workers: Int = 16

    func run() async throws {
        let target = try Target(url)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let config = Blob.random(size: 512, seed: -1, index: 0)
        let layer = Blob.random(size: 4096, seed: -1, index: 1)
        let base = "bench/seed-base"
        let repository = self.repository
        let clock = ContinuousClock()
        let started = clock.now
        try await SequentialConnection.with(target, group: group) { connection in
            try await connection.pushBlob(base, config)
            try await connection.pushBlob(base, layer)
            if tags > 0 {
                try await connection.mountBlob(config.digest, from: base, into: repository)
                try await connection.mountBlob(layer.digest, from: base, into: repository)
            }
        }
        try await WorkQueue.run(jobs: tags, workers: workers, target: target, group: group) { connection, index in
            let tag = "t\(index)"
            try await connection.putManifest(repository, tag, Blob.manifest(config: config, layer: layer, tag: tag))
        }
        let first = self.first
        let prefix = self.prefix
        let count = max(0, repositoriesUpTo - first)
        try await WorkQueue.run(jobs: count, workers: workers, target: target, group: group) { connection, index in
            let name = prefix + "/" + String(first + index).leftPadded(to: 5)
            try await connection.mountBlob(config.digest, from: base, into: name)
            try await connection.mountBlob(layer.digest, from: base, into: name)
            try await connection.putManifest(name, "latest", Blob.manifest(config: config, layer: layer, tag: "latest"))
        }
        let seconds = (clock.now - started).seconds
        try await group.shutdownGracefully()
        try printJSON(["tags": Double(tags), "repositories": Double(count), "seconds": seconds])
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
