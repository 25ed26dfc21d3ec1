"""`invoke local.*`: the local AWS emulator (MiniStack) on 127.0.0.1:<port>.

It runs from its own Python 3.12 virtualenv (.local-cloud/venv) holding only MiniStack and boto3, started in the
background from a clean environment (the shell's variables would leak into Lambda handlers), with its state kept
under .local-cloud/<port>/. MiniStack writes its state only on SIGTERM, so `down` always stops it that way.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from scripts.common import REPO_ROOT, UserError, env_build_dir, local_port
from scripts.polling import wait_until

LOCAL_DIR = REPO_ROOT / ".local-cloud"
VENV = LOCAL_DIR / "venv"
REQUIREMENTS = REPO_ROOT / "scripts" / "local-cloud-requirements.txt"
SFN_MOCK_CONFIG = REPO_ROOT / "tests" / "workflow" / "mock_config.json"
HEALTH_PATHS = ("/_ministack/health", "/_localstack/health")


def endpoint(port: int | None = None) -> str:
    return f"http://127.0.0.1:{port or local_port()}"


@dataclass(frozen=True)
class Instance:
    port: int

    @property
    def dir(self) -> Path:
        return LOCAL_DIR / str(self.port)

    @property
    def pid_file(self) -> Path:
        return self.dir / "ministack.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / "ministack.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None


def health(port: int | None = None, timeout: float = 1.0) -> dict | None:
    """The emulator's health document (MiniStack or LocalStack), or None when nothing answers."""
    for path in HEALTH_PATHS:
        try:
            with urllib.request.urlopen(endpoint(port) + path, timeout=timeout) as resp:
                return json.loads(resp.read() or b"{}")
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return None


def require_up(port: int | None = None) -> None:
    port = port or local_port()
    if health(port) is None:
        raise UserError(
            f"The local cloud is not running on 127.0.0.1:{port}: start it with `invoke local.up` (or set ORDERFLOW_LOCAL_PORT)."
        )


def _python312() -> str:
    if sys.version_info[:2] == (3, 12):
        return sys.executable
    if path := shutil.which("python3.12"):
        return path
    raise UserError(
        "Python 3.12 (the Lambda runtime) is needed for the local cloud: install it (pyenv install 3.12) and retry."
    )


def ensure_venv() -> Path:
    """Create or update .local-cloud/venv from the pinned requirements."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".requirements"
    wanted = REQUIREMENTS.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"Installing MiniStack into {VENV.relative_to(REPO_ROOT)} ...", flush=True)
    if not python.exists():
        subprocess.run([_python312(), "-m", "venv", "--clear", str(VENV)], check=True)
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise UserError(
            f"Could not install the local cloud ({REQUIREMENTS.name}); check network access to PyPI:\n{result.stderr[-1500:]}"
        )
    stamp.write_text(wanted)
    return python


def _clean_environment(instance: Instance) -> dict[str, str]:
    state = instance.dir
    env = {
        "PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(state),
        "LANG": "C.UTF-8",
        "GATEWAY_PORT": str(instance.port),
        "BIND_HOST": "127.0.0.1",
        "PERSIST_STATE": "1",
        "STATE_DIR": str(state / "state"),
        "S3_PERSIST": "1",
        "S3_DATA_DIR": str(state / "s3"),
        "TMPDIR": str(state / "tmp"),
        "IOT_MTLS_ENABLED": "0",
        "SFTP_ENABLED": "0",
    }
    if SFN_MOCK_CONFIG.exists():
        # Mocked responses apply only to executions started as <state-machine-arn>#<TestCase>.
        env["SFN_MOCK_CONFIG"] = str(SFN_MOCK_CONFIG)
    for extra in ("LAMBDA_ACCOUNT_CONCURRENCY", "LAMBDA_WARM_TTL_SECONDS"):
        if extra in os.environ:
            env[extra] = os.environ[extra]
    return env


def up(port: int | None = None, timeout: float = 60.0) -> str:
    instance = Instance(port or local_port())
    if health(instance.port) is not None:
        owner = f"pid {instance.pid()}" if instance.pid() else "started outside this project"
        print(f"The local cloud is already up at {endpoint(instance.port)} ({owner}).")
        return endpoint(instance.port)
    python = ensure_venv()
    for sub in ("state", "s3", "tmp"):
        (instance.dir / sub).mkdir(parents=True, exist_ok=True)
    log = instance.log_file.open("ab")
    proc = subprocess.Popen(
        [str(python), "-m", "ministack"],
        cwd=instance.dir,
        env=_clean_environment(instance),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    instance.pid_file.write_text(str(proc.pid))
    started = time.monotonic()

    def ready() -> bool:
        if proc.poll() is not None:
            raise UserError(
                f"MiniStack exited with code {proc.returncode} on start: see {instance.log_file.relative_to(REPO_ROOT)} (is port {instance.port} taken?)."
            )
        return health(instance.port) is not None

    try:
        wait_until(ready, timeout, "MiniStack health", interval=0.1)
    except TimeoutError as exc:
        proc.terminate()
        raise UserError(f"MiniStack did not become healthy in {timeout:.0f}s: see {instance.log_file}.") from exc
    print(
        f"Local cloud up at {endpoint(instance.port)} (pid {proc.pid}, ready in {time.monotonic() - started:.1f}s, state in {instance.dir.relative_to(REPO_ROOT)})."
    )
    return endpoint(instance.port)


def ensure_up(port: int | None = None) -> str:
    """Start the local cloud unless something already answers on the port (tests call this)."""
    port = port or local_port()
    if health(port) is not None:
        return endpoint(port)
    return up(port)


def down(port: int | None = None, timeout: float = 30.0) -> None:
    instance = Instance(port or local_port())
    pid = instance.pid()
    if pid is None:
        if health(instance.port) is not None:
            raise UserError(
                f"Something answers on port {instance.port} but was not started by `invoke local.up`; stop it yourself."
            )
        print(f"The local cloud is not running on port {instance.port}.")
        instance.pid_file.unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)  # SIGTERM, so MiniStack saves its state

    def exited() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # Reap it if it is our child (it is not when started by another invoke run).
        try:
            return os.waitpid(pid, os.WNOHANG)[0] == pid
        except ChildProcessError:
            return False

    try:
        wait_until(exited, timeout, "MiniStack to exit", interval=0.1)
    except TimeoutError as exc:
        raise UserError(
            f"MiniStack (pid {pid}) did not stop within {timeout:.0f}s after SIGTERM; kill it with `kill {pid}`."
        ) from exc
    instance.pid_file.unlink(missing_ok=True)
    print(f"Local cloud on port {instance.port} stopped; state saved in {instance.dir.relative_to(REPO_ROOT)}.")


def status(port: int | None = None) -> bool:
    instance = Instance(port or local_port())
    doc = health(instance.port)
    if doc is None:
        print(f"down: nothing answers at {endpoint(instance.port)}.")
        return False
    services = doc.get("services", {})
    running = sorted(name for name, state in services.items() if state in ("running", "available"))
    print(
        f"up: {endpoint(instance.port)} pid={instance.pid() or '?'} edition={doc.get('edition', doc.get('version', '?'))} services={len(running) or len(services)}"
    )
    return True


def reset(port: int | None = None) -> None:
    port = port or local_port()
    require_up(port)
    req = urllib.request.Request(endpoint(port) + "/_ministack/reset", method="POST", data=b"")
    try:
        urllib.request.urlopen(req, timeout=30).read()
    except urllib.error.HTTPError as exc:
        raise UserError(
            f"The emulator on port {port} refused the reset ({exc.code}); only MiniStack supports `local.reset`."
        ) from exc
    # Terraform state for env local now describes resources that no longer exist.
    for stale in (env_build_dir("local") / "terraform.tfstate", env_build_dir("local") / "outputs.json"):
        stale.unlink(missing_ok=True)
    print(f"Local cloud on port {port} reset: every resource deleted (local Terraform state cleared too).")
