#!/usr/bin/env python3
"""Measures our registry and the reference registry (CNCF distribution 2.8, Debian's
docker-registry) side by side, on loopback, alternating, and prints medians and ratios.

    swift build -c release --product registry
    python3 scripts/bench/bench.py --registry .build/release/registry [--rounds 3] [--size-mib 1024]

First version: blob push (monolithic PUT, one streamed chunked PATCH, 16 MiB chunks), blob pull
(one large, eight concurrent), small requests with wrk (GET /v2/, GET manifest by tag with a
docker-like Accept list, GET tags/list), and the peak RSS of each server. Every response is
checked; a failed request is an error, never a figure.
"""
import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from harness import Background, free_port  # noqa: E402

MIB = 1024 * 1024
ACCEPT = ("application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, "
          "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json")


class Failure(Exception):
    pass


class Server:
    def __init__(self, name, command, port, env=None, log=None):
        self.name = name
        self.port = port
        self.daemon = Background(command, log, env)
        self.daemon.wait_for(self.ready, name)

    def ready(self):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            connection.request("GET", "/v2/")
            return connection.getresponse().status == 200
        except OSError:
            return False

    def peak_rss_mib(self):
        with open(f"/proc/{self.daemon.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def stop(self):
        self.daemon.stop()


def ours(binary, work):
    port = free_port()
    env = dict(os.environ, REGISTRY_LOG_LEVEL="warning")
    return Server("ours", [binary, "serve", "--root", os.path.join(work, "ours"), "--listen", f"127.0.0.1:{port}"],
                  port, env, os.path.join(work, "ours.log"))


def reference(binary, work):
    port = free_port()
    config = os.path.join(work, "reference.yml")
    with open(config, "w") as f:
        f.write(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {work}/reference
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
""")
    return Server("reference", [binary, "serve", config], port, log=os.path.join(work, "reference.log"))


def expect_status(response, wanted, what):
    if response.status not in wanted:
        body = response.read(300)
        raise Failure(f"{what}: expected {wanted}, got {response.status} {body!r}")
    response.read()


# MARK: operations

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


def pull(server, repository, digest, size):
    connection = server.connection()
    connection.request("GET", f"/v2/{repository}/blobs/{digest}")
    response = connection.getresponse()
    if response.status != 200:
        raise Failure(f"GET blob: {response.status}")
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    received = 0
    while True:
        count = response.readinto(view)
        if not count:
            break
        received += count
    if received != size:
        raise Failure(f"GET blob: {received} bytes, expected {size}")


def push_blob_bytes(server, repository, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    connection, location = start_upload(server, repository)
    connection.request("PUT", with_digest(location, digest), body=data, headers={"Content-Type": "application/octet-stream"})
    expect_status(connection.getresponse(), (201,), "PUT small blob")
    return digest


def seed_manifest(server):
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = os.urandom(4096)
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


def wrk(server, path, seconds, headers=()):
    command = ["wrk", "-t", "2", "-c", "64", "-d", f"{seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run(command + [f"http://127.0.0.1:{server.port}{path}"], capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out or "Socket errors" in out and "timeout" in out:
        raise Failure(f"wrk saw errors on {path}:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return rate, float(p99.group(1)) * scale


# MARK: driver

class Table:
    def __init__(self):
        self.rows = []

    def add(self, scenario, unit, ours_value, reference_value, higher_is_better=True, ceiling=None):
        ratio = ours_value / reference_value if reference_value else float("inf")
        if not higher_is_better:
            ratio = reference_value / ours_value if ours_value else float("inf")
        self.rows.append((scenario, unit, ours_value, reference_value, ratio, ceiling))
        print(f"  {scenario}: ours {ours_value:.1f} {unit}, reference {reference_value:.1f} {unit}", flush=True)

    def print(self):
        print()
        print(f"{'scenario':44} {'unit':8} {'ours':>10} {'reference':>10} {'ratio':>7}  ceiling")
        for scenario, unit, mine, theirs, ratio, ceiling in self.rows:
            print(f"{scenario:44} {unit:8} {mine:10.1f} {theirs:10.1f} {ratio:6.2f}x  {ceiling or ''}")


def median_of(rounds, servers, measure):
    """Runs `measure(server)` for each server, alternating, `rounds` times; returns medians."""
    samples = {server.name: [] for server in servers}
    for _ in range(rounds):
        for server in servers:
            samples[server.name].append(measure(server))
    return {name: statistics.median(values) for name, values in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--reference", default="/usr/bin/docker-registry")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--wrk-seconds", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")

    work = tempfile.mkdtemp(prefix="bench-")
    table = Table()
    servers = [ours(os.path.abspath(args.registry), work), reference(args.reference, work)]
    try:
        size = args.size_mib * MIB
        blob = os.path.join(work, "blob.bin")
        with open(blob, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(MIB))
        started = time.perf_counter()
        sha = hashlib.sha256()
        with open(blob, "rb") as f:
            while chunk := f.read(8 * MIB):
                sha.update(chunk)
        sha_rate = size / MIB / (time.perf_counter() - started)
        digest = "sha256:" + sha.hexdigest()
        ceiling = f"SHA-256 {sha_rate:.0f} MiB/s (one core, OpenSSL)"

        for name, push in (("push: monolithic PUT", push_monolithic), ("push: streamed chunked PATCH", push_streamed),
                           ("push: 16 MiB chunks", push_chunked)):
            def measure(server, push=push):
                started = time.perf_counter()
                push(server, blob, digest, size)
                return args.size_mib / (time.perf_counter() - started)
            result = median_of(args.rounds, servers, measure)
            table.add(f"{name} {args.size_mib} MiB", "MiB/s", result["ours"], result["reference"], ceiling=ceiling)

        def measure_pull(server):
            started = time.perf_counter()
            pull(server, "bench/push", digest, size)
            return args.size_mib / (time.perf_counter() - started)
        result = median_of(args.rounds, servers, measure_pull)
        table.add(f"pull: one blob {args.size_mib} MiB", "MiB/s", result["ours"], result["reference"])

        small = os.urandom(64 * MIB)
        small_digest = "sha256:" + hashlib.sha256(small).hexdigest()
        for server in servers:
            push_blob_bytes(server, "bench/pull8", small)

        def measure_parallel(server):
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                for future in [pool.submit(pull, server, "bench/pull8", small_digest, len(small)) for _ in range(8)]:
                    future.result()
            return 8 * 64 / (time.perf_counter() - started)
        result = median_of(args.rounds, servers, measure_parallel)
        table.add("pull: 8 concurrent x 64 MiB", "MiB/s", result["ours"], result["reference"])

        for server in servers:
            seed_manifest(server)
        for name, path, headers in (("GET /v2/", "/v2/", ()),
                                    ("GET manifest by tag", "/v2/bench/small/manifests/latest", (f"Accept: {ACCEPT}",)),
                                    ("GET tags/list", "/v2/bench/small/tags/list", ())):
            results = {server.name: wrk(server, path, args.wrk_seconds, headers) for server in servers}
            table.add(f"{name} (64 connections)", "req/s", results["ours"][0], results["reference"][0])
            table.add(f"{name} p99 latency", "ms", results["ours"][1], results["reference"][1], higher_is_better=False)

        rss = {server.name: server.peak_rss_mib() for server in servers}
        table.add("peak RSS over the run", "MiB", rss["ours"], rss["reference"], higher_is_better=False)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    table.print()


if __name__ == "__main__":
    main()
