"""The managed Label Studio server: one per workbench home, started and stopped for the user.

``<home>/labelstudio/`` holds its data dir, its log, a pid file and the secrets (admin password,
API token, Django secret key, database DSN), each in a file only the user can read (0600). The
token is never printed or logged. The server listens on 127.0.0.1 only (unless ``--host`` says otherwise,
for a team on other machines), on a port we choose and
then verify (Label Studio silently moves to the next port when one is busy), with every call home
switched off. ``stop`` ends only the process recorded in the pid file, never anything by name.

Two shapes: Label Studio's own ``label-studio start`` (Django's development server, one process: the
default), or, with ``workers`` >= 1, Label Studio under gunicorn with that many worker processes
(:mod:`.appserver`), the shape for a team, best on PostgreSQL (docs/labelstudio.md, "A team server").
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from ...errors import WorkbenchError
from ...store import now

ADMIN_EMAIL = "admin@workbench.local"
START_TIMEOUT = 300.0  # a cold start runs every migration: 30-50 s here, far more on a busy CI box
INSTALL_HINT = "install the server extra: pip install 'workbench[server]'"
#: Label Studio's settings that would otherwise phone home
OFFLINE_ENV = {
    "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "", "LATEST_VERSION_CHECK": "false",
    "COLLECT_ANALYTICS": "false", "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
    # sign-up only through an invitation link (`workbench invite`): Community has no roles, so an open
    # sign-up page let anyone on the machine make an account and read every project
    "DISABLE_SIGNUP_WITHOUT_LINK": "true", "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
}
#: the dev server's and gunicorn's line once they listen
STARTED_RE = re.compile(r"(?:Starting development server at|Listening at:) http://\S+:(\d+)")
#: gunicorn's words when its port was taken after our check (it then gives up, it never moves)
BIND_FAILED_RE = re.compile(r"Connection in use: \(?'?[^,]*'?, (\d+)\)?")
APPSERVER_MODULE = "workbench.backends.labelstudio.appserver"
MAX_WORKERS = 64


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` readable by the user only: created 0600, so it is never briefly world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_secret(path: Path) -> str | None:
    return path.read_text("utf-8").strip() if path.is_file() else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_loopback(host: str) -> bool:
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _busy_for_a_while(port: int, wait: float = 5.0) -> bool:
    """Whether ``port`` stays in use for ``wait`` seconds (a server just stopped may still be closing it)."""
    deadline = time.monotonic() + wait
    while port_in_use(port):
        if time.monotonic() > deadline:
            return True
        time.sleep(0.25)
    return False


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class Database:
    """Where the managed server keeps its data: SQLite in the data dir, or a PostgreSQL DSN."""

    dsn: str | None = None

    @classmethod
    def parse(cls, dsn: str | None) -> "Database":
        if not dsn or dsn == "sqlite":
            return cls(None)
        parts = urlsplit(dsn)
        if parts.scheme not in ("postgresql", "postgres") or not parts.hostname or not parts.path.strip("/"):
            raise WorkbenchError(
                f"--database: expected sqlite or postgresql://USER:PASSWORD@HOST:PORT/NAME, got {cls(dsn).masked}")
        return cls(dsn)

    @property
    def kind(self) -> str:
        return "postgresql" if self.dsn else "sqlite"

    @property
    def masked(self) -> str:
        """The DSN without its password, safe to print."""
        if not self.dsn:
            return "sqlite"
        p = urlsplit(self.dsn)
        user = f"{p.username}:***@" if p.password else (f"{p.username}@" if p.username else "")
        return f"{p.scheme}://{user}{p.hostname}{':' + str(p.port) if p.port else ''}{p.path}"

    def env(self) -> dict[str, str]:
        """Label Studio's settings for this database (``DJANGO_DB=default`` selects PostgreSQL)."""
        if not self.dsn:
            return {"DJANGO_DB": "sqlite"}
        p = urlsplit(self.dsn)
        return {"DJANGO_DB": "default", "POSTGRE_NAME": unquote(p.path.strip("/")),
                "POSTGRE_USER": unquote(p.username or "postgres"), "POSTGRE_PASSWORD": unquote(p.password or ""),
                "POSTGRE_HOST": p.hostname or "localhost", "POSTGRE_PORT": str(p.port or 5432)}

    def check_reachable(self) -> None:
        if not self.dsn:
            return
        p = urlsplit(self.dsn)
        try:
            socket.create_connection((p.hostname, p.port or 5432), timeout=3).close()
        except OSError as exc:
            raise WorkbenchError(f"--database: cannot reach PostgreSQL at {self.masked} ({exc})") from None


def app_server_command() -> list[str]:
    """Label Studio under gunicorn (:mod:`.appserver`), or an error naming the extra to install."""
    import importlib.util

    if importlib.util.find_spec("gunicorn") is None or importlib.util.find_spec("label_studio") is None:
        raise WorkbenchError(f"--workers needs gunicorn and Label Studio in this environment; {INSTALL_HINT}")
    return [sys.executable, "-m", APPSERVER_MODULE]


def label_studio_command() -> list[str]:
    """The ``label-studio`` executable of this environment, or an error naming the extra to install."""
    override = os.environ.get("WORKBENCH_LABEL_STUDIO_BIN")
    candidates = [override] if override else [str(Path(sys.executable).parent / "label-studio"),
                                              shutil.which("label-studio")]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return [c]
    raise WorkbenchError(f"Label Studio is not installed in this environment; {INSTALL_HINT}")


class ManagedServer:
    """The Label Studio of one workbench home."""

    def __init__(self, home: Path | str):
        # absolute: Label Studio runs in its own folder, so a relative data dir would land elsewhere
        self.home = Path(home).absolute()
        self.host = "127.0.0.1"  # where it listens (start may change it)
        self.public: str | None = None  # the address people use, when it is not ours
        self.workers = 0  # 0: Label Studio's development server; N: gunicorn with N worker processes
        self.dir = self.home / "labelstudio"
        self.data_dir = self.dir / "data"
        self.state_file = self.dir / "server.json"
        self.log_file = self.dir / "server.log"
        self.token_file = self.dir / "token"
        self.admin_file = self.dir / "admin.json"
        self.secret_key_file = self.dir / "secret_key"
        self.database_file = self.dir / "database"
        self.initialized = self.dir / "initialized"  # written after the first successful start

    # ---- state --------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        try:
            return json.loads(self.state_file.read_text("utf-8"))
        except (OSError, ValueError):
            return {}

    def _ours(self, pid: int | None) -> bool:
        """Is ``pid`` alive and still the Label Studio we started on this data dir (not a reused pid)?"""
        if not pid:
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            try:
                os.kill(pid, 0)
            except OSError:
                return False
            return True  # no /proc: trust the pid file
        args = [a.decode(errors="replace") for a in cmdline]
        if (not any("label-studio" in a or "label_studio" in a or a == APPSERVER_MODULE for a in args)
                or "--data-dir" not in args):
            return False
        given = Path(args[args.index("--data-dir") + 1]) if args.index("--data-dir") + 1 < len(args) else Path()
        if not given.is_absolute():  # a server started by workbench 0.1 from a relative home
            try:
                given = Path(os.readlink(f"/proc/{pid}/cwd")) / given
            except OSError:
                return False
        return given.absolute() in (self.data_dir, self.legacy_data_dir())

    def legacy_data_dir(self) -> Path | None:
        """Where workbench 0.1 put the data of a home given as a relative path (the server ran in
        ``<home>/labelstudio`` with ``--data-dir <home>/labelstudio/data`` relative to that), if it did."""
        for db in self.dir.glob("*/**/labelstudio/data/label_studio.sqlite3"):
            if db.parent != self.data_dir:
                return db.parent
        return None

    def _adopt_legacy_data_dir(self) -> None:
        """Move 0.1's misplaced data dir to where ``server status`` says it is (the server is stopped)."""
        old = self.legacy_data_dir()
        if old is None or (self.data_dir / "label_studio.sqlite3").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for item in old.iterdir():
            if item.name != ".workbench":
                shutil.move(str(item), str(self.data_dir / item.name))
        top = self.dir / old.relative_to(self.dir).parts[0]
        shutil.rmtree(top, ignore_errors=True)

    def status(self) -> dict[str, Any]:
        st = self._state()
        running = self._ours(st.get("pid"))
        healthy = running and self._healthy(st["url"])
        workers = int(st.get("workers") or 0)
        return {"running": running, "healthy": healthy, "url": st.get("url") if running else None,
                "app_server": f"gunicorn, {workers} worker{'s' * (workers > 1)}" if workers else "development server",
                "workers": workers,
                "host": st.get("host", "127.0.0.1"), "public_url": st.get("public_url"),
                "pid": st.get("pid") if running else None, "port": st.get("port") if running else None,
                "started_at": st.get("started_at") if running else None, "data_dir": str(self.data_dir),
                "database": Database.parse(read_secret(self.database_file)).masked,
                "log": str(self.log_file), "admin": ADMIN_EMAIL, "password_file": str(self.admin_file)}

    @staticmethod
    def _healthy(url: str) -> bool:
        try:
            r = httpx.get(f"{url}/health/", timeout=3)
            return r.status_code == 200 and r.json().get("status") == "UP"
        except (httpx.HTTPError, ValueError):
            return False

    def public_url(self) -> str | None:
        """The address people use (``start --public-url``), kept across restarts; None: none set."""
        return self._state().get("public_url")

    def token(self) -> str:
        token = read_secret(self.token_file)
        if not token:
            raise WorkbenchError(f"{self.token_file}: no API token; start the server first (`workbench server start`)")
        return token

    def admin_password(self) -> str:
        return json.loads(self.admin_file.read_text("utf-8"))["password"]

    def logs(self, lines: int = 40) -> str:
        if not self.log_file.is_file():
            return ""
        with open(self.log_file, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 200_000))
            tail = f.read().decode("utf-8", errors="replace").splitlines()
        return "\n".join(tail[-lines:])

    # ---- start ----------------------------------------------------------------------------
    def ensure_running(self) -> tuple[str, str]:
        """``(url, token)`` of the running server, starting it when it is not running."""
        st = self._state()
        if not (self._ours(st.get("pid")) and self._healthy(st["url"])):
            print(f"starting Label Studio in {self.dir} (the first start on this machine migrates its database: "
                  "about a minute)...", file=sys.stderr)
            st = self.start()
        return st["url"], self.token()

    def start(self, port: int | None = None, database: str | None = None,
              timeout: float = START_TIMEOUT, host: str | None = None, public_url: str | None = None,
              workers: int | None = None) -> dict[str, Any]:
        """Start the server, or return the running one. Only an explicit ``port`` is tried alone.

        ``host``: the address it listens on (default: the last one, else 127.0.0.1; another than a
        loopback address lets other machines reach it). ``public_url``: the address people use, for
        the links workbench prints (kept until changed; ``""`` forgets it). ``workers``: 0 runs Label
        Studio's development server, N >= 1 gunicorn with N worker processes (default: the last choice,
        else 0; kept across restarts like ``host``)."""
        db = self._database(database)
        st = self._state()
        if public_url is not None and public_url and not public_url.startswith(("http://", "https://")):
            raise WorkbenchError(f"--public-url: expected an http:// or https:// address, got {public_url!r}")
        if workers is not None and not 0 <= workers <= MAX_WORKERS:
            raise WorkbenchError(f"--workers: expected 0 (development server) to {MAX_WORKERS}, got {workers}")
        if self._ours(st.get("pid")) and (host is not None and host != st.get("host", "127.0.0.1")):
            raise WorkbenchError(f"the server is already running on {st.get('host', '127.0.0.1')}; stop it first")
        if self._ours(st.get("pid")) and workers is not None and workers != int(st.get("workers") or 0):
            raise WorkbenchError(f"the server is already running with --workers {int(st.get('workers') or 0)}; "
                                 "stop it first")
        if self._ours(st.get("pid")) and public_url is not None:
            st["public_url"] = public_url or None
            write_secret(self.state_file, json.dumps(st))
        self.host = host or st.get("host") or "127.0.0.1"
        self.public = st.get("public_url") if public_url is None else (public_url or None)
        self.workers = int(st.get("workers") or 0) if workers is None else workers
        if self._ours(st.get("pid")):
            if not self._wait_healthy(st, timeout):
                raise WorkbenchError(
                    f"Label Studio (pid {st['pid']}) is running but {st['url']}/health/ does not answer; "
                    f"`workbench server stop` and start again" + self._tail())
            if port and port != st.get("port"):
                raise WorkbenchError(f"the server is already running on port {st['port']}; stop it first")
            return st
        command = app_server_command() if self.workers else label_studio_command()
        db.check_reachable()
        self._adopt_legacy_data_dir()
        self._secrets()
        # the last port first, so the URL people bookmarked keeps working across restarts
        previous = [st["port"]] if st.get("port") and not _busy_for_a_while(st["port"]) else []
        attempts = [port] if port else previous + [free_port() for _ in range(3)]
        last_error = ""
        for p in attempts:
            if port_in_use(p):
                last_error = f"port {p} is busy"
                if port:
                    raise WorkbenchError(f"--port {p}: the port is already in use on 127.0.0.1")
                continue
            result = self._launch(command, p, db, timeout)
            if isinstance(result, dict):
                return result
            last_error = result
        raise WorkbenchError(f"could not start Label Studio: {last_error}")

    def _database(self, dsn: str | None) -> Database:
        recorded = read_secret(self.database_file)
        if dsn is None:
            return Database.parse(recorded)
        wanted = Database.parse(dsn)
        if recorded is not None and recorded != (wanted.dsn or "sqlite") and self.initialized.exists():
            raise WorkbenchError(
                f"--database: this home's server already uses {Database.parse(recorded).masked}; "
                "use another --home for another database")
        write_secret(self.database_file, wanted.dsn or "sqlite")
        return wanted

    def _secrets(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        if not self.token_file.exists():
            write_secret(self.token_file, secrets.token_hex(20))
        if not self.admin_file.exists():
            write_secret(self.admin_file, json.dumps({"email": ADMIN_EMAIL, "password": secrets.token_urlsafe(12)}))
        if not self.secret_key_file.exists():
            write_secret(self.secret_key_file, secrets.token_urlsafe(40))

    def _env(self, db: Database) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRE_", "DJANGO_DB"))}
        env.update(OFFLINE_ENV)
        env.update(db.env())
        if self.public:
            env["LABEL_STUDIO_HOST"] = self.public  # the address in links Label Studio itself builds
        env.update({
            "PYTHONUNBUFFERED": "1",  # so the "Starting development server at" line reaches the log at once
            "LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir),
            "SECRET_KEY": self.secret_key_file.read_text("utf-8").strip(),
            # applied by Label Studio on the first start of a database only
            "LABEL_STUDIO_USERNAME": ADMIN_EMAIL,
            "LABEL_STUDIO_PASSWORD": self.admin_password(),
            "LABEL_STUDIO_USER_TOKEN": self.token(),
        })
        return env

    def _launch(self, command: list[str], port: int, db: Database, timeout: float) -> dict[str, Any] | str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if db.kind == "sqlite" and not self.workers and "DATABASE_NAME" not in os.environ:
            from .appserver import seed

            # a new home: skip Label Studio's migrations (the gunicorn runner seeds the file its settings name)
            seed(self.data_dir / "label_studio.sqlite3")
        with open(self.log_file, "ab") as log:
            shape = f"gunicorn with {self.workers} workers" if self.workers else "development server"
            log.write(f"\n=== workbench: starting Label Studio ({shape}) on {self.host}:{port} at {now()} ===\n"
                      .encode())
            log.flush()
            offset = log.tell()
            bind = f"[{self.host}]:{port}" if ":" in self.host else f"{self.host}:{port}"
            args = ([*command, "--data-dir", str(self.data_dir), "--bind", bind, "--workers", str(self.workers)]
                    if self.workers else
                    [*command, "start", "--no-browser", "--internal-host", self.host, "--port", str(port),
                     "--data-dir", str(self.data_dir)])
            proc = subprocess.Popen(
                args,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir,
                env=self._env(db), start_new_session=True)
        local = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        st = {"pid": proc.pid, "port": port, "url": f"http://{local}:{port}", "started_at": now(),
              "database": db.kind, "host": self.host, "public_url": self.public, "workers": self.workers}
        write_secret(self.state_file, json.dumps(st))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                if self._bind_failed(offset, port):  # gunicorn does not move: someone took the port
                    return f"port {port} was taken while Label Studio started"
                raise WorkbenchError(f"Label Studio exited with code {proc.returncode} while starting" + self._tail())
            bound = self._bound_port(offset)
            if bound is not None and bound != port:
                # someone took our port between our check and its bind: not our server on `port`
                self._terminate(proc.pid)
                return f"Label Studio moved from port {port} to {bound}"
            if bound == port and self._healthy(st["url"]):
                self._check_token(st["url"])
                self.initialized.touch()
                return st
            time.sleep(0.5)
        self._terminate(proc.pid)
        raise WorkbenchError(f"Label Studio did not answer {st['url']}/health/ within {timeout:.0f} s" + self._tail())

    def _bound_port(self, offset: int) -> int | None:
        with open(self.log_file, "rb") as f:
            f.seek(offset)
            m = STARTED_RE.search(f.read().decode("utf-8", errors="replace"))
        return int(m.group(1)) if m else None

    def _bind_failed(self, offset: int, port: int) -> bool:
        with open(self.log_file, "rb") as f:
            f.seek(offset)
            return any(int(m.group(1)) == port
                       for m in BIND_FAILED_RE.finditer(f.read().decode("utf-8", errors="replace")))

    def _check_token(self, url: str) -> None:
        r = httpx.get(f"{url}/api/current-user/whoami", headers={"Authorization": f"Token {self.token()}"}, timeout=30)
        if r.status_code != 200:
            raise WorkbenchError(
                f"Label Studio at {url} refused the token in {self.token_file} (HTTP {r.status_code}); its data "
                f"dir {self.data_dir} was set up by something else: use another --home")

    def _wait_healthy(self, st: dict, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._healthy(st["url"]):
                return True
            if not self._ours(st.get("pid")):
                return False
            time.sleep(0.5)
        return False

    def _tail(self, lines: int = 15) -> str:
        tail = self.logs(lines)
        return f"; last lines of {self.log_file}:\n" + "\n".join("  " + line for line in tail.splitlines())

    # ---- stop -------------------------------------------------------------------------------
    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the server we started (pid file); False when none was running."""
        st = self._state()
        pid = st.get("pid")
        ran = self._ours(pid)
        if ran:
            self._terminate(pid, timeout)
        if st:  # keep the port: the next start takes it again, so URLs and links stay valid
            write_secret(self.state_file, json.dumps({"port": st.get("port"), "url": st.get("url"),
                                                      "host": st.get("host", "127.0.0.1"),
                                                      "public_url": st.get("public_url"),
                                                      "workers": st.get("workers", 0), "stopped_at": now()}))
        return ran

    @staticmethod
    def _terminate(pid: int, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``: to the process group we created for it, nothing else."""
        def send(sig):
            try:
                os.killpg(pid, sig)  # start_new_session made pid its group's leader
            except ProcessLookupError:
                pass
            except PermissionError:
                os.kill(pid, sig)

        send(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid) and not _group_alive(pid):  # the children too: one of them holds the port
                return
            time.sleep(0.2)
        send(signal.SIGKILL)
        while (_alive(pid) or _group_alive(pid)) and time.monotonic() < deadline + 10:
            time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _alive(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True
