"""Processes and helpers of the interop suite: the registry under test, its access log, the
client daemons (dockerd, containerd), command runners, and the check bookkeeping."""
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request

MANIFEST_TYPES = ",".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def run(command, env=None, check=True, timeout=900):
    """Runs a command; returns its stdout+stderr. Fails the check with the output if it fails."""
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            timeout=timeout, text=True)
    if check and result.returncode != 0:
        raise CheckFailed(f"`{' '.join(command)}` exited {result.returncode}:\n{result.stdout[-2000:]}")
    return result.stdout


def succeeds(command, env=None):
    return subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env).returncode == 0


class Background:
    """A daemon started in the background and stopped by its PID."""

    def __init__(self, command, log_path, env=None):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)

    def wait_for(self, predicate, what, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{what} exited early:\n{open(self.log_path, errors='replace').read()[-3000:]}")
            if predicate():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{what} did not become ready:\n{open(self.log_path, errors='replace').read()[-3000:]}")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def kill(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


def registry_environment(**settings):
    """The environment for `registry` processes: ours, without the REGISTRY_TEST_* variables of
    scripts/engines/start.sh (`registry` refuses unknown REGISTRY_* variables), plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_TEST_")}
    env.update(settings)
    return env


class Registry:
    """`registry serve` on 127.0.0.1 with an OS-chosen port, a fresh root and a JSON access log."""

    def __init__(self, binary, work, root=None, read_only=False, extra_args=(), port=0, log_name="registry.log"):
        os.makedirs(work, exist_ok=True)
        self.root = root or os.path.join(work, "registry-root")
        self.log_path = os.path.join(work, log_name)
        env = registry_environment(REGISTRY_LOG_FORMAT="json")
        command = ([binary, "serve", "--root", self.root, "--listen", f"127.0.0.1:{port}"]
                   + (["--read-only"] if read_only else []) + list(extra_args))
        self.daemon = Background(command, self.log_path, env)
        self.daemon.wait_for(lambda: self._port() is not None, "registry")
        self.port = self._port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"

    def _port(self):
        for entry in self._entries():
            if entry.get("message") == "listening":
                match = re.search(r":(\d+)$", entry.get("address", ""))
                if match:
                    return int(match.group(1))
        return None

    def _entries(self):
        entries = []
        with open(self.log_path, errors="replace") as log:
            for line in log:
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    pass
        return entries

    def mark(self):
        """A position in the access log; `requests_since` returns what came after it."""
        return len(self._entries())

    def requests_since(self, mark):
        return [e for e in self._entries()[mark:] if e.get("message") == "request"]

    def uploads_of(self, digest, since):
        """Requests since `since` that uploaded bytes for `digest` (PATCH/PUT of a session, or a
        single POST with ?digest=)."""
        hits = []
        for entry in self.requests_since(since):
            path = urllib.request.unquote(entry.get("path", ""))
            if "/blobs/uploads/" in path and f"digest={digest}" in path and entry["method"] in ("PUT", "POST"):
                hits.append(entry)
        return hits

    def mounts_since(self, since):
        return [e for e in self.requests_since(since)
                if e["method"] == "POST" and "mount=" in e.get("path", "") and e.get("status") == "201"]

    def request(self, method, path, headers=None, data=None):
        request = urllib.request.Request(self.url + path, method=method, headers=headers or {}, data=data)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def manifest(self, repository, reference, accept=MANIFEST_TYPES):
        status, headers, body = self.request("GET", f"/v2/{repository}/manifests/{reference}", {"Accept": accept})
        expect(status == 200, f"GET manifest {repository}:{reference} answered {status}: {body[:200]!r}")
        return headers.get("Docker-Content-Digest"), json.loads(body)

    def tags(self, repository):
        status, _, body = self.request("GET", f"/v2/{repository}/tags/list")
        expect(status == 200, f"tags/list of {repository} answered {status}")
        return json.loads(body)["tags"]

    def delete_manifest(self, repository, digest):
        status, _, body = self.request("DELETE", f"/v2/{repository}/manifests/{digest}")
        expect(status == 202, f"DELETE {repository}@{digest} answered {status}: {body[:200]!r}")

    def blob_files(self, digest):
        """Files holding `digest` anywhere under the storage root's blob tree."""
        algorithm, encoded = digest.split(":")
        found = []
        for directory, _, files in os.walk(os.path.join(self.root, "blobs")):
            found += [os.path.join(directory, f) for f in files if f == encoded]
        return found

    def stop(self):
        self.daemon.stop()

    def kill(self):
        """SIGKILL, as a crash: no request in flight gets to finish."""
        self.daemon.kill()


class Dockerd:
    """A private dockerd (vfs storage, no networking changes) with its own socket."""

    def __init__(self, work, extra_args=()):
        base = os.path.join(work, "dockerd") if not work.endswith("dockerd") else work
        for sub in ("data", "exec"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        self.socket = os.path.join(base, "docker.sock")
        self.daemon = Background([
            "dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs",
            "--data-root", os.path.join(base, "data"), "--exec-root", os.path.join(base, "exec"),
            "--pidfile", os.path.join(base, "docker.pid"), "-H", "unix://" + self.socket, *extra_args,
        ], os.path.join(base, "dockerd.log"))
        self.env = dict(os.environ, DOCKER_HOST="unix://" + self.socket, DOCKER_CONFIG=os.path.join(base, "config"))
        self.daemon.wait_for(lambda: succeeds(["docker", "version"], self.env), "dockerd", timeout=120)

    def __call__(self, *args, check=True):
        return run(["docker", *args], env=self.env, check=check)

    def stop(self):
        self.daemon.stop()


class Containerd:
    """A private containerd (own root, state and socket; CRI disabled)."""

    def __init__(self, work, name="containerd"):
        base = os.path.join(work, name)
        os.makedirs(base, exist_ok=True)
        self.socket = os.path.join(base, "containerd.sock")
        config = os.path.join(base, "config.toml")
        with open(config, "w") as f:
            f.write(f'''version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{self.socket}.ttrpc"
[debug]
  address = "{base}/debug.sock"
''')
        self.daemon = Background(["containerd", "--config", config], os.path.join(base, "containerd.log"))
        self.daemon.wait_for(lambda: succeeds(["ctr", "--address", self.socket, "version"]), "containerd")

    def __call__(self, *args, namespace="interop", check=True):
        return run(["ctr", "--address", self.socket, "-n", namespace, *args], check=check)

    def stop(self):
        self.daemon.stop()


class Storage:
    """Containers-storage options for podman and buildah (vfs, private root)."""

    def __init__(self, work, name):
        base = os.path.join(work, name)
        self.options = ["--root", os.path.join(base, "root"), "--runroot", os.path.join(base, "run"),
                        "--storage-driver", "vfs"]


class Suite:
    """Runs named checks, prints PASS/FAIL lines, and keeps figures for the summary."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.figures = []
        # Put before every check name and figure (cluster mode runs the client checks twice).
        self.prefix = ""

    def check(self, name, body):
        name = self.prefix + name
        started = time.time()
        try:
            body()
            self.passed += 1
            print(f"PASS {name} ({time.time() - started:.1f}s)", flush=True)
        except Exception as error:  # a failed client command or assertion: report and go on
            self.failed += 1
            print(f"FAIL {name}: {error}", flush=True)

    def figure(self, text):
        self.figures.append(self.prefix + text)


def add_users(registry_binary, htpasswd, users):
    """`registry user add` for each (user, password), as the README's private-registry section does."""
    for user, password in users:
        subprocess.run([registry_binary, "user", "add", user, "--htpasswd", htpasswd], input=password + "\n",
                       text=True, check=True, stdout=subprocess.DEVNULL)


def free_port():
    """A port the OS just handed out (for a server that must know its own URL before it starts)."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed(function):
    started = time.time()
    function()
    return time.time() - started


def tool_available(name):
    return shutil.which(name) is not None
