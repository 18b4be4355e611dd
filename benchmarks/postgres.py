"""A throwaway PostgreSQL cluster on a free loopback port, for the tests and benchmarks that need a
real server (the Label Studio team shape): started from the machine's own server binaries (Debian's
``postgresql`` package), in a temporary directory, stopped and removed afterwards."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from workbench.backends.labelstudio.server import free_port

#: why :func:`throwaway_cluster` cannot run here (no server binary)
MISSING = "no PostgreSQL server binary (initdb) on this machine: apt-get install postgresql"


def server_bindir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (on PATH, else Debian's newest /usr/lib/postgresql/N/bin)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True):
        return candidate.parent
    return None


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Yields the DSN of a fresh cluster's ``postgres`` role (trust auth, 127.0.0.1 only) and removes it
    on exit. Raises FileNotFoundError(:data:`MISSING`) when the machine has no server binary."""
    bindir = server_bindir()
    if bindir is None:
        raise FileNotFoundError(MISSING)
    # not under pytest's tmp dirs: they are 0700 root, and the server runs as the postgres user
    root = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()

    def run(*args: object) -> None:
        subprocess.run([*as_user, *map(str, args)], check=True, capture_output=True)

    try:
        run(bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust")
        run(bindir / "pg_ctl", "-D", data, "-w", "-l", root / "log", "-o", f"-h 127.0.0.1 -p {port} -k {sock}",
            "start")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(bindir / "pg_ctl", "-D", data, "-m", "fast", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
