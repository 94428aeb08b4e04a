#!/usr/bin/env python3
"""Measures our registry and the reference registry (CNCF distribution 2.8, Debian's
docker-registry) side by side, on loopback, alternating, and prints medians and ratios.

    swift build -c release --product registry && swift build -c release --product registry-bench
    python3 Benchmarks/bench.py --registry .build/release/registry [--rounds 3] [--size-mib 1024]
    python3 Benchmarks/bench.py --backend cluster --registry .build/release/registry   # see cluster_bench.py
    python3 Benchmarks/bench.py --backend features --registry .build/release/registry  # see features_bench.py
    python3 Benchmarks/bench.py --backend ui --registry .build/release/registry        # see ui_bench.py

Scenarios: listing latency as repositories and tags grow (10, 1 000, 10 000); blob push
(monolithic PUT, one streamed chunked PATCH, 16 MiB chunks) against the single-core SHA-256 rate
of swift-crypto; blob pull (one large, eight concurrent; registry-bench's blocking reader, as
Python's costs the CPU the servers need); small requests at 64 connections (wrk for
GET /v2/, GET manifest by tag with a docker-like Accept list and GET tags/list; registry-bench for
HEAD blob, which Debian's wrk cannot drive); over TLS (a self-signed P-256 certificate; both servers
restarted with it), push (monolithic PUT) and pull of one large blob with curl over HTTP/1.1 and
HTTP/2, with curl's and the server's CPU per GiB; 64 clients with one request per connection; many
small pushes from 16 workers; the peak RSS of each server. Every response is checked; a failed
request is an error, never a figure. The last lines are the table of medians and ratios.
"""
import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import re
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "interop"))
from harness import Background, free_port  # noqa: E402

MIB = 1024 * 1024
ACCEPT = ("application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, "
          "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json")


class Failure(Exception):
    pass


class Server:
    def __init__(self, name, command, port, env=None, log=None, tls=False):
        self.name = name
        self.port = port
        self.tls = tls
        self.daemon = Background(command, log, env)
        self.daemon.wait_for(self.ready, name)

    @property
    def base_url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def ready(self):
        try:
            connection = self.connection(timeout=2)
            connection.request("GET", "/v2/")
            return connection.getresponse().status == 200
        except OSError:
            return False

    def cpu_seconds(self):
        """User + system CPU time the server has used so far."""
        with open(f"/proc/{self.daemon.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self):
        with open(f"/proc/{self.daemon.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def connection(self, timeout=600):
        # 1 MiB send blocks: http.client sends file bodies 8 KiB at a time by default.
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, blocksize=MIB,
                                               context=ssl._create_unverified_context())
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout, blocksize=MIB)

    def stop(self):
        self.daemon.stop()


def ours(binary, work, tls=None):
    """`tls`: (certificate, key) paths to serve HTTPS (HTTP/1.1 and HTTP/2 by ALPN)."""
    port = free_port()
    env = dict(os.environ, REGISTRY_LOG_LEVEL="warning")
    suffix = "-tls" if tls else ""
    command = [binary, "serve", "--root", os.path.join(work, "ours" + suffix), "--listen", f"127.0.0.1:{port}"]
    if tls:
        command += ["--tls-cert", tls[0], "--tls-key", tls[1]]
    return Server("ours", command, port, env, os.path.join(work, f"ours{suffix}.log"), tls=bool(tls))


def reference(binary, work, tls=None):
    """`tls` as for `ours`: Go serves HTTP/2 on TLS by default."""
    port = free_port()
    suffix = "-tls" if tls else ""
    config = os.path.join(work, f"reference{suffix}.yml")
    tls_config = f"""
  tls:
    certificate: {tls[0]}
    key: {tls[1]}""" if tls else ""
    with open(config, "w") as f:
        f.write(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {work}/reference{suffix}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}{tls_config}
""")
    return Server("reference", [binary, "serve", config], port, log=os.path.join(work, f"reference{suffix}.log"),
                  tls=bool(tls))


def expect_status(response, wanted, what):
    if response.status not in wanted:
        body = response.read(300)
        raise Failure(f"{what}: expected {wanted}, got {response.status} {body!r}")
    response.read()


# MARK: operations

def durable_write_rate(directory, size_mib):
    """MiB/s of writing `size_mib` MiB and fsyncing them: what storing a pushed blob costs at best."""
    path = os.path.join(directory, "durable-write-probe")
    block = os.urandom(MIB)
    started = time.perf_counter()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(size_mib):
            os.write(descriptor, block)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    elapsed = time.perf_counter() - started
    os.unlink(path)
    return size_mib / elapsed


def start_upload(server, repository):
    connection = server.connection()
    connection.request("POST", f"/v2/{repository}/blobs/uploads/")
    response = connection.getresponse()
    expect_status(response, (202,), "POST /blobs/uploads/")
    return connection, response.getheader("Location")


def with_digest(location, digest):
    return location + ("&" if "?" in location else "?") + "digest=" + digest


def push_monolithic(server, path, digest, size):
    connection, location = start_upload(server, "bench/push")
    with open(path, "rb") as body:
        connection.request("PUT", with_digest(location, digest), body=body,
                           headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"})
        expect_status(connection.getresponse(), (201,), "PUT with the blob")


def push_streamed(server, path, digest, size):
    connection, location = start_upload(server, "bench/push")

    def chunks():
        with open(path, "rb") as body:
            while chunk := body.read(MIB):
                yield chunk
    connection.request("PATCH", location, body=chunks(), encode_chunked=True,
                       headers={"Transfer-Encoding": "chunked", "Content-Type": "application/octet-stream"})
    response = connection.getresponse()
    expect_status(response, (202,), "streamed PATCH")
    connection.request("PUT", with_digest(response.getheader("Location"), digest))
    expect_status(connection.getresponse(), (201,), "closing PUT")


def push_chunked(server, path, digest, size, chunk=16 * MIB):
    connection, location = start_upload(server, "bench/push")
    with open(path, "rb") as body:
        offset = 0
        while data := body.read(chunk):
            connection.request("PATCH", location, body=data, headers={
                "Content-Range": f"{offset}-{offset + len(data) - 1}", "Content-Length": str(len(data)),
                "Content-Type": "application/octet-stream"})
            response = connection.getresponse()
            expect_status(response, (202,), f"PATCH at {offset}")
            location = response.getheader("Location")
            offset += len(data)
    connection.request("PUT", with_digest(location, digest))
    expect_status(connection.getresponse(), (201,), "closing PUT")


def push_blob_bytes(server, repository, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    connection, location = start_upload(server, repository)
    connection.request("PUT", with_digest(location, digest), body=data, headers={"Content-Type": "application/octet-stream"})
    expect_status(connection.getresponse(), (201,), "PUT small blob")
    return digest


def seed_manifest(server):
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = hashlib.sha512(b"bench layer").digest() * 64
    config_digest = push_blob_bytes(server, "bench/small", config)
    layer_digest = push_blob_bytes(server, "bench/small", layer)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer_digest, "size": 4096}],
    }).encode()
    connection = server.connection()
    for tag in ("latest", "v1", "v2", "v3"):
        connection.request("PUT", f"/v2/bench/small/manifests/{tag}", body=manifest,
                           headers={"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})
        expect_status(connection.getresponse(), (201,), "PUT manifest")
    return layer_digest


def wrk(server, path, seconds, headers=(), connections=64, wrapper=(), script=None):
    """GET load with Debian's wrk (one thread: the other core serves); `wrapper`: the command
    it runs under (taskset); `script`: a Lua file that chooses each request (see wrk's SCRIPTING)."""
    command = [*wrapper, "wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if script:
        command += ["-s", script]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run(command + [f"http://127.0.0.1:{server.port}{path}"], capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out or "Socket errors" in out:
        raise Failure(f"wrk saw errors on {path}:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return rate, float(p99.group(1)) * scale


class Bench:
    """registry-bench, the Swift side of the harness: it prints one JSON object per run."""

    def __init__(self, binary, wrapper=()):
        """`wrapper`: the command it runs under (taskset)."""
        self.binary = binary
        self.wrapper = list(wrapper)

    def __call__(self, *arguments):
        result = subprocess.run([*self.wrapper, self.binary, *map(str, arguments)], capture_output=True, text=True)
        if result.returncode != 0:
            raise Failure(f"registry-bench {' '.join(map(str, arguments))}: {result.stderr.strip()[-2000:]}")
        return json.loads(result.stdout)

    def load(self, server, path, *options):
        return self("load", f"http://127.0.0.1:{server.port}{path}", *options)

    def pull(self, server, path, size, *options):
        """GETs of a blob, read and discarded, checked for their status and length."""
        return self("pull", f"http://127.0.0.1:{server.port}{path}", "--size", size, *options)


# MARK: driver

class Table:
    def __init__(self):
        self.rows = []

    def add(self, scenario, unit, ours_value, reference_value, higher_is_better=True, ceiling=None):
        ratio = ours_value / reference_value if reference_value else float("inf")
        if not higher_is_better:
            ratio = reference_value / ours_value if ours_value else float("inf")
        self.rows.append((scenario, unit, ours_value, reference_value, ratio, ceiling))
        print(f"  {scenario}: ours {ours_value:.2f} {unit}, reference {reference_value:.2f} {unit}", flush=True)

    def print(self):
        print()
        print("ratio = how many times better ours is (ours/reference, or reference/ours where lower is better)")
        print(f"{'scenario':46} {'unit':6} {'ours':>10} {'reference':>10} {'ratio':>8}  ceiling")
        for scenario, unit, mine, theirs, ratio, ceiling in self.rows:
            print(f"{scenario:46} {unit:6} {mine:10.2f} {theirs:10.2f} {ratio:7.2f}x  {ceiling or ''}")


def median_of(rounds, servers, measure):
    """Runs `measure(server, round)` for each server, alternating, `rounds` times; returns medians."""
    samples = {server.name: [] for server in servers}
    for round in range(rounds):
        for server in servers:
            samples[server.name].append(measure(server, round))
    return {name: statistics.median(values) for name, values in samples.items()}


def scale_scenario(args, bench, servers, table):
    """Listing latency as repositories and tags grow: one client, sequential requests."""
    def latency(server, path):
        result = bench.load(server, path, "--connections", 1, "--seconds", args.latency_seconds)
        return result["p50_ms"]

    catalog = {}
    for count in (10, 1000, 10000):
        for server in servers:
            # bench/seed-base is one of the repositories.
            bench("seed", f"http://127.0.0.1:{server.port}", "--first", catalog.get("seeded", 0),
                  "--repositories-up-to", count - 1)
        catalog["seeded"] = count - 1
        result = {server.name: latency(server, "/v2/_catalog?n=100") for server in servers}
        catalog[count] = result
        table.add(f"_catalog?n=100, {count} repositories", "ms", result["ours"], result["reference"], higher_is_better=False)
    tags = {}
    for count in (10, 1000, 10000):
        for server in servers:
            bench("seed", f"http://127.0.0.1:{server.port}", "--tags", count, "--repository", f"bench/tags-{count}")
        result = {server.name: latency(server, f"/v2/bench/tags-{count}/tags/list?n=100") for server in servers}
        tags[count] = result
        table.add(f"tags/list?n=100, {count} tags", "ms", result["ours"], result["reference"], higher_is_better=False)
    for name, figures in (("_catalog", catalog), ("tags/list", tags)):
        growth = {server.name: figures[10000][server.name] / figures[10][server.name] for server in servers}
        table.add(f"{name} latency growth 10 -> 10 000", "x", growth["ours"], growth["reference"],
                  higher_is_better=False, ceiling="target: ours <= 2x")


def self_signed_certificate(work):
    """A P-256 certificate and key for 127.0.0.1, made once per run."""
    certificate, key = os.path.join(work, "tls-cert.pem"), os.path.join(work, "tls-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", certificate], check=True, capture_output=True)
    return certificate, key


def curl(server, arguments, what):
    """Runs curl against `server`; returns (its -w output split, curl's CPU seconds, the server's CPU seconds)."""
    before, server_before = resource.getrusage(resource.RUSAGE_CHILDREN), server.cpu_seconds()
    result = subprocess.run(["curl", "-sSk", *arguments], capture_output=True, text=True)
    after, server_after = resource.getrusage(resource.RUSAGE_CHILDREN), server.cpu_seconds()
    if result.returncode != 0:
        raise Failure(f"{what}: curl exited {result.returncode}: {result.stderr.strip()}")
    client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result.stdout.split(), client_cpu, server_after - server_before


def tls_push(server, blob, digest, size, version, work):
    """Monolithic PUT of `blob` with curl over HTTPS; returns (MiB/s, curl CPU s, server CPU s)."""
    connection, location = start_upload(server, "bench/tls")
    connection.close()
    url = with_digest(location if location.startswith("http") else server.base_url + location, digest)
    headers = os.path.join(work, "tls-push-headers")
    (code, http_version, speed), client_cpu, server_cpu = curl(server, [
        f"--http{version}", "-X", "PUT", "--data-binary", f"@{blob}", "-H", "Content-Type: application/octet-stream",
        "-D", headers, "-o", "/dev/null", "-w", "%{http_code} %{http_version} %{speed_upload}", url], "TLS PUT")
    with open(headers) as f:
        returned = [line.split(":", 1)[1].strip() for line in f if line.lower().startswith("docker-content-digest:")]
    if code != "201" or http_version != version or returned != [digest]:
        raise Failure(f"TLS PUT over HTTP/{version}: got {code} over HTTP/{http_version}, digest {returned}")
    return float(speed) / MIB, client_cpu, server_cpu


def tls_pull(server, digest, size, version):
    """GET of the blob with curl over HTTPS, discarded; returns (MiB/s, curl CPU s, server CPU s)."""
    (code, http_version, length, speed), client_cpu, server_cpu = curl(server, [
        f"--http{version}", "-o", "/dev/null", "-w", "%{http_code} %{http_version} %{size_download} %{speed_download}",
        f"{server.base_url}/v2/bench/tls/blobs/{digest}"], "TLS GET")
    if code != "200" or http_version != version or int(length) != size:
        raise Failure(f"TLS GET over HTTP/{version}: got {code} over HTTP/{http_version}, {length} of {size} bytes")
    return float(speed) / MIB, client_cpu, server_cpu


def tls_scenario(args, registry, work, table, blob, digest, size):
    """Push and pull of one large blob over HTTPS, HTTP/1.1 and HTTP/2, with curl (OpenSSL, nghttp2): the
    path a private registry serves. Beside each figure, CPU seconds per GiB of curl and of the server."""
    certificate = self_signed_certificate(work)
    servers = [ours(registry, work, tls=certificate), reference(args.reference, work, tls=certificate)]
    gib = size / (1024 * MIB)

    def rounds(name, version, measure):
        samples = {server.name: [] for server in servers}
        for _ in range(args.rounds):
            for server in servers:
                samples[server.name].append(measure(server, version))
        medians = {name: [statistics.median(sample[i] for sample in values) for i in range(3)]
                   for name, values in samples.items()}
        cpu = "; ".join(f"{name}: curl {figures[1] / gib:.2f}, server {figures[2] / gib:.2f}"
                        for name, figures in medians.items())
        table.add(f"{name} {args.size_mib} MiB, HTTP/{version}", "MiB/s", medians["ours"][0], medians["reference"][0],
                  ceiling=f"CPU-s/GiB {cpu}")

    try:
        # The blob is stored once and written back to disk; each pull scenario starts with one
        # pull per server that is not counted (a blob just pushed need not be in the page cache:
        # ours writes uploads with O_DIRECT), so that the rounds compare the servers, not the disk.
        for server in servers:
            tls_push(server, blob, digest, size, "1.1", work)
        os.sync()
        for version in ("1.1", "2"):
            for server in servers:
                tls_pull(server, digest, size, version)
            rounds("TLS pull: one blob", version, lambda server, version: tls_pull(server, digest, size, version))
        for version in ("1.1", "2"):
            rounds("TLS push: monolithic PUT", version,
                   lambda server, version: tls_push(server, blob, digest, size, version, work))
        rss = {server.name: server.peak_rss_mib() for server in servers}
        table.add("peak RSS of the TLS servers", "MiB", rss["ours"], rss["reference"], higher_is_better=False)
    finally:
        for server in servers:
            server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", required=True, help="our release build of `registry`")
    parser.add_argument("--bench", help="release build of `registry-bench` (default: beside --registry)")
    parser.add_argument("--reference", default="/usr/bin/docker-registry")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--load-seconds", type=int, default=8)
    parser.add_argument("--latency-seconds", type=int, default=3)
    parser.add_argument("--work-dir", help="where the two storage roots go (default: a new temporary directory); "
                        "put it on the file system you mean to measure")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["push", "pull", "tls", "small", "pushes", "scale", "close", "redirect"],
                        help="leave a scenario out (repeatable; `redirect` is the cluster's redirected pulls)")
    parser.add_argument("--backend", choices=["local", "cluster", "features", "ui"], default="local",
                        help="local: one process on a file system root each (default); cluster: two replicas of ours on "
                        "PostgreSQL + radosgw against the reference on the same radosgw (Benchmarks/cluster_bench.py); "
                        "features: ours with metrics, audit and rate limits off and on (Benchmarks/features_bench.py); "
                        "ui: the web UI's page times with 10 000 repositories (Benchmarks/ui_bench.py)")
    ui = parser.add_argument_group("--backend ui")
    ui.add_argument("--repositories", type=int, default=10_000)
    ui.add_argument("--tags", type=int, default=1_000, help="tags of the one large repository")
    features = parser.add_argument_group("--backend features")
    features.add_argument("--variants", default="control,metrics,audit,limits,all",
                          help="which of control, metrics, audit, limits, quotas, all to measure against off (comma-separated)")
    features.add_argument("--push-blobs", type=int, default=1000,
                          help="blobs per round of the small pushes (and a tenth as many manifests)")
    cluster = parser.add_argument_group("--backend cluster")
    cluster.add_argument("--store", choices=["memstore", "bluestore"], default="bluestore",
                         help="the OSD's object store (scripts/engines/start.sh --store); bluestore keeps the data on disk")
    cluster.add_argument("--store-gib", type=int, default=16, help="size of the OSD's store (sparse with bluestore)")
    cluster.add_argument("--chunked-mib", type=int, default=256,
                         help="size of the blob of the 16 MiB-chunk pushes (our replicas re-read an upload each time its "
                         "chunks change replica: the cost grows with the square of the size)")
    cluster.add_argument("--engines-env", help="use engines already running: a file of start.sh's `export` lines "
                         "(they are not stopped)")
    cluster.add_argument("--small-blobs", type=int, default=300, help="blobs per round of the small pushes")
    cluster.add_argument("--small-manifests", type=int, default=30, help="manifests per round of the small pushes")
    args = parser.parse_args()
    bench_binary = os.path.abspath(args.bench or os.path.join(os.path.dirname(args.registry), "registry-bench"))
    if not os.path.exists(bench_binary):
        sys.exit(f"{bench_binary} does not exist: build it (swift build -c release --product registry-bench) or give --bench")
    if args.backend == "ui":
        import ui_bench
        ui_bench.run(args)
        return
    if args.backend == "cluster":
        import cluster_bench
        args.registry = os.path.abspath(args.registry)
        cluster_bench.run(args, Bench(bench_binary))
        return
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    bench = Bench(bench_binary)
    if args.backend == "features":
        import features_bench
        args.registry = os.path.abspath(args.registry)
        features_bench.run(args, bench)
        return

    work = tempfile.mkdtemp(prefix="bench-", dir=args.work_dir)
    table = Table()
    servers = [ours(os.path.abspath(args.registry), work), reference(args.reference, work)]
    try:
        print("== SHA-256 on one core (swift-crypto): the push ceiling", flush=True)
        sha_rate = bench("sha256", "--mib", args.size_mib)["mib_per_s"]
        print(f"  {sha_rate:.0f} MiB/s", flush=True)
        print("== durable writes to the roots' file system (write + fsync, as a push must)", flush=True)
        disk_rate = durable_write_rate(work, args.size_mib)
        print(f"  {disk_rate:.0f} MiB/s", flush=True)
        ceiling = (f"SHA-256 {sha_rate:.0f} MiB/s on one core (target >= {0.8 * sha_rate:.0f}); "
                   f"disk {disk_rate:.0f} MiB/s")

        if "scale" not in args.skip:
            print("== listings as repositories and tags grow", flush=True)
            scale_scenario(args, bench, servers, table)

        size = args.size_mib * MIB
        blob = os.path.join(work, "blob.bin")
        with open(blob, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(MIB))
        sha = hashlib.sha256()
        with open(blob, "rb") as f:
            while chunk := f.read(8 * MIB):
                sha.update(chunk)
        digest = "sha256:" + sha.hexdigest()

        if "push" not in args.skip:
            print(f"== push {args.size_mib} MiB", flush=True)
            for name, push in (("push: monolithic PUT", push_monolithic), ("push: streamed chunked PATCH", push_streamed),
                               ("push: 16 MiB chunks", push_chunked)):
                def measure(server, round, push=push):
                    started = time.perf_counter()
                    push(server, blob, digest, size)
                    return args.size_mib / (time.perf_counter() - started)
                result = median_of(args.rounds, servers, measure)
                table.add(f"{name} {args.size_mib} MiB", "MiB/s", result["ours"], result["reference"], ceiling=ceiling)

        if "pull" not in args.skip:
            print(f"== pull", flush=True)
            for server in servers:
                push_monolithic(server, blob, digest, size)

            def measure_pull(server, round):
                return bench.pull(server, f"/v2/bench/push/blobs/{digest}", size)["mib_per_s"]
            result = median_of(args.rounds, servers, measure_pull)
            table.add(f"pull: one blob {args.size_mib} MiB", "MiB/s", result["ours"], result["reference"])

            small = os.urandom(64 * MIB)
            small_digest = "sha256:" + hashlib.sha256(small).hexdigest()
            for server in servers:
                push_blob_bytes(server, "bench/pull8", small)

            def measure_parallel(server, round):
                return bench.pull(server, f"/v2/bench/pull8/blobs/{small_digest}", len(small), "--parallel", 8)["mib_per_s"]
            result = median_of(args.rounds, servers, measure_parallel)
            table.add("pull: 8 concurrent x 64 MiB", "MiB/s", result["ours"], result["reference"])

        if "tls" not in args.skip:
            print(f"== TLS (curl): push and pull {args.size_mib} MiB over HTTP/1.1 and HTTP/2", flush=True)
            tls_scenario(args, os.path.abspath(args.registry), work, table, blob, digest, size)
        os.remove(blob)

        if "small" not in args.skip or "close" not in args.skip:
            layer = [seed_manifest(server) for server in servers][0]
        if "small" not in args.skip:
            print("== small requests, 64 connections", flush=True)
            for name, path, headers in (("GET /v2/", "/v2/", ()),
                                        ("GET manifest by tag", "/v2/bench/small/manifests/latest", (f"Accept: {ACCEPT}",)),
                                        ("GET tags/list", "/v2/bench/small/tags/list", ())):
                results = {server.name: wrk(server, path, args.load_seconds, headers) for server in servers}
                table.add(f"{name} (wrk)", "req/s", results["ours"][0], results["reference"][0])
                table.add(f"{name} p99 latency", "ms", results["ours"][1], results["reference"][1], higher_is_better=False)
            results = {server.name: bench.load(server, f"/v2/bench/small/blobs/{layer}", "--method", "HEAD",
                                               "--seconds", args.load_seconds) for server in servers}
            table.add("HEAD blob (registry-bench load)", "req/s", results["ours"]["requests_per_s"],
                      results["reference"]["requests_per_s"])
            table.add("HEAD blob p99 latency", "ms", results["ours"]["p99_ms"], results["reference"]["p99_ms"],
                      higher_is_better=False)

        if "close" not in args.skip:
            print("== Connection: close, 64 clients, one request per connection", flush=True)
            results = {server.name: bench.load(server, "/v2/bench/small/manifests/latest", "--close",
                                               "--header", f"Accept: {ACCEPT}", "--seconds", args.load_seconds)
                       for server in servers}
            table.add("GET manifest, Connection: close", "req/s", results["ours"]["requests_per_s"],
                      results["reference"]["requests_per_s"])
            table.add("GET manifest, Connection: close, p99", "ms", results["ours"]["p99_ms"],
                      results["reference"]["p99_ms"], higher_is_better=False)

        if "pushes" not in args.skip:
            print("== many small pushes: 2 000 x 4 KiB blobs + 200 manifests, 20 repositories, 16 workers", flush=True)
            result = median_of(args.rounds, servers, lambda server, round: bench(
                "pushes", f"http://127.0.0.1:{server.port}", "--seed", round)["operations_per_s"])
            table.add("small pushes (blobs + manifests)", "ops/s", result["ours"], result["reference"])

        rss = {server.name: server.peak_rss_mib() for server in servers}
        table.add("peak RSS over the run", "MiB", rss["ours"], rss["reference"], higher_is_better=False)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    table.print()


if __name__ == "__main__":
    main()
