#!/usr/bin/env python3
"""What the production features cost: our registry with metrics, the audit log and request rate
limits off, then with each of them on, side by side on the same scenarios, alternating rounds.

    swift build -c release --product registry && swift build -c release --product registry-bench
    python3 Benchmarks/bench.py --backend features --registry .build/release/registry [--rounds 3] [--variants off,limits]

Variants (one server each, all on loopback, filesystem + SQLite):
  off      metrics, audit and rate limits off
  control  the same as off, in a second server: its ratio to off is the noise floor
  metrics  `GET /metrics` served and scraped once a second during the load
  audit    every pull, push and login recorded in the audit log
  limits   rate limits configured but never hit (rates far above the load)
  all      the three together

Scenarios: GET manifest by tag and GET /v2/ at 64 connections (wrk), HEAD blob (registry-bench
load), and many small pushes (registry-bench pushes: 4 KiB blobs and manifests, 16 workers). The
table gives each variant's median and its ratio to `off` (1.00 = no cost; 0.95 = 5 % slower), and
for each scenario the server's CPU time per request: on two cores shared with the load generator the
rates move by 10 % between rounds of the same server, the CPU time per request by much less, so
it is the figure that shows a cost of a few percent.
"""
import os
import shutil
import statistics
import tempfile
import threading
import time
import urllib.request

from bench import ACCEPT, Server, seed_manifest, wrk
from harness import free_port

VARIANTS = {
    "off": """
metrics:
  enabled: false
audit:
  enabled: false
""",
    # The same configuration as `off`, in a server of its own: the spread between `off` and
    # `control` is the noise floor (process placement, the machine's drift), the smallest cost
    # this machine can show.
    "control": """
metrics:
  enabled: false
audit:
  enabled: false
""",
    "metrics": """
metrics:
  enabled: true
audit:
  enabled: false
""",
    "audit": """
metrics:
  enabled: false
audit:
  enabled: true
""",
    "limits": """
metrics:
  enabled: false
audit:
  enabled: false
rate_limits:
  pull: {rate: 1000000/s, burst: 1000000}
  push: {rate: 1000000/s, burst: 1000000}
  other: {rate: 1000000/s, burst: 1000000}
""",
    "all": """
metrics:
  enabled: true
audit:
  enabled: true
rate_limits:
  pull: {rate: 1000000/s, burst: 1000000}
  push: {rate: 1000000/s, burst: 1000000}
  other: {rate: 1000000/s, burst: 1000000}
""",
}


def start(binary, work, variant):
    port = free_port()
    config = os.path.join(work, f"{variant}.yaml")
    with open(config, "w") as f:
        f.write(f"http:\n  listen: 127.0.0.1:{port}\nstorage:\n  root: {work}/{variant}\nlog:\n  level: warning\n")
        f.write(VARIANTS[variant])
    env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}
    server = Server(variant, [binary, "serve", "--config", config], port, env, os.path.join(work, f"{variant}.log"))
    server.scrapes = variant in ("metrics", "all")
    return server


class Scraper:
    """Scrapes `/metrics` once a second while a measurement runs, as Prometheus would."""

    def __init__(self, server):
        self.server, self.stopping, self.count = server, threading.Event(), 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stopping.wait(1.0):
            with urllib.request.urlopen(f"http://127.0.0.1:{self.server.port}/metrics", timeout=10) as response:
                if response.status != 200:
                    raise RuntimeError(f"/metrics answered {response.status}")
                response.read()
                self.count += 1

    def __enter__(self):
        if self.server.scrapes:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join()


def run(args, bench):
    work = tempfile.mkdtemp(prefix="features-bench-", dir=args.work_dir)
    servers = []
    samples = {}
    try:
        chosen = ["off"] + [name for name in args.variants.split(",") if name in VARIANTS and name != "off"]
        servers = [start(args.registry, work, variant) for variant in chosen]
        layers = {server.name: seed_manifest(server) for server in servers}

        def record(scenario, unit, server, value):
            samples.setdefault((scenario, unit), {}).setdefault(server.name, []).append(value)

        for round in range(args.rounds):
            print(f"== round {round + 1} of {args.rounds}", flush=True)
            # Alternate the order from round to round, so no variant always runs first.
            order = servers if round % 2 == 0 else list(reversed(servers))
            for server in order:
                with Scraper(server):
                    def measured(scenario, unit, load):
                        """Runs `load` (which returns its rate and how many requests or operations
                        it made) and records the rate and the server's CPU time per request."""
                        cpu = server.cpu_seconds()
                        rate, count = load()
                        record(scenario, unit, server, rate)
                        record(scenario, "CPU µs", server, (server.cpu_seconds() - cpu) * 1e6 / count)

                    def wrk_load(path, *headers):
                        rate, _ = wrk(server, path, args.load_seconds, headers)
                        return rate, rate * float(args.load_seconds)

                    measured("GET manifest by tag (wrk)", "req/s",
                             lambda: wrk_load("/v2/bench/small/manifests/latest", f"Accept: {ACCEPT}"))
                    measured("GET /v2/ (wrk)", "req/s", lambda: wrk_load("/v2/"))

                    def head_blob():
                        result = bench.load(server, f"/v2/bench/small/blobs/{layers[server.name]}", "--method", "HEAD",
                                            "--seconds", args.load_seconds)
                        return result["requests_per_s"], result["requests"]
                    measured("HEAD blob (registry-bench)", "req/s", head_blob)

                    def pushes():
                        result = bench("pushes", f"http://127.0.0.1:{server.port}", "--seed", round)
                        return result["operations_per_s"], result["operations"]
                    measured("small pushes (blobs + manifests)", "ops/s", pushes)
                print(f"  {server.name} done", flush=True)
        rss = {server.name: server.peak_rss_mib() for server in servers}
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    names = chosen
    print()
    print("every round's figure (spread of the same server between rounds: the noise to judge ratios by)")
    for (scenario, unit), by_variant in samples.items():
        for name in names:
            print(f"  {scenario:36} {unit:6} {name:8} " + " ".join(f"{value:8.{1 if unit == 'CPU µs' else 0}f}" for value in by_variant[name]))
    print()
    print("medians; in brackets each variant's ratio to `off`: for rates 1.00 = no cost and 0.95 = 5 % slower;")
    print("for the server's CPU time per request or operation (CPU µs, measured from /proc, steadier than")
    print("rates on a machine whose cores the load generator shares) 1.00 = no cost and 1.05 = 5 % more CPU")
    print(f"{'scenario':36} {'unit':6} " + " ".join(f"{name:>16}" for name in names))
    for (scenario, unit), by_variant in samples.items():
        medians = {name: statistics.median(values) for name, values in by_variant.items()}
        cells = [f"{medians[name]:8.{1 if unit == 'CPU µs' else 0}f} ({medians[name] / medians['off']:4.2f})" for name in names]
        print(f"{scenario:36} {unit:6} " + " ".join(f"{cell:>16}" for cell in cells))
    print(f"{'peak RSS':36} {'MiB':6} " + " ".join(f"{rss[name]:16.0f}" for name in names))
