"""`registry squash` against real tools: an image whose layers use every rule of applying
layers (whiteouts, an opaque directory, a directory replaced by a file, symlinks, hard links,
modes) is squashed; umoci unpacks the original (the reference applier of OCI layers), GNU tar
the squashed image's one layer, both fetched by skopeo; the two trees must be identical, file
by file. podman then pulls the squashed image, single- and multi-platform."""
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile

from harness import CheckFailed, Storage, expect, run, tool_available


def layer(entries):
    """A gzip layer from (name, kind, value, mode) entries; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, value, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime, info.mode = 1_700_000_000, mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, value
                tar.addfile(info)
            else:
                data = value.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


LAYERS = [
    [("etc", "dir", None, 0o755), ("etc/os-release", "file", "v1\n", 0o644), ("etc/remove-me", "file", "x", 0o644),
     ("opt", "dir", None, 0o755), ("opt/data", "dir", None, 0o700), ("opt/data/a", "file", "a", 0o644),
     ("opt/data/b", "file", "b", 0o644), ("bin", "dir", None, 0o755), ("bin/tool", "file", "tool", 0o755),
     ("lib", "dir", None, 0o755), ("lib/real", "file", "real", 0o644), ("lib/link", "symlink", "real", 0o777),
     ("usr", "dir", None, 0o755), ("usr/hard1", "file", "H", 0o640), ("usr/hard2", "hardlink", "usr/hard1", 0o640),
     ("usr/kept1", "file", "old", 0o644), ("usr/kept2", "hardlink", "usr/kept1", 0o644),
     ("usr/kept3", "hardlink", "usr/kept1", 0o644)],
    [("etc/os-release", "file", "v2\n", 0o600), ("etc/.wh.remove-me", "file", "", 0o644),
     ("opt/data/.wh..wh..opq", "file", "", 0o644), ("opt/data/c", "file", "c", 0o644),
     ("newdir", "dir", None, 0o755), ("newdir/file", "file", "new", 0o644)],
    # usr/kept1 replaced: its hard links keep the old data, as in an overlay.
    [(".wh.newdir", "file", "", 0o644), ("bin", "file", "now a file", 0o755), ("lib/real", "file", "real v2", 0o644),
     ("usr/kept1", "file", "new", 0o644)],
]


def tree(root):
    """Every path under `root`: its type, mode, and content or link target; hard-link groups
    by inode."""
    out, inodes = {}, {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            st = os.lstat(path)
            mode = oct(st.st_mode & 0o7777)
            if os.path.islink(path):
                out[relative] = ("symlink", os.readlink(path))
            elif os.path.isdir(path):
                out[relative] = ("dir", mode)
            else:
                out[relative] = ("file", mode, open(path, "rb").read(), st.st_nlink)
                inodes.setdefault(st.st_ino, []).append(relative)
    links = sorted(sorted(group) for group in inodes.values() if len(group) > 1)
    return out, links


def squash_checks(ctx, registry_binary):
    suite, registry = ctx.suite, ctx.registry
    base = os.path.join(ctx.work, "squash")
    os.makedirs(base, exist_ok=True)

    def push_blob(repository, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, _, body = registry.request("POST", f"/v2/{repository}/blobs/uploads/?digest={digest}",
                                           {"Content-Type": "application/octet-stream"}, data)
        expect(status == 201, f"blob upload answered {status}: {body[:200]!r}")
        return {"digest": digest, "size": len(data)}

    def push_image(repository, reference, architecture):
        layers, diff_ids = zip(*(layer(entries) for entries in LAYERS))
        history = []
        for index in range(len(LAYERS)):
            history += [{"created_by": f"RUN step {index}"}, {"created_by": f"ENV N={index}", "empty_layer": True}]
        config = json.dumps({"architecture": architecture, "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                             "rootfs": {"type": "layers", "diff_ids": list(diff_ids)}, "history": history}).encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **push_blob(repository, config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **push_blob(repository, blob)}
                       for blob in layers]}).encode()
        status, headers, body = registry.request("PUT", f"/v2/{repository}/manifests/{reference}",
                                                 {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, manifest)
        expect(status == 201, f"manifest PUT answered {status}: {body[:200]!r}")
        return headers["Docker-Content-Digest"], len(manifest)

    def squash(source, destination):
        result = subprocess.run([registry_binary, "squash", source, destination, "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if result.returncode != 0:
            raise CheckFailed(f"registry squash exited {result.returncode}: {result.stderr[-2000:]}")
        return json.loads(result.stdout)

    def unpacked_original(reference, name):
        layout = os.path.join(base, name + "-layout")
        run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{reference}", f"oci:{layout}:v1"])
        bundle = os.path.join(base, name + "-bundle")
        run(["umoci", "unpack", "--image", f"{layout}:v1", bundle])
        return os.path.join(bundle, "rootfs")

    def unpacked_squashed(reference, name):
        layout = os.path.join(base, name + "-layout")
        run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{reference}", f"oci:{layout}:v1"])
        index = json.load(open(os.path.join(layout, "index.json")))
        digest = index["manifests"][0]["digest"]
        manifest = json.load(open(os.path.join(layout, "blobs", *digest.split(":"))))
        expect(len(manifest["layers"]) == 1, f"the squashed image has {len(manifest['layers'])} layers")
        layer_digest = manifest["layers"][0]["digest"]
        root = os.path.join(base, name + "-rootfs")
        os.makedirs(root)
        run(["tar", "-x", "-z", "-f", os.path.join(layout, "blobs", *layer_digest.split(":")), "-C", root,
             "--same-owner", "--preserve-permissions"])
        return root

    def same_trees(original, squashed):
        expected, expected_links = tree(original)
        actual, actual_links = tree(squashed)
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        different = sorted(path for path in set(expected) & set(actual) if expected[path] != actual[path])
        expect(not missing and not extra and not different,
               f"squashed tree differs from umoci's unpack: missing {missing}, extra {extra}, different "
               + ", ".join(f"{p}: {expected[p]} vs {actual[p]}" for p in different))
        expect(expected_links == actual_links, f"hard links differ: {expected_links} vs {actual_links}")
        expect("etc/remove-me" not in actual and "opt/data/a" not in actual and "newdir" not in actual
               and "bin/tool" not in actual, "deleted paths survived")
        return len(actual)

    def single():
        push_image("squash/src", "v1", "amd64")
        report = squash(f"{registry.host}/squash/src:v1", f"{registry.host}/squash/flat:v1")
        image = report["images"][0]
        count = same_trees(unpacked_original(f"{registry.host}/squash/src:v1", "single-original"),
                           unpacked_squashed(f"{registry.host}/squash/flat:v1", "single-squashed"))
        suite.figure(f"squash: {image['layersBefore']} layers, {image['compressedBefore']} B -> 1 layer, "
                     f"{image['compressedAfter']} B ({image['entriesBefore']} -> {image['entriesAfter']} entries); "
                     f"{count} paths identical to umoci's unpack")

    def multi_platform():
        entries = []
        for architecture in ("amd64", "arm64"):
            digest, size = push_image("squash/multi", f"{architecture}", architecture)
            entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
                            "platform": {"os": "linux", "architecture": architecture}})
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": entries}).encode()
        status, _, body = registry.request("PUT", "/v2/squash/multi/manifests/v1",
                                           {"Content-Type": "application/vnd.oci.image.index.v1+json"}, index)
        expect(status == 201, f"index PUT answered {status}: {body[:200]!r}")
        report = squash(f"{registry.host}/squash/multi:v1", f"{registry.host}/squash/multi-flat:v1")
        expect(sorted(image["platform"] for image in report["images"]) == ["linux/amd64", "linux/arm64"],
               f"squashed platforms: {[image['platform'] for image in report['images']]}")
        status, headers, body = registry.request("GET", "/v2/squash/multi-flat/manifests/v1",
                                                 {"Accept": "application/vnd.oci.image.index.v1+json"})
        squashed_index = json.loads(body)
        expect(status == 200 and squashed_index["mediaType"] == "application/vnd.oci.image.index.v1+json"
               and len(squashed_index["manifests"]) == 2, f"the squashed index: {status} {body[:300]!r}")
        same_trees(unpacked_original(f"{registry.host}/squash/multi:v1", "multi-original"),
                   unpacked_squashed(f"{registry.host}/squash/multi-flat:v1", "multi-squashed"))

    def podman_pulls():
        storage = Storage(base, "podman")
        for reference in (f"{registry.host}/squash/flat:v1", f"{registry.host}/squash/multi-flat:v1"):
            run(["podman", *storage.options, "pull", "--tls-verify=false", reference])
        layers = run(["podman", *storage.options, "image", "inspect", "--format", "{{len .RootFS.Layers}}",
                      f"{registry.host}/squash/flat:v1"]).strip()
        expect(layers == "1", f"podman sees {layers} layers in the squashed image")
        history = run(["podman", *storage.options, "history", "--format", "{{.CreatedBy}}",
                       f"{registry.host}/squash/flat:v1"])
        expect("registry squash" in history.splitlines()[0], f"podman history's newest step:\n{history}")

    def umoci_missing():
        raise CheckFailed("umoci, the reference unpacker, is not installed (Debian's umoci package)")

    if not tool_available("umoci"):
        suite.check("squash: umoci installed", umoci_missing)
        return
    suite.check("squash: one layer whose tree equals umoci's unpack of the original (whiteouts, opaque dir, "
                "dir replaced by a file, symlink, hard link, modes)", single)
    suite.check("squash: a multi-platform index squashes each platform into a new index", multi_platform)
    if tool_available("podman"):
        suite.check("squash: podman pulls the squashed images; one layer, history ends with the squash", podman_pulls)
