#!/usr/bin/env python3
"""Garbage collection at scale: fills a registry with many small images, deletes half of the
tags, then runs `registry gc` (dry run, then for real) and the other maintenance commands on the
root while the server keeps serving, and prints their time and peak memory.

    swift build -c release --product registry && swift build -c release --product registry-bench
    python3 Benchmarks/gc_scale.py --registry .build/release/registry [--manifests 10000] [--blobs 50000]

Each manifest references a config and one layer of its repository; the blobs no manifest uses
stand for layers of pushes that never finished. Deleting half of the tags leaves those manifests
untagged, so `gc --delete-untagged` deletes them, their layers and every unused blob. Afterwards
every kept image is pulled in full to check that nothing it needs went.
"""
import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "interop"))
from harness import Background, free_port  # noqa: E402


def request(port, method, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def measured(command):
    """Runs `command` under /usr/bin/time; returns its output, seconds and peak RSS in MiB."""
    result = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    seconds, kib = result.stderr.strip().splitlines()[-1].split()
    return result.stdout, float(seconds), int(kib) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--bench", help="registry-bench (default: beside --registry)")
    parser.add_argument("--manifests", type=int, default=10_000)
    parser.add_argument("--blobs", type=int, default=50_000)
    parser.add_argument("--repositories", type=int, default=100)
    parser.add_argument("--work-dir")
    args = parser.parse_args()
    registry = os.path.abspath(args.registry)
    bench = os.path.abspath(args.bench or os.path.join(os.path.dirname(registry), "registry-bench"))

    work = tempfile.mkdtemp(prefix="gc-scale-", dir=args.work_dir)
    root = os.path.join(work, "root")
    config = os.path.join(work, "registry.yml")
    with open(config, "w") as f:
        f.write("gc:\n  interval: off\n  grace_period: 1s\n")
    port = free_port()
    server = Background([registry, "serve", "--root", root, "--config", config, "--listen", f"127.0.0.1:{port}"],
                        os.path.join(work, "serve.log"), env=dict(os.environ, REGISTRY_LOG_LEVEL="warning"))
    try:
        def answers():
            try:
                return request(port, "GET", "/v2/")[0] == 200
            except OSError:
                return False
        server.wait_for(answers, "the registry")
        print(f"== filling: {args.blobs} blobs, {args.manifests} manifests, {args.repositories} repositories", flush=True)
        started = time.time()
        subprocess.run([bench, "pushes", f"http://127.0.0.1:{port}", "--blobs", str(args.blobs), "--size", "1024",
                        "--manifests", str(args.manifests), "--repositories", str(args.repositories)],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"  {time.time() - started:.1f} s", flush=True)

        # pushes names repositories bench/small-0/r<n> and tags v<k>, manifest k of each repository.
        per_repository = args.manifests // args.repositories
        doomed = [(r, k) for r in range(args.repositories) for k in range(per_repository) if k % 2 == 1]
        kept = [(r, k) for r in range(args.repositories) for k in range(per_repository) if k % 2 == 0]
        print(f"== deleting {len(doomed)} tags", flush=True)

        def delete(item):
            r, k = item
            status, body = request(port, "DELETE", f"/v2/bench/small-0/r{r}/manifests/v{k}")
            if status != 202:
                raise RuntimeError(f"DELETE r{r}:v{k}: {status} {body[:200]!r}")
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(delete, doomed))
        time.sleep(1.5)  # past the grace period

        rows = []
        for title, command in [
            ("gc --dry-run --delete-untagged", ["gc", "--dry-run", "--delete-untagged", "--json"]),
            ("gc --delete-untagged", ["gc", "--delete-untagged", "--json"]),
            ("du", ["du"]),
            ("scrub", ["scrub"]),
        ]:
            print(f"== registry {title} (while serving)", flush=True)
            output, seconds, rss = measured([registry] + command + ["--root", root, "--config", config])
            detail = ""
            if command[0] == "gc":
                deleted = json.loads(output)["deleted"]
                detail = (f"{deleted['manifests_deleted']} manifests, {deleted['blobs_deleted']} blobs, "
                          f"{deleted['bytes_reclaimed'] / 2**20:.1f} MiB")
            elif command[0] == "scrub":
                detail = output.strip().splitlines()[0]
            rows.append((title, seconds, rss, detail))
            print(f"  {seconds:.2f} s, peak RSS {rss:.1f} MiB  {detail}", flush=True)

        print(f"== pulling the {len(kept)} kept images in full", flush=True)

        def pull(item):
            r, k = item
            status, body = request(port, "GET", f"/v2/bench/small-0/r{r}/manifests/v{k}",
                                   {"Accept": "application/vnd.oci.image.manifest.v1+json"})
            if status != 200:
                raise RuntimeError(f"kept manifest r{r}:v{k} is gone: {status}")
            manifest = json.loads(body)
            for descriptor in [manifest["config"]] + manifest["layers"]:
                status, blob = request(port, "GET", f"/v2/bench/small-0/r{r}/blobs/{descriptor['digest']}")
                if status != 200 or "sha256:" + hashlib.sha256(blob).hexdigest() != descriptor["digest"]:
                    raise RuntimeError(f"blob {descriptor['digest']} of kept image r{r}:v{k}: {status}")
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(pull, kept))
        print("  all complete", flush=True)

        print()
        print(f"{args.manifests} manifests / {args.blobs} blobs, half of the tags deleted; "
              "each command run on the root while `registry serve` serves it")
        print(f"{'command':34} {'seconds':>8} {'peak RSS':>10}  result")
        for title, seconds, rss, detail in rows:
            print(f"{title:34} {seconds:8.2f} {rss:7.1f} MiB  {detail}")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
