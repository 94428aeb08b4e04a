import Foundation
import RegistryTestSupport

/// One `/metrics` answer, read by a real Prometheus parser: the Python `prometheus_client`
/// library's text-format parser (Debian's `python3-prometheus-client`), run as a process. An
/// exposition it cannot parse fails the test.
struct PrometheusScrape {
    struct Sample: Decodable {
        var family: String
        var type: String
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let samples: [Sample]

    /// The sum of the samples called `name` whose labels include `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
            .reduce(0) { $0 + $1.value }
    }

    /// The type the parser read for a family (`counter`, `gauge`, `histogram`).
    func type(of family: String) -> String? {
        samples.first { $0.family == family }?.type
    }

    /// Every label name used by any sample.
    var labelNames: Set<String> { Set(samples.flatMap(\.labels.keys)) }

    private static let script = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        samples = []
        for family in text_string_to_metric_families(sys.stdin.read()):
            for sample in family.samples:
                samples.append({"family": family.name, "type": family.type, "name": sample.name,
                                "labels": sample.labels, "value": sample.value})
        json.dump(samples, sys.stdout)
        """

    /// Debian's interpreter, which has the packaged library (a `python3` earlier on PATH may not).
    private static let python = "/usr/bin/python3"

    init(parsing text: String) async throws {
        let parsed = try await Program.run(Self.python, "-c", Self.script, input: Data(text.utf8))
        guard parsed.status == 0 else {
            throw TestFailure("the Prometheus parser refused the exposition: \(String(decoding: parsed.errors, as: UTF8.self))\n\(text)")
        }
        samples = try JSONDecoder().decode([Sample].self, from: parsed.output)
    }
}

extension RegistryClient {
    /// `GET /metrics` (on `baseURL`, the registry's own by default), parsed.
    func scrape(baseURL: String? = nil, token: String? = nil) async throws -> PrometheusScrape {
        let headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
        let reply = try await request(.GET, (baseURL ?? registry.baseURL) + "/metrics", headers: headers)
        guard reply.status == .ok else { throw TestFailure("scrape failed: \(reply.status) \(reply.text)") }
        guard reply.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true else {
            throw TestFailure("unexpected Content-Type \(reply.header("Content-Type") ?? "-")")
        }
        return try await PrometheusScrape(parsing: reply.text)
    }
}
