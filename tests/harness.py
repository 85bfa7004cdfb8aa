"""Run the real platform for end-to-end tests: a gateway and workers as child processes.

The processes are the ones production runs (`elysia serve`, `elysia worker`), configured through
the environment with the test session's isolated settings, talking to the real servers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
ELYSIA = [sys.executable, "-m", "services.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"ELYSIA_{name.upper()}"] = str(value)
    env.update(extra)
    return env


@dataclass
class Platform:
    """A gateway plus workers; `stop()` ends them all (SIGTERM, then SIGKILL)."""

    settings: Settings
    log_dir: Path
    base_url: str = ""
    gateway: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_gateway(self) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.gateway = self._spawn("gateway", ["serve", "--port", str(port)])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.gateway.poll() is not None:
                raise RuntimeError(f"gateway exited: {self.log('gateway')}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gateway did not start: {self.log('gateway')}")

    def start_worker(self, *queues: str, name: str | None = None) -> subprocess.Popen[bytes]:
        args = ["worker", *(queues or ("--all",))]
        proc = self._spawn(name or f"worker-{len(self.workers)}", args)
        self.workers.append(proc)
        return proc

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        return subprocess.Popen(
            [*ELYSIA, *args],
            cwd=ROOT,
            env=child_env(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        procs = [p for p in [self.gateway, *self.workers] if p is not None]
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in procs:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_for(predicate, timeout: float, interval: float = 0.25, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll `predicate` until it returns a truthy value; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
