import ArgumentParser
import NIOCore
import NIOPosix

/// Many small pushes: blobs of a few KiB spread over repositories, then manifests that use them,
/// from concurrent workers. Measures per-operation overhead (request handling, metadata writes,
/// fsyncs) rather than bandwidth.
///
/// Given several URLs (the replicas of a cluster), every worker holds a connection to each, and
/// requests go round robin as a load balancer without sticky sessions sends them: a blob's `POST`
/// goes to one replica and its `PUT` to the next, and each job starts one replica further on.
struct PushesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pushes",
        abstract: "Push many small blobs and manifests concurrently; print operations/s."
    )

    @Argument(help: "http://HOST:PORT of the registry (several: the replicas of one registry).")
    var urls: [String]

    @Option(help: "Blobs to push (each one POST + PUT).")
    var blobs: Int = 2000

    @Option(help: "Bytes per blob.")
    var size: Int = 4096

    @Option(help: "Manifests to push after the blobs (each one PUT by tag).")
    var manifests: Int = 200

    @Option(help: "Repositories the blobs and manifests are spread over.")
    var repositories: Int = 20

    @Option(help: "Concurrent workers, one connection each.")
    var workers: Int = 16

    @Option(help: "Makes the blobs and repository names of this run unique.")
    var seed: Int = 0

    func validate() throws {
        guard repositories > 0, blobs >= 2 * repositories else {
            throw ValidationError("need at least two blobs per repository")
        }
    }

    func run() async throws {
        let targets = try urls.map(Target.init)
        guard !targets.isEmpty else { throw ValidationError("give at least one URL") }
        let repositories = self.repositories
        let blobs = (0..<self.blobs).map { Blob.random(size: size, seed: seed, index: $0) }
        let names = (0..<repositories).map { "bench/small-\(seed)/r\($0)" }
        let perRepository = blobs.count / repositories
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clock = ContinuousClock()

        let started = clock.now
        try await WorkQueue.run(jobs: blobs.count, workers: workers, targets: targets, group: group) { connections, worker, index in
            let first = (worker + index) % connections.count
            try await connections[first].pushBlob(
                names[index % repositories], blobs[index], finishingOn: connections[(first + 1) % connections.count])
        }
        let blobsDone = clock.now
        // Manifest k of repository r uses the repository's first blob as config and another of
        // its blobs as the layer.
        try await WorkQueue.run(jobs: manifests, workers: workers, targets: targets, group: group) { connections, worker, index in
            let connection = connections[(worker + index) % connections.count]
            let repository = index % repositories
            let k = index / repositories
            let config = blobs[repository]
            let layer = blobs[repository + repositories * (1 + k % (perRepository - 1))]
            let tag = "v\(k)"
            try await connection.putManifest(names[repository], tag, Blob.manifest(config: config, layer: layer, tag: tag))
        }
        let finished = clock.now
        try await group.shutdownGracefully()

        let blobSeconds = (blobsDone - started).seconds
        let manifestSeconds = (finished - blobsDone).seconds
        try printJSON([
            "operations": Double(blobs.count + manifests),
            "seconds": blobSeconds + manifestSeconds,
            "operations_per_s": Double(blobs.count + manifests) / (blobSeconds + manifestSeconds),
            "blobs_per_s": Double(blobs.count) / blobSeconds,
            "manifests_per_s": Double(manifests) / manifestSeconds,
        ])
    }
}
