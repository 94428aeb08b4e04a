#!/usr/bin/env python3
"""Builds this directory's registry root: three images pushed with skopeo to a real
`registry serve`, copied out, with the database's timestamps zeroed so the tree is reproducible.

    make_example.py --registry .build/debug/registry           # rewrite storage-example/
    make_example.py --registry .build/debug/registry --check   # fail if the committed tree differs
"""
import argparse
import filecmp
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "interop"))
from harness import Registry, run  # noqa: E402

# repository -> (layout made by scripts/make_images.py, skopeo options)
IMAGES = {
    "demo/app": ("base", []),
    "demo/tools": ("second", []),
    "demo/multi": ("multiarch", ["--all"]),
}


def build(registry_binary, out):
    work = tempfile.mkdtemp(prefix="storage-example-")
    try:
        images = os.path.join(work, "images")
        run([sys.executable, os.path.join(HERE, "..", "scripts", "make_images.py"), images])
        registry = Registry(registry_binary, work)
        try:
            for repository, (layout, options) in IMAGES.items():
                run(["skopeo", "copy", *options, "--dest-tls-verify=false", f"oci:{os.path.join(images, layout)}:v1",
                     f"docker://{registry.host}/{repository}:v1"])
        finally:
            registry.stop()
        database = os.path.join(registry.root, "metadata.sqlite")
        normalize(database)
        for name in ("blobs", "metadata.sqlite"):
            target = os.path.join(out, name)
            if os.path.isdir(target):
                shutil.rmtree(target)
            elif os.path.exists(target):
                os.remove(target)
        shutil.copytree(os.path.join(registry.root, "blobs"), os.path.join(out, "blobs"))
        shutil.copy(database, os.path.join(out, "metadata.sqlite"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def normalize(database):
    """Zeroes timestamps, empties the audit log, and leaves a single-file database (no WAL) that a read-only registry can open."""
    connection = sqlite3.connect(database)
    for table, columns in (("repositories", ["created_at"]), ("blobs", ["created_at"]),
                           ("repository_blobs", ["created_at"]), ("manifests", ["created_at"]),
                           ("tags", ["updated_at"])):
        connection.execute(f"UPDATE {table} SET " + ", ".join(f"{c} = 0" for c in columns))
    connection.execute("UPDATE tags SET pulled_at = NULL")
    # The audit log of the script's own pushes: times, ports and user agents differ at every run.
    for table in ("audit_runs", "audit_contexts"):
        connection.execute(f"DELETE FROM {table}")
    connection.execute("UPDATE audit_sequence SET next_id = 1")
    if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        connection.execute("DELETE FROM sqlite_sequence WHERE name = 'audit_contexts'")
    connection.commit()
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute("VACUUM")
    connection.close()


def dump(database):
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    lines = sorted(connection.iterdump())
    connection.close()
    return lines


def differences(expected, actual):
    problems = []
    comparison = filecmp.dircmp(os.path.join(expected, "blobs"), os.path.join(actual, "blobs"))
    stack = [comparison]
    while stack:
        current = stack.pop()
        problems += [f"only committed: {current.left}/{n}" for n in current.left_only]
        problems += [f"only produced: {current.right}/{n}" for n in current.right_only]
        _, mismatch, errors = filecmp.cmpfiles(current.left, current.right, current.common_files, shallow=False)
        problems += [f"differs: {current.left}/{n}" for n in mismatch + errors]
        stack += current.subdirs.values()
    if dump(os.path.join(expected, "metadata.sqlite")) != dump(os.path.join(actual, "metadata.sqlite")):
        problems.append("metadata.sqlite holds other rows than the script produces")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", required=True, help="path to the registry executable")
    parser.add_argument("--check", action="store_true", help="compare the committed tree with a fresh build")
    args = parser.parse_args()
    binary = os.path.abspath(args.registry)
    if not args.check:
        build(binary, HERE)
        return 0
    fresh = tempfile.mkdtemp(prefix="storage-example-check-")
    try:
        build(binary, fresh)
        problems = differences(HERE, fresh)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    for problem in problems:
        print(problem)
    print("storage-example matches its script" if not problems else "storage-example is out of date: run make_example.py")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
