"""A private PostgreSQL server for tests: initdb + pg_ctl in a temp folder on a free loopback port.

Uses Debian's `postgresql` package (scripts/test.sh installs it as root). PostgreSQL refuses to run as
root, so as root the cluster runs as the `postgres` user. Without the binaries the tests are skipped with
a message saying what to install.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers import free_port


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


class PgServer:
    def __init__(self, bindir: Path, folder: Path, port: int, user: str | None):
        self.bindir, self.folder, self.port, self.user = bindir, folder, port, user
        self.data = folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://glossarian@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "glossarian", "--auth=trust", "-E", "UTF8",
                  "--no-sync")

    def start(self) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=on"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.folder / "log.txt"), "-w",
                  "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """mode 'immediate' is a crash: no shutdown checkpoint, like a killed server."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)


@contextmanager
def postgres_server():
    bindir = pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not found: install Debian's package (apt-get install postgresql) "
                    "or run scripts/test.sh as root, which installs it")
    user = None
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: PostgreSQL cannot start as root")
        user = "postgres"
    folder = Path(tempfile.mkdtemp(prefix="glossarian-pg-"))
    if user:
        shutil.chown(folder, user)
    server = PgServer(bindir, folder, free_port(), user)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
