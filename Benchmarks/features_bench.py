#!/usr/bin/env python3
"""What the production features cost: our registry with metrics, the audit log and request rate
limits off, beside the same registry with each of them on, measured at the same time.

    swift build -c release --product registry && swift build -c release --product registry-bench
    python3 Benchmarks/bench.py --backend features --registry .build/release/registry --rounds 10 \
        [--variants control,limits] [--load-seconds 2]

Variants (one server each, started afresh every round, all on loopback, filesystem + SQLite):
  off      metrics, audit and rate limits off: what every other variant is measured against
  control  the same as off, in a second server: its cost is the noise floor
  metrics  `GET /metrics` served and scraped once a second during the load
  audit    every pull, push and login recorded in the audit log
  limits   rate limits configured but never hit (rates far above the load)
  quotas   a storage quota on every repository, never reached (checked before each upload and
           again inside the write that links its blob)
  all      metrics, audit and limits together

Scenarios: GET manifest by tag and GET /v2/ (wrk, 32 connections); an image pull as docker makes
it, the manifest by tag, then the config blob, then the 4 KiB layer (wrk with a Lua script that
cycles through the three); HEAD blob (registry-bench load); and small pushes (registry-bench
pushes: 4 KiB blobs, then manifests, 8 workers).

How: the servers share one core and the load generators the other (taskset). In each round, for
each scenario and each variant, the same load runs against `off` and against the variant at the
same moment, so the two see the same machine: whatever the host does to the core (on a shared
VM the rate of one server moves by 10-40 % from one round to the next) it does to both. The cost
is the ratio of the two servers' CPU time per request (from /proc) in that window: 1.00 = none,
1.05 = 5 % more CPU per request. The table gives its median over the rounds with a 95 % interval
(bootstrap), and the ratio of the two rates in the same windows (0.95 = 5 % fewer requests
served while the two shared the core). `control` shows what two identical servers differ by.
Every round starts new server processes (seeded, warmed up by a second of pulls and one round of
pushes): one process of a binary can run a percent or two faster or slower than another for its
whole life, which a pair kept for the whole run would report as cost.
"""
import json
import os
import random
import shutil
import statistics
import tempfile
import threading
import urllib.request

from bench import ACCEPT, Bench, Server, seed_manifest, wrk
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
    "quotas": """
metrics:
  enabled: false
audit:
  enabled: false
quotas:
  default: 1TiB
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


def start(binary, work, variant, wrapper=()):
    """`wrapper`: the command the server runs under (taskset)."""
    port = free_port()
    config = os.path.join(work, f"{variant}.yaml")
    with open(config, "w") as f:
        f.write(f"http:\n  listen: 127.0.0.1:{port}\nstorage:\n  root: {work}/{variant}\nlog:\n  level: warning\n")
        f.write(VARIANTS[variant])
    env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}
    server = Server(variant, [*wrapper, binary, "serve", "--config", config], port, env, os.path.join(work, f"{variant}.log"))
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


def pinning():
    """(the servers' core, the load generators' cores): the servers on the last core, the load
    generators on the others, so that a load generator never takes CPU from the servers it
    measures. None on a single core."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    return ",".join(map(str, cores[-1:])), ",".join(map(str, cores[:-1]))


def at_once(*loads):
    """Runs the loads (functions returning (rate, requests)) at the same time; their results."""
    results = [None] * len(loads)
    failures = []

    def run(index, load):
        try:
            results[index] = load()
        except Exception as error:  # re-raised below, on the calling thread
            failures.append(error)
    threads = [threading.Thread(target=run, args=(index, load)) for index, load in enumerate(loads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


# How far from 1.00 `control` (two identical servers) may land before a row is flagged.
NOISE_FLOOR = 0.03


def pull_script(server, work):
    """A wrk script for `server` that asks, over and over, what `docker pull` of the seeded image
    asks: the manifest by tag, then its config blob, then its layer."""
    path = os.path.join(work, f"{server.name}-{server.port}-pull.lua")
    if os.path.exists(path):
        return path
    base = "/v2/bench/small"
    with urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{server.port}{base}/manifests/latest", headers={"Accept": ACCEPT})) as response:
        manifest = json.load(response)
    paths = [f"{base}/manifests/latest", f"{base}/blobs/{manifest['config']['digest']}"]
    paths += [f"{base}/blobs/{layer['digest']}" for layer in manifest["layers"]]
    with open(path, "w") as script:
        script.write("local paths = {" + ", ".join(f'"{p}"' for p in paths) + "}\n")
        script.write("local next = 0\n")
        script.write("request = function()\n")
        script.write("  next = next % #paths + 1\n")
        script.write(f'  return wrk.format("GET", paths[next], {{["Accept"] = "{ACCEPT}"}})\n')
        script.write("end\n")
    return path


def median_interval(values):
    """The median and its 95 % bootstrap interval."""
    generator = random.Random(0)
    resampled = sorted(statistics.median(generator.choices(values, k=len(values))) for _ in range(2000))
    return statistics.median(values), resampled[50], resampled[1949]


def run(args, bench):
    work = tempfile.mkdtemp(prefix="features-bench-", dir=args.work_dir)
    cores = pinning()
    server_wrapper = ["taskset", "-c", cores[0]] if cores else []
    load_wrapper = ["taskset", "-c", cores[1]] if cores else []
    bench = Bench(bench.binary, wrapper=load_wrapper)
    variants = [name for name in dict.fromkeys(args.variants.split(",")) if name in VARIANTS and name != "off"]
    servers, layers, rss = {}, {}, {}
    # (scenario, variant) -> per round: (cost, rate ratio); scenario -> off's rates
    paired, base_rates = {}, {}
    try:

        def wrk_load(path, *headers):
            def load(server):
                rate, _ = wrk(server, path, args.load_seconds, headers, connections=32, wrapper=load_wrapper)
                return rate, rate * float(args.load_seconds)
            return load

        def image_pull(server):
            script = pull_script(server, work)
            rate, _ = wrk(server, "/", args.load_seconds, connections=32, wrapper=load_wrapper, script=script)
            return rate, rate * float(args.load_seconds)

        def head_blob(server):
            result = bench.load(server, f"/v2/bench/small/blobs/{layers[server.name]}", "--method", "HEAD",
                                "--connections", "32", "--seconds", args.load_seconds)
            return result["requests_per_s"], result["requests"]

        pushes_made = {}

        def pushes(server):
            # A new seed each time: every push stores new blobs.
            seed = pushes_made[server.name] = pushes_made.get(server.name, -1) + 1
            result = bench("pushes", f"http://127.0.0.1:{server.port}", "--seed", seed, "--workers", 8,
                           "--blobs", args.push_blobs, "--manifests", max(1, args.push_blobs // 10))
            return result["operations_per_s"], result["operations"]

        scenarios = [
            ("GET manifest by tag (wrk)", "req/s", wrk_load("/v2/bench/small/manifests/latest", f"Accept: {ACCEPT}")),
            ("GET /v2/ (wrk)", "req/s", wrk_load("/v2/")),
            ("pull: manifest, config, layer (wrk)", "req/s", image_pull),
            ("HEAD blob (registry-bench)", "req/s", head_blob),
            ("small pushes (blobs + manifests)", "ops/s", pushes),
        ]
        for round in range(args.rounds):
            print(f"== round {round + 1} of {args.rounds}", flush=True)
            # Fresh processes every round: two processes of one binary and configuration differ
            # by a percent or two for as long as they run (where their memory landed, their
            # hash seeds), which one pair of processes for the whole run would count as cost.
            for server in servers.values():
                rss[server.name] = max(rss.get(server.name, 0), server.peak_rss_mib())
                server.stop()
            for name in ["off"] + variants:
                root = os.path.join(work, f"round-{round}")
                os.makedirs(root, exist_ok=True)
                servers[name] = start(args.registry, root, name, server_wrapper)
                layers[name] = seed_manifest(servers[name])
            # A new server's first pushes cost more (its files and database grow): each pushes once
            # before it is measured, as `off` has by its second pairing.
            for server in servers.values():
                wrk(server, "/v2/bench/small/manifests/latest", "1", [f"Accept: {ACCEPT}"], connections=32, wrapper=load_wrapper)
                pushes(server)
            off = servers["off"]
            for scenario, _, load in scenarios:
                for name in variants if round % 2 == 0 else list(reversed(variants)):
                    other = servers[name]
                    with Scraper(other):
                        before = off.cpu_seconds(), other.cpu_seconds()
                        (off_rate, off_count), (rate, count) = at_once(lambda: load(off), lambda: load(other))
                        off_cpu, cpu = off.cpu_seconds() - before[0], other.cpu_seconds() - before[1]
                    paired.setdefault((scenario, name), []).append(((cpu / count) / (off_cpu / off_count), rate / off_rate))
                    base_rates.setdefault(scenario, []).append(off_rate)
        for server in servers.values():
            rss[server.name] = max(rss.get(server.name, 0), server.peak_rss_mib())
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print()
    print("every round's cost (the variant's CPU time per request over off's, measured at the same time)")
    for (scenario, name), rounds in paired.items():
        print(f"  {scenario:36} {name:8} " + " ".join(f"{cost:5.3f}" for cost, _ in rounds))
    print()
    print(f"servers on core {cores[0]}, load generators on {cores[1]}" if cores else "one core: nothing pinned")
    print("cost: median over the rounds of the variant's CPU time per request over off's (1.00 = none, 1.05 = 5 %")
    print("more), its 95 % interval in brackets; rate: the variant's rate over off's in the same windows")
    print(f"{'scenario':36} {'off (shared core)':>18} " + " ".join(f"{name:>30}" for name in variants))
    for scenario, unit, _ in scenarios:
        cells = []
        for name in variants:
            cost, low, high = median_interval([cost for cost, _ in paired[(scenario, name)]])
            rate = statistics.median(ratio for _, ratio in paired[(scenario, name)])
            cells.append(f"{cost:5.3f} ({low:5.3f}-{high:5.3f}) rate {rate:4.2f}")
        print(f"{scenario:36} {statistics.median(base_rates[scenario]):12.0f} {unit:5} " + " ".join(f"{cell:>30}" for cell in cells))
        if "control" in variants:
            _, low, high = median_interval([cost for cost, _ in paired[(scenario, "control")]])
            if low > 1 + NOISE_FLOOR or high < 1 - NOISE_FLOOR:
                print(f"  ^ control's interval is not within {NOISE_FLOOR:.0%} of 1.00: two identical servers differed here, "
                      "so this row's costs say nothing; see every round's figures above")
    print(f"{'peak RSS (MiB)':36} {rss['off']:18.0f} " + " ".join(f"{rss[name]:30.0f}" for name in variants))
