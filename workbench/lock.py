"""One process at a time per campaign: a lock file under ``<home>/locks/``.

The lock is an exclusive ``flock`` on ``<home>/locks/<campaign>.lock``; the file says who holds it
(pid, host, command, since when), so a second process can say so in one line, or wait for it
(``--wait``). The operating system releases the lock when its process ends, however it ends: the
lock of a killed process is taken over by the next one, which says so. Reading a campaign
(``status``, ``report``) takes no lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Callable

from .errors import WorkbenchError
from .store import now
from .store.errors import store_error

#: how often a waiting process looks again (seconds)
POLL = 0.2


def _command() -> str:
    args = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["python"]
    return " ".join(args)[:200]


class CampaignLock:
    """``with CampaignLock(home, name):`` the campaign is ours until the block ends (re-entrant)."""

    def __init__(self, home: Path, campaign: str, wait: bool = False,
                 on_wait: Callable[[dict[str, Any]], None] | None = None):
        self.path = Path(home) / "locks" / f"{campaign}.lock"
        self.campaign = campaign
        self.wait = wait
        self.on_wait = on_wait
        self.fd: int | None = None
        self.depth = 0
        self.took_over: dict[str, Any] | None = None  # the holder whose process ended without unlocking

    def holder(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text("utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def __enter__(self) -> "CampaignLock":
        if self.depth:
            self.depth += 1
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise store_error(exc, self.path.parent) from None
        try:
            self._acquire(fd)
            previous = self.holder()
            if previous.get("pid") and previous.get("state") == "held":
                self.took_over = previous  # it never released: its process ended (killed?)
            me = {"pid": os.getpid(), "host": socket.gethostname(), "command": _command(), "since": now(),
                  "state": "held"}
            try:  # who holds it is for messages only: the flock is the lock (a full disk must not stop it)
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(me).encode(), 0)
            except OSError:
                pass
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.depth = 1
        return self

    def _acquire(self, fd: int) -> None:
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                who = self.holder()
                if not self.wait:
                    raise WorkbenchError(self.busy_message(who)) from None
                if not waited and self.on_wait is not None:
                    self.on_wait(who)
                waited = True
                time.sleep(POLL)

    def busy_message(self, who: dict[str, Any]) -> str:
        by = (f"process {who.get('pid')} on {who.get('host')} (`{who.get('command')}`, since {who.get('since')})"
              if who.get("pid") else "another process")
        return (f"campaign {self.campaign!r} is busy: {by} holds its lock ({self.path}); wait for it to finish, "
                "or pass --wait to wait")

    def __exit__(self, *exc) -> None:
        self.depth -= 1
        if self.depth or self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, json.dumps({"state": "free", "since": now()}).encode(), 0)
        except OSError:
            pass  # the lock goes with the descriptor anyway
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
