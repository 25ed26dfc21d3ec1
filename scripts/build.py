"""`invoke build`: one deterministic Lambda zip per service, plus a manifest for Terraform.

A service is any directory under services/ that holds a handler.py. Its zip holds the service package, the
shared package and the third-party runtime dependencies pinned in services/requirements.lock, installed for
the Lambda platform (manylinux x86_64, CPython 3.12). boto3/botocore are never vendored: the runtime has them.

Determinism: entries sorted, fixed timestamp (1980-01-01), fixed modes, no bytecode, no __pycache__. A service
is rebuilt only when one of its inputs is newer than its zip or their content digest changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scripts.common import BUILD_DIR, REPO_ROOT, SERVICES_DIR, UserError, services_dir, write_json

DIST_DIR = BUILD_DIR / "dist"
VENDOR_CACHE = BUILD_DIR / "vendor"
MANIFEST = BUILD_DIR / "manifest.json"
LOCK_FILE = SERVICES_DIR / "requirements.lock"
SHARED_PACKAGE = "shared"
# Bump when the zip layout changes, so old zips are not mistaken for current ones.
BUILD_FORMAT = "1"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
LAMBDA_PLATFORM = ["--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", "3.12"]
NEVER_VENDORED = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", "tests"}


@dataclass(frozen=True)
class Service:
    name: str
    path: Path

    @property
    def handler(self) -> str:
        return f"{self.name}.handler.lambda_handler"

    @property
    def zip_path(self) -> Path:
        return DIST_DIR / f"{self.name}.zip"


def discover_services() -> list[Service]:
    services = [Service(p.parent.name, p.parent) for p in sorted(services_dir().glob("*/handler.py"))]
    if not services:
        raise UserError("No services found: each service is a directory services/<name>/ with a handler.py.")
    return services


def _source_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix not in {".pyc", ".pyo"}
        and not EXCLUDED_PARTS.intersection(p.relative_to(root).parts)
    )


def _digest(files: Iterable[tuple[str, Path]]) -> str:
    h = hashlib.sha256(BUILD_FORMAT.encode())
    for arcname, path in files:
        h.update(arcname.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _lock_requirements() -> list[str]:
    if not LOCK_FILE.exists():
        raise UserError(f"{LOCK_FILE.relative_to(REPO_ROOT)} is missing: pin the services' runtime dependencies there.")
    reqs = [line.split("#")[0].strip() for line in LOCK_FILE.read_text().splitlines()]
    reqs = [r for r in reqs if r]
    for req in reqs:
        name = req.split("==")[0].split("[")[0].strip().lower().replace("_", "-")
        if "==" not in req:
            raise UserError(f"{LOCK_FILE.name}: '{req}' is not pinned; write it as name==version.")
        if name in NEVER_VENDORED:
            raise UserError(f"{LOCK_FILE.name}: '{name}' is provided by the Lambda runtime; remove it from the lock.")
    return reqs


def vendor_dependencies() -> Path:
    """Install the locked dependencies for the Lambda platform once per lock-file content."""
    lock_hash = (
        hashlib.sha256(LOCK_FILE.read_bytes() + BUILD_FORMAT.encode()).hexdigest()[:16] if LOCK_FILE.exists() else ""
    )
    _lock_requirements()
    target = VENDOR_CACHE / lock_hash
    if target.exists():
        return target
    print(f"  vendoring {LOCK_FILE.relative_to(REPO_ROOT)} for python3.12 manylinux x86_64 ...", flush=True)
    staging = VENDOR_CACHE / f".{lock_hash}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-compile",
        "--only-binary=:all:",
        *LAMBDA_PLATFORM,
        "--target",
        str(staging),
        "-r",
        str(LOCK_FILE),
    ]
    result = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(
            f"pip could not install {LOCK_FILE.name} for the Lambda platform; check its pins and network:\n{result.stderr[-2000:]}"
        )
    for junk in [*staging.rglob("__pycache__"), staging / "bin"]:
        shutil.rmtree(junk, ignore_errors=True)
    staging.rename(target)
    return target


def _zip_entries(service: Service, vendor: Path) -> list[tuple[str, Path]]:
    entries: dict[str, Path] = {}
    for p in _source_files(vendor):
        entries[p.relative_to(vendor).as_posix()] = p
    for package_root in (services_dir() / SHARED_PACKAGE, service.path):
        for p in _source_files(package_root):
            entries[f"{package_root.name}/{p.relative_to(package_root).as_posix()}"] = p
    return sorted(entries.items())


def write_deterministic_zip(zip_path: Path, entries: list[tuple[str, Path]]) -> None:
    tmp = zip_path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for arcname, path in entries:
            info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
            info.create_system = 3  # unix, so the mode below is honoured on every OS
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes(), compresslevel=9)
    tmp.replace(zip_path)


def file_sha256_b64(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def _load_manifest() -> dict:
    try:
        return json.loads(MANIFEST.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {"services": {}}


def _is_up_to_date(service: Service, entries: list[tuple[str, Path]], digest: str, previous: dict) -> bool:
    if not service.zip_path.exists() or previous.get("input_digest") != digest:
        return False
    if previous.get("source_code_hash") != file_sha256_b64(service.zip_path):
        return False
    zip_mtime = service.zip_path.stat().st_mtime
    return all(path.stat().st_mtime <= zip_mtime for _, path in entries)


def build(force: bool = False) -> dict:
    """Build every service zip that is out of date; return the manifest."""
    services = discover_services()
    DIST_DIR.mkdir(parents=True, exist_ok=True)
    vendor = vendor_dependencies()
    old = _load_manifest().get("services", {})
    manifest: dict = {"services": {}}
    built = 0
    for index, service in enumerate(services, 1):
        entries = _zip_entries(service, vendor)
        digest = _digest(entries)
        prefix = f"[{index}/{len(services)}] {service.name:<14}"
        if not force and _is_up_to_date(service, entries, digest, old.get(service.name, {})):
            print(f"{prefix} up to date", flush=True)
        else:
            write_deterministic_zip(service.zip_path, entries)
            built += 1
            size_kib = service.zip_path.stat().st_size / 1024
            print(
                f"{prefix} built {service.zip_path.relative_to(REPO_ROOT)} ({len(entries)} files, {size_kib:,.0f} KiB)",
                flush=True,
            )
        manifest["services"][service.name] = {
            "zip": service.zip_path.relative_to(REPO_ROOT).as_posix(),
            "source_code_hash": file_sha256_b64(service.zip_path),
            "handler": service.handler,
            "input_digest": digest,
        }
    for stale in set(old) - set(manifest["services"]):
        (DIST_DIR / f"{stale}.zip").unlink(missing_ok=True)
    write_json(MANIFEST, manifest)
    if built == 0:
        print(f"All {len(services)} service zips are up to date; nothing to do.")
    else:
        print(f"Built {built} of {len(services)} service zips; manifest: {MANIFEST.relative_to(REPO_ROOT)}")
    return manifest
