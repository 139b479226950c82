"""Start a real ``voxweb serve`` process for end-to-end tests and talk to it.

``VoxwebProcess`` launches ``python -m voxweb serve`` with a temporary data dir on a free
port (``--port 0`` unless the test picks one), waits for the line it prints with the URL,
and parses the port and token from it. Nothing is mocked: tests speak HTTP to the process.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

URL_LINE = re.compile(
    r"serving at (?P<url>(?P<scheme>https?)://(?P<host>[^/]+?):(?P<port>\d+)/)(?:\?token=(?P<token>\S+))?"
)


def wait_for(
    condition: Callable[[], object],
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str = "condition",
):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class VoxwebProcess:
    def __init__(
        self,
        data_dir: Path,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        port: int | None = 0,
        cwd: Path | None = None,
        command: str = "serve",
    ) -> None:
        self.data_dir = Path(data_dir)
        self.command = command  # or "dicomweb"
        self.args = list(args or [])
        self.extra_env = env or {}
        self.port_arg = port
        self.cwd = cwd
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.port = 0
        self.token: str | None = None
        self.scheme = "http"

    # --- lifecycle -----------------------------------------------------------------------

    def start(self, timeout: float = 20.0, expect_url: bool = True) -> VoxwebProcess:
        cmd = [sys.executable, "-m", "voxweb", self.command, "--data-dir", str(self.data_dir)]
        if self.port_arg is not None:
            cmd += ["--port", str(self.port_arg)]
        cmd += self.args
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXWEB_")}
        env.update(self.extra_env)
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=self.cwd,
        )
        threading.Thread(target=self._read_output, daemon=True).start()
        if expect_url:
            match = wait_for(
                self._url_match,
                timeout,
                what=f"voxweb to print its URL; output so far: {self.lines}",
            )
            self.url = match.group("url").rstrip("/")
            self.port = int(match.group("port"))
            self.token = match.group("token")
            self.scheme = match.group("scheme")
        return self

    def _read_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def _url_match(self) -> re.Match[str] | None:
        for line in list(self.lines):
            match = URL_LINE.search(line)
            if match:
                return match
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"voxweb exited with {self.proc.returncode}: {self.lines}")
        return None

    def wait_exit(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def output(self) -> str:
        return "\n".join(self.lines)

    def __enter__(self) -> VoxwebProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- HTTP helpers --------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, auth: bool = True, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if auth:
            headers = {**self.auth_headers(), **headers}
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.url + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def raw(self, data: bytes, timeout: float = 10.0) -> bytes:
        """Send raw bytes on a new connection and return everything the server sends back."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
