#!/usr/bin/env python3
"""Real clients end to end: docker (its own dockerd), podman, buildah, skopeo and containerd's
ctr push to and pull from a fresh `registry serve`, using only images built locally.

    interop.py --registry .build/debug/registry [--big-mib 200] [--clients docker,podman,...]

Each check prints PASS or FAIL; the last lines are figures (time per client, MiB/s for the big
layer) and `N passed, M failed`. Exit status 1 when anything failed.
"""
import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CheckFailed, Containerd, Dockerd, Registry, Storage, Suite, add_users, expect, free_port, run,  # noqa: E402
                     succeeds, timed, tool_available)
from proxy_checks import proxy_checks  # noqa: E402
from squash_checks import squash_checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
CLIENTS = ["skopeo", "docker", "podman", "buildah", "ctr"]


class Images:
    """The locally built OCI layouts and what the suite needs to know about them."""

    def __init__(self, work, big_mib, clients):
        self.dir = os.path.join(work, "images")
        run([sys.executable, os.path.join(HERE, "..", "make_images.py"), self.dir, "--big-mib", str(big_mib),
             "--big-names", ",".join(clients)])
        self.big_mib = big_mib

    def layout(self, name):
        return os.path.join(self.dir, name)

    def oci(self, name):
        return f"oci:{self.layout(name)}:v1"

    def manifest(self, name):
        index = json.load(open(os.path.join(self.layout(name), "index.json")))
        digest = index["manifests"][0]["digest"]
        return digest, self.blob(name, digest)

    def blob(self, name, digest):
        return json.load(open(os.path.join(self.layout(name), "blobs", "sha256", digest.split(":")[1])))

    def config(self, name):
        _, manifest = self.manifest(name)
        return manifest["config"]["digest"], self.blob(name, manifest["config"]["digest"])

    def shared_layer_diff_id(self):
        """The uncompressed digest of the base layer that `base` and `second` share."""
        return self.config("base")[1]["rootfs"]["diff_ids"][0]

    def oci_archive(self, name, work):
        """The layout as a tar (what `ctr images import` and `docker load` via skopeo read)."""
        path = os.path.join(work, f"{name}-oci.tar")
        if not os.path.exists(path):
            run(["tar", "-C", self.layout(name), "-cf", path, "oci-layout", "index.json", "blobs"])
        return path


def arch_of_config(config):
    return config.get("architecture"), config.get("variant")


class Context:
    """What the client checks work with. `registry` is where clients push (and whose access log
    the checks read); `pull` is where they pull from and where the checks read manifests and tags
    back: the same registry, or in cluster mode (cluster.py) another replica of it."""

    def __init__(self, registry, images, work, suite, pull=None, settle_seconds=0.0):
        self.registry = registry
        self.pull = pull or registry
        self.images = images
        self.work = work
        self.suite = suite
        # After a delete on `registry`, how long `pull` may still serve what it had cached.
        self.settle_seconds = settle_seconds

    def ref(self, repository, tag="v1"):
        return f"{self.registry.host}/{repository}:{tag}"

    def pull_ref(self, repository, tag="v1"):
        return f"{self.pull.host}/{repository}:{tag}"

    def settle(self):
        if self.settle_seconds:
            time.sleep(self.settle_seconds)

    def pushed_layer_digest(self, repository, tag, diff_id):
        """The compressed digest under which a client pushed the layer with `diff_id`."""
        _, manifest = self.pull.manifest(repository, tag)
        config_digest = manifest["config"]["digest"]
        status, _, body = self.pull.request("GET", f"/v2/{repository}/blobs/{config_digest}")
        expect(status == 200, f"config blob of {repository}:{tag} answered {status}")
        diff_ids = json.loads(body)["rootfs"]["diff_ids"]
        return manifest["layers"][diff_ids.index(diff_id)]["digest"]

    def expect_shared_layer_not_uploaded(self, client, first, second, since):
        """The second push (`(repository, tag)`) must not upload the base layer that the first
        one pushed, and the registry stores it once."""
        diff_id = self.images.shared_layer_diff_id()
        first = self.pushed_layer_digest(*first, diff_id)
        second = self.pushed_layer_digest(*second, diff_id)
        expect(first == second, f"{client} pushed the shared layer under two digests ({first}, {second})")
        uploads = self.registry.uploads_of(first, since)
        expect(not uploads, f"{client} uploaded the shared layer {first} again: {uploads}")
        files = self.registry.blob_files(first)
        expect(len(files) == 1, f"shared layer {first} stored {len(files)} times: {files}")

    def expect_mount(self, client, since, source):
        mounts = self.registry.mounts_since(since)
        expect(mounts, f"{client} did not mount blobs from {source} (no POST ?mount= answered 201)")
        expect(all(not self.registry.uploads_of(m['path'].split("mount=")[1].split("&")[0].replace("%3A", ":"), since)
                   for m in mounts), f"{client} mounted and uploaded the same blob")

    def expect_deleted_reference_gone(self, repository, keep_repository, pull_fails, pull_works):
        """Retag (v2), list tags, delete v1's digest; v1 and v2 are gone, other content stays."""
        digest, _ = self.pull.manifest(repository, "v1")
        tags = self.pull.tags(repository)
        expect({"v1", "v2"} <= set(tags), f"tags/list of {repository} is {tags}, expected v1 and v2")
        expect(self.pull.manifest(repository, "v2")[0] == digest, "v2 does not point at v1's digest")
        self.registry.delete_manifest(repository, digest)
        self.settle()
        expect(pull_fails(), f"pulling the deleted {repository}:v1 still worked")
        expect(pull_works(), f"pulling {keep_repository}:v1 (sharing blobs with the deleted image) failed")


# MARK: skopeo

def skopeo_checks(ctx):
    suite, registry, pull, images = ctx.suite, ctx.registry, ctx.pull, ctx.images
    tls = ["--dest-tls-verify=false"]
    src_tls = ["--src-tls-verify=false"]

    def push_pull():
        run(["skopeo", "copy", *tls, images.oci("base"), f"docker://{ctx.ref('skopeo/base')}"])
        pushed_digest, _ = images.manifest("base")
        digest, _ = pull.manifest("skopeo/base", "v1")
        expect(digest == pushed_digest, f"registry digest {digest} != pushed {pushed_digest}")
        for reference in (ctx.pull_ref("skopeo/base"), f"{pull.host}/skopeo/base@{digest}"):
            out = os.path.join(ctx.work, "skopeo-pulled-" + str(abs(hash(reference))))
            run(["skopeo", "copy", *src_tls, f"docker://{reference}", f"oci:{out}:v1"])
            pulled = json.load(open(os.path.join(out, "index.json")))["manifests"][0]["digest"]
            expect(pulled == digest, f"pulled {reference} as {pulled}, expected {digest}")

    def shared_layers():
        mark = registry.mark()
        run(["skopeo", "copy", *tls, images.oci("second"), f"docker://{ctx.ref('skopeo/second')}"])
        ctx.expect_shared_layer_not_uploaded("skopeo", ("skopeo/base", "v1"), ("skopeo/second", "v1"), mark)

    def mount():
        mark = registry.mark()
        run(["skopeo", "copy", *tls, images.oci("base"), f"docker://{ctx.ref('skopeo/mounted')}"])
        ctx.expect_mount("skopeo", mark, "skopeo/base")

    def multi_arch():
        run(["skopeo", "copy", "--all", *tls, images.oci("multiarch"), f"docker://{ctx.ref('skopeo/multi')}"])
        run(["skopeo", "copy", "--all", "--format", "v2s2", *tls, images.oci("multiarch"),
             f"docker://{ctx.ref('skopeo/multi-docker')}"])
        _, index = pull.manifest("skopeo/multi", "v1")
        _, docker_list = pull.manifest("skopeo/multi-docker", "v1")
        expect(index["mediaType"] == OCI_INDEX, f"skopeo/multi is {index.get('mediaType')}")
        expect(docker_list["mediaType"] == DOCKER_LIST, f"skopeo/multi-docker is {docker_list.get('mediaType')}")
        for repository in ("skopeo/multi", "skopeo/multi-docker"):
            arm = json.loads(run(["skopeo", "inspect", "--tls-verify=false", "--override-arch", "arm64", "--config",
                                  f"docker://{ctx.pull_ref(repository)}"]))
            expect(arch_of_config(arm) == ("arm64", "v8"), f"{repository} --override-arch arm64 gave {arch_of_config(arm)}")
            plain = json.loads(run(["skopeo", "inspect", "--tls-verify=false", "--config", f"docker://{ctx.pull_ref(repository)}"]))
            expect(plain.get("architecture") == "amd64", f"{repository} on amd64 gave {plain.get('architecture')}")

    def retag_delete():
        run(["skopeo", "copy", *src_tls, *tls, f"docker://{ctx.pull_ref('skopeo/mounted')}", f"docker://{ctx.ref('skopeo/mounted', 'v2')}"])
        tags = json.loads(run(["skopeo", "list-tags", "--tls-verify=false", f"docker://{pull.host}/skopeo/mounted"]))["Tags"]
        expect({"v1", "v2"} <= set(tags), f"skopeo list-tags gave {tags}")
        digest, _ = pull.manifest("skopeo/mounted", "v1")
        run(["skopeo", "delete", "--tls-verify=false", f"docker://{registry.host}/skopeo/mounted@{digest}"])
        ctx.settle()
        expect(not succeeds(["skopeo", "inspect", "--tls-verify=false", f"docker://{ctx.pull_ref('skopeo/mounted')}"]),
               "skopeo inspect of the deleted skopeo/mounted:v1 still worked")
        expect(not succeeds(["skopeo", "inspect", "--tls-verify=false", f"docker://{ctx.pull_ref('skopeo/mounted', 'v2')}"]),
               "the v2 tag of the deleted manifest still resolves")
        out = os.path.join(ctx.work, "skopeo-after-delete")
        run(["skopeo", "copy", *src_tls, f"docker://{ctx.pull_ref('skopeo/base')}", f"oci:{out}:v1"])

    def big_layer():
        mark = registry.mark()
        seconds = timed(lambda: run(["skopeo", "copy", *tls, images.oci("big-skopeo"), f"docker://{ctx.ref('skopeo/big')}"]))
        expect(not registry.mounts_since(mark), "skopeo mounted the big layer instead of uploading it")
        out = os.path.join(ctx.work, "skopeo-big-pulled")
        pulling = timed(lambda: run(["skopeo", "copy", *src_tls, f"docker://{ctx.pull_ref('skopeo/big')}", f"oci:{out}:v1"]))
        expect(json.load(open(os.path.join(out, "index.json")))["manifests"][0]["digest"] == images.manifest("big-skopeo")[0],
               "the big image came back with another digest")
        suite.figure(f"skopeo: {images.big_mib} MiB layer push {images.big_mib / seconds:.0f} MiB/s, pull {images.big_mib / pulling:.0f} MiB/s")

    suite.check("skopeo: push, pull by tag and by digest, same digests", push_pull)
    suite.check("skopeo: shared layers are not uploaded again and stored once", shared_layers)
    suite.check("skopeo: push to a second repository mounts the blobs", mount)
    suite.check("skopeo: multi-arch index and Docker manifest list, --override-arch arm64", multi_arch)
    suite.check("skopeo: retag, list-tags, delete by digest", retag_delete)
    suite.check(f"skopeo: {images.big_mib} MiB layer push and pull", big_layer)


# MARK: docker

def docker_checks(ctx):
    suite, registry, pull, images = ctx.suite, ctx.registry, ctx.pull, ctx.images
    docker = Dockerd(ctx.work)
    try:
        def load(name, tag):
            archive = os.path.join(ctx.work, f"docker-{name}.tar")
            run(["skopeo", "copy", images.oci(name), f"docker-archive:{archive}:{tag}"])
            docker("load", "-i", archive)

        def push_pull():
            load("base", "local/base:v1")
            docker("tag", "local/base:v1", ctx.ref("docker/base"))
            out = docker("push", ctx.ref("docker/base"))
            pushed = re.search(r"digest: (sha256:[0-9a-f]{64})", out)
            expect(pushed, f"docker push printed no digest:\n{out}")
            image_id = docker("image", "inspect", "--format", "{{.Id}}", "local/base:v1").strip()
            docker("rmi", ctx.ref("docker/base"))
            docker("pull", ctx.pull_ref("docker/base"))
            docker("pull", f"{pull.host}/docker/base@{pushed.group(1)}")
            for reference in (ctx.pull_ref("docker/base"), f"{pull.host}/docker/base@{pushed.group(1)}"):
                pulled_id = docker("image", "inspect", "--format", "{{.Id}}", reference).strip()
                expect(pulled_id == image_id, f"{reference} pulled as {pulled_id}, pushed {image_id}")
            digests = docker("image", "inspect", "--format", "{{json .RepoDigests}}", ctx.pull_ref("docker/base"))
            expect(pushed.group(1) in digests, f"RepoDigests {digests.strip()} lack {pushed.group(1)}")

        def shared_layers():
            load("second", "local/second:v1")
            docker("tag", "local/second:v1", ctx.ref("docker/second"))
            mark = registry.mark()
            out = docker("push", ctx.ref("docker/second"))
            expect("Mounted from docker/base" in out or "Layer already exists" in out,
                   f"docker did not reuse the shared layer:\n{out}")
            ctx.expect_shared_layer_not_uploaded("docker", ("docker/base", "v1"), ("docker/second", "v1"), mark)

        def mount():
            docker("tag", "local/base:v1", ctx.ref("docker/other"))
            mark = registry.mark()
            out = docker("push", ctx.ref("docker/other"))
            expect("Mounted from" in out, f"docker did not report a mount:\n{out}")
            ctx.expect_mount("docker", mark, "docker/base")

        def multi_arch():
            for platform, arch, variant in (("linux/arm64", "arm64", "v8"), ("linux/amd64", "amd64", "")):
                reference = ctx.pull_ref("skopeo/multi")
                docker("pull", "--platform", platform, reference)
                got = docker("image", "inspect", "--format", "{{.Architecture}} {{.Variant}}", reference).split()
                expect(got[0] == arch and (got[1:] or [""])[0] == variant, f"--platform {platform} gave {got}")
                docker("tag", reference, ctx.ref(f"docker/multi-{arch}"))
                docker("push", ctx.ref(f"docker/multi-{arch}"))
                docker("rmi", reference)
            docker("manifest", "create", "--insecure", ctx.ref("docker/multi"),
                   ctx.ref("docker/multi-amd64"), ctx.ref("docker/multi-arm64"))
            docker("manifest", "push", "--insecure", ctx.ref("docker/multi"))
            _, pushed_list = pull.manifest("docker/multi", "v1")
            expect(pushed_list["mediaType"] == DOCKER_LIST, f"docker manifest push stored {pushed_list['mediaType']}")
            for platform, arch in (("linux/arm64", "arm64"), (None, "amd64")):
                docker("pull", *(["--platform", platform] if platform else []), ctx.pull_ref("docker/multi"))
                got = docker("image", "inspect", "--format", "{{.Architecture}}", ctx.pull_ref("docker/multi")).strip()
                expect(got == arch, f"pull {'--platform ' + platform if platform else '(plain)'} of the list gave {got}")
                docker("rmi", ctx.pull_ref("docker/multi"))

        def history_inspect():
            layers = json.loads(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", ctx.pull_ref("docker/base")))
            diff_ids = images.config("base")[1]["rootfs"]["diff_ids"]
            expect(layers == diff_ids, f"RootFS.Layers {layers} != config diff_ids {diff_ids}")
            history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", ctx.pull_ref("docker/base"))
            expect("base: layer 0" in history and "base: layer 1" in history, f"docker history:\n{history}")
            manifest = json.loads(docker("manifest", "inspect", "--insecure", ctx.pull_ref("skopeo/multi")))
            platforms = sorted(m["platform"]["architecture"] for m in manifest["manifests"])
            expect(manifest["mediaType"] == OCI_INDEX and platforms == ["amd64", "arm64"],
                   f"docker manifest inspect gave {manifest.get('mediaType')} {platforms}")

        def retag_delete():
            docker("tag", ctx.pull_ref("docker/base"), ctx.ref("docker/base", "v2"))
            docker("push", ctx.ref("docker/base", "v2"))

            def pull_fails():
                docker("rmi", "-f", ctx.pull_ref("docker/base"), check=False)
                return not succeeds(["docker", "pull", ctx.pull_ref("docker/base")], docker.env)

            def pull_works():
                docker("rmi", "-f", ctx.pull_ref("docker/second"), check=False)
                return succeeds(["docker", "pull", ctx.pull_ref("docker/second")], docker.env)
            ctx.expect_deleted_reference_gone("docker/base", "docker/second", pull_fails, pull_works)

        def big_layer():
            load("big-docker", "local/big:v1")
            docker("tag", "local/big:v1", ctx.ref("docker/big"))
            mark = registry.mark()
            push = timed(lambda: docker("push", ctx.ref("docker/big")))
            patches = [e for e in registry.requests_since(mark) if e["method"] == "PATCH" and e["status"] == "202"]
            expect(patches, "docker did not stream the layer in a PATCH")
            docker("rmi", ctx.ref("docker/big"), "local/big:v1")
            pulling = timed(lambda: docker("pull", ctx.pull_ref("docker/big")))
            suite.figure(f"docker: {images.big_mib} MiB layer push {images.big_mib / push:.0f} MiB/s "
                         f"(docker gzips while pushing), pull {images.big_mib / pulling:.0f} MiB/s")

        suite.check("docker: push, pull by tag and by digest, same image", push_pull)
        suite.check("docker: shared layers are not uploaded again and stored once", shared_layers)
        suite.check("docker: push to a second repository mounts the blobs", mount)
        suite.check("docker: --platform pulls of an OCI index and of a pushed manifest list", multi_arch)
        suite.check("docker: history, image inspect RootFS.Layers, manifest inspect --insecure", history_inspect)
        suite.check("docker: retag, list tags, delete by digest", retag_delete)
        suite.check(f"docker: {images.big_mib} MiB layer push (chunked PATCH) and pull", big_layer)
    finally:
        docker.stop()


# MARK: podman and buildah (containers/storage)

def podman_checks(ctx, tool):
    suite, registry, pull, images = ctx.suite, ctx.registry, ctx.pull, ctx.images
    storage = Storage(ctx.work, tool)

    def cli(*args, check=True):
        return run([tool, *storage.options, *args], check=check)

    def pull_layout(name):
        """Pulls an OCI layout into local storage; returns the image ID."""
        return cli("pull", images.oci(name)).strip().splitlines()[-1]

    def pushed_digest(reference):
        digest_file = os.path.join(ctx.work, f"{tool}-digest")
        cli("push", "--tls-verify=false", "--digestfile", digest_file, reference, f"docker://{reference}")
        return open(digest_file).read().strip()

    def push_pull():
        cli("tag", pull_layout("base"), ctx.ref(f"{tool}/base"))
        digest = pushed_digest(ctx.ref(f"{tool}/base"))
        image_id = cli("images", "--noheading", "--no-trunc", "--format", "{{.ID}}", ctx.ref(f"{tool}/base")).strip()
        cli("rmi", ctx.ref(f"{tool}/base"))
        for reference in (ctx.pull_ref(f"{tool}/base"), f"{pull.host}/{tool}/base@{digest}"):
            cli("pull", "--tls-verify=false", reference)
            pulled = cli("images", "--noheading", "--no-trunc", "--format", "{{.ID}}", reference).strip()
            expect(pulled.split(":")[-1] == image_id.split(":")[-1], f"{reference} pulled as {pulled}, pushed {image_id}")
        expect(pull.manifest(f"{tool}/base", "v1")[0] == digest, "registry digest differs from the pushed one")

    def shared_layers():
        cli("tag", pull_layout("second"), ctx.ref(f"{tool}/second"))
        mark = registry.mark()
        cli("push", "--tls-verify=false", ctx.ref(f"{tool}/second"), f"docker://{ctx.ref(tool + '/second')}")
        ctx.expect_shared_layer_not_uploaded(tool, (f"{tool}/base", "v1"), (f"{tool}/second", "v1"), mark)

    def mount():
        mark = registry.mark()
        cli("push", "--tls-verify=false", ctx.pull_ref(f"{tool}/base"), f"docker://{ctx.ref(tool + '/other')}")
        ctx.expect_mount(tool, mark, f"{tool}/base")

    def multi_arch():
        for repository in ("skopeo/multi", "skopeo/multi-docker"):
            for platform, arch in (("linux/arm64", "arm64"), (None, "amd64")):
                reference = ctx.pull_ref(repository)
                cli("rmi", "-f", reference, check=False)
                cli("pull", "--tls-verify=false", *(["--platform", platform] if platform else []), reference)
                got = json.loads(cli("inspect", "--type", "image", reference) if tool == "buildah"
                                 else cli("image", "inspect", reference))
                got = got[0] if isinstance(got, list) else got
                got_arch = got.get("Architecture") or got.get("OCIv1", {}).get("architecture")
                expect(got_arch == arch, f"{tool} pull {platform or '(plain)'} of {repository} gave {got_arch}")
        if tool == "podman":
            cli("manifest", "create", "local/podman-list")
            cli("manifest", "add", "--all", "--tls-verify=false", "local/podman-list", f"docker://{ctx.pull_ref('skopeo/multi')}")
            cli("manifest", "push", "--all", "--tls-verify=false", "--format", "v2s2", "local/podman-list",
                f"docker://{ctx.ref('podman/multi-docker')}")
            cli("manifest", "push", "--all", "--tls-verify=false", "--format", "oci", "local/podman-list",
                f"docker://{ctx.ref('podman/multi')}")
            expect(pull.manifest("podman/multi-docker", "v1")[1]["mediaType"] == DOCKER_LIST, "podman list is not a Docker list")
            expect(pull.manifest("podman/multi", "v1")[1]["mediaType"] == OCI_INDEX, "podman index is not an OCI index")

    def retag_delete():
        cli("tag", ctx.pull_ref(f"{tool}/base"), ctx.ref(f"{tool}/base", "v2"))
        cli("push", "--tls-verify=false", ctx.ref(f"{tool}/base", "v2"), f"docker://{ctx.ref(tool + '/base', 'v2')}")

        def pull_fails():
            cli("rmi", "-f", ctx.pull_ref(f"{tool}/base"), check=False)
            return not succeeds([tool, *storage.options, "pull", "--tls-verify=false", ctx.pull_ref(f"{tool}/base")])

        def pull_works():
            cli("rmi", "-f", ctx.pull_ref(f"{tool}/second"), check=False)
            return succeeds([tool, *storage.options, "pull", "--tls-verify=false", ctx.pull_ref(f"{tool}/second")])
        ctx.expect_deleted_reference_gone(f"{tool}/base", f"{tool}/second", pull_fails, pull_works)

    def big_layer():
        local = pull_layout(f"big-{tool}")
        mark = registry.mark()
        push = timed(lambda: cli("push", "--tls-verify=false", local, f"docker://{ctx.ref(tool + '/big')}"))
        cli("rmi", "-f", local, check=False)
        expect(not registry.mounts_since(mark), f"{tool} mounted the big layer instead of uploading it")
        pulling = timed(lambda: cli("pull", "--tls-verify=false", ctx.pull_ref(f"{tool}/big")))
        suite.figure(f"{tool}: {images.big_mib} MiB layer push {images.big_mib / push:.0f} MiB/s, pull {images.big_mib / pulling:.0f} MiB/s")

    suite.check(f"{tool}: push, pull by tag and by digest, same image", push_pull)
    suite.check(f"{tool}: shared layers are not uploaded again and stored once", shared_layers)
    suite.check(f"{tool}: push to a second repository mounts the blobs", mount)
    suite.check(f"{tool}: --platform pulls of an OCI index and a Docker manifest list"
                + (", manifest push of both" if tool == "podman" else ""), multi_arch)
    suite.check(f"{tool}: retag, list tags, delete by digest", retag_delete)
    suite.check(f"{tool}: {images.big_mib} MiB layer push and pull", big_layer)


# MARK: containerd

def ctr_checks(ctx):
    suite, registry, pull, images = ctx.suite, ctx.registry, ctx.pull, ctx.images
    containerd = Containerd(ctx.work)
    try:
        def content_has(digest, namespace="interop"):
            return digest in containerd("content", "ls", "-q", namespace=namespace)

        def push_pull():
            containerd("images", "import", "--base-name", f"{registry.host}/ctr/base", images.oci_archive("base", ctx.work))
            containerd("images", "push", "--plain-http", ctx.ref("ctr/base"))
            digest, _ = pull.manifest("ctr/base", "v1")
            expect(digest == images.manifest("base")[0], f"registry has {digest}, imported {images.manifest('base')[0]}")
            for namespace, reference in (("pull-tag", ctx.pull_ref("ctr/base")), ("pull-digest", f"{pull.host}/ctr/base@{digest}")):
                containerd("images", "pull", "--plain-http", reference, namespace=namespace)
                listed = containerd("images", "ls", namespace=namespace)
                expect(digest in listed, f"ctr pulled {reference} without target {digest}:\n{listed}")

        def shared_layers():
            # Into the same repository: containerd mounts only blobs whose source it knows (content
            # it pulled); for imported content it finds the shared layer by HEAD in the repository.
            containerd("images", "import", "--base-name", f"{registry.host}/ctr/second", images.oci_archive("second", ctx.work))
            containerd("images", "tag", ctx.ref("ctr/second"), ctx.ref("ctr/base", "second"))
            mark = registry.mark()
            containerd("images", "push", "--plain-http", ctx.ref("ctr/base", "second"))
            ctx.expect_shared_layer_not_uploaded("ctr", ("ctr/base", "v1"), ("ctr/base", "second"), mark)

        def mount():
            # Content ctr pulled from ctr/base carries its source, so a push elsewhere mounts it.
            # The source names a host: in cluster mode, pull from the registry pushed to first.
            namespace = "pull-tag"
            if pull is not registry:
                namespace = "mount-source"
                containerd("images", "pull", "--plain-http", ctx.ref("ctr/base"), namespace=namespace)
            containerd("images", "tag", ctx.ref("ctr/base"), ctx.ref("ctr/other"), namespace=namespace)
            mark = registry.mark()
            containerd("images", "push", "--plain-http", ctx.ref("ctr/other"), namespace=namespace)
            ctx.expect_mount("ctr", mark, "ctr/base")

        def multi_arch():
            _, index = pull.manifest("skopeo/multi", "v1")
            configs = {}
            for entry in index["manifests"]:
                _, child = pull.manifest("skopeo/multi", entry["digest"])
                configs[entry["platform"]["architecture"]] = child["config"]["digest"]
            for namespace, platform, want, other in (("arm", "linux/arm64", "arm64", "amd64"), ("plain", None, "amd64", "arm64")):
                containerd("images", "pull", "--plain-http", *(["--platform", platform] if platform else []),
                           ctx.pull_ref("skopeo/multi"), namespace=namespace)
                expect(content_has(configs[want], namespace), f"ctr pull {platform or '(plain)'} did not fetch the {want} image")
                expect(not content_has(configs[other], namespace), f"ctr pull {platform or '(plain)'} fetched the {other} image")

        def retag_delete():
            containerd("images", "tag", ctx.ref("ctr/base"), ctx.ref("ctr/base", "v2"))
            containerd("images", "push", "--plain-http", ctx.ref("ctr/base", "v2"))

            def pull_fails():
                return not succeeds(["ctr", "--address", containerd.socket, "-n", "after-delete", "images", "pull",
                                     "--plain-http", ctx.pull_ref("ctr/base")])

            def pull_works():
                return succeeds(["ctr", "--address", containerd.socket, "-n", "after-delete", "images", "pull",
                                 "--plain-http", ctx.pull_ref("ctr/base", "second")])
            ctx.expect_deleted_reference_gone("ctr/base", "ctr/base:second", pull_fails, pull_works)

        def big_layer():
            containerd("images", "import", "--base-name", f"{registry.host}/ctr/big", images.oci_archive("big-ctr", ctx.work))
            mark = registry.mark()
            push = timed(lambda: containerd("images", "push", "--plain-http", ctx.ref("ctr/big")))
            layer = images.manifest("big-ctr")[1]["layers"][0]
            puts = [e for e in registry.uploads_of(layer["digest"], mark) if e["method"] == "PUT"]
            expect(puts, "containerd did not send the layer in the PUT")
            expect(not [e for e in registry.requests_since(mark) if e["method"] == "PATCH"], "containerd used PATCH")
            pulling = timed(lambda: containerd("images", "pull", "--plain-http", ctx.pull_ref("ctr/big"), namespace="big"))
            suite.figure(f"ctr: {images.big_mib} MiB layer push {images.big_mib / push:.0f} MiB/s (one PUT with the body), "
                         f"pull {images.big_mib / pulling:.0f} MiB/s (with unpacking)")

        suite.check("ctr: push, pull by tag and by digest, same digest", push_pull)
        suite.check("ctr: shared layers are not uploaded again and stored once", shared_layers)
        suite.check("ctr: push to a second repository mounts the blobs", mount)
        suite.check("ctr: --platform linux/arm64 and plain pulls of a multi-arch index", multi_arch)
        suite.check("ctr: retag, list tags, delete by digest", retag_delete)
        suite.check(f"ctr: {images.big_mib} MiB layer push (PUT with the body) and pull", big_layer)
    finally:
        containerd.stop()


# MARK: private registry (TLS and logins)

def private_registry_checks(ctx, registry_binary):
    """A registry set up as the README's "host a private registry" section says: `registry cert`,
    `registry user add`, rules, HTTPS; then the clients log in and use it with TLS verified."""
    suite, images = ctx.suite, ctx.images
    base = os.path.join(ctx.work, "private")
    certs = os.path.join(base, "certs")
    os.makedirs(base, exist_ok=True)
    run([registry_binary, "cert", "--host", "127.0.0.1", "--host", "localhost", "--out", certs])
    htpasswd = os.path.join(base, "htpasswd")
    add_users(registry_binary, htpasswd, (("alice", "alice-secret"), ("bob", "bob-secret")))
    config = os.path.join(base, "registry.yaml")
    with open(config, "w") as f:
        f.write(f"""tls:
  certificate: {certs}/server.crt
  key: {certs}/server.key
auth:
  htpasswd: {htpasswd}
  groups:
    readers: [bob]
  rules:
    readers:
      repositories: "**"
      groups: [readers]
      actions: [pull]
    everyone:
      repositories: "**"
      users: ["*"]
      actions: [pull, push, delete]
""")
    trust_dirs = []

    def start(name, extra=(), port=0):
        registry = Registry(registry_binary, os.path.join(base, name), extra_args=["--config", config, *extra], port=port)
        for directory in (f"/etc/docker/certs.d/{registry.host}", f"/etc/containers/certs.d/{registry.host}"):
            os.makedirs(directory, exist_ok=True)
            subprocess.run(["cp", os.path.join(certs, "ca.crt"), directory + "/ca.crt"], check=True)
            trust_dirs.append(directory)
        return registry

    secured = start("secured")
    open_pull = start("anonymous-pull", ["--anonymous-pull"])
    token_port = free_port()
    tokens = start("token", ["--token-realm", f"https://127.0.0.1:{token_port}/token"], port=token_port)
    docker = Dockerd(ctx.work + "/private-dockerd") if tool_available("dockerd") else None
    podman = Storage(ctx.work, "private-podman")
    host = secured.host
    try:
        def docker_login_push_pull():
            expect(docker is not None, "dockerd is not installed")
            archive = os.path.join(ctx.work, "private-base.tar")
            run(["skopeo", "copy", images.oci("base"), f"docker-archive:{archive}:private/base:v1"])
            docker("load", "-i", archive)
            docker("tag", "private/base:v1", f"{host}/alice/app:v1")
            out = docker("push", f"{host}/alice/app:v1", check=False)
            expect("no basic auth credentials" in out or "unauthorized" in out.lower(), f"anonymous docker push was not refused:\n{out}")
            login = subprocess.run(["docker", "login", host, "-u", "alice", "--password-stdin"], input="alice-secret",
                                   text=True, env=docker.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            expect(login.returncode == 0 and "Login Succeeded" in login.stdout, f"docker login failed:\n{login.stdout}")
            docker("push", f"{host}/alice/app:v1")
            docker("rmi", f"{host}/alice/app:v1")
            docker("pull", f"{host}/alice/app:v1")
            https = [e for e in secured.requests_since(0) if "docker/" in e.get("user_agent", "") and e["status"] == "201"]
            expect(https, "the registry saw no docker push over HTTPS")
            docker("logout", host)
            bob = subprocess.run(["docker", "login", host, "-u", "bob", "--password-stdin"], input="bob-secret",
                                 text=True, env=docker.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            expect(bob.returncode == 0, f"docker login as bob failed:\n{bob.stdout}")
            docker("tag", "private/base:v1", f"{host}/alice/app:bob")
            refused = docker("push", f"{host}/alice/app:bob", check=False)
            expect("denied" in refused.lower(), f"bob's (pull-only) docker push was not denied:\n{refused}")
            docker("rmi", f"{host}/alice/app:v1")
            docker("pull", f"{host}/alice/app:v1")
            wrong = subprocess.run(["docker", "login", host, "-u", "alice", "--password-stdin"], input="wrong",
                                   text=True, env=docker.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            expect(wrong.returncode != 0, "docker login with a wrong password succeeded")

        def podman_login_push_pull():
            cli = ["podman", *podman.options]
            auth = os.path.join(base, "podman-auth.json")
            login = subprocess.run([*cli, "login", "--authfile", auth, host, "-u", "alice", "--password-stdin"],
                                   input="alice-secret", text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            expect(login.returncode == 0, f"podman login (TLS verified with the CA) failed:\n{login.stdout}")
            image = run([*cli, "pull", images.oci("second")]).strip().splitlines()[-1]
            run([*cli, "push", "--authfile", auth, image, f"docker://{host}/alice/podman:v1"])
            run([*cli, "rmi", "-f", image])
            run([*cli, "pull", "--authfile", auth, f"{host}/alice/podman:v1"])
            anonymous = subprocess.run([*cli, "pull", "--authfile", os.path.join(base, "none.json"), f"{host}/alice/podman:v1"],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            expect(anonymous.returncode != 0, "an anonymous podman pull succeeded without anonymous pulls enabled")

        def skopeo_creds():
            run(["skopeo", "copy", "--dest-creds", "alice:alice-secret", images.oci("base"), f"docker://{host}/alice/skopeo:v1"])
            refused = subprocess.run(["skopeo", "copy", "--dest-creds", "bob:bob-secret", images.oci("base"),
                                      f"docker://{host}/alice/skopeo:bob"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            expect(refused.returncode != 0 and "denied" in refused.stdout.lower(), f"bob's skopeo push was not denied:\n{refused.stdout}")
            run(["skopeo", "inspect", "--creds", "bob:bob-secret", f"docker://{host}/alice/skopeo:v1"])
            wrong = subprocess.run(["skopeo", "inspect", "--creds", "alice:wrong", f"docker://{host}/alice/skopeo:v1"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            expect(wrong.returncode != 0, "skopeo with a wrong password succeeded")

        def anonymous_pull_switch():
            other = open_pull.host
            run(["skopeo", "copy", "--dest-creds", "alice:alice-secret", images.oci("base"), f"docker://{other}/public/app:v1"])
            run(["skopeo", "inspect", f"docker://{other}/public/app:v1"])
            push = subprocess.run(["skopeo", "copy", images.oci("second"), f"docker://{other}/public/app:v2"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            expect(push.returncode != 0, "an anonymous push succeeded")
            closed = subprocess.run(["skopeo", "inspect", f"docker://{host}/alice/skopeo:v1"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            expect(closed.returncode != 0, "anonymous pull worked on the registry without --anonymous-pull")

        def token_flow():
            expect(docker is not None, "dockerd is not installed")
            host = tokens.host
            login = subprocess.run(["docker", "login", host, "-u", "alice", "--password-stdin"], input="alice-secret",
                                   text=True, env=docker.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            expect(login.returncode == 0 and "Login Succeeded" in login.stdout, f"docker login (token flow) failed:\n{login.stdout}")
            docker("tag", "private/base:v1", f"{host}/alice/token:v1")
            docker("push", f"{host}/alice/token:v1")
            docker("rmi", f"{host}/alice/token:v1")
            docker("pull", f"{host}/alice/token:v1")
            issued = [e for e in tokens.requests_since(0) if e["path"].startswith("/token") and e["status"] == "200"]
            expect(issued, "docker never asked the token endpoint for a token")
            bearer_only = [e for e in tokens.requests_since(0) if e["method"] == "PUT" and e["status"] == "201"]
            expect(bearer_only, "no push succeeded with a token")
            docker("logout", host)
            bob = subprocess.run(["docker", "login", host, "-u", "bob", "--password-stdin"], input="bob-secret",
                                 text=True, env=docker.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            expect(bob.returncode == 0, f"docker login as bob (token flow) failed:\n{bob.stdout}")
            docker("tag", "private/base:v1", f"{host}/alice/token:bob")
            refused = docker("push", f"{host}/alice/token:bob", check=False)
            expect("denied" in refused.lower() or "unauthorized" in refused.lower() or "insufficient_scope" in refused,
                   f"bob's push with a pull-only token was not refused:\n{refused}")
            docker("rmi", f"{host}/alice/token:v1")
            docker("pull", f"{host}/alice/token:v1")
            docker("logout", host)
            run(["skopeo", "copy", "--dest-creds", "alice:alice-secret", images.oci("second"), f"docker://{host}/alice/skopeo-token:v1"])
            auth = os.path.join(base, "podman-token-auth.json")
            cli = ["podman", *podman.options]
            plogin = subprocess.run([*cli, "login", "--authfile", auth, host, "-u", "alice", "--password-stdin"],
                                    input="alice-secret", text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            expect(plogin.returncode == 0, f"podman login (token flow) failed:\n{plogin.stdout}")
            run([*cli, "pull", "--authfile", auth, f"{host}/alice/skopeo-token:v1"])

        suite.check("private: docker login, push, pull over TLS; pull-only user denied; wrong password refused", docker_login_push_pull)
        suite.check("private: token flow: docker login/push/pull, pull-only token refused, skopeo and podman", token_flow)
        suite.check("private: podman login and push/pull with the CA verified; anonymous pull refused", podman_login_push_pull)
        suite.check("private: skopeo --dest-creds push, pull-only user denied, wrong password refused", skopeo_creds)
        suite.check("private: anonymous pull only with --anonymous-pull", anonymous_pull_switch)
    finally:
        if docker:
            docker.stop()
        secured.stop()
        open_pull.stop()
        tokens.stop()
        for directory in trust_dirs:
            subprocess.run(["rm", "-rf", directory])


# MARK: storage-example

def storage_example_checks(ctx, registry_binary):
    """Serves the committed storage-example/ read-only and pulls every image from it."""
    example = os.path.join(HERE, "..", "..", "storage-example")

    def tree():
        return sorted(os.path.relpath(os.path.join(d, f), example) for d, _, files in os.walk(example) for f in files)

    def pull_fixture():
        before = tree()
        served = Registry(registry_binary, os.path.join(ctx.work, "example"), root=example, read_only=True)
        try:
            for repository, layout, options in (("demo/app", "base", []), ("demo/tools", "second", []),
                                                ("demo/multi", "multiarch", ["--all"])):
                out = os.path.join(ctx.work, "example-" + layout)
                run(["skopeo", "copy", *options, "--src-tls-verify=false", f"docker://{served.host}/{repository}:v1", f"oci:{out}:v1"])
                pulled = json.load(open(os.path.join(out, "index.json")))["manifests"][0]["digest"]
                expected = ctx.images.manifest(layout)[0]
                expect(pulled == expected, f"{repository}:v1 pulled as {pulled}, built as {expected}")
            status, _, _ = served.request("POST", "/v2/demo/app/blobs/uploads/")
            expect(status == 405, f"a push to the read-only example answered {status}")
        finally:
            served.stop()
        expect(tree() == before, "serving storage-example changed files in it")

    ctx.suite.check("storage-example: served --read-only, every image pulls with the committed digests", pull_fixture)


def lifecycle_checks(ctx, registry_binary):
    """Deleting images and getting the space back, with the maintenance commands run on the root
    of a registry that keeps serving: skopeo deletes an image sharing its base layer with
    another, `registry gc` frees exactly the layers only it used, `registry du` agrees with the
    files on disk, `registry scrub` finds a layer corrupted on purpose and `--repair` lets the
    next push heal it, `registry rm` deletes a repository."""
    suite, images = ctx.suite, ctx.images
    base = os.path.join(ctx.work, "lifecycle")
    os.makedirs(base, exist_ok=True)
    config = os.path.join(base, "registry.yaml")
    with open(config, "w") as f:
        f.write("gc:\n  interval: off\n  grace_period: 1s\n")
    registry = Registry(registry_binary, base, extra_args=["--config", config])
    tls = ["--dest-tls-verify=false"]

    def maintenance(*args, check=True):
        result = subprocess.run([registry_binary, *args, "--root", registry.root, "--config", config],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if check and result.returncode != 0:
            raise CheckFailed(f"registry {' '.join(args)} exited {result.returncode}:\n{result.stdout}")
        return result

    def files_on_disk():
        sizes = {}
        for directory, _, files in os.walk(os.path.join(registry.root, "blobs")):
            for name in files:
                sizes[name] = os.path.getsize(os.path.join(directory, name))
        return sizes

    def usage():
        figures = json.loads(maintenance("du", "--json").stdout)
        expect(figures["total"]["physical_bytes"] == sum(files_on_disk().values()),
               f"du says {figures['total']['physical_bytes']} bytes, the files hold {sum(files_on_disk().values())}")
        return figures

    def blobs_of(repository):
        _, manifest = registry.manifest(repository, "v1")
        return {d["digest"]: d["size"] for d in [manifest["config"]] + manifest["layers"]}

    def pull(repository):
        out = os.path.join(ctx.work, "lifecycle-pull-" + secrets.token_hex(4))
        run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{registry.host}/{repository}:v1", f"oci:{out}:v1"])

    def gc_frees_only_unshared_layers():
        run(["skopeo", "copy", *tls, images.oci("base"), f"docker://{registry.host}/lifecycle/a:v1"])
        run(["skopeo", "copy", *tls, images.oci("second"), f"docker://{registry.host}/lifecycle/b:v1"])
        a, b = blobs_of("lifecycle/a"), blobs_of("lifecycle/b")
        only_b = {d: size for d, size in b.items() if d not in a}
        expect(only_b and set(a) & set(b), "the test images should share a layer and differ in another")
        before = usage()["total"]["physical_bytes"]
        digest, _ = registry.manifest("lifecycle/b", "v1")
        run(["skopeo", "delete", "--tls-verify=false", f"docker://{registry.host}/lifecycle/b@{digest}"])
        time.sleep(2.2)  # past the grace period, plus the second a collection adds for recorded blob uses
        dry = json.loads(maintenance("gc", "--dry-run", "--json").stdout)["deleted"]
        expect(dry["bytes_reclaimed"] == sum(only_b.values()), f"gc --dry-run would reclaim {dry['bytes_reclaimed']}, "
                                                                f"expected {sum(only_b.values())}")
        expect(usage()["total"]["physical_bytes"] == before, "gc --dry-run deleted something")
        report = maintenance("gc").stdout
        expect("blobs deleted: " + str(len(only_b)) in report, f"gc reported:\n{report}")
        after = usage()["total"]["physical_bytes"]
        expect(before - after == sum(only_b.values()), f"gc freed {before - after} bytes, expected {sum(only_b.values())}")
        for digest in only_b:
            expect(not registry.blob_files(digest), f"{digest}, used only by the deleted image, is still on disk")
        for digest in a:
            expect(registry.blob_files(digest), f"{digest} of the kept image was deleted")
        pull("lifecycle/a")

    def scrub_finds_and_repairs_corruption():
        expect(maintenance("scrub").returncode == 0, "scrub of an intact root failed")
        layer = registry.manifest("lifecycle/a", "v1")[1]["layers"][0]["digest"]
        path = registry.blob_files(layer)[0]
        with open(path, "r+b") as f:
            f.seek(10)
            byte = f.read(1)
            f.seek(10)
            f.write(bytes([byte[0] ^ 0xFF]))
        found = maintenance("scrub", check=False)
        expect(found.returncode == 1 and layer in found.stdout, f"scrub missed the corrupted {layer}:\n{found.stdout}")
        maintenance("scrub", "--repair")
        time.sleep(1.2)  # the server notices outside changes within a second
        run(["skopeo", "copy", *tls, images.oci("base"), f"docker://{registry.host}/lifecycle/a:v1"])
        expect(maintenance("scrub").returncode == 0, "the re-push did not heal the quarantined layer")
        pull("lifecycle/a")

    def rm_then_gc_empties_the_root():
        report = maintenance("rm", "lifecycle/a").stdout
        expect("deleted repository lifecycle/a" in report, f"registry rm said:\n{report}")
        status, _, body = registry.request("GET", "/v2/_catalog")
        expect("lifecycle/a" not in json.loads(body)["repositories"], f"the catalog still lists lifecycle/a: {body!r}")
        time.sleep(1.2)
        maintenance("gc")
        expect(not files_on_disk(), f"blobs left after deleting every repository: {sorted(files_on_disk())}")

    try:
        suite.check("lifecycle: skopeo delete + registry gc frees exactly the unshared layers, du matches the disk",
                    gc_frees_only_unshared_layers)
        suite.check("lifecycle: registry scrub finds a corrupted layer, --repair and a re-push heal it",
                    scrub_finds_and_repairs_corruption)
        suite.check("lifecycle: registry rm, then gc, leaves no blob", rm_then_gc_empties_the_root)
    finally:
        registry.stop()


def work_directory(name):
    """A fresh directory under the system's temporary directory. Lower-case hex only: podman and
    buildah name images pulled from an OCI layout after its path, which must then be a valid
    reference (mkdtemp's random part may contain "_")."""
    work = os.path.join(tempfile.gettempdir(), f"{name}-{secrets.token_hex(6)}")
    os.makedirs(work)
    return work


def client_checks(ctx, clients, on_client_done=None):
    """Every client's checks, skopeo first (the others pull the multi-arch images it pushes).
    `on_client_done(client, since)` runs after each client, with the pull registry's log mark
    taken before it."""
    tools = {"skopeo": "skopeo", "docker": "dockerd", "podman": "podman", "buildah": "buildah", "ctr": "containerd"}
    runners = {"skopeo": skopeo_checks, "docker": docker_checks, "ctr": ctr_checks,
               "podman": lambda c: podman_checks(c, "podman"), "buildah": lambda c: podman_checks(c, "buildah")}
    for client in ["skopeo"] + [c for c in clients if c != "skopeo"]:
        if not tool_available(tools[client]):
            def missing(tool=tools[client]):
                raise CheckFailed(f"{tool} is not installed")
            ctx.suite.check(f"{client}: installed", missing)
            continue
        since = ctx.pull.mark()
        seconds = timed(lambda: runners[client](ctx))
        ctx.suite.figure(f"{client}: all checks in {seconds:.1f} s")
        if on_client_done:
            on_client_done(client, since)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", required=True, help="path to the registry executable")
    parser.add_argument("--big-mib", type=int, default=200)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    clients = args.clients.split(",")

    suite = Suite()
    work = work_directory("interop")
    registry = Registry(os.path.abspath(args.registry), work)
    try:
        images = Images(work, args.big_mib, CLIENTS)
        ctx = Context(registry, images, work, suite)
        client_checks(ctx, clients)
        if tool_available("skopeo"):
            storage_example_checks(ctx, os.path.abspath(args.registry))
            private_registry_checks(ctx, os.path.abspath(args.registry))
            lifecycle_checks(ctx, os.path.abspath(args.registry))
            proxy_checks(ctx, os.path.abspath(args.registry))
            squash_checks(ctx, os.path.abspath(args.registry))
    finally:
        registry.stop()
        if not args.keep:
            subprocess.run(["rm", "-rf", work])
    for figure in suite.figures:
        print(figure)
    print(f"{suite.passed} passed, {suite.failed} failed")
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
