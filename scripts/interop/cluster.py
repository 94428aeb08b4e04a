#!/usr/bin/env python3
"""Cluster mode end to end: two `registry serve` replicas, A and B, with the same configuration
(blobs in a radosgw bucket, metadata in PostgreSQL), driven by the real clients.

    cluster.py --registry .build/debug/registry [--big-mib 100] [--kill-mib 200] [--clients ...]

Uses the engines named by the REGISTRY_TEST_* variables of scripts/engines/start.sh, or starts
its own (and stops them at the end). Checks, each printed PASS or FAIL:
- every client check of interop.py (skopeo, docker, podman, buildah, ctr), pushing through A and
  pulling through B, digests compared; once streaming blobs, once with `storage.redirect: true`
  (the replica logs must show that B answered the clients' blob GETs with 307s, and a curl
  fetches a blob through the presigned URL);
- a tag moved on A (by skopeo) is served by B within 1 s (the delays are printed);
- a chunked upload whose PATCHes alternate between A and B completes;
- garbage collection looping on A (`POST /v2/_admin/gc`) while skopeo pushes, deletes and
  re-pushes through B: every image pushed pulls intact afterwards, through both replicas;
- `kill -9` of A in the middle of a skopeo push; the same push retried against B succeeds and
  pulls back with the same digest; an upload session whose replica was killed mid-PATCH is
  resumed on B from the offset B reports; A restarted serves what B stored meanwhile;
- registry-conformance against A, and against B while A is dead: N passed, 0 failed, 0 skipped;
- event delivery: A, the replica delivering events, is killed while events B wrote wait for a
  receiver that was down; B takes the delivery over and every event arrives, in order.

The last lines are figures (MiB/s per client through the replicas, with and without redirect,
tag propagation delays) and `N passed, M failed`. Exit status 1 when anything failed.
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (MANIFEST_TYPES, CheckFailed, Registry, Suite, expect, registry_environment, run,  # noqa: E402
                     timed, tool_available)
from interop import CLIENTS, Context, Images, client_checks, work_directory  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINES = os.path.join(HERE, "..", "engines")
# How long a replica may serve what it had cached after another replica changed it (the README:
# "within 0.5 s"), plus a margin.
SETTLE_SECONDS = 0.6
GRACE_SECONDS = 8


# MARK: engines and the bucket

class Engines:
    """PostgreSQL and radosgw: those of the REGISTRY_TEST_* variables, or started here."""

    def __init__(self, store, store_gib):
        self.started_dir = None
        if not (os.environ.get("REGISTRY_TEST_POSTGRES_URL") and os.environ.get("REGISTRY_TEST_S3_ENDPOINT")):
            started = time.time()
            out = subprocess.run([os.path.join(ENGINES, "start.sh"), "--store", store, "--store-gib", str(store_gib)],
                                 stdout=subprocess.PIPE, text=True, check=True).stdout
            for line in out.splitlines():
                match = re.match(r"export (\w+)=(.*)$", line)
                if match:
                    os.environ[match.group(1)] = match.group(2).strip("'\"")
            self.started_dir = os.environ["REGISTRY_TEST_ENGINES_DIR"]
            print(f"engines started in {time.time() - started:.1f} s ({self.started_dir})", flush=True)
        env = os.environ
        self.postgres_url = env["REGISTRY_TEST_POSTGRES_URL"]
        self.s3 = S3(env["REGISTRY_TEST_S3_ENDPOINT"], env.get("REGISTRY_TEST_S3_REGION", "us-east-1"),
                     env["REGISTRY_TEST_S3_BUCKET"], env["REGISTRY_TEST_S3_ACCESS_KEY"], env["REGISTRY_TEST_S3_SECRET_KEY"])

    def reclaim(self):
        """Has radosgw free the data of deleted objects now rather than hours later: on a
        memstore OSD, that data holds RAM (a peak of about 5 GiB over this suite otherwise, 1.7 GiB with)."""
        if os.environ.get("CEPH_CONF") and tool_available("radosgw-admin"):
            subprocess.run(["radosgw-admin", "gc", "process", "--include-all"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=300)

    def peak_memory(self):
        """Peak RSS of the engines started here, by daemon (from start.sh's list of PIDs)."""
        peaks = []
        if self.started_dir and os.path.exists(os.path.join(self.started_dir, "pids")):
            for line in open(os.path.join(self.started_dir, "pids")):
                name, pid = line.split()[:2]
                try:
                    status = open(f"/proc/{pid}/status").read()
                except OSError:
                    continue
                match = re.search(r"VmHWM:\s+(\d+) kB", status)
                if match:
                    peaks.append(f"{name} {int(match.group(1)) / 1048576:.2f} GiB")
        return ", ".join(peaks)

    def stop(self):
        if self.started_dir:
            subprocess.run([os.path.join(ENGINES, "stop.sh"), self.started_dir])


class S3:
    """Just enough of the S3 API (SigV4, ListObjectsV2) to see what the replicas store."""

    def __init__(self, endpoint, region, bucket, access_key, secret_key):
        self.endpoint, self.region, self.bucket = endpoint.rstrip("/"), region, bucket
        self.access_key, self.secret_key = access_key, secret_key

    def _signed_get(self, path, query):
        url = urllib.parse.urlsplit(self.endpoint)
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        canonical_query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                                   for k, v in sorted(query.items()))
        empty = hashlib.sha256(b"").hexdigest()
        headers = {"host": url.netloc, "x-amz-content-sha256": empty, "x-amz-date": amz_date}
        signed = ";".join(sorted(headers))
        canonical = "\n".join(["GET", urllib.parse.quote(path), canonical_query,
                               "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, empty])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + self.secret_key).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                                    f"SignedHeaders={signed}, Signature={signature}")
        request = urllib.request.Request(f"{self.endpoint}{urllib.parse.quote(path)}?{canonical_query}", headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def keys(self, prefix):
        """Every key under `prefix`, with its size."""
        found, token = {}, None
        while True:
            query = {"list-type": "2", "prefix": prefix, **({"continuation-token": token} if token else {})}
            root = ElementTree.fromstring(self._signed_get(f"/{self.bucket}", query))
            ns = {"s3": root.tag.split("}")[0].strip("{")} if root.tag.startswith("{") else {}
            tag = (lambda name: f"s3:{name}") if ns else (lambda name: name)
            for item in root.findall(tag("Contents"), ns):
                found[item.find(tag("Key"), ns).text] = int(item.find(tag("Size"), ns).text)
            if root.findtext(tag("IsTruncated"), "false", ns) != "true":
                return found
            token = root.findtext(tag("NextContinuationToken"), None, ns)

    def multipart_uploads(self, prefix):
        """Keys of the multipart uploads begun and neither completed nor aborted (first 1000)."""
        root = ElementTree.fromstring(self._signed_get(f"/{self.bucket}", {"uploads": "", "prefix": prefix}))
        return [element.text for element in root.iter() if element.tag.endswith("}Key") or element.tag == "Key"]

    def usage(self, prefix):
        """What is stored under `prefix`, by top-level folder, and the unfinished multipart uploads."""
        folders = {}
        for key, size in self.keys(prefix).items():
            folder = key[len(prefix):].split("/")[0]
            count, total = folders.get(folder, (0, 0))
            folders[folder] = (count + 1, total + size)
        described = ", ".join(f"{folder}/: {count} objects, {total / 1048576:.1f} MiB"
                              for folder, (count, total) in sorted(folders.items()))
        return f"{described or 'nothing'}; unfinished multipart uploads: {len(self.multipart_uploads(prefix))}"


# MARK: replicas

class Replica(Registry):
    """A `registry serve` of the cluster: blobs are keys in the bucket, not files in a root."""

    def __init__(self, binary, work, config, s3, prefix, port=0, log_name="registry.log"):
        self.config, self.s3, self.prefix = config, s3, prefix
        super().__init__(binary, work, extra_args=["--config", config], port=port, log_name=log_name)

    def blob_files(self, digest):
        algorithm, encoded = digest.split(":")
        return list(self.s3.keys(f"{self.prefix}blobs/{algorithm}/{encoded[:2]}/{encoded}"))

    def alive(self):
        return self.daemon.process.poll() is None


class Cluster:
    """Replicas A and B with one configuration: a fresh key prefix and PostgreSQL schema."""

    def __init__(self, binary, work, engines, name, redirect, extra_config=""):
        os.makedirs(work, exist_ok=True)
        self.binary, self.work, self.engines = binary, work, engines
        self.prefix = f"cluster-{name}-{os.urandom(4).hex()}/"
        self.config = os.path.join(work, "cluster.yaml")
        secret = os.path.join(work, "s3-secret")
        password = os.path.join(work, "db-password")
        url = urllib.parse.urlsplit(engines.postgres_url)
        with open(secret, "w") as f:
            f.write(engines.s3.secret_key + "\n")
        with open(password, "w") as f:
            f.write(urllib.parse.unquote(url.password or "") + "\n")
        os.chmod(secret, 0o600)
        os.chmod(password, 0o600)
        # The URL without its password: the replicas read it from password_file.
        netloc = f"{url.username}@{url.hostname}:{url.port}"
        schema = self.prefix.rstrip("/").replace("-", "_")
        with open(self.config, "w") as f:
            f.write(f"""# The same for both replicas.
storage:
  driver: s3
  redirect: {"true" if redirect else "false"}
  s3:
    endpoint: {engines.s3.endpoint}
    region: {engines.s3.region}
    bucket: {engines.s3.bucket}
    prefix: {self.prefix}
    access_key: {engines.s3.access_key}
    secret_key_file: {secret}
metadata:
  driver: postgres
  url: postgres://{netloc}{url.path}
  password_file: {password}
  schema: {schema}
  pool_size: 8
gc:
  interval: off
  grace_period: {GRACE_SECONDS}s
  delete_untagged: true
log:
  format: json
""" + extra_config)
        self.a = self.start("a")
        try:
            self.b = self.start("b")
        except BaseException:
            self.a.stop()
            raise

    def start(self, name, port=0, log_name="registry.log"):
        return Replica(self.binary, os.path.join(self.work, name), self.config, self.engines.s3, self.prefix,
                       port=port, log_name=log_name)

    def stop(self):
        for replica in (self.a, self.b):
            replica.stop()


# MARK: checks

def path_of(location):
    """An upload's Location as a path and query (the registry may answer an absolute URL)."""
    parts = urllib.parse.urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def oci_pull(host, reference, out, options=()):
    """skopeo copy of `host/reference` into an OCI layout; returns the manifest digest it got."""
    subprocess.run(["rm", "-rf", out])
    run(["skopeo", "copy", *options, "--src-tls-verify=false", f"docker://{host}/{reference}", f"oci:{out}:v1"])
    return json.load(open(os.path.join(out, "index.json")))["manifests"][0]["digest"]


def skopeo_push(images, layout, host, reference, options=()):
    run(["skopeo", "copy", *options, "--dest-tls-verify=false", images.oci(layout), f"docker://{host}/{reference}"])


def head_digest(replica, repository, reference):
    status, headers, _ = replica.request("HEAD", f"/v2/{repository}/manifests/{reference}", {"Accept": MANIFEST_TYPES})
    return headers.get("Docker-Content-Digest") if status == 200 else None


def conformance(binary, replica, work, name):
    out = os.path.join(work, f"conformance-{name}.txt")
    result = subprocess.run([binary, replica.url, "--spec", "dev"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=registry_environment(), timeout=900)
    with open(out, "w") as f:
        f.write(result.stdout)
    summary = [line for line in result.stdout.splitlines() if re.match(r"^\d+ passed, \d+ failed, \d+ skipped$", line)]
    expect(summary, f"registry-conformance printed no summary (exit {result.returncode}):\n{result.stdout[-2000:]}")
    failures = [line for line in result.stdout.splitlines() if line.startswith(("FAIL", "SKIP"))]
    expect(re.match(r"^\d+ passed, 0 failed, 0 skipped$", summary[-1]) and result.returncode == 0,
           f"{summary[-1]} (report {out}):\n" + "\n".join(failures[:20]))
    return summary[-1]


def tag_move_check(suite, cluster, images, work):
    a, b = cluster.a, cluster.b
    delays, from_put = [], []

    def put_time(since, repository):
        """When A logged the manifest PUT that moved the tag (the moment it answered 201)."""
        for entry in a.requests_since(since):
            if entry["method"] == "PUT" and entry.get("path") == f"/v2/{repository}/manifests/moving" \
                    and entry["status"] == "201" and "time" in entry:
                return datetime.datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()
        return None

    def body():
        repository = "tagmove/app"
        skopeo_push(images, "base", a.host, f"{repository}:moving")
        expected = {name: images.manifest(name)[0] for name in ("base", "second")}
        for round_number in range(6):
            name = ("second", "base")[round_number % 2]
            previous = ("base", "second")[round_number % 2]
            # B answers the old digest (and so has it cached) before the move.
            deadline = time.time() + 3
            while head_digest(b, repository, "moving") != expected[previous]:
                expect(time.time() < deadline, f"round {round_number}: B never served the tag's previous digest")
                time.sleep(0.01)
            mark = a.mark()
            skopeo_push(images, name, a.host, f"{repository}:moving")
            moved = time.time()
            while True:
                served = head_digest(b, repository, "moving")
                if served == expected[name]:
                    break
                expect(time.time() - moved < 5, f"round {round_number}: B still serves {served} 5 s after the move")
                time.sleep(0.005)
            served_at = time.time()
            delays.append(served_at - moved)
            put = put_time(mark, repository)
            if put:
                from_put.append(served_at - put)
        expect(max(delays) <= 1.0, f"B served a moved tag only after {max(delays) * 1000:.0f} ms (delays: "
                                   + ", ".join(f"{d * 1000:.0f}" for d in delays) + " ms)")

    suite.check("cluster: a tag moved on A (skopeo) is served by B within 1 s", body)
    if delays:
        suite.figure(f"tag moved on A, served by B after: max {max(delays) * 1000:.0f} ms, median "
                     f"{statistics.median(delays) * 1000:.0f} ms from skopeo's exit ({len(delays)} moves: "
                     + ", ".join(f"{d * 1000:.0f}" for d in delays) + " ms)")
    if from_put:
        suite.figure(f"tag moved on A, served by B after: max {max(from_put) * 1000:.0f} ms, median "
                     f"{statistics.median(from_put) * 1000:.0f} ms from A's 201 to the PUT (its log's time)")


def alternating_chunks_check(suite, cluster):
    def body():
        a, b = cluster.a, cluster.b
        data = os.urandom(6 * 2 * 1024 * 1024 + 12345)
        status, headers, _ = a.request("POST", "/v2/alternate/app/blobs/uploads/")
        expect(status == 202, f"POST upload on A answered {status}")
        location = path_of(headers["Location"])
        chunk = 2 * 1024 * 1024 + 1
        offset, index = 0, 0
        while offset < len(data):
            replica = (a, b)[index % 2]
            piece = data[offset:offset + chunk]
            status, headers, body_bytes = replica.request(
                "PATCH", location, {"Content-Type": "application/octet-stream",
                                    "Content-Range": f"{offset}-{offset + len(piece) - 1}"}, piece)
            expect(status == 202, f"PATCH {index} on {'AB'[index % 2]} answered {status}: {body_bytes[:300]!r}")
            expect(headers.get("Range") == f"0-{offset + len(piece) - 1}", f"PATCH {index}: Range {headers.get('Range')}")
            location = path_of(headers.get("Location", location))
            offset += len(piece)
            index += 1
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        separator = "&" if "?" in location else "?"
        status, _, body_bytes = b.request("PUT", f"{location}{separator}digest={digest}")
        expect(status == 201, f"PUT on B answered {status}: {body_bytes[:300]!r}")
        status, _, pulled = a.request("GET", f"/v2/alternate/app/blobs/{digest}")
        expect(status == 200 and pulled == data, f"GET of the blob on A answered {status}, {len(pulled)} bytes")

    suite.check("cluster: a chunked upload whose PATCHes alternate between A and B completes", body)


def gc_loop_check(suite, cluster, images, work):
    a, b = cluster.a, cluster.b
    totals = {"runs": 0, "blobs": 0, "bytes": 0, "manifests": 0}
    errors = []
    stop = threading.Event()

    def collect_forever():
        while not stop.is_set():
            try:
                status, _, body = a.request("POST", "/v2/_admin/gc?delete_untagged=true")
                if status != 200:
                    errors.append(f"POST /v2/_admin/gc on A answered {status}: {body[:300]!r}")
                    time.sleep(0.5)
                    continue
                report = json.loads(body)["deleted"]
                totals["runs"] += 1
                totals["blobs"] += report["blobs_deleted"]
                totals["bytes"] += report["bytes_reclaimed"]
                totals["manifests"] += report["manifests_deleted"]
            except Exception as error:  # keep looping; reported at the end
                errors.append(f"POST /v2/_admin/gc on A failed: {error}")
                time.sleep(0.5)
            time.sleep(0.05)

    def body():
        expected = {}  # reference -> manifest digest, for everything that must survive
        collector = threading.Thread(target=collect_forever, daemon=True)
        collector.start()
        started = time.time()
        try:
            # Garbage for the loop to find: a big image pushed through B, then deleted.
            skopeo_push(images, "big-gc", b.host, "gc/scratch:big")
            run(["skopeo", "delete", "--tls-verify=false", f"docker://{b.host}/gc/scratch:big"])
            layouts = ("base", "second", "multiarch")
            for i in range(9):
                layout = layouts[i % 3]
                options = ["--all"] if layout == "multiarch" else []
                skopeo_push(images, layout, b.host, f"gc/app:t{i}", options)
                expected[f"gc/app:t{i}"] = images.manifest(layout)[0]
                # `latest` moves with every push: the manifests it leaves are untagged garbage,
                # except that each is also tagged t<i>.
                skopeo_push(images, layout, b.host, "gc/app:latest", options)
                expected["gc/app:latest"] = images.manifest(layout)[0]
                # More garbage, in a repository of its own: an image left untagged by the next
                # push of the tag (for the collections to delete), and that one deleted at once.
                skopeo_push(images, layout, b.host, f"gc/scratch{i}:v1", options)
                skopeo_push(images, layouts[(i + 1) % 3], b.host, f"gc/scratch{i}:v1",
                            ["--all"] if layouts[(i + 1) % 3] == "multiarch" else [])
                run(["skopeo", "delete", "--tls-verify=false", f"docker://{b.host}/gc/scratch{i}:v1"])
            # Past the grace period the collections delete the big layer deleted above (the
            # figure counts it); then it is pushed again, to another repository.
            time.sleep(max(0.0, GRACE_SECONDS + 1.5 - (time.time() - started)))
            skopeo_push(images, "big-gc", b.host, "gc/app:big")
            expected["gc/app:big"] = images.manifest("big-gc")[0]
            for i in range(3):
                skopeo_push(images, "second", b.host, f"gc/late:t{i}")
                expected[f"gc/late:t{i}"] = images.manifest("second")[0]
        finally:
            stop.set()
            collector.join(timeout=120)
        expect(not errors, "\n".join(errors[:5]))
        expect(totals["runs"] >= 3, f"only {totals['runs']} collections ran during the pushes")
        expect(totals["blobs"] > 0 and totals["manifests"] > 0,
               f"the collections deleted nothing during the pushes ({totals}): the loop tested nothing")
        # After every collection, and after one more run with everything past the grace period.
        for label in ("during the loop", "after a final collection"):
            if label.startswith("after"):
                time.sleep(GRACE_SECONDS + 1.5)
                status, _, body_bytes = a.request("POST", "/v2/_admin/gc?delete_untagged=true")
                expect(status == 200, f"final collection answered {status}")
            for replica, name in ((a, "A"), (b, "B")):
                for reference, digest in expected.items():
                    options = ["--all"] if digest == images.manifest("multiarch")[0] else []
                    out = os.path.join(work, "gc-pulled")
                    try:
                        pulled = oci_pull(replica.host, reference, out, options)
                    except CheckFailed as error:
                        raise CheckFailed(f"{reference} pushed through B no longer pulls through {name} "
                                          f"({label}): {error}")
                    expect(pulled == digest, f"{reference} pulled through {name} as {pulled}, pushed {digest}")
        status, _, _ = b.request("GET", "/v2/gc/scratch0/manifests/v1", {"Accept": MANIFEST_TYPES})
        expect(status == 404, f"a deleted image still answers {status}")

    suite.check("cluster: GC looping on A while skopeo pushes, deletes and re-pushes through B loses no image", body)
    suite.figure(f"GC loop on A: {totals['runs']} collections during the pushes to B, deleted {totals['manifests']} "
                 f"manifests and {totals['blobs']} blobs ({totals['bytes'] / 1048576:.1f} MiB)")


def maintenance_commands_check(suite, cluster):
    """`registry scrub` and `registry gc` run with the replicas' configuration, beside them: they
    work on the bucket and the database, not on a local root."""
    def body():
        def run_command(name):
            return subprocess.run([cluster.binary, name, "--config", cluster.config], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, env=registry_environment(), timeout=600)
        scrub = run_command("scrub")  # exits 1 when it finds damage
        expect(scrub.returncode == 0, f"registry scrub --config exited {scrub.returncode}:\n{scrub.stdout[-1500:]}")
        expect(re.search(r"scrubbed s3://\S+: [1-9]\d* blobs", scrub.stdout), f"scrub checked no blob in the bucket:\n{scrub.stdout[-800:]}")
        gc = run_command("gc")
        expect(gc.returncode == 0, f"registry gc --config exited {gc.returncode}:\n{gc.stdout[-1500:]}")
        suite.figure("registry scrub --config on the cluster: " + scrub.stdout.splitlines()[0])
    suite.check("cluster: registry scrub and registry gc with the replicas' configuration check the bucket and the database", body)


def read_bytes_of(pid):
    """Bytes a process has read (sockets included), from /proc/PID/io."""
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def kill_checks(suite, cluster, kill_images, kill_mib, conformance_binary, work):
    """kill -9 of A during pushes; clients go on with B."""
    state = {}

    def skopeo_retried_on_b():
        a, b = cluster.a, cluster.b
        pid = a.daemon.process.pid
        before = read_bytes_of(pid)
        threshold = kill_mib * 1048576 * 0.4
        push = subprocess.Popen(["skopeo", "copy", "--dest-tls-verify=false", kill_images.oci("big-kill"),
                                 f"docker://{a.host}/kill/app:v1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        received = 0
        deadline = time.time() + 300
        while push.poll() is None and time.time() < deadline:
            received = read_bytes_of(pid) - before
            if received >= threshold:
                break
            time.sleep(0.005)
        if push.poll() is not None:
            raise CheckFailed(f"the push ended before A was killed (A had read {received / 1048576:.0f} MiB):\n"
                              f"{push.communicate()[0][-1000:]}")
        a.kill()
        state["killed_at"] = received
        output, _ = push.communicate(timeout=300)
        expect(push.returncode != 0, f"skopeo's push to the killed A succeeded:\n{output[-1000:]}")
        seconds = timed(lambda: run(["skopeo", "copy", "--dest-tls-verify=false", kill_images.oci("big-kill"),
                                     f"docker://{b.host}/kill/app:v1"]))
        digest = kill_images.manifest("big-kill")[0]
        expect(head_digest(b, "kill/app", "v1") == digest, "B does not serve the pushed manifest digest")
        pulled = oci_pull(b.host, "kill/app:v1", os.path.join(work, "kill-pulled"))
        expect(pulled == digest, f"kill/app:v1 pulled through B as {pulled}, pushed {digest}")
        suite.figure(f"kill -9 of A after it had read {received / 1048576:.0f} of {kill_mib} MiB; "
                     f"skopeo's retry on B took {seconds:.1f} s")

    def resumed_on_b():
        # A again, on the same port, for a session that B takes over.
        if cluster.a.alive():
            cluster.a.kill()
        cluster.a = cluster.start("a", port=cluster.a.port, log_name="registry-restarted.log")
        a, b = cluster.a, cluster.b
        chunk = 8 * 1048576
        data = os.urandom(4 * chunk + 4321)
        status, headers, _ = a.request("POST", "/v2/kill/resume/blobs/uploads/")
        expect(status == 202, f"POST on A answered {status}")
        location = path_of(headers["Location"])
        for index in range(2):
            status, headers, body = a.request("PATCH", location, {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{index * chunk}-{(index + 1) * chunk - 1}"}, data[index * chunk:(index + 1) * chunk])
            expect(status == 202, f"PATCH {index} on A answered {status}: {body[:300]!r}")
            location = path_of(headers.get("Location", location))
        # The third chunk: half of it sent, then A dies.
        connection = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
        connection.putrequest("PATCH", location)
        connection.putheader("Content-Type", "application/octet-stream")
        connection.putheader("Content-Range", f"{2 * chunk}-{3 * chunk - 1}")
        connection.putheader("Content-Length", str(chunk))
        connection.endheaders()
        connection.send(data[2 * chunk:2 * chunk + chunk // 2])
        time.sleep(0.3)
        a.kill()
        connection.close()
        # The client asks B where the session stands and goes on from there.
        status, headers, body = b.request("GET", location)
        expect(status == 204, f"GET of the session on B answered {status}: {body[:300]!r}")
        match = re.match(r"^0-(\d+)$", headers.get("Range", ""))
        expect(match, f"B reports Range {headers.get('Range')!r}")
        offset = int(match.group(1)) + 1
        expect(offset == 2 * chunk, f"B reports {offset} bytes, A had acknowledged {2 * chunk}")
        location = path_of(headers.get("Location", location))
        state["resume_offset"] = offset
        while offset < len(data):
            piece = data[offset:offset + chunk]
            status, headers, body = b.request("PATCH", location, {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{offset + len(piece) - 1}"}, piece)
            expect(status == 202, f"PATCH at {offset} on B answered {status}: {body[:300]!r}")
            location = path_of(headers.get("Location", location))
            offset += len(piece)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        separator = "&" if "?" in location else "?"
        status, _, body = b.request("PUT", f"{location}{separator}digest={digest}")
        expect(status == 201, f"PUT on B answered {status}: {body[:300]!r}")
        status, _, pulled = b.request("GET", f"/v2/kill/resume/blobs/{digest}")
        expect(status == 200 and pulled == data, f"GET of the resumed blob on B answered {status}, {len(pulled)} bytes")
        state["resumed_digest"] = digest

    def b_conformance():
        if cluster.a.alive():
            cluster.a.kill()
        state["b_conformance"] = conformance(conformance_binary, cluster.b, work, "b")

    def a_restarted():
        if cluster.a.alive():
            cluster.a.kill()
        cluster.a = cluster.start("a", port=cluster.a.port, log_name="registry-restarted-2.log")
        digest = kill_images.manifest("big-kill")[0]
        pulled = oci_pull(cluster.a.host, "kill/app:v1", os.path.join(work, "kill-pulled-a"))
        expect(pulled == digest, f"kill/app:v1 pulled through the restarted A as {pulled}, pushed {digest}")
        if "resumed_digest" in state:
            status, headers, _ = cluster.a.request("HEAD", f"/v2/kill/resume/blobs/{state['resumed_digest']}")
            expect(status == 200, f"the restarted A answers {status} for the blob finished on B")
        status, _, _ = cluster.a.request("GET", "/readyz")
        expect(status == 200, f"the restarted A's /readyz answered {status}")

    suite.check(f"cluster: kill -9 of A in the middle of a {kill_mib} MiB skopeo push; the push retried on B "
                "succeeds, same digest", skopeo_retried_on_b)
    suite.check("cluster: an upload session whose replica (A) was killed mid-PATCH resumes on B from the offset "
                "B reports", resumed_on_b)
    suite.check("cluster: registry-conformance against B while A is dead: N passed, 0 failed, 0 skipped", b_conformance)
    suite.check("cluster: A restarted after kill -9 serves what B stored meanwhile", a_restarted)
    if "b_conformance" in state:
        suite.figure(f"conformance against B (A dead): {state['b_conformance']}")


class EventReceiver:
    """A webhook receiver on 127.0.0.1 that keeps every CloudEvent it accepted, in arrival order;
    while `up` is false it answers 503, as a receiver that is down for maintenance would."""

    def __init__(self):
        receiver = self
        self.events, self.up, self.lock = [], True, threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    accepted = receiver.up
                    if accepted:
                        receiver.events.append(json.loads(body))
                self.send_response(200 if accepted else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *arguments):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def tags_pushed(self):
        with self.lock:
            return [event["subject"] for event in self.events if event["type"].endswith(".tag.pushed")]

    def wait_for(self, subjects, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if set(subjects) <= set(self.tags_pushed()):
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def push_small_image(replica, repository, tag):
    """A one-layer image pushed with the API itself: a monolithic POST per blob, then the
    manifest under `tag`."""
    def blob(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, _, body = replica.request("POST", f"/v2/{repository}/blobs/uploads/?digest={digest}",
                                          {"Content-Type": "application/octet-stream"}, data)
        expect(status == 201, f"the monolithic upload of {digest} answered {status}: {body[:300]!r}")
        return {"digest": digest, "size": len(data)}
    config = blob(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode())
    layer = blob(os.urandom(1024))
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}]}).encode()
    status, _, body = replica.request("PUT", f"/v2/{repository}/manifests/{tag}",
                                      {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, manifest)
    expect(status == 201, f"PUT of {repository}:{tag} answered {status}: {body[:300]!r}")


def events_handover_check(suite, binary, work, engines):
    """Event delivery runs on one replica at a time (a claim in PostgreSQL). Its holder, A, is
    killed with events pending that B wrote to the outbox; B takes the delivery over and they
    all arrive, in order."""
    def body():
        receiver = EventReceiver()
        cluster = None
        try:
            cluster = Cluster(binary, os.path.join(work, "events"), engines, "events", redirect=False, extra_config=f"""events:
  endpoints:
    - name: hook
      url: {receiver.url}
      actions: [push]
      timeout: 5s
""")
            # Only A runs while the first event is delivered, so A holds the delivery's claim.
            cluster.b.kill()
            push_small_image(cluster.a, "events/app", "first")
            expect(receiver.wait_for(["events/app:first"], 30), "the event of the push through A never arrived")
            cluster.b = cluster.start("b", port=cluster.b.port, log_name="registry-restarted.log")
            # The receiver goes down; B records five pushes, which A fails to deliver.
            receiver.up = False
            pending = [f"events/app:t{index}" for index in range(1, 6)]
            for subject in pending:
                push_small_image(cluster.b, "events/app", subject.split(":")[1])
            time.sleep(1.5)
            expect(not set(pending) & set(receiver.tags_pushed()), "events arrived while the receiver answered 503")
            cluster.a.kill()
            killed = time.time()
            receiver.up = True
            expect(receiver.wait_for(pending, 60),
                   f"B did not deliver A's pending events within 60 s of A's kill -9: got {receiver.tags_pushed()}")
            seconds = time.time() - killed
            arrived = [subject for subject in receiver.tags_pushed() if subject in pending]
            first_arrivals = list(dict.fromkeys(arrived))
            expect(first_arrivals == pending, f"the pending events arrived out of order: {first_arrivals}")
            suite.figure(f"events: B delivered the 5 events A held {seconds:.1f} s after A's kill -9 "
                         f"({len(arrived) - len(pending)} duplicates)")
        finally:
            if cluster:
                cluster.stop()
            receiver.stop()

    suite.check("cluster: event delivery moves to B when A, its holder, is killed with events pending: "
                "all arrive, in order", body)


def redirect_checks(suite, cluster, client, since):
    """After a client's checks with `storage.redirect: true`: B sent the client's blob downloads
    to the bucket."""
    def body():
        gets = [e for e in cluster.b.requests_since(since)
                if e["method"] == "GET" and "/blobs/sha" in e.get("path", "")
                and not e.get("user_agent", "").startswith("Python-urllib")]
        redirected = [e for e in gets if e["status"] == "307"]
        streamed = [e for e in gets if e["status"] == "200"]
        expect(redirected, f"B answered none of {client}'s blob GETs with a 307 ({len(gets)} blob GETs)")
        expect(not streamed, f"B streamed {len(streamed)} of {client}'s blob GETs itself: "
                             + ", ".join(e["path"] for e in streamed[:3]))
        agents = sorted({e.get("user_agent", "")[:40] for e in redirected})
        suite.figure(f"{client}: {len(redirected)} blob GETs answered 307 by B (user agents: {', '.join(agents)})")

    suite.check(f"{client}: every blob download was a 307 to the bucket, which the client followed", body)


def curl_redirect_check(suite, cluster, images):
    def body():
        b = cluster.b
        _, manifest = b.manifest("skopeo/big", "v1")
        layer = manifest["layers"][0]
        answer = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                                 f"{b.url}/v2/skopeo/big/blobs/{layer['digest']}"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout.split()
        expect(len(answer) == 2 and answer[0] == "307", f"curl GET blob on B: {answer}")
        expect(answer[1].startswith(cluster.engines.s3.endpoint) and "X-Amz-Signature=" in answer[1],
               f"the 307 points at {answer[1][:200]}")
        fetched = subprocess.run(["curl", "-sS", "-f", answer[1]], stdout=subprocess.PIPE, check=True).stdout
        expect(len(fetched) == layer["size"] and "sha256:" + hashlib.sha256(fetched).hexdigest() == layer["digest"],
               f"the presigned URL gave {len(fetched)} bytes that do not hash to {layer['digest']}")
        followed = subprocess.run(["curl", "-sS", "-f", "-L", f"{b.url}/v2/skopeo/big/blobs/{layer['digest']}"],
                                  stdout=subprocess.PIPE, check=True).stdout
        expect(followed == fetched, "curl -L through B gave other bytes")

    suite.check("redirect: curl gets a 307 to a presigned bucket URL from B; the URL alone gives the blob's bytes", body)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", required=True, help="path to the registry executable")
    parser.add_argument("--conformance", help="path to registry-conformance (default: next to --registry)")
    parser.add_argument("--big-mib", type=int, default=100, help="size of each client's big layer")
    parser.add_argument("--kill-mib", type=int, default=200, help="size of the layer pushed while A is killed")
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--store", default="memstore", choices=["memstore", "bluestore"],
                        help="the OSD's object store, when the engines are started here (see scripts/engines/start.sh)")
    parser.add_argument("--store-gib", type=int, default=8, help="size of the OSD's store, when started here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    binary = os.path.abspath(args.registry)
    conformance_binary = os.path.abspath(args.conformance or os.path.join(os.path.dirname(binary), "registry-conformance"))
    clients = args.clients.split(",")
    started = time.time()

    suite = Suite()
    work = work_directory("cluster")
    engines = Engines(args.store, args.store_gib)
    cluster = None
    try:
        images = Images(work, args.big_mib, CLIENTS + ["gc"])
        kill_images = Images(os.path.join(work, "kill"), args.kill_mib, ["kill"])

        # Streaming: every client pushes through A and pulls through B.
        cluster = Cluster(binary, os.path.join(work, "plain"), engines, "plain", redirect=False)
        print(f"replicas A {cluster.a.url} and B {cluster.b.url}, bucket prefix {cluster.prefix}", flush=True)
        suite.prefix = "A->B: "
        client_checks(Context(cluster.a, images, os.path.join(work, "plain"), suite, pull=cluster.b,
                              settle_seconds=SETTLE_SECONDS), clients, on_client_done=lambda *_: engines.reclaim())
        suite.prefix = ""
        tag_move_check(suite, cluster, images, work)
        alternating_chunks_check(suite, cluster)
        gc_loop_check(suite, cluster, images, work)
        maintenance_commands_check(suite, cluster)
        events_handover_check(suite, binary, work, engines)
        engines.reclaim()
        suite.check("cluster: registry-conformance against A: N passed, 0 failed, 0 skipped",
                    lambda: suite.figure("conformance against A: " + conformance(conformance_binary, cluster.a, work, "a")))
        if tool_available("skopeo"):
            kill_checks(suite, cluster, kill_images, args.kill_mib, conformance_binary, work)
        cluster.stop()
        suite.figure(f"bucket after the streaming pass: {engines.s3.usage(cluster.prefix)}")
        engines.reclaim()

        # Redirect: B answers blob GETs with a 307 to a presigned URL of the bucket.
        cluster = Cluster(binary, os.path.join(work, "redirect"), engines, "redirect", redirect=True)
        print(f"replicas A {cluster.a.url} and B {cluster.b.url} (storage.redirect), bucket prefix {cluster.prefix}",
              flush=True)
        suite.prefix = "redirect A->B: "
        client_checks(Context(cluster.a, images, os.path.join(work, "redirect"), suite, pull=cluster.b,
                              settle_seconds=SETTLE_SECONDS), clients,
                      on_client_done=lambda client, since: (redirect_checks(suite, cluster, client, since), engines.reclaim()))
        suite.prefix = ""
        curl_redirect_check(suite, cluster, images)
        suite.check("redirect: registry-conformance against B (blob downloads answered with 307s): N passed, 0 failed, 0 skipped",
                    lambda: suite.figure("conformance against B (redirect): " + conformance(conformance_binary, cluster.b, work, "b-redirect")))
        cluster.stop()
        suite.figure(f"bucket after the redirect pass: {engines.s3.usage(cluster.prefix)}")
    finally:
        if cluster:
            cluster.stop()
        if engines.peak_memory():
            suite.figure(f"engines' peak RSS: {engines.peak_memory()}")
        engines.stop()
        if not args.keep:
            subprocess.run(["rm", "-rf", work])
    for figure in suite.figures:
        print(figure)
    print(f"cluster suite: {time.time() - started:.0f} s")
    print(f"{suite.passed} passed, {suite.failed} failed")
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
