import ArgumentParser

/// Measurements the benchmark harness (`Benchmarks/bench.py`) cannot take well from Python: the
/// SHA-256 ceiling with swift-crypto, blob downloads with a client cheap enough not to be what is
/// measured, closed-loop HTTP load (including `HEAD`, which Debian's wrk cannot drive), many
/// small pushes, and seeding registries for the listing scenarios. Every
/// subcommand prints one JSON object on standard output and fails on any unexpected response.
@main
struct RegistryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry-bench",
        abstract: "Benchmark measurements against any registry (used by Benchmarks/bench.py).",
        subcommands: [HashCommand.self, LoadCommand.self, PullCommand.self, PushesCommand.self, SeedCommand.self]
    )
}
