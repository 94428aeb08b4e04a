#!/usr/bin/env python3
"""What the web UI's pages take with a large registry: 10 000 repositories (each with an image
whose layer they all share) and one repository with 1 000 tags, filesystem + SQLite.

    swift build -c release --product registry && swift build -c release --product registry-bench
    python3 Benchmarks/bench.py --backend ui --registry .build/release/registry [--repositories 10000] [--tags 1000]

Each page is fetched 30 times one after another on a kept-alive connection (a person's browser,
not a load test); the table gives the median and the 95th percentile in milliseconds, against
the target of 50 ms.
"""
import concurrent.futures
import hashlib
import http.client
import json
import os
import shutil
import statistics
import tempfile
import time

from bench import Server
from harness import free_port

TARGET_MS = 50


def start(binary, work):
    port = free_port()
    config = os.path.join(work, "ui.yaml")
    with open(config, "w") as f:
        f.write(f"http:\n  listen: 127.0.0.1:{port}\nstorage:\n  root: {work}/root\nlog:\n  level: warning\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}
    return Server("ours", [binary, "serve", "--config", config], port, env, os.path.join(work, "registry.log"))


class Client:
    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def send(self, method, path, body=None, headers=None):
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        data = response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path} answered {response.status}: {data[:200]!r}")
        return response.status, data


def blob(client, repository, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client.send("POST", f"/v2/{repository}/blobs/uploads/?digest={digest}", data, {"Content-Type": "application/octet-stream"})
    return {"digest": digest, "size": len(data)}


def seed(port, repositories, tags):
    """One image in `ui/seed`; every other repository mounts its blobs and tags its manifest;
    `ui/many-tags` gets `tags` tags, each on a manifest of its own."""
    client = Client(port)
    config = blob(client, "ui/seed", json.dumps({"architecture": "amd64", "os": "linux",
                                                 "rootfs": {"type": "layers", "diff_ids": []}}).encode())
    layer = blob(client, "ui/seed", os.urandom(4096))
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}]}).encode()
    headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
    client.send("PUT", "/v2/ui/seed/manifests/v1", manifest, headers)

    def repository_range(start, stop):
        worker = Client(port)
        for index in range(start, stop):
            name = f"team-{index % 100:02d}/app-{index:05d}"
            for descriptor in (config, layer):
                worker.send("POST", f"/v2/{name}/blobs/uploads/?mount={descriptor['digest']}&from=ui/seed")
            worker.send("PUT", f"/v2/{name}/manifests/v1", manifest, headers)

    started = time.time()
    workers = 8
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        step = (repositories + workers - 1) // workers
        list(pool.map(lambda start: repository_range(start, min(start + step, repositories)), range(0, repositories, step)))
    for descriptor in (config, layer):
        client.send("POST", f"/v2/ui/many-tags/blobs/uploads/?mount={descriptor['digest']}&from=ui/seed")
    for index in range(tags):
        variant = dict(json.loads(manifest), annotations={"n": str(index)})
        client.send("PUT", f"/v2/ui/many-tags/manifests/t{index:04d}", json.dumps(variant).encode(), headers)
    print(f"seeded {repositories} repositories and {tags} tags in {time.time() - started:.0f} s", flush=True)
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    return digest, layer["digest"]


def measure(port, path, rounds=30):
    client = Client(port)
    client.send("GET", path)  # warm
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        client.send("GET", path)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def run(args, bench=None):
    work = tempfile.mkdtemp(prefix="ui-bench-", dir=args.work_dir)
    server = start(os.path.abspath(args.registry), work)
    try:
        image, layer = seed(server.port, args.repositories, args.tags)
        middle = f"team-50/app-{args.repositories // 2:05d}"
        pages = [
            ("repositories, first page", "/"),
            ("repositories, a page in the middle", f"/?after={middle}"),
            ("repositories, search (scans every name)", "/?q=app-0999"),
            (f"repository with {args.tags} tags, first page", "/ui/repository?repository=ui/many-tags"),
            (f"repository with {args.tags} tags, last page", f"/ui/repository?repository=ui/many-tags&after=t{args.tags - 20:04d}"),
            ("image (layer shared by every repository)", f"/ui/image?repository=ui/seed&digest={image}&tag=v1"),
            ("layer (used by every repository)", f"/ui/layer?repository=ui/seed&digest={layer}"),
        ]
        print()
        print(f"{'page':52} {'median ms':>10} {'p95 ms':>8}   target {TARGET_MS} ms")
        for name, path in pages:
            median, p95 = measure(server.port, path)
            print(f"{name:52} {median:10.1f} {p95:8.1f}   {'ok' if p95 < TARGET_MS else 'OVER'}")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
