"""Writing files so that a failure leaves nothing half-written, and a killed run leaves nothing behind.

:func:`atomic_write` writes one file to a temporary name and renames it. :class:`Staging` writes a
whole export (files and folders) into a hidden folder next to the targets and moves each into
place only when everything was written, so a failing format writes nothing at all. Temporary names
carry the host and process id; :func:`sweep` removes those left by a process that no longer runs
(an export killed half way), and every export sweeps its folder first.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Callable

from ..errors import WorkbenchError
from ..store.errors import file_error


def _tag() -> str:
    host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:20] or "host"
    return f"{host}-{os.getpid()}"


#: hidden names this module makes: staging folders, set-aside old folders, temporary files
_LEFTOVER = re.compile(r"^\.(?:export-|.+\.old-|.+\.tmp-)(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)(?:-|$)")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(folder: Path) -> list[Path]:
    """Remove what killed exports left in ``folder`` (this host's processes that are gone); the paths."""
    host = _tag().rsplit("-", 1)[0]
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _LEFTOVER.match(p.name)
        if not m or m["host"] != host or _running(int(m["pid"])):
            continue
        try:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``; on failure remove the temporary file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-{_tag()}-", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; an export is meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _replace(src: Path, dst: Path) -> None:
    """Move ``src`` onto ``dst``; a folder replaces a folder (the old one is set aside, then removed)."""
    if src.is_dir() and dst.exists():
        old = dst.with_name(f".{dst.name}.old-{_tag()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)


class Staging:
    """``with Staging(folder) as stage:`` write to ``stage.path(name)``; ``stage.commit()`` moves them in.

    The folder (and any missing parents) is created on entry; if the block fails, the staged files
    and the folders this created are removed again.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.created: list[Path] = []
        self.dir: Path | None = None
        self.names: list[str] = []
        self.swept: list[Path] = []

    def __enter__(self) -> "Staging":
        p = self.folder
        while not p.exists() and p != p.parent:
            self.created.append(p)
            p = p.parent
        if p.exists() and not p.is_dir():
            raise WorkbenchError(f"export folder {self.folder} is not writable: {p} is a file, not a folder")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.swept = sweep(self.folder)
            self.dir = Path(tempfile.mkdtemp(prefix=f".export-{_tag()}-", dir=self.folder))
        except OSError as exc:
            self._remove_created()
            raise file_error(exc, self.folder, "cannot write to the export folder") from None
        return self

    def path(self, name: str) -> Path:
        self.names.append(name)
        return self.dir / name

    def commit(self) -> list[Path]:
        for name in self.names:
            _replace(self.dir / name, self.folder / name)
        return [self.folder / n for n in self.names]

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
        if exc_type is not None:
            self._remove_created()

    def _remove_created(self) -> None:
        for p in self.created:  # deepest first; only folders this export made, and only if empty
            try:
                p.rmdir()
            except OSError:
                break
