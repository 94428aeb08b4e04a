#!/usr/bin/env python3
"""Writes the test images as OCI image layouts, byte-for-byte reproducibly (seeded content,
fixed timestamps, gzip without a name or mtime), so that no image ever comes from the internet.

    make_images.py OUT_DIR [--big-mib N [--big-names a,b,...]]

OUT_DIR/
  base/          image v1: layers [shared base, app-one]
  second/        image v1: layers [shared base, app-two]       (shares the base layer)
  multiarch/     OCI index v1: linux/amd64 and linux/arm64/v8, sharing the base layer
  big-<name>/    image v1 with one layer of N MiB of random bytes, different for each name
                 (only with --big-mib; one per client, so that none can reuse another's upload)
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CREATED = "2024-01-01T00:00:00Z"


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class Layout:
    """An OCI image layout directory being written."""

    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        self.refs = []

    def blob(self, data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.path, "blobs", "sha256", digest), "wb") as f:
            f.write(data)
        return "sha256:" + digest

    def tag(self, media_type, data, name, platform=None):
        descriptor = {"mediaType": media_type, "digest": self.blob(data), "size": len(data),
                      "annotations": {"org.opencontainers.image.ref.name": name}}
        if platform:
            descriptor["platform"] = platform
        self.refs.append(descriptor)

    def close(self):
        with open(os.path.join(self.path, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')
        with open(os.path.join(self.path, "index.json"), "wb") as f:
            f.write(canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.refs}))


def layer(files):
    """A gzip-compressed tar of {path: bytes}; returns (compressed, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 0, 0o644, 0, 0
            tar.addfile(info, io.BytesIO(data))
    uncompressed = raw.getvalue()
    compressed = gzip.compress(uncompressed, compresslevel=1, mtime=0)
    return compressed, "sha256:" + hashlib.sha256(uncompressed).hexdigest()


def image(layout, layers, arch="amd64", variant=None, comment="image"):
    """Writes config and layers into the layout; returns the manifest bytes."""
    config = {
        "architecture": arch, "os": "linux", "created": CREATED,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in layers]},
        "history": [{"created": CREATED, "created_by": f"{comment}: layer {i}"} for i in range(len(layers))],
    }
    if variant:
        config["variant"] = variant
    config_bytes = canonical(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": layout.blob(config_bytes), "size": len(config_bytes)},
        "layers": [{"mediaType": OCI_LAYER, "digest": layout.blob(data), "size": len(data)} for data, _ in layers],
    }
    return canonical(manifest)


def descriptor(layout, media_type, manifest, platform):
    return {"mediaType": media_type, "digest": layout.blob(manifest), "size": len(manifest), "platform": platform}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--big-mib", type=int, default=0)
    parser.add_argument("--big-names", default="big")
    args = parser.parse_args()
    rng = random.Random(20240101)

    base = layer({"etc/os-release": b"NAME=test-base\n", "bin/busybox": rng.randbytes(48 * 1024)})
    app_one = layer({"app/one.txt": b"app one\n", "app/one.bin": rng.randbytes(8 * 1024)})
    app_two = layer({"app/two.txt": b"app two\n", "app/two.bin": rng.randbytes(8 * 1024)})
    amd64 = layer({"arch.txt": b"amd64\n"})
    arm64 = layer({"arch.txt": b"arm64\n"})

    for name, layers in (("base", [base, app_one]), ("second", [base, app_two])):
        layout = Layout(os.path.join(args.out, name))
        layout.tag(OCI_MANIFEST, image(layout, layers, comment=name), "v1")
        layout.close()

    # The Docker manifest list variant is made from this index by the clients (skopeo --format
    # v2s2, docker manifest create), since an OCI layout cannot carry one.
    layout = Layout(os.path.join(args.out, "multiarch"))
    entries = [
        descriptor(layout, OCI_MANIFEST, image(layout, [base, amd64], comment="amd64"),
                   {"architecture": "amd64", "os": "linux"}),
        descriptor(layout, OCI_MANIFEST, image(layout, [base, arm64], "arm64", "v8", comment="arm64"),
                   {"architecture": "arm64", "os": "linux", "variant": "v8"}),
    ]
    layout.tag(OCI_INDEX, canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}), "v1")
    layout.close()

    for name in args.big_names.split(",") if args.big_mib else []:
        layout = Layout(os.path.join(args.out, "big-" + name))
        payload = random.Random(name).randbytes(args.big_mib * 1024 * 1024)
        layout.tag(OCI_MANIFEST, image(layout, [layer({"big.bin": payload})], comment="big " + name), "v1")
        layout.close()


if __name__ == "__main__":
    main()
