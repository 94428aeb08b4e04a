#!/usr/bin/env python3
"""Checks that every `201 Created` is written only after what it acknowledges is on stable storage.

    python3 scripts/crash/durability_order.py --registry .build/debug/registry

Runs `registry serve` under strace and pushes blobs (one request; POST, PATCH and PUT; a chunk
over 1 MiB, which takes the O_DIRECT path), a manifest by tag and a tag move. For each
acknowledgement it checks the order of the server's system calls before the response was written:

- a blob: its bytes fsynced (the session file), its name linked into `blobs/`, that directory
  fsynced after the link, and the metadata's write-ahead log fsynced after the link;
- a manifest or a tag: the write-ahead log fsynced since the previous response.

A power loss can only lose what was not synced, so this ordering is what makes a `201` survive
one (provided the disk honours fsync). It does not cut the power: this kernel has no
device-mapper (no dm-flakey or dm-log-writes) to simulate that. The last line is `N passed,
N failed`; the exit code is 0 only when nothing failed.
"""
import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from harness import Background  # noqa: E402

MIB = 1024 * 1024
LINE = re.compile(r"^(\d+)\s+(.*)$")  # strace pads short process ids


class Trace:
    """The strace log as events: (kind, detail) in the order they completed."""

    def __init__(self, path):
        self.events = []
        pending = {}  # pid -> (call, argument text) of an unfinished call
        with open(path, errors="replace") as log:
            for raw in log:
                match = LINE.match(raw.rstrip("\n"))
                if not match:
                    continue
                pid, text = match.groups()
                if text.endswith("<unfinished ...>"):
                    call = text.split("(", 1)[0]
                    pending[pid] = (call, text)
                    if call in ("write", "writev", "sendmsg", "sendto"):
                        self._response(text)  # a response counts from when its write starts
                    continue
                resumed = re.match(r"<\.\.\. (\w+) resumed>(.*)", text)
                if resumed:
                    call, text_start = pending.pop(pid, (resumed.group(1), ""))
                    self._completed(call, text_start, resumed.group(2))
                    continue
                call = text.split("(", 1)[0]
                if call in ("write", "writev", "sendmsg", "sendto"):
                    self._response(text)
                else:
                    self._completed(call, text, text)

    def _response(self, text):
        status = re.search(r'"HTTP/1\.1 (\d{3}) ', text)
        if status:
            self.events.append(("response", status.group(1)))

    def _completed(self, call, start, end):
        if not re.search(r"= 0\s*$", end):
            return
        if call in ("fsync", "fdatasync"):
            path = re.search(r"\(\d+<([^>]*)>", start)
            if path:
                self.events.append(("sync", path.group(1)))
        elif call in ("link", "linkat", "rename", "renameat", "renameat2"):
            paths = re.findall(r'"([^"]*)"', start)
            if len(paths) >= 2:
                self.events.append(("link", paths[-1]))

    def responses(self):
        return [index for index, event in enumerate(self.events) if event[0] == "response"]


class Run:
    """`registry serve` under strace on a fresh root, with one client connection."""

    def __init__(self, binary, work):
        self.root = os.path.join(work, "root")
        self.trace_path = os.path.join(work, "trace.txt")
        self.log_path = os.path.join(work, "registry.log")
        self.server = Background(
            ["strace", "-f", "-y", "-qq", "-s", "48", "-o", self.trace_path,
             "-e", "trace=fsync,fdatasync,link,linkat,rename,renameat,renameat2,write,writev,sendmsg,sendto",
             binary, "serve", "--root", self.root, "--listen", "127.0.0.1:0"],
            self.log_path)
        self.port = None
        self.server.wait_for(self._bound, "registry under strace")
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def _bound(self):
        found = re.search(rb"127\.0\.0\.1:(\d+)[^\n]* listening", open(self.log_path, "rb").read())
        if found:
            self.port = int(found.group(1))
        return self.port is not None

    def request(self, method, path, body=None, headers=None):
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()

    def stop(self):
        self.connection.close()
        time.sleep(0.3)
        self.server.stop()


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", required=True)
    arguments = parser.parse_args()
    if shutil.which("strace") is None:
        print("strace is not installed (apt-get install strace)")
        return 1
    work = tempfile.mkdtemp(prefix="durability-order-")
    binary = os.path.join(work, "registry")
    shutil.copy(arguments.registry, binary)
    run = Run(binary, work)
    acknowledged = []  # (what, kind, digest or None), one per expected 201, in order
    try:
        small = os.urandom(5000)
        status, _, _ = run.request("POST", f"/v2/team/app/blobs/uploads/?digest={digest(small)}", small)
        assert status == 201, status
        acknowledged.append(("blob in one POST", "blob", digest(small)))

        large = os.urandom(3 * MIB + 12345)
        status, headers, _ = run.request("POST", "/v2/team/app/blobs/uploads/")
        assert status == 202, status
        location = headers["Location"]
        status, headers, _ = run.request("PATCH", location, large[:2 * MIB],
                                         {"Content-Range": f"0-{2 * MIB - 1}", "Content-Type": "application/octet-stream"})
        assert status == 202, status
        status, _, _ = run.request("PUT", f"{headers['Location']}?digest={digest(large)}", large[2 * MIB:],
                                   {"Content-Type": "application/octet-stream"})
        assert status == 201, status
        acknowledged.append(("blob by POST, PATCH, PUT", "blob", digest(large)))

        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        status, _, _ = run.request("POST", f"/v2/team/app/blobs/uploads/?digest={digest(config)}", config)
        assert status == 201, status
        acknowledged.append(("config blob", "blob", digest(config)))

        for tag, layer in (("v1", small), ("v1", large)):
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": len(layer)}],
            }).encode()
            status, _, _ = run.request("PUT", f"/v2/team/app/manifests/{tag}", manifest,
                                       {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
            assert status == 201, status
            acknowledged.append((f"manifest pushed as {tag}", "manifest", None))
    finally:
        run.stop()

    trace = Trace(run.trace_path)
    events = trace.events
    created = [index for index in trace.responses() if events[index][1] == "201"]
    passed = failed = 0

    def check(condition, message):
        nonlocal passed, failed
        if condition:
            passed += 1
        else:
            failed += 1
            print("FAILED:", message)

    check(len(created) == len(acknowledged), f"{len(created)} responses 201 in the trace, {len(acknowledged)} expected")
    wal = os.path.join(run.root, "metadata.sqlite-wal")
    previous = 0
    for (what, kind, blob), at in zip(acknowledged, created):
        before = events[previous:at]
        synced_log = [index for index, event in enumerate(before) if event == ("sync", wal)]
        if kind == "manifest":
            check(synced_log, f"{what}: no fsync of {wal} before its 201")
        else:
            algorithm, encoded = blob.split(":")
            name = os.path.join(run.root, "blobs", algorithm, encoded[:2], encoded)
            directory = os.path.dirname(name)
            links = [index for index, event in enumerate(before) if event == ("link", name)]
            check(links, f"{what}: its file was not linked to {name} before its 201")
            if links:
                linked = links[-1]
                check(any(event == ("sync", directory) for event in before[linked:]),
                      f"{what}: {directory} was not fsynced between the link and the 201")
                check(any(index > linked for index in synced_log),
                      f"{what}: the write-ahead log was not fsynced between the link and the 201")
            uploads = os.path.join(run.root, "uploads") + "/"
            check(any(kind == "sync" and path.startswith(uploads) for kind, path in events[:at]),
                  f"{what}: its bytes were never fsynced before its 201")
        previous = at + 1
    print(f"{len(created)} acknowledgements checked in {len(events)} traced events")
    print(f"{passed} passed, {failed} failed")
    if failed == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("trace kept in", run.trace_path)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
