#!/usr/bin/env python3
"""The web UI in a real browser: headless Chromium (Debian's `chromium`) loads every page of a
fresh `registry serve` and the DOM it built is checked; a screenshot of each page is saved.
With logins, Chromium is driven through WebDriver (Debian's `chromium-driver` and
`python3-selenium`; run with /usr/bin/python3): sign in with the form, open a repository, an
image, a layer, delete a tag through the confirmation page.

    ui_check.py --registry .build/debug/registry [--shots DIR]

Pages: repositories (with search), a repository, a single image, a multi-platform image, a
layer, with image labels and annotations that contain `<script>`: Chromium's DOM must show
them as text, and no script element may exist. A second registry with logins checks that a
signed-in user sees only what they may pull, and an admin deletes a tag. Prints PASS/FAIL per
check and `N passed, M failed`; exit status 1 when anything failed.
"""
import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from harness import CheckFailed, Registry, Suite, add_users, expect  # noqa: E402

HOSTILE = "<script>alert(1)</script>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def browser(url, screenshot=None):
    """The DOM Chromium built for `url`, after loading it; a screenshot too when asked."""
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1280,1000"]
    if screenshot:
        subprocess.run(base + [f"--screenshot={screenshot}", url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120, check=True)
    result = subprocess.run(base + ["--dump-dom", url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120, text=True)
    if result.returncode != 0 or "<html" not in result.stdout:
        raise CheckFailed(f"chromium could not load {url} (exit {result.returncode})")
    return result.stdout


def layer(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()


class Pusher:
    def __init__(self, registry, authorization=None):
        self.registry, self.headers = registry, ({"Authorization": authorization} if authorization else {})

    def blob(self, repository, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, _, body = self.registry.request("POST", f"/v2/{repository}/blobs/uploads/?digest={digest}",
                                                {**self.headers, "Content-Type": "application/octet-stream"}, data)
        expect(status == 201, f"blob upload answered {status}: {body[:200]!r}")
        return {"digest": digest, "size": len(data)}

    def manifest(self, repository, reference, body, media_type):
        status, headers, answer = self.registry.request("PUT", f"/v2/{repository}/manifests/{reference}",
                                                        {**self.headers, "Content-Type": media_type}, body)
        expect(status == 201, f"manifest PUT answered {status}: {answer[:200]!r}")
        return headers["Docker-Content-Digest"]

    def image(self, repository, tag, layers, architecture="amd64", labels=None, annotations=None):
        blobs, diff_ids = zip(*layers)
        config = json.dumps({
            "architecture": architecture, "os": "linux", "created": "2025-01-01T00:00:00Z",
            "config": {"Cmd": ["/bin/app"], "Labels": labels or {}},
            "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
            "history": [{"created_by": f"COPY layer {i}"} for i in range(len(blobs))]}).encode()
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **self.blob(repository, config)},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **self.blob(repository, b)} for b in blobs]}
        if annotations:
            manifest["annotations"] = annotations
        body = json.dumps(manifest).encode()
        return self.manifest(repository, tag, body, manifest["mediaType"]), len(body)


def no_script(dom, page):
    expect("<script" not in dom.lower(), f"{page}: the DOM has a script element")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--shots", help="directory for the screenshots (default: a temporary one, printed)")
    args = parser.parse_args()
    binary = os.path.abspath(args.registry)
    if not CHROMIUM:
        print("FAIL chromium is not installed (Debian's chromium package)")
        return 1
    work = tempfile.mkdtemp(prefix="ui-check-")
    shots = args.shots or os.path.join(work, "shots")
    os.makedirs(shots, exist_ok=True)
    suite = Suite()
    registry = Registry(binary, os.path.join(work, "open"))
    secured = None
    tokened = None
    try:
        base, shared_id = layer({"etc/os-release": "ID=ui\n"})
        app = layer({"app/main": "main\n"})
        pusher = Pusher(registry)
        digest, _ = pusher.image("team/app", "v1", [(base, shared_id), app],
                                 labels={"evil": HOSTILE, HOSTILE: "as key"}, annotations={"org.opencontainers.image.title": HOSTILE})
        pusher.image("team/base", "v1", [(base, shared_id)])
        entries = []
        for architecture in ("amd64", "arm64"):
            child, size = pusher.image("team/multi", f"build-{architecture}", [(base, shared_id)], architecture=architecture)
            entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": child, "size": size,
                            "platform": {"os": "linux", "architecture": architecture}})
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}).encode()
        multi = pusher.manifest("team/multi", "v1", index, "application/vnd.oci.image.index.v1+json")
        url = registry.url
        base_digest = "sha256:" + hashlib.sha256(base).hexdigest()

        def repositories():
            dom = browser(f"{url}/", os.path.join(shots, "1-repositories.png"))
            for name in ("team/app", "team/base", "team/multi"):
                expect(f">{name}</a>" in dom, f"the repository list lacks {name}")
            expect("saved by layer sharing" in dom, "no totals")
            no_script(dom, "repositories")
            found = browser(f"{url}/?q=multi", os.path.join(shots, "2-search.png"))
            expect(">team/multi</a>" in found and ">team/app</a>" not in found, "search for multi")

        def repository():
            dom = browser(f"{url}/ui/repository?repository=team/multi", os.path.join(shots, "3-repository.png"))
            expect(">v1</a>" in dom and "linux/amd64, linux/arm64" in dom, "the tag and its platforms")
            expect(">build-amd64</a>" in dom and ">build-arm64</a>" in dom, "every tag")

        def image():
            dom = browser(f"{url}/ui/image?repository=team/app&digest={digest}&tag=v1", os.path.join(shots, "4-image.png"))
            expect(base_digest in dom and shared_id in dom, "both hashes of the shared layer")
            expect(">team/base:v1</a>" in dom, "the image sharing the base layer")
            expect("&lt;script&gt;alert(1)&lt;/script&gt;" in dom, "labels and annotations shown as text")
            expect(f"docker pull {registry.host}/team/app:v1" in dom, "the pull command")
            expect(dom.count("<rect") == 2, "one bar per layer")
            no_script(dom, "image")

        def index():
            dom = browser(f"{url}/ui/image?repository=team/multi&digest={multi}&tag=v1", os.path.join(shots, "5-index.png"))
            expect("Image linux/amd64" in dom and "Image linux/arm64" in dom, "both platforms' images")

        def layer_page():
            dom = browser(f"{url}/ui/layer?repository=team/app&digest={base_digest}&diff_id={shared_id}",
                          os.path.join(shots, "6-layer.png"))
            expect(shared_id in dom and base_digest in dom, "the layer's two hashes")
            for name in ("team/app", "team/base", "team/multi"):
                expect(f">{name}</a>" in dom, f"the layer page does not list {name} among its users")

        suite.check("ui: repositories page and search, in Chromium", repositories)
        suite.check("ui: a repository's tags with the platforms of an index", repository)
        suite.check("ui: an image: layer bars, both hashes, sharing, labels with <script> shown as text, pull command", image)
        suite.check("ui: a multi-platform image shows each platform's image", index)
        suite.check("ui: a layer: its two hashes and every image that uses it", layer_page)

        # Logins: bob may pull team/** only.
        secured_dir = os.path.join(work, "secured")
        os.makedirs(secured_dir)
        htpasswd = os.path.join(secured_dir, "htpasswd")
        add_users(binary, htpasswd, [("alice", "alice-pw"), ("bob", "bob-pw")])
        config = os.path.join(secured_dir, "registry.yaml")
        with open(config, "w") as f:
            f.write(f"auth:\n  htpasswd: {htpasswd}\n  admins: [alice]\n  rules:\n    team:\n      repositories: \"team/**\"\n"
                    "      users: [bob]\n      actions: [pull]\n  default_actions: []\n")
        secured = Registry(binary, secured_dir, extra_args=["--config", config])
        admin = Pusher(secured, "Basic " + base64.b64encode(b"alice:alice-pw").decode())
        admin.image("team/app", "v1", [(base, shared_id)])
        admin.image("secret/app", "v1", [(base, shared_id)])

        admin.image("team/app", "v2", [(base, shared_id)])

        def webdriver_session():
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
            from selenium.webdriver.common.by import By
            options = webdriver.ChromeOptions()
            options.binary_location = CHROMIUM
            for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
                options.add_argument(argument)
            driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
            driver.implicitly_wait(5)
            return driver, By

        def arrive(driver, path):
            """Waits (up to 10 s) until a click's navigation reached `path`."""
            from selenium.webdriver.support.ui import WebDriverWait
            try:
                WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith(path))
            except Exception:
                raise CheckFailed(f"expected to arrive at {path}, at {driver.current_url}")

        def sign_in(driver, By, user, password):
            driver.get(f"{secured.url}/ui/repository?repository=team/app")
            expect("/ui/login" in driver.current_url, f"an anonymous visitor was not sent to sign in: {driver.current_url}")
            driver.find_element(By.ID, "user").send_keys(user)
            driver.find_element(By.ID, "password").send_keys(password)
            driver.find_element(By.CSS_SELECTOR, "form.login button").click()
            arrive(driver, "/ui/repository?repository=team/app")

        def signed_in():
            driver, By = webdriver_session()
            try:
                sign_in(driver, By, "bob", "bob-pw")
                driver.save_screenshot(os.path.join(shots, "7-bob-repository.png"))
                expect("signed in as bob" in driver.page_source, "the page names the signed-in user")
                expect("/ui/delete" not in driver.page_source, "bob, who may only pull, is offered a delete")
                driver.find_element(By.LINK_TEXT, "registry").click()
                arrive(driver, "/")
                home = driver.page_source
                driver.save_screenshot(os.path.join(shots, "8-bob-repositories.png"))
                expect(">team/app</a>" in home and "secret/app" not in home, "bob sees team/app and not secret/app")
                expect("saved by layer sharing" not in home, "registry-wide figures shown to a user who is not an admin")
                driver.get(f"{secured.url}/ui/repository?repository=secret/app")
                expect("DENIED" in driver.page_source or "denied" in driver.page_source.lower(), "bob opened secret/app")
            finally:
                driver.quit()

        def admin_deletes_a_tag():
            driver, By = webdriver_session()
            try:
                sign_in(driver, By, "alice", "alice-pw")
                driver.find_element(By.LINK_TEXT, "v1").click()
                arrive(driver, "&tag=v1")
                driver.save_screenshot(os.path.join(shots, "9-alice-image.png"))
                expect(shared_id in driver.page_source, "the image page shows the layer's diff_id")
                driver.find_element(By.CSS_SELECTOR, "svg.layers a").click()
                arrive(driver, "&media_type=application/vnd.oci.image.layer.v1.tar%2Bgzip")
                driver.save_screenshot(os.path.join(shots, "10-alice-layer.png"))
                expect(">secret/app</a>" in driver.page_source, "the admin sees every image using the layer")
                driver.get(f"{secured.url}/ui/repository?repository=team/app")
                driver.find_element(By.CSS_SELECTOR, 'a[href="/ui/delete?repository=team/app&tag=v2"]').click()
                arrive(driver, "/ui/delete?repository=team/app&tag=v2")
                driver.save_screenshot(os.path.join(shots, "11-alice-confirm-delete.png"))
                expect("This deletes the tag team/app:v2" in driver.page_source, "the confirmation page")
                driver.find_element(By.CSS_SELECTOR, "form.confirm button").click()
                arrive(driver, "/ui/repository?repository=team/app")
                driver.save_screenshot(os.path.join(shots, "12-alice-after-delete.png"))
                expect(">v2</a>" not in driver.page_source and ">v1</a>" in driver.page_source, "v2 still listed, or v1 gone")
                status, _, _ = secured.request("GET", "/v2/team/app/manifests/v2", {"Authorization": admin.headers["Authorization"]})
                expect(status == 404, f"the registry still serves team/app:v2 ({status})")
                driver.find_element(By.CSS_SELECTOR, "header form button").click()
                arrive(driver, "/")
                driver.get(f"{secured.url}/")
                arrive(driver, "/ui/login?next=/")
            finally:
                driver.quit()

        suite.check("ui: WebDriver: bob signs in with the form and sees only what he may pull", signed_in)
        suite.check("ui: WebDriver: alice signs in, opens an image and a layer, deletes a tag through the confirmation, signs out",
                    admin_deletes_a_tag)

        # Token mode, same users and rules: a browser has no token; the form signs it in.
        token_dir = os.path.join(work, "token")
        os.makedirs(token_dir)
        token_config = os.path.join(token_dir, "registry.yaml")
        with open(config) as source, open(token_config, "w") as f:
            f.write(source.read().replace("auth:\n", "auth:\n  token:\n    realm: http://127.0.0.1/token\n", 1))
        tokened = Registry(binary, token_dir, extra_args=["--config", token_config])
        scope = "&".join(f"scope=repository:{name}:pull,push" for name in ("team/app", "secret/app"))
        status, _, body = tokened.request("GET", f"/token?service=registry&{scope}",
                                          {"Authorization": "Basic " + base64.b64encode(b"alice:alice-pw").decode()})
        expect(status == 200, f"the token endpoint answered {status}")
        bearer = Pusher(tokened, "Bearer " + json.loads(body)["token"])
        bearer.image("team/app", "v1", [(base, shared_id)])
        bearer.image("secret/app", "v1", [(base, shared_id)])

        def token_mode_sign_in():
            driver, By = webdriver_session()
            try:
                driver.get(f"{tokened.url}/")
                expect("/ui/login" in driver.current_url, f"an anonymous visitor was not sent to sign in: {driver.current_url}")
                driver.find_element(By.ID, "user").send_keys("bob")
                driver.find_element(By.ID, "password").send_keys("bob-pw")
                driver.find_element(By.CSS_SELECTOR, "form.login button").click()
                arrive(driver, f"{tokened.url}/")
                home = driver.page_source
                driver.save_screenshot(os.path.join(shots, "13-token-mode-bob-repositories.png"))
                expect("signed in as bob" in home, "the page names the signed-in user")
                expect(">team/app</a>" in home and "secret/app" not in home, "bob sees team/app and not secret/app")
                driver.find_element(By.LINK_TEXT, "team/app").click()
                arrive(driver, "/ui/repository?repository=team/app")
                expect(">v1</a>" in driver.page_source and "/ui/delete" not in driver.page_source, "bob's view of team/app")
            finally:
                driver.quit()

        suite.check("ui: WebDriver: in token mode bob signs in with the form and sees only what the policy lets him pull",
                    token_mode_sign_in)
    finally:
        registry.stop()
        if secured:
            secured.stop()
        if tokened:
            tokened.stop()
    print(f"screenshots in {shots}: " + ", ".join(sorted(os.listdir(shots))))
    print(f"{suite.passed} passed, {suite.failed} failed")
    if not args.shots:
        print(f"(work directory {work} kept for the screenshots)")
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
