#!/usr/bin/env python3
"""Crash test: the registry's durability guarantees under SIGKILL, concurrent pushes and `registry gc`.

    crash_test.py --registry .build/debug/registry [--seconds 30] [--workers 6] [--seed N] [--keep]

Starts `registry serve` on a fresh root (127.0.0.1, OS-chosen port, gc grace 2 s, background gc
off), runs client threads doing real distribution-spec traffic (monolithic, POST+PUT and chunked
uploads, cross-repository mounts, image pushes by tag and by digest, tag moves, tag and manifest
deletes) while `registry gc` runs now and then from this script (sometimes SIGKILLed), and
SIGKILLs the server every 0.3-3 s, restarting it on the same root. Every acknowledged write is
recorded. Uploads interrupted by a kill are resumed after the restart (status, rest of the data,
PUT ?digest=). After the last cycle the server is killed once more and restarted, and, with no
clients, the script checks that every still-tagged manifest is served byte-exact by tag (its last
acknowledged value, or a value written by a request whose outcome is unknown) and by digest, that
every blob such a manifest references is readable and hashes to its digest, that acknowledged
blobs and untagged manifests are still there unless a gc may legitimately have collected them
(unreferenced, older than the grace period), that every blob that is readable hashes right, and
that `registry scrub` finds no damage. A last phase checks that a blob a client just HEADed
survives a `registry gc` run until the client's manifest PUT references it.

Each check counts; failures print as they happen and again in the summary; the last line is
`N passed, M failed`. Exit status 0 only with 0 failed. The whole run ends within about
--seconds + 60 s: every request and process has a timeout, and a watchdog stops everything.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

GRACE = 2.0                 # gc.grace_period of the server and of every `registry gc` run
REQUEST_TIMEOUT = 15.0      # any single HTTP request
SERVER_START_TIMEOUT = 20.0
GC_TIMEOUT = 20.0
REPOSITORIES = ["crash/r0", "crash/r1", "crash/r2"]
TAGS = ["t0", "t1", "t2", "t3"]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MiB = 1 << 20


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def error_codes(body):
    try:
        return [e.get("code") for e in json.loads(body).get("errors", [])]
    except (ValueError, AttributeError):
        return []


def error_detail(body):
    try:
        errors = json.loads(body).get("errors", [])
        return errors[0].get("detail") or {} if errors else {}
    except (ValueError, AttributeError):
        return {}


def with_query(location, **params):
    parts = urllib.parse.urlsplit(location)
    query = parts.query + ("&" if parts.query else "") + urllib.parse.urlencode(params)
    return urllib.parse.urlunsplit(("", "", parts.path, query, ""))


def upload_length(range_header):
    """The length of a session from its `Range: 0-<last>` header (`0-0` is an empty session here:
    every chunk this script sends has at least 2 bytes)."""
    match = re.fullmatch(r"(?:bytes=)?0-(\d+)", (range_header or "").strip())
    if not match:
        return None
    last = int(match.group(1))
    return 0 if last == 0 else last + 1


def random_size(rng, big=False):
    r = rng.random()
    if big:
        r = 0.5 + r / 2
    if r < 0.5:
        return rng.randint(2, 4096)
    if r < 0.8:
        return rng.randint(4096, 256 * 1024)
    if r < 0.95:
        return rng.randint(256 * 1024, int(1.5 * MiB))
    return rng.randint(int(1.5 * MiB), 3 * MiB)


# ---------------------------------------------------------------------------------------------
# Bookkeeping


class Checks:
    """Counts checks; prints every failure as it happens, keeps them for the summary."""

    def __init__(self):
        self.lock = threading.Lock()
        self.passed = {}
        self.failed = []
        self.notes = []

    def ok(self, name):
        with self.lock:
            self.passed[name] = self.passed.get(name, 0) + 1

    def fail(self, name, detail):
        with self.lock:
            self.failed.append((name, detail))
        print(f"FAIL {name}: {detail}", flush=True)

    def check(self, condition, name, detail):
        if condition:
            self.ok(name)
        else:
            self.fail(name, detail)
        return condition

    def note(self, text):
        with self.lock:
            self.notes.append(text)

    @property
    def passed_count(self):
        return sum(self.passed.values())


class Op:
    """A write whose effect the verification reasons about: it took effect between `start` and
    `end` if acknowledged; with an unknown outcome, at any moment from `start` until the server
    that may have received it was killed (resolved after the run)."""

    def __init__(self, value, start, end, acked, error_at=None):
        self.value, self.start, self.end, self.acked, self.error_at = value, start, end, acked, error_at


class Record:
    """Everything acknowledged (and everything whose outcome is unknown), shared by the workers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.blob_acks = {}         # (repo, digest) -> [(start, end, how)]
        self.blob_attempts = set()  # (repo, digest): any upload or mount tried, whatever its outcome
        self.manifests = {}         # digest -> (bytes, [blob digests])
        self.manifest_acks = {}     # (repo, digest) -> [(start, end, tag or None)]
        self.manifest_attempts = set()
        self.tag_ops = {}           # (repo, tag) -> [Op(value=digest or None)]
        self.digest_deletes = {}    # (repo, digest) -> [Op(value=None)]
        self.counts = {}

    def count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def blob_acked(self, repo, digest, start, end, how):
        with self.lock:
            self.blob_acks.setdefault((repo, digest), []).append((start, end, how))
            self.blob_attempts.add((repo, digest))

    def blob_attempted(self, repo, digest):
        with self.lock:
            self.blob_attempts.add((repo, digest))

    def acked_blobs_in(self, repo):
        with self.lock:
            return [d for (r, d) in self.blob_acks if r == repo]

    def any_acked_blob(self, rng, exclude_repo=None):
        with self.lock:
            keys = [k for k in self.blob_acks if k[0] != exclude_repo]
        return rng.choice(keys) if keys else None

    def manifest_known(self, digest, body, refs):
        with self.lock:
            self.manifests[digest] = (body, refs)

    def acked_manifests_in(self, repo):
        with self.lock:
            return [d for (r, d) in self.manifest_acks if r == repo]


class GcRuns:
    """`registry gc` runs started by the script: when they may have decided (start..end)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.runs = []  # dicts: start, end, delete_untagged, killed, rc, output

    def add(self, run):
        with self.lock:
            self.runs.append(run)

    def may_collect_after(self, moment, untagged_only=False):
        """Whether some gc run may have treated something created at `moment` as older than the
        grace period (its clock read happens before its end)."""
        with self.lock:
            return any(r["end"] - GRACE > moment and (r["delete_untagged"] or not untagged_only) for r in self.runs)


# ---------------------------------------------------------------------------------------------
# Processes


class Server:
    """`registry serve` on the root, restarted after every SIGKILL; clients ask it for the port."""

    def __init__(self, binary, root, config, work, env, checks):
        self.binary, self.root, self.config, self.work, self.env, self.checks = binary, root, config, work, env, checks
        self.cond = threading.Condition()
        self.process = None
        self.port = None
        self.generation = 0
        self.generations = []  # [start, kill or None]
        self.log = None

    def start(self):
        with self.cond:
            self.generation += 1
            generation = self.generation
        log_path = os.path.join(self.work, f"server-{generation}.log")
        self.log = open(log_path, "wb")
        started = time.time()
        self.process = subprocess.Popen(
            [self.binary, "serve", "--root", self.root, "--listen", "127.0.0.1:0", "--config", self.config],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        PROCESSES.add(self.process)
        port = None
        while time.time() - started < SERVER_START_TIMEOUT:
            with open(log_path, errors="replace") as f:
                for line in f:
                    if " listening" in line:
                        match = re.search(r"127\.0\.0\.1:(\d+)", line)
                        if match:
                            port = int(match.group(1))
                            break
            if port or self.process.poll() is not None:
                break
            time.sleep(0.02)
        if not port:
            text = open(log_path, errors="replace").read()[-3000:]
            self.checks.fail("server restarts on the crashed root",
                             f"generation {generation} did not listen within {SERVER_START_TIMEOUT:.0f} s "
                             f"(exit {self.process.poll()}):\n{text}")
            self.kill()
            return False
        self.checks.ok("server restarts on the crashed root")
        with self.cond:
            self.port = port
            self.generations.append([started, None])
            self.cond.notify_all()
        return True

    def kill(self):
        with self.cond:
            self.port = None
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        if self.process:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._ended()

    def _ended(self):
        """Forgets the stopped process and closes its generation (for gc's timing bookkeeping)."""
        if self.process:
            PROCESSES.discard(self.process)
        with self.cond:
            if self.generations and self.generations[-1][1] is None:
                self.generations[-1][1] = time.time()
        if self.log:
            self.log.close()
            self.log = None

    def stop(self):
        """SIGTERM (a clean stop), SIGKILL after 15 s."""
        with self.cond:
            self.port = None
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._ended()

    def current(self, timeout):
        """(generation, port) of the running server, waiting up to `timeout` for one."""
        deadline = time.time() + timeout
        with self.cond:
            while self.port is None:
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.generation, self.port

    def wait_after(self, generation, timeout):
        """Waits for a server newer than `generation` (the one a request saw die)."""
        deadline = time.time() + timeout
        with self.cond:
            while self.port is None or self.generation <= generation:
                left = deadline - time.time()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def end_of(self, moment):
        """The last moment a request whose connection failed at `moment` could take effect: the
        kill of the server running then (or `moment` itself if none was)."""
        with self.cond:
            for start, kill in self.generations:
                if start <= moment and (kill is None or moment <= kill):
                    return kill if kill is not None else float("inf")
        return moment


class ProcessSet:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = set()

    def add(self, process):
        with self.lock:
            self.items.add(process)

    def discard(self, process):
        with self.lock:
            self.items.discard(process)

    def kill_all(self):
        with self.lock:
            items = list(self.items)
        for process in items:
            if process.poll() is None:
                try:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    pass


PROCESSES = ProcessSet()


def run_tool(command, env, timeout, kill_after=None):
    """Runs a `registry gc|scrub` process; returns (rc or None if killed, output, start, end)."""
    started = time.time()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    PROCESSES.add(process)
    killed = False
    try:
        output, _ = process.communicate(timeout=kill_after if kill_after is not None else timeout)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        killed = kill_after is not None
        output, _ = process.communicate(timeout=10)
        if not killed:
            output = (output or b"") + f"\n(timed out after {timeout} s, killed)".encode()
    PROCESSES.discard(process)
    return (None if killed else process.returncode), (output or b"").decode(errors="replace"), started, time.time()


# ---------------------------------------------------------------------------------------------
# HTTP


class Reply:
    def __init__(self, status, headers, body, generation, start, end, error=None, sent=True):
        self.status, self.headers, self.body = status, headers, body
        self.generation, self.start, self.end, self.error, self.sent = generation, start, end, error, sent

    @property
    def unknown(self):
        """The request may or may not have taken effect (connection lost, timeout, 5xx)."""
        return (self.error is not None and self.sent) or (self.status is not None and self.status >= 500)

    def header(self, name):
        return self.headers.get(name) if self.headers else None

    def describe(self):
        if self.error is not None:
            return f"{'not sent' if not self.sent else 'no answer'} ({self.error})"
        return f"{self.status} {self.body[:300]!r}"


def request(server, method, path, body=None, headers=None, hash_body=False, wait=20.0):
    """One request on a fresh connection to the running server; never raises for network errors.
    With `hash_body`, the body is not kept: `.body` is (sha256 digest, length)."""
    current = server.current(wait)
    start = time.time()
    if current is None:
        return Reply(None, None, b"", 0, start, start, error="no server", sent=False)
    generation, port = current
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        try:
            connection.connect()
        except OSError as error:
            return Reply(None, None, b"", generation, start, time.time(), error=repr(error), sent=False)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        if hash_body and response.status == 200:
            hasher, length = hashlib.sha256(), 0
            while True:
                piece = response.read(MiB)
                if not piece:
                    break
                hasher.update(piece)
                length += len(piece)
            data = ("sha256:" + hasher.hexdigest(), length)
        else:
            data = response.read()
        return Reply(response.status, dict(response.getheaders()), data, generation, start, time.time())
    except (OSError, http.client.HTTPException) as error:
        return Reply(None, None, b"", generation, start, time.time(), error=repr(error))
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------
# Workload


class Context:
    def __init__(self, server, record, checks, gc_runs, stopping):
        self.server, self.record, self.checks, self.gc_runs, self.stopping = server, record, checks, gc_runs, stopping
        # Set by a worker about to send the PUT that completes an upload: the killer sometimes
        # aims at that moment (the upload's commit), which random kills rarely hit.
        self.commit_starting = threading.Event()


class Worker(threading.Thread):
    def __init__(self, context, index, seed):
        super().__init__(name=f"worker-{index}", daemon=True)
        self.c = context
        self.index = index
        self.rng = random.Random(seed)
        self.nonce = 0

    # --- helpers

    def req(self, method, path, **kwargs):
        """A request that never reached a server (refused while the killer restarts it) had no effect,
        so it is sent again to the next server rather than judged."""
        for _ in range(5):
            reply = request(self.c.server, method, path, **kwargs)
            if reply.sent or reply.error == "no server" or self.c.stopping.is_set():
                return reply
            self.c.server.wait_after(reply.generation, 10)
        return reply

    def after_interruption(self, reply):
        """After a lost connection: wait for the next server (the killer restarts it)."""
        if reply.error is not None and not self.c.stopping.is_set():
            self.c.server.wait_after(reply.generation, 10)

    def fresh_bytes(self, size):
        return self.rng.randbytes(size)

    def tag_op(self, repo, tag, digest, reply, acked):
        op = Op(digest, reply.start, reply.end if acked or reply.error is None else None, acked,
                error_at=reply.end if reply.error is not None else None)
        with self.c.record.lock:
            self.c.record.tag_ops.setdefault((repo, tag), []).append(op)

    # --- uploads; each returns the digest when acknowledged, else None

    def upload_monolithic(self, repo, data):
        digest = sha256(data)
        self.c.record.blob_attempted(repo, digest)
        reply = self.req("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", body=data,
                         headers={"Content-Type": "application/octet-stream"})
        self.c.record.count("upload monolithic")
        if reply.status == 201:
            self.check_created(reply, digest, "monolithic POST")
            self.c.record.blob_acked(repo, digest, reply.start, reply.end, "monolithic POST")
            return digest
        self.unexpected(reply, "monolithic POST")
        return None

    def upload_post_put(self, repo, data):
        digest = sha256(data)
        self.c.record.blob_attempted(repo, digest)
        reply = self.req("POST", f"/v2/{repo}/blobs/uploads/")
        self.c.record.count("upload POST+PUT")
        if reply.status != 202:
            self.unexpected(reply, "POST (start upload)")
            return None
        location = reply.header("Location")
        started = reply.start
        self.c.commit_starting.set()
        reply = self.req("PUT", with_query(location, digest=digest), body=data,
                         headers={"Content-Type": "application/octet-stream"})
        if reply.status == 201:
            self.check_created(reply, digest, "POST+PUT")
            self.c.record.blob_acked(repo, digest, started, reply.end, "POST+PUT")
            return digest
        if reply.error is not None and reply.sent:
            # Killed during the PUT: the session (if the PUT did not land) holds 0 bytes.
            self.after_interruption(reply)
            return self.resume(repo, location, data, acked_length=0, completing=True, first_start=started)
        self.unexpected(reply, "PUT (complete upload)")
        return None

    def upload_chunked(self, repo, data):
        digest = sha256(data)
        self.c.record.blob_attempted(repo, digest)
        self.c.record.count("upload chunked")
        cuts = sorted(self.rng.sample(range(2, len(data) - 1), min(self.rng.randint(1, 4), max(0, len(data) - 4)))) \
            if len(data) >= 6 else []
        bounds = [0] + [c for c in cuts] + [len(data)]
        # No chunk shorter than 2 bytes (so that `Range: 0-0` always means an empty session).
        bounds = [b for i, b in enumerate(bounds) if i == 0 or b - bounds[i - 1] >= 2 or b == len(data)]
        chunks = list(zip(bounds, bounds[1:]))
        last_in_put = self.rng.random() < 0.3 and len(chunks) > 1
        reply = self.req("POST", f"/v2/{repo}/blobs/uploads/")
        if reply.status != 202:
            self.unexpected(reply, "POST (start chunked upload)")
            return None
        location = reply.header("Location")
        started = reply.start
        acked = 0
        patches = chunks[:-1] if last_in_put else chunks
        for begin, end in patches:
            reply = self.req("PATCH", location, body=data[begin:end], headers={
                "Content-Type": "application/octet-stream", "Content-Range": f"{begin}-{end - 1}"})
            if reply.status == 202:
                self.c.checks.check(upload_length(reply.header("Range")) == end, "PATCH answers the new Range",
                                    f"{repo} PATCH {begin}-{end - 1}: Range {reply.header('Range')!r}")
                location = reply.header("Location") or location
                acked = end
                continue
            if reply.error is not None and reply.sent:
                self.after_interruption(reply)
                return self.resume(repo, location, data, acked_length=acked, completing=False, first_start=started)
            self.unexpected(reply, "PATCH")
            return None
        headers = {"Content-Type": "application/octet-stream"}
        body = None
        if last_in_put:
            begin, end = chunks[-1]
            body = data[begin:end]
            headers["Content-Range"] = f"{begin}-{end - 1}"
        self.c.commit_starting.set()
        reply = self.req("PUT", with_query(location, digest=digest), body=body, headers=headers)
        if reply.status == 201:
            self.check_created(reply, digest, "chunked PUT")
            self.c.record.blob_acked(repo, digest, started, reply.end, "chunked")
            return digest
        if reply.error is not None and reply.sent:
            self.after_interruption(reply)
            return self.resume(repo, location, data, acked_length=acked, completing=True, first_start=started)
        self.unexpected(reply, "PUT (complete chunked upload)")
        return None

    def resume(self, repo, location, data, acked_length, completing, first_start):
        """An upload in progress at a kill: its status after the restart, then the rest of the data."""
        digest = sha256(data)
        name = "interrupted upload: status after restart"
        for _ in range(5):
            if self.c.stopping.is_set() and self.c.server.current(0) is None:
                self.c.server.current(20)
            status = self.req("GET", location)
            if status.error is not None:
                self.after_interruption(status)
                continue
            if status.status == 404 and "BLOB_UPLOAD_UNKNOWN" in error_codes(status.body):
                self.c.checks.ok(name)
                self.c.record.count("resume: session gone (404)")
                return None
            if status.status != 204:
                self.c.checks.fail(name, f"{repo} GET {location} after restart: {status.describe()}")
                return None
            length = upload_length(status.header("Range"))
            if length is None or length < acked_length or length > len(data):
                self.c.checks.fail(
                    name, f"{repo} {location}: Range {status.header('Range')!r} after restart; "
                          f"{acked_length} bytes were acknowledged, {len(data)} is the whole blob")
                return None
            self.c.checks.ok(name)
            self.c.record.count("resume: session continued")
            location = status.header("Location") or location
            if length < len(data):
                reply = self.req("PATCH", location, body=data[length:], headers={
                    "Content-Type": "application/octet-stream", "Content-Range": f"{length}-{len(data) - 1}"})
                if reply.error is not None and reply.sent:
                    self.after_interruption(reply)
                    acked_length = length
                    continue
                if reply.status != 202:
                    self.resume_verdict(repo, location, reply, digest, len(data), length, "PATCH rest")
                    return None
                location = reply.header("Location") or location
                acked_length = len(data)
            self.c.commit_starting.set()
            reply = self.req("PUT", with_query(location, digest=digest))
            if reply.error is not None and reply.sent:
                self.after_interruption(reply)
                completing = True
                continue
            if reply.status == 201:
                self.c.checks.ok("interrupted upload: completes with the right data")
                self.c.record.blob_acked(repo, digest, first_start, reply.end, "resumed after restart")
                return digest
            self.resume_verdict(repo, location, reply, digest, len(data), length, "PUT ?digest=")
            return None
        self.c.record.count("resume: gave up after repeated kills")
        return None

    def resume_verdict(self, repo, location, reply, digest, size, length, what):
        codes = error_codes(reply.body)
        name = "interrupted upload: completes with the right data"
        if "DIGEST_INVALID" in codes:
            self.c.checks.fail(name, f"{repo} {location}: resumed at {length} of {size} bytes (Range after restart), "
                                     f"{what} with the right data answered {reply.status} {reply.body[:400]!r} "
                                     f"(expected {digest})")
        elif reply.status is not None and 400 <= reply.status < 500 and codes:
            self.c.checks.ok(name)
            self.c.checks.note(f"resumed upload refused with a clear error: {what} {reply.status} {codes}")
        else:
            self.c.checks.fail(name, f"{repo} {location}: {what} after resume: {reply.describe()}")

    def check_created(self, reply, digest, what):
        self.c.checks.check(reply.header("Docker-Content-Digest") == digest, "201 names the blob's digest",
                            f"{what}: Docker-Content-Digest {reply.header('Docker-Content-Digest')!r}, expected {digest}")

    def unexpected(self, reply, what):
        if reply.error is not None:
            self.c.record.count("interrupted by a kill")
            self.after_interruption(reply)
        elif reply.status >= 500:
            self.c.record.count("5xx answers")
            self.c.checks.note(f"{what}: {reply.status} {reply.body[:200]!r}")
        else:
            self.c.checks.fail("requests with right data are accepted", f"{what}: {reply.describe()}")

    def upload_any(self, repo, size=None):
        data = self.fresh_bytes(size if size is not None else random_size(self.rng))
        kind = self.rng.random()
        if kind < 0.35:
            return self.upload_monolithic(repo, data), len(data)
        if kind < 0.6:
            return self.upload_post_put(repo, data), len(data)
        return self.upload_chunked(repo, data), len(data)

    # --- operations

    def op_blob(self):
        repo = self.rng.choice(REPOSITORIES)
        kind = self.rng.random()
        if kind < 0.6:
            data = self.fresh_bytes(random_size(self.rng, big=True))
            self.upload_chunked(repo, data)
        else:
            self.upload_any(repo)

    def op_mount(self):
        dest = self.rng.choice(REPOSITORIES)
        source = self.c.record.any_acked_blob(self.rng, exclude_repo=dest)
        if source is None:
            return
        source_repo, digest = source
        self.c.record.blob_attempted(dest, digest)
        with_from = self.rng.random() < 0.7
        query = f"mount={digest}" + (f"&from={source_repo}" if with_from else "")
        reply = self.req("POST", f"/v2/{dest}/blobs/uploads/?{query}")
        self.c.record.count("mount" + (" with from" if with_from else " without from"))
        if reply.status == 201:
            self.check_created(reply, digest, "mount")
            self.c.record.blob_acked(dest, digest, reply.start, reply.end, "mount")
        elif reply.status == 202:
            # Not mountable (collected meanwhile): a session was opened instead; cancel it.
            self.c.record.count("mount fell back to an upload")
            self.req("DELETE", reply.header("Location") or "/")
        else:
            self.unexpected(reply, "mount")

    def op_image(self, by_digest=False):
        repo = self.rng.choice(REPOSITORIES)
        layers = []
        fresh = {}  # digest -> (moment it was made fresh, how, generation)
        for _ in range(self.rng.randint(1, 3)):
            existing = self.c.record.acked_blobs_in(repo)
            if existing and self.rng.random() < 0.5:
                digest = self.rng.choice(existing)
                head = self.req("HEAD", f"/v2/{repo}/blobs/{digest}")
                if head.status == 200:
                    layers.append((digest, int(head.header("Content-Length"))))
                    fresh[digest] = (head.start, "HEAD", head.generation)
                    continue
                if head.status is None:
                    self.after_interruption(head)
            digest, size = self.upload_any(repo, size=random_size(self.rng))
            if digest is None:
                return
            layers.append((digest, size))
            with self.c.record.lock:
                fresh[digest] = (self.c.record.blob_acks[(repo, digest)][-1][0], "upload", None)
        self.nonce += 1
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
            "type": "layers", "diff_ids": [d for d, _ in layers]}, "crash": f"{self.index}-{self.nonce}-{time.time()}"}
        ).encode()
        config_digest = self.upload_monolithic(repo, config)
        if config_digest is None:
            return
        with self.c.record.lock:
            fresh[config_digest] = (self.c.record.blob_acks[(repo, config_digest)][-1][0], "upload", None)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": d, "size": s} for d, s in layers],
        }, indent=1).encode()
        digest = sha256(manifest)
        refs = [config_digest] + [d for d, _ in layers]
        self.c.record.manifest_known(digest, manifest, refs)
        tag = None if by_digest else self.rng.choice(TAGS)
        self.put_manifest(repo, tag, digest, manifest, fresh)

    def put_manifest(self, repo, tag, digest, manifest, fresh=None):
        reference = tag or digest
        with self.c.record.lock:
            self.c.record.manifest_attempts.add((repo, digest))
        reply = self.req("PUT", f"/v2/{repo}/manifests/{reference}", body=manifest,
                         headers={"Content-Type": OCI_MANIFEST})
        self.c.record.count("manifest PUT by " + ("tag" if tag else "digest") + (" (tag move)" if fresh is None else ""))
        if reply.status == 201:
            self.c.checks.check(reply.header("Docker-Content-Digest") == digest, "201 names the manifest's digest",
                                f"PUT {repo}:{reference}: {reply.header('Docker-Content-Digest')!r}, expected {digest}")
            with self.c.record.lock:
                self.c.record.manifest_acks.setdefault((repo, digest), []).append((reply.start, reply.end, tag))
            if tag:
                self.tag_op(repo, tag, digest, reply, acked=True)
            return True
        if reply.unknown:
            if tag:
                self.tag_op(repo, tag, digest, reply, acked=False)
            self.unexpected(reply, f"PUT manifest {repo}:{reference}")
            return False
        codes = error_codes(reply.body)
        if "MANIFEST_BLOB_UNKNOWN" in codes and fresh is not None:
            missing = error_detail(reply.body).get("digest")
            moment, how, generation = fresh.get(missing, (None, None, None))
            self.c.record.count("manifest PUT: MANIFEST_BLOB_UNKNOWN")
            if moment is None:
                self.c.checks.fail("manifest PUT accepts blobs just pushed or HEADed",
                                   f"{repo}:{reference}: MANIFEST_BLOB_UNKNOWN for {missing!r}, not one it references")
            elif reply.start - moment > GRACE * 0.75:
                self.c.checks.note(f"MANIFEST_BLOB_UNKNOWN for {missing} ({how} {reply.start - moment:.2f} s before "
                                   f"the PUT, more than the grace period allows for): not counted")
            elif how == "HEAD" and generation != reply.generation:
                self.c.checks.note(f"MANIFEST_BLOB_UNKNOWN for {missing} HEADed {reply.start - moment:.2f} s before "
                                   f"the PUT by a server since killed (its record of the HEAD may be lost): not counted")
            else:
                self.c.checks.fail(
                    "manifest PUT accepts blobs just pushed or HEADed",
                    f"{repo}:{reference}: MANIFEST_BLOB_UNKNOWN for {missing}, {how} answered "
                    f"{reply.start - moment:.2f} s before the PUT (grace {GRACE:.0f} s)")
            return False
        if fresh is not None:
            self.c.checks.fail("requests with right data are accepted", f"PUT manifest {repo}:{reference}: {reply.describe()}")
        else:
            self.c.record.count(f"tag move refused: {codes}")
        return False

    def op_tag_move(self):
        repo = self.rng.choice(REPOSITORIES)
        known = self.c.record.acked_manifests_in(repo)
        if not known:
            return
        digest = self.rng.choice(known)
        with self.c.record.lock:
            manifest, _ = self.c.record.manifests[digest]
        self.put_manifest(repo, self.rng.choice(TAGS), digest, manifest)

    def op_delete_tag(self):
        repo, tag = self.rng.choice(REPOSITORIES), self.rng.choice(TAGS)
        reply = self.req("DELETE", f"/v2/{repo}/manifests/{tag}")
        self.c.record.count("delete tag")
        if reply.status == 202:
            self.tag_op(repo, tag, None, reply, acked=True)
        elif reply.unknown:
            self.tag_op(repo, tag, None, reply, acked=False)
            self.unexpected(reply, "DELETE tag")
        elif reply.status != 404:
            self.unexpected(reply, f"DELETE {repo}:{tag}")

    def op_delete_manifest(self):
        repo = self.rng.choice(REPOSITORIES)
        known = self.c.record.acked_manifests_in(repo)
        if not known:
            return
        digest = self.rng.choice(known)
        reply = self.req("DELETE", f"/v2/{repo}/manifests/{digest}")
        self.c.record.count("delete manifest")
        if reply.status == 202 or reply.unknown:
            op = Op(None, reply.start, reply.end if reply.error is None else None, reply.status == 202,
                    error_at=reply.end if reply.error is not None else None)
            with self.c.record.lock:
                self.c.record.digest_deletes.setdefault((repo, digest), []).append(op)
        if reply.status not in (202, 404):
            self.unexpected(reply, f"DELETE {repo}@{digest}")

    def op_pull(self):
        """Pulls while pushes, kills and gc go on: whatever answers 200 must be the right bytes."""
        repo = self.rng.choice(REPOSITORIES)
        if self.rng.random() < 0.5:
            blobs = self.c.record.acked_blobs_in(repo)
            if not blobs:
                return
            digest = self.rng.choice(blobs)
            reply = self.req("GET", f"/v2/{repo}/blobs/{digest}", hash_body=True)
            self.c.record.count("pull blob")
            if reply.status == 200:
                self.c.checks.check(reply.body[0] == digest, "readable blobs hash to their digest",
                                    f"GET {repo}@{digest} during the run: bytes hash to {reply.body[0]}")
            elif reply.error is not None:
                self.after_interruption(reply)
        else:
            tag = self.rng.choice(TAGS)
            reply = self.req("GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
            self.c.record.count("pull tag")
            if reply.status == 200:
                served = sha256(reply.body)
                with self.c.record.lock:
                    known = self.c.record.manifests.get(served)
                self.c.checks.check(known is not None and reply.header("Docker-Content-Digest") == served,
                                    "manifests are served byte-exact by tag",
                                    f"GET {repo}:{tag} during the run: {served} is no manifest pushed "
                                    f"(header {reply.header('Docker-Content-Digest')})")
            elif reply.error is not None:
                self.after_interruption(reply)

    def run(self):
        operations = [(self.op_blob, 25), (self.op_pull, 10), (self.op_mount, 10), (self.op_image, 30),
                      (lambda: self.op_image(by_digest=True), 6), (self.op_tag_move, 12),
                      (self.op_delete_tag, 5), (self.op_delete_manifest, 5)]
        functions, weights = zip(*operations)
        while not self.c.stopping.is_set():
            operation = self.rng.choices(functions, weights)[0]
            try:
                operation()
            except Exception:  # a bug of this script: loud, and counted
                self.c.checks.fail("script error", traceback.format_exc())
                time.sleep(0.5)


def gc_loop(context, binary, root, config, env, rng, deadline):
    """`registry gc` now and then during the run, sometimes SIGKILLed midway."""
    while not context.stopping.is_set() and time.time() < deadline:
        time.sleep(rng.uniform(0.2, 1.5))
        if context.stopping.is_set():
            break
        delete_untagged = rng.random() < 0.5
        kill_after = rng.uniform(0.0, 0.5) if rng.random() < 0.3 else None
        command = [binary, "gc", "--root", root, "--config", config] + (["--delete-untagged"] if delete_untagged else [])
        rc, output, start, end = run_tool(command, env, GC_TIMEOUT, kill_after=kill_after)
        context.gc_runs.add({"start": start, "end": end, "delete_untagged": delete_untagged,
                             "killed": kill_after is not None and rc is None, "rc": rc, "output": output})
        if rc is not None and rc != 0:
            context.checks.fail("registry gc (not killed) succeeds", f"exit {rc}: {output[-1500:]}")
        elif rc == 0:
            context.checks.ok("registry gc (not killed) succeeds")


# ---------------------------------------------------------------------------------------------
# Verification


def verify(context):
    server, record, checks, gc_runs = context.server, context.record, context.checks, context.gc_runs
    print("verifying acknowledged writes", flush=True)

    def get(path, **kwargs):
        reply = request(server, "GET", path, wait=5, **kwargs)
        if reply.error is not None:
            raise RuntimeError(f"GET {path}: {reply.describe()} (the restarted server stopped answering)")
        return reply

    verified_blobs = {}  # (repo, digest) -> status

    def blob_readable(repo, digest, why):
        key = (repo, digest)
        if key in verified_blobs:
            ok = verified_blobs[key] == 200
            if not ok:
                checks.fail("blobs of kept manifests are readable", f"{repo}@{digest} ({why}): {verified_blobs[key]}")
            else:
                checks.ok("blobs of kept manifests are readable")
            return
        reply = get(f"/v2/{repo}/blobs/{digest}", hash_body=True)
        verified_blobs[key] = reply.status
        if checks.check(reply.status == 200, "blobs of kept manifests are readable",
                        f"{repo}@{digest} ({why}): GET answered {reply.describe()}"):
            checks.check(reply.body[0] == digest, "readable blobs hash to their digest",
                         f"{repo}@{digest}: bytes hash to {reply.body[0]} ({reply.body[1]} bytes)")

    def manifest_complete(repo, digest, why):
        _, refs = record.manifests[digest]
        for ref in refs:
            blob_readable(repo, ref, f"referenced by {digest}, {why}")

    with record.lock:
        tag_ops = {k: list(v) for k, v in record.tag_ops.items()}
        digest_deletes = {k: list(v) for k, v in record.digest_deletes.items()}
        manifest_acks = {k: list(v) for k, v in record.manifest_acks.items()}
        blob_acks = {k: list(v) for k, v in record.blob_acks.items()}
        blob_attempts = set(record.blob_attempts)
        manifest_attempts = set(record.manifest_attempts)

    for ops in list(tag_ops.values()) + list(digest_deletes.values()):
        for op in ops:
            if op.end is None:
                op.end = server.end_of(op.error_at)

    # 1. Tags: served value is one the history allows; byte-exact by tag and digest; blobs readable.
    manifests_seen = set()
    for repo in REPOSITORIES:
        listed = get(f"/v2/{repo}/tags/list")
        listed_tags = set(json.loads(listed.body).get("tags") or []) if listed.status == 200 else set()
        served_tags = set()
        for tag in TAGS:
            ops = tag_ops.get((repo, tag), [])
            history = [Op(None, float("-inf"), float("-inf"), True)] + ops
            acked_starts = [op.start for op in history if op.acked]
            candidates = {op.value for op in history if not any(s > op.end for s in acked_starts)}
            for (delete_repo, deleted), deletes in digest_deletes.items():
                if delete_repo == repo and deleted in {op.value for op in ops}:
                    candidates.add(None)
            reply = get(f"/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
            if reply.status == 200:
                served_tags.add(tag)
                served = sha256(reply.body)
                known = record.manifests.get(served)
                if not checks.check(served in candidates, "tags hold their last acknowledged value",
                                    f"{repo}:{tag} serves {served}; allowed: {sorted(map(str, candidates))}; "
                                    f"history: {describe_ops(ops)}"):
                    continue
                checks.check(known is not None and known[0] == reply.body and reply.header("Docker-Content-Digest") == served,
                             "manifests are served byte-exact by tag", f"{repo}:{tag}: {reply.body[:200]!r}")
                by_digest = get(f"/v2/{repo}/manifests/{served}", headers={"Accept": OCI_MANIFEST})
                checks.check(by_digest.status == 200 and by_digest.body == reply.body,
                             "manifests are served byte-exact by digest", f"{repo}@{served}: {by_digest.describe()}")
                manifests_seen.add((repo, served))
                if known:
                    manifest_complete(repo, served, f"tagged {tag}")
            elif reply.status == 404:
                checks.check(None in candidates, "tags hold their last acknowledged value",
                             f"{repo}:{tag} answers 404; allowed: {sorted(map(str, candidates))}; history: {describe_ops(ops)}")
            else:
                checks.fail("tags hold their last acknowledged value", f"{repo}:{tag}: {reply.describe()}")
        checks.check(listed_tags == served_tags, "tags/list lists exactly the tags served",
                     f"{repo}: tags/list {sorted(listed_tags)}, served {sorted(served_tags)} ({listed.describe()[:100]})")

    # 2. Acknowledged manifests not reached by a tag: present (byte-exact, complete) unless
    # deleted by digest or collected as untagged by a `gc --delete-untagged`.
    for (repo, digest), acks in sorted(manifest_acks.items()):
        if (repo, digest) in manifests_seen:
            continue
        reply = get(f"/v2/{repo}/manifests/{digest}", headers={"Accept": OCI_MANIFEST})
        if reply.status == 200:
            checks.check(reply.body == record.manifests[digest][0], "manifests are served byte-exact by digest",
                         f"{repo}@{digest}: {reply.body[:200]!r}")
            manifest_complete(repo, digest, "untagged")
            manifests_seen.add((repo, digest))
        elif reply.status == 404:
            deleted = bool(digest_deletes.get((repo, digest)))
            collectable = gc_runs.may_collect_after(min(a[0] for a in acks), untagged_only=True)
            checks.check(deleted or collectable, "untagged manifests stay until deleted or collected",
                         f"{repo}@{digest} (acknowledged {len(acks)}x, last tag {acks[-1][2]}) answers 404; "
                         f"never deleted, no gc --delete-untagged could collect it")
        else:
            checks.fail("untagged manifests stay until deleted or collected", f"{repo}@{digest}: {reply.describe()}")

    # 3. Acknowledged blobs: readable unless a gc could collect them (unreferenced after grace).
    for (repo, digest), acks in sorted(blob_acks.items()):
        if (repo, digest) not in verified_blobs:
            verified_blobs[(repo, digest)] = None
            reply = get(f"/v2/{repo}/blobs/{digest}", hash_body=True)
            verified_blobs[(repo, digest)] = reply.status
            if reply.status == 200:
                checks.check(reply.body[0] == digest, "readable blobs hash to their digest",
                             f"{repo}@{digest}: bytes hash to {reply.body[0]}")
        status = verified_blobs[(repo, digest)]
        last = max(acks)
        if status == 200:
            checks.ok("acknowledged blobs stay until a gc may collect them")
        else:
            checks.check(gc_runs.may_collect_after(last[0]), "acknowledged blobs stay until a gc may collect them",
                         f"{repo}@{digest} ({last[2]}, acknowledged at +{last[1] - START:.2f} s) answers {status}; "
                         f"no gc started later than the grace period after it")

    # 4. Whatever else was written (outcome unknown or refused): if readable, the right bytes.
    for repo, digest in sorted(blob_attempts):
        if (repo, digest) in verified_blobs:
            continue
        reply = get(f"/v2/{repo}/blobs/{digest}", hash_body=True)
        verified_blobs[(repo, digest)] = reply.status
        if reply.status == 200:
            checks.check(reply.body[0] == digest, "readable blobs hash to their digest",
                         f"{repo}@{digest} (unacknowledged upload): bytes hash to {reply.body[0]}")
    for repo, digest in sorted(manifest_attempts):
        if (repo, digest) in manifests_seen or (repo, digest) in manifest_acks:
            continue
        reply = get(f"/v2/{repo}/manifests/{digest}", headers={"Accept": OCI_MANIFEST})
        if reply.status == 200:
            checks.check(reply.body == record.manifests[digest][0], "manifests are served byte-exact by digest",
                         f"{repo}@{digest} (unacknowledged PUT): {reply.body[:200]!r}")
            manifest_complete(repo, digest, "unacknowledged PUT that landed")


def describe_ops(ops):
    parts = []
    for op in ops[-8:]:
        value = op.value[7:19] if op.value else "deleted"
        parts.append(f"{value}@+{op.start - START:.2f}..{'+%.2f' % (op.end - START) if op.end not in (None, float('inf')) else op.end}"
                     f"{'' if op.acked else '?'}")
    return ", ".join(parts)


def head_counts_as_new(context, binary, root, config, env, rounds, lanes, rng, stop_by):
    """Push layers, let them age past the grace period, HEAD them, run `registry gc` at once
    (another process), then PUT a manifest referencing each: every PUT must succeed (a blob a
    client just HEADed counts as new). Each round also pushes a control layer nobody HEADs, which
    that gc must collect: otherwise the round proves nothing (the layers were not old enough)."""
    server, checks = context.server, context.checks
    name = "HEADed blob counts as new (gc between HEAD and manifest PUT)"
    # Older than the grace period, plus the second some versions add for their use records.
    age = GRACE + 1.5
    print(f"HEAD-then-gc check: up to {rounds} rounds of {lanes} blobs (+1 control each)", flush=True)

    def push_layers(round_number):
        pushed = []
        for lane in range(lanes + 1):
            repo = f"crash/head{lane}" if lane < lanes else "crash/head-control"
            data = rng.randbytes(rng.randint(100, 64 * 1024))
            digest = sha256(data)
            reply = request(server, "POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", body=data, wait=5)
            if reply.status != 201:
                checks.fail(name, f"pushing a layer to {repo}: {reply.describe()}")
                continue
            pushed.append((repo, digest, len(data), reply.end))
        return pushed

    controls = [0, 0]  # collected, pushed
    layers = push_layers(0)
    for round_number in range(rounds):
        if not layers:
            return
        time.sleep(max(0.0, max(p[3] for p in layers) + age - time.time()))
        headed, control = [], None
        for repo, digest, size, pushed_at in layers:
            if repo == "crash/head-control":
                control = (repo, digest)
                continue
            reply = request(server, "HEAD", f"/v2/{repo}/blobs/{digest}", wait=5)
            if checks.check(reply.status == 200, "blobs stay readable without gc",
                            f"HEAD {repo}@{digest} {time.time() - pushed_at:.1f} s after its push (no gc since): "
                            f"{reply.describe()}"):
                headed.append((repo, digest, size, reply.start))
        rc, output, gc_start, gc_end = run_tool([binary, "gc", "--root", root, "--config", config, "--json"], env, GC_TIMEOUT)
        if rc != 0:
            checks.fail("registry gc (not killed) succeeds", f"exit {rc}: {output[-1500:]}")
        # The next round's layers age while this one finishes.
        last_round = round_number + 1 >= rounds or time.time() > stop_by
        next_layers = [] if last_round else push_layers(round_number + 1)
        for repo, digest, size, head_at in headed:
            config_body = json.dumps({"architecture": "amd64", "os": "linux", "n": [round_number, repo, time.time()]}).encode()
            config_digest = sha256(config_body)
            reply = request(server, "POST", f"/v2/{repo}/blobs/uploads/?digest={config_digest}", body=config_body, wait=5)
            if reply.status != 201:
                checks.fail(name, f"pushing the config to {repo}: {reply.describe()}")
                continue
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config_body)},
                "layers": [{"mediaType": OCI_LAYER, "digest": digest, "size": size}]}).encode()
            put_start = time.time()
            reply = request(server, "PUT", f"/v2/{repo}/manifests/v{round_number}", body=manifest,
                            headers={"Content-Type": OCI_MANIFEST}, wait=5)
            collected = digest in output
            if reply.status == 201:
                checks.ok(name)
            elif "MANIFEST_BLOB_UNKNOWN" in error_codes(reply.body) and put_start - head_at >= GRACE:
                checks.note(f"HEAD check: PUT {put_start - head_at:.2f} s after the HEAD (gc took "
                            f"{gc_end - gc_start:.2f} s): beyond the grace period, not counted")
            else:
                checks.fail(name, f"{repo}@{digest}: HEAD 200 at +{head_at - START:.2f} s, `registry gc` ran "
                                  f"+{gc_start - START:.2f}..+{gc_end - START:.2f} s"
                                  f"{' and deleted the blob' if collected else ''}, manifest PUT at "
                                  f"+{put_start - START:.2f} s answered {reply.describe()}")
        if control:
            controls[1] += 1
            reply = request(server, "GET", f"/v2/{control[0]}/blobs/{control[1]}", hash_body=True, wait=5)
            if reply.status == 404:
                controls[0] += 1
        layers = next_layers
        if last_round:
            break
    context.head_controls = controls
    if controls[0] < controls[1]:
        checks.note(f"HEAD check: gc collected {controls[0]} of {controls[1]} control layers (unreferenced, never "
                    f"HEADed, {age:.1f} s old): rounds whose control survived prove nothing")


def scrub(context, binary, root, config, env):
    rc, output, start, end = run_tool([binary, "scrub", "--root", root, "--config", config], env, 40)
    damage = any(line.startswith(("corrupt", "missing", "referenced by links")) for line in output.splitlines())
    context.checks.check(rc == 0 and "no damage found" in output and not damage, "registry scrub finds no damage",
                         f"exit {rc}:\n{output[-3000:]}")
    return output, end - start


# ---------------------------------------------------------------------------------------------


START = time.time()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", required=True, help="the registry binary (copied to the work dir first)")
    parser.add_argument("--seconds", type=float, default=30, help="length of the kill/restart phase")
    parser.add_argument("--workers", type=int, default=6, help="concurrent client threads")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--head-rounds", type=int, default=4, help="rounds of the HEAD-then-gc check")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (root, logs)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    global START
    START = time.time()

    work = tempfile.mkdtemp(prefix="registry-crash-")
    checks = Checks()
    finished = threading.Event()

    def watchdog():
        if finished.wait(args.seconds + 58):
            return
        print("FAIL watchdog: the run took too long; stopping every process", flush=True)
        PROCESSES.kill_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        print(f"{checks.passed_count} passed, {len(checks.failed) + 1} failed", flush=True)
        os._exit(1)

    threading.Thread(target=watchdog, daemon=True).start()
    server = None
    try:
        binary = os.path.join(work, "registry")
        shutil.copy2(args.registry, binary)
        root = os.path.join(work, "root")
        config = os.path.join(work, "registry.yaml")
        with open(config, "w") as f:
            f.write(f"gc:\n  interval: \"off\"\n  grace_period: {GRACE:.0f}s\nstorage:\n  root: {root}\n")
        env = dict(os.environ, REGISTRY_GC_GRACE_PERIOD=f"{GRACE:.0f}s", REGISTRY_GC_INTERVAL="off")
        print(f"crash test: seed {seed}, {args.workers} workers, {args.seconds:.0f} s of kills, work dir {work}", flush=True)

        server = Server(binary, root, config, work, env, checks)
        if not server.start():
            raise RuntimeError("the registry did not start on a fresh root")
        record = Record()
        gc_runs = GcRuns()
        stopping = threading.Event()
        context = Context(server, record, checks, gc_runs, stopping)
        workers = [Worker(context, i, rng.randrange(1 << 30)) for i in range(args.workers)]
        for worker in workers:
            worker.start()
        deadline = time.time() + args.seconds
        gc_thread = threading.Thread(target=gc_loop, args=(context, binary, root, config, env,
                                                           random.Random(rng.randrange(1 << 30)), deadline), daemon=True)
        gc_thread.start()

        kills = aimed = 0
        while time.time() < deadline:
            time.sleep(min(rng.uniform(0.3, 3.0), max(0.0, deadline - time.time())))
            if time.time() >= deadline:
                break
            if rng.random() < 0.5:
                # Aimed at an upload's commit: a few milliseconds after a completing PUT is sent
                # (the moment a crash is most likely to part a blob's file from its records).
                context.commit_starting.clear()
                if context.commit_starting.wait(min(2.0, max(0.0, deadline - time.time()))):
                    time.sleep(rng.uniform(0.0, 0.004) if rng.random() < 0.5 else rng.uniform(0.004, 0.02))
                    aimed += 1
            server.kill()
            kills += 1
            if not server.start():
                raise RuntimeError("the registry did not restart after a kill")
        stopping.set()
        gc_thread.join(GC_TIMEOUT + 5)
        for worker in workers:  # the server stays up: interrupted uploads finish their resume checks
            worker.join(max(1.0, START + args.seconds + 20 - time.time()))
            if worker.is_alive():
                checks.fail("workers finish", f"{worker.name} still busy 20 s after the end of the kills")
        phase_seconds = time.time() - START

        # The last crash, then a clean restart with no clients.
        server.kill()
        kills += 1
        if not server.start():
            raise RuntimeError("the registry did not restart after the last kill")
        verify(context)
        verify_seconds = time.time() - START - phase_seconds

        head_counts_as_new(context, binary, root, config, env, args.head_rounds, 6, rng, stop_by=START + args.seconds + 30)
        server.stop()
        scrub_output, scrub_seconds = scrub(context, binary, root, config, env)

        # Summary.
        print("\n== summary")
        print(f"seed {seed}; {kills} kills ({aimed} aimed at an upload's commit; server generations: {server.generation}); "
              f"kill phase {phase_seconds:.1f} s, verification {verify_seconds:.1f} s, scrub {scrub_seconds:.1f} s, "
              f"total {time.time() - START:.1f} s")
        runs = gc_runs.runs
        durations = sorted(r["end"] - r["start"] for r in runs if not r["killed"])
        print(f"registry gc: {len(runs)} runs ({sum(r['killed'] for r in runs)} killed midway, "
              f"{sum(r['delete_untagged'] for r in runs)} with --delete-untagged; "
              f"{'%.2f' % durations[len(durations) // 2] if durations else '-'} s median duration)")
        print(f"acknowledged: {len(record.blob_acks)} blob links, {len(record.manifest_acks)} manifests, "
              f"{sum(len([o for o in v if o.acked]) for v in record.tag_ops.values())} tag writes, "
              f"{sum(len([o for o in v if o.acked]) for v in record.digest_deletes.values())} manifest deletes")
        print("operations: " + ", ".join(f"{k} {v}" for k, v in sorted(record.counts.items())))
        controls = getattr(context, "head_controls", [0, 0])
        print(f"HEAD check: gc collected {controls[0]} of {controls[1]} control layers (the rounds' proof of age)")
        print("scrub: " + " | ".join(scrub_output.strip().splitlines()[:1] + scrub_output.strip().splitlines()[-1:]))
        errors = log_errors(work)
        if errors:
            print(f"server log lines at error level or above: {len(errors)}; first: " + " || ".join(errors[:5]))
        for note in checks.notes[:15]:
            print(f"note: {note}")
        if len(checks.notes) > 15:
            print(f"note: ... {len(checks.notes) - 15} more")
        for name, count in sorted(checks.passed.items()):
            print(f"PASS {name} x{count}")
        failed_names = {}
        for name, detail in checks.failed:
            failed_names.setdefault(name, []).append(detail)
        for name, details in failed_names.items():
            print(f"FAIL {name} x{len(details)}")
            for detail in details[:5]:
                print("    " + detail.replace("\n", "\n    "))
            if len(details) > 5:
                print(f"    ... {len(details) - 5} more")
    except Exception:
        checks.fail("crash test ran to the end", traceback.format_exc())
    finally:
        if server is not None:
            try:
                server.stop()
            except Exception:
                pass
        PROCESSES.kill_all()
        finished.set()
        if args.keep:
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{checks.passed_count} passed, {len(checks.failed)} failed", flush=True)
    return 0 if not checks.failed else 1


def log_errors(work):
    lines = []
    for name in sorted(os.listdir(work)):
        if name.startswith("server-") and name.endswith(".log"):
            with open(os.path.join(work, name), errors="replace") as f:
                # Text log lines: `<time> <level> <label>: ...`.
                lines += [f"{name}: {line.strip()[:300]}" for line in f
                          if line.split(" ", 2)[1:2] in (["error"], ["critical"])]
    return lines


if __name__ == "__main__":
    sys.exit(main())
