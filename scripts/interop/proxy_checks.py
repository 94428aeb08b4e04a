"""Pull-through cache and `registry mirror` with real clients.

The upstream is a second `registry serve` in token mode (users `mirror`, who may pull, and
`pusher`), the way Docker Hub works. The cache serves it under `hub/` and at its root (what
docker's `registry-mirrors` sends), with the upstream's credentials in its config file.
"""
import hashlib
import json
import os
import subprocess
import sys
import time

from harness import Containerd, Dockerd, Registry, Storage, add_users, expect, free_port, run, tool_available

HERE = os.path.dirname(os.path.abspath(__file__))
PUSHER = "pusher:pusher-secret"
CONCURRENT_PULLS = 20


def blob_gets(registry, since, digest):
    """GETs of `digest` as a blob that the registry answered with 200 since `since`."""
    return [e for e in registry.requests_since(since)
            if e["method"] == "GET" and e.get("path", "").endswith(f"/blobs/{digest}") and e.get("status") == "200"]


def layout_manifest(layout):
    """Digest and parsed manifest (or index) of an OCI layout's single entry."""
    digest = json.load(open(os.path.join(layout, "index.json")))["manifests"][0]["digest"]
    body = open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]), "rb").read()
    return digest, json.loads(body)


def raw_digest(reference, *flags):
    """The digest of the manifest skopeo gets for `reference`, computed from its bytes."""
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", *flags, reference],
                         capture_output=True, check=True).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def proxy_checks(ctx, registry_binary):
    suite, images = ctx.suite, ctx.images
    base = os.path.join(ctx.work, "proxy")
    os.makedirs(base, exist_ok=True)
    htpasswd = os.path.join(base, "htpasswd")
    add_users(registry_binary, htpasswd, (("mirror", "mirror-secret"), ("pusher", "pusher-secret")))
    upstream_config = os.path.join(base, "upstream.yaml")
    with open(upstream_config, "w") as f:
        f.write(f"""auth:
  htpasswd: {htpasswd}
  rules:
    pushers:
      repositories: "**"
      users: [pusher]
      actions: [pull, push, delete]
    mirrors:
      repositories: "**"
      users: [mirror]
      actions: [pull]
""")
    upstream_port = free_port()
    upstream = Registry(registry_binary, os.path.join(base, "upstream"), port=upstream_port, extra_args=[
        "--config", upstream_config, "--token-realm", f"http://127.0.0.1:{upstream_port}/token"])
    big_dir = os.path.join(base, "images")
    run([sys.executable, os.path.join(HERE, "..", "make_images.py"), big_dir, "--big-mib", "100", "--big-names", "proxy"])
    big_layout = os.path.join(big_dir, "big-proxy")

    def push(source, repository, tag="v1", all_platforms=False):
        run(["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", PUSHER, *(["--all"] if all_platforms else []),
             source, f"docker://{upstream.host}/{repository}:{tag}"])

    push(images.oci("base"), "library/app")
    push(images.oci("multiarch"), "library/multi", all_platforms=True)
    push(f"oci:{big_layout}:v1", "library/big")

    cache_config = os.path.join(base, "cache.yaml")
    with open(cache_config, "w") as f:
        f.write(f"""proxy:
  revalidate: 2s
  upstreams:
    hub:
      url: http://{upstream.host}
      username: mirror
      password: mirror-secret
      library_namespace: true
      root: true
      hosts: [docker.io]
""")
    cache = Registry(registry_binary, os.path.join(base, "cache"), extra_args=["--config", cache_config])
    docker = None
    containerd = None
    podman = Storage(ctx.work, "proxy-podman")
    base_digest = images.manifest("base")[0]
    try:
        def skopeo_pulls_through_the_cache():
            target = os.path.join(base, "skopeo-app")
            run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{cache.host}/hub/app:v1", f"oci:{target}:v1"])
            expect(layout_manifest(target)[0] == base_digest, "the cached image's digest differs from the upstream's")
            gets = [e for e in upstream.requests_since(0) if e["method"] == "GET" and "/library/app/" in e["path"]]
            expect(gets, "the upstream served nothing: the cache did not fetch from it")
            tokens = [e for e in upstream.requests_since(0) if e.get("path", "").startswith("/token")]
            expect(tokens, "the cache got no token from the upstream's token endpoint")
            mark = upstream.mark()
            run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{cache.host}/hub/library/app:v1",
                 f"oci:{os.path.join(base, 'skopeo-again')}:v1"])
            fetched = [e for e in upstream.requests_since(mark) if e["method"] == "GET"]
            expect(not fetched, f"a second pull fetched from the upstream again: {[e['path'] for e in fetched]}")

        def podman_pulls_a_platform_through_the_cache():
            cli = ["podman", *podman.options]
            run([*cli, "pull", "--tls-verify=false", "--arch", "arm64", "--variant", "v8", f"{cache.host}/hub/multi:v1"])
            arch = run([*cli, "image", "inspect", "--format", "{{.Architecture}}", f"{cache.host}/hub/multi:v1"]).strip()
            expect(arch == "arm64", f"podman got {arch}, not arm64")
            run([*cli, "pull", "--tls-verify=false", f"{cache.host}/hub/app:v1"])

        def docker_pulls_through_registry_mirrors():
            nonlocal docker
            expect(tool_available("dockerd"), "dockerd is not installed")
            # docker asks its mirror for Docker Hub names (`library/app`): the cache serves the
            # upstream at its root for that.
            docker = Dockerd(os.path.join(ctx.work, "proxy-dockerd"), extra_args=[f"--registry-mirror=http://{cache.host}"])
            mark = cache.mark()
            docker("pull", "app:v1")
            digests = docker("image", "inspect", "--format", "{{json .RepoDigests}}", "app:v1")
            expect(base_digest in digests, f"docker's image has digests {digests.strip()}, not {base_digest}")
            seen = [e for e in cache.requests_since(mark) if "docker/" in e.get("user_agent", "")]
            expect(seen, "docker did not go through the mirror")
            docker("pull", f"{cache.host}/hub/library/multi:v1")

        def ctr_pulls_with_a_namespace_parameter():
            nonlocal containerd
            expect(tool_available("containerd"), "containerd is not installed")
            containerd = Containerd(ctx.work, name="proxy-containerd")
            hosts = os.path.join(base, "hosts.d", "docker.io")
            os.makedirs(hosts, exist_ok=True)
            with open(os.path.join(hosts, "hosts.toml"), "w") as f:
                f.write(f'server = "https://registry-1.docker.io"\n\n[host."http://{cache.host}"]\n'
                        '  capabilities = ["pull", "resolve"]\n')
            mark = cache.mark()
            containerd("images", "pull", "--hosts-dir", os.path.join(base, "hosts.d"), "docker.io/library/app:v1")
            with_ns = [e for e in cache.requests_since(mark) if "ns=docker.io" in e.get("path", "")]
            expect(with_ns, "containerd sent no ?ns=docker.io to the mirror")
            listed = containerd("images", "ls", "-q")
            expect("docker.io/library/app:v1" in listed, f"ctr did not store the image:\n{listed}")

        def concurrent_pulls_fetch_each_blob_once():
            digest, manifest = layout_manifest(big_layout)
            layer = manifest["layers"][0]
            mark = upstream.mark()
            pulls = [subprocess.Popen(["skopeo", "copy", "--src-tls-verify=false", f"docker://{cache.host}/hub/big:v1",
                                       f"oci:{os.path.join(base, f'big-{n}')}:v1"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                     for n in range(CONCURRENT_PULLS)]
            failures = [p.stderr.read() for p in pulls if p.wait() != 0]
            expect(not failures, f"{len(failures)} of {CONCURRENT_PULLS} pulls failed: {failures[:1]}")
            for n in range(CONCURRENT_PULLS):
                expect(layout_manifest(os.path.join(base, f"big-{n}"))[0] == digest, f"pull {n} got another digest")
            for blob in [layer["digest"], manifest["config"]["digest"]]:
                fetches = blob_gets(upstream, mark, blob)
                expect(len(fetches) == 1, f"the upstream served {blob} {len(fetches)} times to {CONCURRENT_PULLS} pulls")
            subprocess.run(["rm", "-rf", *[os.path.join(base, f"big-{n}") for n in range(CONCURRENT_PULLS)]])
            suite.figure(f"proxy: {CONCURRENT_PULLS} concurrent pulls of a {layer['size'] / 2**20:.0f} MiB layer, "
                         "one upstream fetch")

        def pushes_to_the_cache_are_refused():
            result = subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", images.oci("second"),
                                     f"docker://{cache.host}/hub/library/pushed:v1"], capture_output=True, text=True)
            expect(result.returncode != 0, "a push into the cached namespace succeeded")
            expect("unsupported" in result.stderr.lower() and "read-only cache" in result.stderr,
                   f"unexpected refusal: {result.stderr[-300:]}")

        def a_moved_tag_is_served_after_revalidation():
            before = raw_digest(f"docker://{cache.host}/hub/app:v1")
            expect(before == base_digest, "the cache does not serve the first image")
            push(images.oci("second"), "library/app")
            time.sleep(2.5)
            after = raw_digest(f"docker://{cache.host}/hub/app:v1")
            expect(after == images.manifest("second")[0], f"after the interval the cache still serves {after}")
            moved = os.path.join(base, "skopeo-moved")
            run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{cache.host}/hub/app:v1", f"oci:{moved}:v1"])
            expect(layout_manifest(moved)[0] == after, "the pull after the move got another image")

        def registry_mirror_copies_a_multi_arch_repository():
            source = f"{upstream.host}/library/multi"
            destination = f"{ctx.registry.host}/mirror/multi"
            first = run([registry_binary, "mirror", source, destination, "--src-creds", "mirror:mirror-secret"])
            index_digest, index = layout_manifest(images.layout("multiarch"))
            got, _ = ctx.registry.manifest("mirror/multi", "v1")
            expect(got == index_digest, f"mirrored index {got}, upstream {index_digest}")
            for child in index["manifests"]:
                status, _, _ = ctx.registry.request("GET", f"/v2/mirror/multi/manifests/{child['digest']}")
                expect(status == 200, f"child {child['digest']} missing after the mirror")
            mark = ctx.registry.mark()
            second = run([registry_binary, "mirror", source, destination, "--src-creds", "mirror:mirror-secret"])
            expect("1 up to date" in second and "blobs: 0 copied" in second, f"the second run copied again:\n{second}")
            uploads = [e for e in ctx.registry.requests_since(mark) if "/blobs/uploads/" in e.get("path", "")]
            expect(not uploads, f"the second run uploaded {len(uploads)} times")
            suite.figure("mirror: " + first.strip().splitlines()[-1])

        def cached_images_pull_while_the_upstream_is_down():
            upstream.stop()
            target = os.path.join(base, "skopeo-offline")
            run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{cache.host}/hub/app:v1", f"oci:{target}:v1"])
            expect(layout_manifest(target)[0] == images.manifest("second")[0], "the offline pull got another image")
            cli = ["podman", *podman.options]
            run([*cli, "rmi", "-f", f"{cache.host}/hub/app:v1"])
            run([*cli, "pull", "--tls-verify=false", f"{cache.host}/hub/app:v1"])
            time.sleep(2.5)  # past the revalidation interval: the cache must ask, and cannot
            status, headers, _ = cache.request("GET", "/v2/hub/app/manifests/v1",
                                               {"Accept": "application/vnd.oci.image.manifest.v1+json"})
            expect(status == 200 and "Stale" in headers.get("Warning", ""), f"no stale warning: {status} {headers}")

        for name, check in [
            ("proxy: skopeo pulls through the cache from a token-auth upstream", skopeo_pulls_through_the_cache),
            ("proxy: podman pulls one platform of a multi-arch image", podman_pulls_a_platform_through_the_cache),
            ("proxy: docker pulls through registry-mirrors", docker_pulls_through_registry_mirrors),
            ("proxy: ctr pulls through hosts.toml (?ns=docker.io)", ctr_pulls_with_a_namespace_parameter),
            (f"proxy: {CONCURRENT_PULLS} concurrent pulls of an uncached 100 MiB image, one upstream fetch per blob",
             concurrent_pulls_fetch_each_blob_once),
            ("proxy: pushes to the cached namespace are refused", pushes_to_the_cache_are_refused),
            ("proxy: a moved upstream tag is served after the revalidation interval", a_moved_tag_is_served_after_revalidation),
            ("mirror: registry mirror keeps every digest and skips existing blobs", registry_mirror_copies_a_multi_arch_repository),
            ("proxy: cached images still pull with the upstream stopped", cached_images_pull_while_the_upstream_is_down),
        ]:
            suite.check(name, check)
    finally:
        for service in (docker, containerd, cache, upstream):
            if service is not None:
                try:
                    service.stop()
                except Exception:  # already stopped
                    pass
