"""Private real servers for fault injection: started, stopped and restarted by the test itself.

Redis, the MongoDB protocol server and the S3 server are started here on free ports with their
own data directories, so the test can kill and restart them without disturbing anything else.
Elasticsearch is too heavy to run twice on a 2-core machine: the fault test stops and starts the
shared node with `scripts/infra/stop|start elasticsearch` (CI runs tests one at a time).
S3 is made *unreachable* (the fault in the issue) by a TCP proxy in front of it that refuses and
drops connections while cut, exactly what a network partition looks like to a client.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness import ROOT, free_port

VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"


def wait_port(port: int, timeout: float = 60.0, up: bool = True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise TimeoutError(f"port {port} did not become {'reachable' if up else 'free'}")


@dataclass
class Server:
    """A server process with a fixed port and data dir, restartable with its data."""

    name: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_port(self.port)

    def stop(self, kill: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        wait_port(self.port, up=False)


@dataclass
class RedisServer(Server):
    persistent: bool = True

    def command(self) -> list[str]:
        return [
            shutil.which("redis-server") or "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.persistent else "no",
            "--appendfsync",
            "always",
        ]

    def restart(self, persistent: bool) -> None:
        """Crash (SIGKILL) and start again; without persistence everything in it is lost."""
        self.stop(kill=True)
        if not persistent:
            for item in self.data_dir.glob("appendonly*"):
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        self.persistent = persistent
        self.start()


@dataclass
class MongoServer(Server):
    def command(self) -> list[str]:
        return [
            str(VENV_BIN / "secantusd-py"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            str(self.data_dir / "db"),
        ]


@dataclass
class S3Server(Server):
    def command(self) -> list[str]:
        return [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]


class TcpProxy:
    """Forwards a local port to a target port; `cut()` makes the target unreachable."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._open = threading.Event()
        self._open.set()
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> None:
        self._listen()
        self._thread.start()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener

    def _serve(self) -> None:
        while not self._stop.is_set():
            listener = self._listener
            if listener is None or not self._open.is_set():
                time.sleep(0.05)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns.update({client, upstream})
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while self._open.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)
        except OSError:
            return
        finally:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()
            with self._lock:
                self._conns.difference_update({a, b})

    def cut(self) -> None:
        """Refuse new connections and drop the open ones (the port stops listening)."""
        self._open.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in list(self._conns):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
            self._conns.clear()

    def restore(self) -> None:
        self._listen()
        self._open.set()

    def stop(self) -> None:
        self._stop.set()
        self.cut()
