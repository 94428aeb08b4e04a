"""`bench.py --backend cluster`: our registry as a cluster (two `registry serve` replicas on one
PostgreSQL database and one radosgw bucket, `storage.driver: s3`) against the reference registry
(CNCF distribution 2.8, Debian's `docker-registry`) with its own `s3` storage driver on the same
radosgw, in one run, alternating, with medians and ratios.

    python3 Benchmarks/bench.py --backend cluster --registry .build/release/registry   # ~15 minutes
    python3 Benchmarks/bench.py --backend cluster --registry .build/release/registry \
        --size-mib 128 --chunked-mib 64 --rounds 1 --load-seconds 2 --small-blobs 100  # ~2 minutes

The engines (PostgreSQL 15 and a one-node Ceph radosgw) come from `scripts/engines/start.sh`,
started for the run and stopped at its end (or `--engines-env FILE` names engines already
running, which are left alone). Each server has its own key prefix in the bucket, and ours a
PostgreSQL schema of its own, so nothing is shared between them.

The load goes to both replicas, the way a load balancer without sticky sessions sends it: a blob
pushed through replica A is pulled through replica B; an upload's `POST` goes to A and its next
request to B (requests of an upload alternate between the replicas); small requests and small
pushes spread their connections over both. The reference runs as one process (a cluster of it
would share nothing but the bucket: distribution 2.8 keeps no state outside the storage, except
its in-memory blob-descriptor cache, configured as Debian ships it).

Scenarios: push of a large blob (monolithic `PUT`, one streamed chunked `PATCH`) and of a
smaller one (`--chunked-mib`) in 16 MiB `Content-Range` chunks, once with every chunk on one
replica and once with the chunks alternating between the replicas (ours then re-reads the
upload so far at every change of replica, so the cost grows with the square of the size);
pull of a large blob and of 8 concurrent 64 MiB blobs, streamed through the registry
(`storage.redirect: false` for ours, `redirect: {disable: true}` for the reference) and
redirected to a presigned URL of the bucket (both servers restarted with redirects on; the client
follows the `307` to radosgw), with the `307` alone at 64 connections; small requests at 64
connections (`GET /v2/`, `HEAD` blob, `GET` manifest by tag, `GET tags/list`, `GET` manifest with
one request per connection); many small pushes (blobs and manifests) from 16 workers; the peak
RSS of every process. radosgw's deferred garbage is collected between the rounds of the pushes
(untimed), so that the store holds about what is live. For each scenario the run also reports
where the time went: CPU seconds of the servers, of radosgw + OSD and of PostgreSQL, and the S3
requests each server made (from radosgw's access log) by operation.
"""
import collections
import datetime
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import uuid

import bench as local
from harness import free_port  # bench.py put scripts/interop on the path

MIB = local.MIB
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# MARK: engines

class Engines:
    """PostgreSQL and radosgw, from scripts/engines/start.sh (or a file of its `export` lines)."""

    def __init__(self, args):
        self.owned = not args.engines_env
        if args.engines_env:
            with open(args.engines_env) as f:
                text = f.read()
        else:
            print(f"== engines: scripts/engines/start.sh --store {args.store} --store-gib {args.store_gib}", flush=True)
            result = subprocess.run([os.path.join(ROOT, "scripts", "engines", "start.sh"), "--store", args.store,
                                     "--store-gib", str(args.store_gib)], capture_output=True, text=True)
            if result.returncode != 0:
                raise local.Failure(f"scripts/engines/start.sh failed:\n{result.stderr[-3000:]}")
            text = result.stdout
        self.env = dict(re.findall(r"^export (\w+)=(.*)$", text, re.M))
        for key in ("REGISTRY_TEST_ENGINES_DIR", "REGISTRY_TEST_POSTGRES_URL", "REGISTRY_TEST_S3_ENDPOINT",
                    "REGISTRY_TEST_S3_ACCESS_KEY", "REGISTRY_TEST_S3_SECRET_KEY", "REGISTRY_TEST_S3_BUCKET"):
            if not self.env.get(key):
                self.stop()
                raise local.Failure(f"the engines' environment has no {key}")
        self.dir = self.env["REGISTRY_TEST_ENGINES_DIR"]
        self.postgres_url = self.env["REGISTRY_TEST_POSTGRES_URL"]
        self.endpoint = self.env["REGISTRY_TEST_S3_ENDPOINT"]
        self.access_key = self.env["REGISTRY_TEST_S3_ACCESS_KEY"]
        self.secret_key = self.env["REGISTRY_TEST_S3_SECRET_KEY"]
        self.bucket = self.env["REGISTRY_TEST_S3_BUCKET"]
        self.region = self.env.get("REGISTRY_TEST_S3_REGION", "us-east-1")
        self.rgw_log = os.path.join(self.dir, "ceph", "log", "client.rgw.a.log")
        self.pids = {}
        with open(os.path.join(self.dir, "pids")) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 2:
                    self.pids[fields[0]] = int(fields[1])

    def stop(self):
        if self.owned and getattr(self, "dir", None):
            subprocess.run([os.path.join(ROOT, "scripts", "engines", "stop.sh"), self.dir], capture_output=True)

    def collect_garbage(self):
        """Frees what deleted and overwritten objects held (radosgw defers it by hours): between
        rounds, so that the store holds about what is live, whatever the number of rounds."""
        environment = dict(os.environ, CEPH_CONF=self.env.get("CEPH_CONF", os.path.join(self.dir, "ceph", "ceph.conf")))
        subprocess.run(["radosgw-admin", "gc", "process", "--include-all"], env=environment, capture_output=True)

    def cpu_seconds(self):
        """CPU time so far of radosgw plus the OSD (the gateway), and of PostgreSQL's processes."""
        gateway = sum(process_cpu(pid) for name, pid in self.pids.items() if name.startswith(("client.rgw", "osd.")))
        postmaster = self.pids.get("postgres")
        database = process_cpu(postmaster) + sum(process_cpu(pid) for pid in children(postmaster)) if postmaster else 0.0
        return gateway, database


def process_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(parent):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == parent:
                    pids.append(int(entry))
        except (OSError, ValueError, IndexError):
            pass
    return pids


# MARK: what the gateway did

GATEWAY_LINE = re.compile(r'beast: \S+ \S+ - \S+ \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d+) [+-]\d{4}\] '
                          r'"(\w+) (\S+) HTTP/[\d.]+" (\d+) (\d+) .*latency=([\d.]+)s')


def s3_operation(method, target):
    """The S3 operation a request line is (CopyObject and UploadPartCopy look like PutObject
    and UploadPart in the log: the copy source is a header)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query, keep_blank_values=True)
    key = urllib.parse.urlsplit(target).path.strip("/").count("/") > 0
    if method == "GET":
        if "uploadId" in query:
            return "ListParts"
        if "uploads" in query:
            return "ListMultipartUploads"
        if "list-type" in query:
            return "ListObjectsV2"
        if not key:
            return "ListObjects"
        return "GetObject"
    if method == "HEAD":
        return "HeadObject"
    if method == "PUT":
        return "UploadPart(Copy)" if "partNumber" in query else "PutObject/CopyObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        if "delete" in query:
            return "DeleteObjects"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    return method


class GatewayLog:
    """radosgw's access log (the `beast:` lines of client.rgw.a.log): requests are attributed to
    the server being measured when they started (the servers run one after the other)."""

    def __init__(self, path):
        self.path = path

    def mark(self):
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def requests_since(self, mark):
        """(start time as epoch seconds, operation, latency seconds) of every request logged after `mark`."""
        time.sleep(0.5)  # the gateway logs a request when it ends, from another thread
        entries = []
        try:
            with open(self.path, "rb") as log:
                log.seek(mark)
                data = log.read().decode(errors="replace")
        except OSError:
            return entries
        for match in GATEWAY_LINE.finditer(data):
            stamp, method, target, _, _, latency = match.groups()
            started = datetime.datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
            entries.append((started.timestamp(), s3_operation(method, target), float(latency)))
        return entries


class Accounting:
    """Per scenario and server: S3 requests by operation, and the CPU time of the server's own
    processes, of radosgw + OSD and of PostgreSQL, over the measured windows."""

    def __init__(self, engines):
        self.engines = engines
        self.log = GatewayLog(engines.rgw_log)
        self.scenarios = []  # (scenario, {side name: usage})

    def start(self):
        return {"mark": self.log.mark(), "windows": []}

    def measure(self, scope, side, measure):
        """Runs `measure()` as one window of `side`; returns its result."""
        server, (gateway, database) = side.cpu_seconds(), self.engines.cpu_seconds()
        started = time.time()
        result = measure()
        ended = time.time()
        server_after, (gateway_after, database_after) = side.cpu_seconds(), self.engines.cpu_seconds()
        scope["windows"].append((side.name, started, ended, server_after - server, gateway_after - gateway,
                                 database_after - database))
        return result

    def finish(self, scenario, scope):
        """Attributes the gateway's requests to the windows; returns {side: mean server CPU seconds per window}."""
        entries = self.log.requests_since(scope["mark"])
        usage = {}
        for side, started, ended, server, gateway, database in scope["windows"]:
            entry = usage.setdefault(side, {"windows": 0, "operations": collections.Counter(), "latency": 0.0,
                                           "server_cpu": 0.0, "gateway_cpu": 0.0, "database_cpu": 0.0})
            entry["windows"] += 1
            entry["server_cpu"] += server
            entry["gateway_cpu"] += gateway
            entry["database_cpu"] += database
            for at, operation, latency in entries:
                if started - 0.002 <= at <= ended:
                    entry["operations"][operation] += 1
                    entry["latency"] += latency
        self.scenarios.append((scenario, usage))
        return {side: entry["server_cpu"] / max(1, entry["windows"]) for side, entry in usage.items()}

    def print(self):
        print()
        print("Where the time goes, per measured run (mean over the rounds): CPU seconds of the server's processes "
              "(ours: both replicas), of radosgw + OSD and of PostgreSQL; S3 requests by operation (from radosgw's "
              "access log) and the sum of their latencies as radosgw logged them")
        for scenario, usage in self.scenarios:
            print(f"  {scenario}")
            for side, entry in usage.items():
                runs = max(1, entry["windows"])
                operations = ", ".join(f"{name} {count / runs:.{0 if count >= runs * 10 else 1}f}"
                                       for name, count in entry["operations"].most_common())
                total = sum(entry["operations"].values()) / runs
                database = f", PostgreSQL {entry['database_cpu'] / runs:.2f}" if side == "ours" else ""
                print(f"    {side:9} CPU s: server {entry['server_cpu'] / runs:.2f}, gateway {entry['gateway_cpu'] / runs:.2f}"
                      f"{database}; {total:.0f} S3 requests ({operations or 'none'}), latency sum {entry['latency'] / runs:.2f} s")


# MARK: servers

def registry_environment():
    """Our registry refuses REGISTRY_* variables it does not know (the engines' REGISTRY_TEST_*)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}


class Side:
    """One registry under test: our replicas A and B, or the reference's one process."""

    def __init__(self, name, servers):
        self.name = name
        self.servers = servers
        self.peak_rss = {}

    def at(self, index):
        """The server the index-th request goes to (round robin)."""
        return self.servers[index % len(self.servers)]

    def cpu_seconds(self):
        return sum(server.cpu_seconds() for server in self.servers)

    def urls(self, path):
        return [f"http://127.0.0.1:{server.port}{path}" for server in self.servers]

    def stop(self):
        for server in self.servers:
            try:
                self.peak_rss[server.name] = max(self.peak_rss.get(server.name, 0.0), server.peak_rss_mib())
            except OSError:
                pass
            server.stop()


class Cluster:
    """Starts and restarts both sides with the same storage (so that content survives the switch
    between streaming and redirecting)."""

    def __init__(self, args, engines, work):
        self.args = args
        self.engines = engines
        self.work = work
        run = uuid.uuid4().hex[:8]
        self.our_prefix = f"bench-{run}-ours/"
        self.reference_root = f"/bench-{run}-reference"
        self.schema = f"bench_{run}"
        self.peak_rss = {}
        self.ours = self.reference = None

    def start(self, redirect):
        mode = "redirect" if redirect else "stream"
        replicas = [self.replica(label, redirect) for label in ("A", "B")]
        self.ours = Side("ours", replicas)
        self.reference = Side("reference", [self.reference_server(redirect)])
        print(f"  started ({mode}): ours A :{replicas[0].port}, B :{replicas[1].port}; "
              f"reference :{self.reference.servers[0].port}", flush=True)
        return [self.ours, self.reference]

    def stop(self):
        for side in (self.ours, self.reference):
            if side is None:
                continue
            side.stop()
            for name, rss in side.peak_rss.items():
                self.peak_rss[name] = max(self.peak_rss.get(name, 0.0), rss)
        self.ours = self.reference = None

    def replica(self, label, redirect):
        engines = self.engines
        port = free_port()
        root = os.path.join(self.work, f"ours-{label}")
        os.makedirs(root, exist_ok=True)
        config = os.path.join(self.work, f"ours-{label}.yaml")
        with open(config, "w") as f:
            f.write(f"""http:
  listen: 127.0.0.1:{port}
storage:
  root: {root}
  driver: s3
  redirect: {"true" if redirect else "false"}
  s3:
    endpoint: {engines.endpoint}
    region: {engines.region}
    bucket: {engines.bucket}
    prefix: {self.our_prefix}
    access_key: {engines.access_key}
    secret_key: {engines.secret_key}
metadata:
  driver: postgres
  url: {engines.postgres_url}
  schema: {self.schema}
log:
  level: warning
""")
        return local.Server(f"ours {label}", [self.args.registry, "serve", "--config", config], port, registry_environment(),
                            os.path.join(self.work, f"ours-{label}.log"))

    def reference_server(self, redirect):
        engines = self.engines
        port = free_port()
        config = os.path.join(self.work, "reference.yml")
        redirect_config = "" if redirect else "\n  redirect:\n    disable: true"
        with open(config, "w") as f:
            f.write(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  s3:
    regionendpoint: {engines.endpoint}
    region: {engines.region}
    bucket: {engines.bucket}
    accesskey: {engines.access_key}
    secretkey: {engines.secret_key}
    rootdirectory: {self.reference_root}
    secure: {"true" if engines.endpoint.startswith("https") else "false"}
    v4auth: true
  delete:
    enabled: true{redirect_config}
http:
  addr: 127.0.0.1:{port}
""")
        # This machine's AWS_CA_BUNDLE makes distribution's AWS SDK panic at start.
        environment = {key: value for key, value in registry_environment().items() if key != "AWS_CA_BUNDLE"}
        return local.Server("reference", [self.args.reference, "serve", config], port, environment,
                            os.path.join(self.work, "reference.log"))


# MARK: operations across replicas

def path_of(location):
    """A `Location` as a path: registries answer absolute or relative ones, and the next request
    may go to another replica."""
    if location.startswith(("http://", "https://")):
        parts = urllib.parse.urlsplit(location)
        return parts.path + ("?" + parts.query if parts.query else "")
    return location


def start_upload(server, repository):
    connection, location = local.start_upload(server, repository)
    connection.close()
    return path_of(location)


def push_monolithic(side, path, digest, size, repository="bench/push"):
    """`POST` on the first server, `PUT` with the whole blob on the next."""
    location = start_upload(side.at(0), repository)
    connection = side.at(1).connection()
    with open(path, "rb") as body:
        connection.request("PUT", local.with_digest(location, digest), body=body,
                           headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"})
        local.expect_status(connection.getresponse(), (201,), "PUT with the blob")
    connection.close()


def push_streamed(side, path, digest, size):
    """`POST` on the first server, one chunked `PATCH` on the next, the closing `PUT` on the one after."""
    location = start_upload(side.at(0), "bench/push")

    def chunks():
        with open(path, "rb") as body:
            while chunk := body.read(MIB):
                yield chunk
    connection = side.at(1).connection()
    connection.request("PATCH", location, body=chunks(), encode_chunked=True,
                       headers={"Transfer-Encoding": "chunked", "Content-Type": "application/octet-stream"})
    response = connection.getresponse()
    local.expect_status(response, (202,), "streamed PATCH")
    location = path_of(response.getheader("Location"))
    connection.close()
    connection = side.at(2).connection()
    connection.request("PUT", local.with_digest(location, digest))
    local.expect_status(connection.getresponse(), (201,), "closing PUT")
    connection.close()


def push_chunked(side, path, digest, size, chunk=16 * MIB, alternate=True):
    """`POST` on the first server, then `PATCH`es of `chunk` bytes with `Content-Range`, then `PUT`:
    each on the next server (`alternate`: a load balancer that spreads requests), or all on the
    second (one that keeps a client's connection on one replica; the `POST` went elsewhere)."""
    location = start_upload(side.at(0), "bench/push")
    connections = [server.connection() for server in side.servers]
    step = 1 if alternate else 0
    index = 1
    with open(path, "rb") as body:
        offset = 0
        while data := body.read(chunk):
            connection = connections[index % len(connections)]
            connection.request("PATCH", location, body=data, headers={
                "Content-Range": f"{offset}-{offset + len(data) - 1}", "Content-Length": str(len(data)),
                "Content-Type": "application/octet-stream"})
            response = connection.getresponse()
            local.expect_status(response, (202,), f"PATCH at {offset}")
            location = path_of(response.getheader("Location"))
            offset += len(data)
            index += step
    connection = connections[index % len(connections)]
    connection.request("PUT", local.with_digest(location, digest))
    local.expect_status(connection.getresponse(), (201,), "closing PUT")
    for connection in connections:
        connection.close()


def push_chunked_sticky(side, path, digest, size):
    return push_chunked(side, path, digest, size, alternate=False)


def push_bytes(side, repository, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    location = start_upload(side.at(0), repository)
    connection = side.at(1).connection()
    connection.request("PUT", local.with_digest(location, digest), body=data,
                       headers={"Content-Type": "application/octet-stream"})
    local.expect_status(connection.getresponse(), (201,), "PUT blob")
    connection.close()
    return digest


# MARK: driver

def rounds_of(args, accounting, table_name, sides, measure, between=None):
    """`measure(side, round)` for each side, alternating (who goes first alternates too), `args.rounds`
    times, each run accounted as one window of that side; `between()` after each round (not timed).
    Returns the medians, and each side's mean server CPU seconds per run."""
    scope = accounting.start()
    samples = {side.name: [] for side in sides}
    for round in range(args.rounds):
        for side in (sides if round % 2 == 0 else sides[::-1]):
            samples[side.name].append(accounting.measure(scope, side, lambda: measure(side, round)))
        if between:
            between()
    cpu = accounting.finish(table_name, scope)
    return {name: statistics.median(values) for name, values in samples.items()}, cpu


def once(accounting, table_name, sides, measure):
    """`measure(side)` once per side (a load run of fixed duration), accounted."""
    scope = accounting.start()
    results = {side.name: accounting.measure(scope, side, lambda side=side: measure(side)) for side in sides}
    accounting.finish(table_name, scope)
    return results


def cpu_note(cpu, mib):
    """The servers' CPU seconds per GiB moved (ours: both replicas)."""
    gib = mib / 1024
    return f"server CPU-s/GiB: ours {cpu['ours'] / gib:.2f}, reference {cpu['reference'] / gib:.2f}"


def run(args, bench):
    table = local.Table()
    work = tempfile.mkdtemp(prefix="cluster-bench-", dir=args.work_dir)
    print(f"== load average before the run: {os.getloadavg()[0]:.1f} (the figures need the machine's 2 cores free)", flush=True)
    engines = Engines(args)
    accounting = Accounting(engines)
    cluster = Cluster(args, engines, work)
    size = args.size_mib * MIB
    started = time.time()
    try:
        # The large blob, and the smaller one of the chunked pushes (its first MiBs): chunks that
        # alternate between our replicas make each re-read the upload so far (see the README).
        blob = os.path.join(work, "blob.bin")
        chunked_mib = min(args.size_mib, args.chunked_mib)
        chunked_blob = os.path.join(work, "chunked.bin")
        sha = hashlib.sha256()
        with open(blob, "wb") as f, open(chunked_blob, "wb") as chunked:
            for index in range(args.size_mib):
                block = os.urandom(MIB)
                sha.update(block)
                f.write(block)
                if index < chunked_mib:
                    chunked.write(block)
                if index == chunked_mib - 1:
                    chunked_digest = "sha256:" + sha.hexdigest()
        digest = "sha256:" + sha.hexdigest()
        print("== the servers: ours = replicas A and B (one PostgreSQL, one bucket), reference = one process", flush=True)
        sides = cluster.start(redirect=False)
        ours, reference = sides

        if "push" not in args.skip:
            print(f"== push (requests of an upload alternate between A and B; radosgw's garbage collected "
                  "between rounds, untimed)", flush=True)
            for name, push, mib, note in (
                    ("push: monolithic PUT", push_monolithic, args.size_mib, "ours: POST on A, PUT on B"),
                    ("push: streamed chunked PATCH", push_streamed, args.size_mib, "ours: POST A, PATCH B, PUT A"),
                    ("push: 16 MiB chunks, one replica", push_chunked_sticky, chunked_mib, "ours: POST on A, the rest on B"),
                    ("push: 16 MiB chunks, alternating", push_chunked, chunked_mib, "ours: POST A, then B, A, B, ...")):
                label = f"{name} {mib} MiB"

                def measure(side, round, push=push, mib=mib):
                    began = time.perf_counter()
                    if mib == args.size_mib:
                        push(side, blob, digest, size)
                    else:
                        push(side, chunked_blob, chunked_digest, mib * MIB)
                    return mib / (time.perf_counter() - began)
                result, cpu = rounds_of(args, accounting, label, sides, measure, between=engines.collect_garbage)
                table.add(label, "MiB/s", result["ours"], result["reference"], ceiling=f"{note}; {cpu_note(cpu, mib)}")

        if "pull" not in args.skip or "redirect" not in args.skip:
            # The blob, pushed as a whole through A (B serves it): the stored object is what each
            # server makes of the usual push (the pushes above leave what their last one made),
            # and 64 MiB for the concurrent pulls.
            for side in sides:
                push_monolithic(side, blob, digest, size, repository="bench/pull")
            engines.collect_garbage()
            small = os.urandom(64 * MIB)
            small_digest = push_bytes(ours, "bench/pull8", small)
            push_bytes(reference, "bench/pull8", small)

        def pull_scenarios(mode):
            follow = ("--follow-redirects",) if mode == "redirected" else ()
            expected = {"streamed": 0, "redirected": 1}[mode]

            def pull_one(side, round):
                # Pushed through A, pulled through B.
                result = bench("pull", side.urls(f"/v2/bench/pull/blobs/{digest}")[-1], "--size", size, *follow)
                if result["redirected"] != expected:
                    raise local.Failure(f"{side.name}: pull {mode} was redirected {result['redirected']:.0f} times")
                return result["mib_per_s"]
            label = f"pull {mode}: one blob {args.size_mib} MiB"
            result, cpu = rounds_of(args, accounting, label, sides, pull_one)
            note = "ours: from B" if mode == "streamed" else "the client follows the 307 to radosgw"
            table.add(label, "MiB/s", result["ours"], result["reference"], ceiling=f"{note}; {cpu_note(cpu, args.size_mib)}")

            def pull_parallel(side, round):
                result = bench("pull", *side.urls(f"/v2/bench/pull8/blobs/{small_digest}"), "--size", len(small),
                               "--parallel", 8, *follow)
                if result["redirected"] != 8 * expected:
                    raise local.Failure(f"{side.name}: pull {mode} was redirected {result['redirected']:.0f} of 8 times")
                return result["mib_per_s"]
            label = f"pull {mode}: 8 concurrent x 64 MiB"
            result, cpu = rounds_of(args, accounting, label, sides, pull_parallel)
            table.add(label, "MiB/s", result["ours"], result["reference"], ceiling=f"ours: 4 on A, 4 on B; {cpu_note(cpu, 512)}")

        if "pull" not in args.skip:
            print("== pull, streamed through the registry", flush=True)
            pull_scenarios("streamed")

        if "small" not in args.skip:
            print(f"== small requests, 64 connections for {args.load_seconds} s (ours: 32 on A, 32 on B)", flush=True)
            layer = [local.seed_manifest(side.at(0)) for side in sides][0]
            accept = f"Accept: {local.ACCEPT}"
            for name, path, options in (
                    ("GET /v2/", "/v2/", ()),
                    ("HEAD blob", f"/v2/bench/small/blobs/{layer}", ("--method", "HEAD")),
                    ("GET manifest by tag", "/v2/bench/small/manifests/latest", ("--header", accept)),
                    ("GET tags/list", "/v2/bench/small/tags/list", ()),
                    ("GET manifest, Connection: close", "/v2/bench/small/manifests/latest", ("--header", accept, "--close"))):
                small_requests(args, accounting, bench, table, sides, name, path, options)

        if "pushes" not in args.skip:
            print(f"== many small pushes: {args.small_blobs} x 4 KiB blobs + {args.small_manifests} manifests, "
                  "20 repositories, 16 workers (ours: POST on one replica, PUT on the other)", flush=True)
            label = "small pushes (blobs + manifests)"
            result, cpu = rounds_of(args, accounting, label, sides, lambda side, round: bench(
                "pushes", *side.urls(""), "--seed", round, "--blobs", args.small_blobs,
                "--manifests", args.small_manifests)["operations_per_s"])
            operations = args.small_blobs + args.small_manifests
            table.add(label, "ops/s", result["ours"], result["reference"],
                      ceiling=f"server CPU-ms/op: ours {1000 * cpu['ours'] / operations:.1f}, "
                      f"reference {1000 * cpu['reference'] / operations:.1f}")

        cluster.stop()
        if "redirect" not in args.skip:
            print("== pull, redirected to a presigned URL of the bucket (both servers restarted with redirects on)", flush=True)
            sides = cluster.start(redirect=True)
            pull_scenarios("redirected")
            # What the registry itself does for a redirected pull: the 307 (the bytes are the gateway's).
            small_requests(args, accounting, bench, table, sides, "GET blob answered with a 307",
                           f"/v2/bench/pull/blobs/{digest}", ("--expect", 307))
            cluster.stop()

        rss = cluster.peak_rss
        for label in ("A", "B"):
            table.add(f"peak RSS, ours replica {label} vs reference", "MiB", rss.get(f"ours {label}", 0.0),
                      rss.get("reference", 0.0), higher_is_better=False,
                      ceiling="over every phase (streaming and redirecting servers)")
    finally:
        cluster.stop()
        engines.stop()
        shutil.rmtree(work, ignore_errors=True)
    accounting.print()
    print(f"\nrun took {time.time() - started:.0f} s; load average at the end: {os.getloadavg()[0]:.1f}; "
          "ours: two replicas, the reference: one process")
    table.print()


def small_requests(args, accounting, bench, table, sides, name, path, options):
    """One load run per side at 64 connections (ours: spread over the replicas); req/s and p99."""
    results = once(accounting, name, sides, lambda side: bench(
        "load", *side.urls(path), "--seconds", args.load_seconds, *options))
    for side in sides:
        shares = [results[side.name].get(f"requests_{i}") for i in range(len(side.servers))]
        if len(side.servers) > 1 and min(shares) < 0.2 * max(shares):
            print(f"  note: {side.name}'s replicas answered {shares} requests: unbalanced", flush=True)
    table.add(name, "req/s", results["ours"]["requests_per_s"], results["reference"]["requests_per_s"])
    table.add(f"{name}, p99 latency", "ms", results["ours"]["p99_ms"], results["reference"]["p99_ms"],
              higher_is_better=False)
