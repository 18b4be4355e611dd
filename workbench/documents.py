"""Loading the documents a campaign labels.

A document is a UTF-8 text file; its id is the file name without extension. Titles and source
names come from an ``index.toml`` next to the files when there is one (``[<id>] title, source``),
else the title is the first line and the source the file path.
"""

from __future__ import annotations

import glob as globlib
import tomllib
from pathlib import Path

from .errors import WorkbenchError
from .models import Document, sha256_text


def load_documents(pattern: str, base: Path) -> list[Document]:
    """Documents matching ``pattern`` (relative to ``base``), sorted by id."""
    full = pattern if Path(pattern).is_absolute() else str(base / pattern)
    paths = sorted(Path(p) for p in globlib.glob(full, recursive=True) if Path(p).is_file())
    if not paths:
        raise WorkbenchError(f"documents: the glob {pattern!r} (from {base}) matches no file")
    docs = [read_document(p) for p in paths]
    seen: dict[str, Path] = {}
    for d, p in zip(docs, paths):
        if d.id in seen:
            raise WorkbenchError(f"{p}: document id {d.id!r} is also the id of {seen[d.id]}; file names must differ")
        seen[d.id] = p
    return docs


def _index(folder: Path) -> dict:
    index = folder / "index.toml"
    if not index.exists():
        return {}
    try:
        return tomllib.loads(index.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"{index}: not valid TOML: {exc}") from None


def read_document(path: Path) -> Document:
    raw = path.read_bytes()
    if b"\0" in raw:
        raise WorkbenchError(f"{path}: looks binary (it contains NUL bytes); documents must be UTF-8 text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WorkbenchError(f"{path}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise WorkbenchError(f"{path}: the document is empty")
    meta = dict(_index(path.parent).get(path.stem, {}))
    first_line = text.strip().splitlines()[0].strip()
    return Document(
        id=path.stem,
        title=str(meta.pop("title", first_line)),
        source=str(meta.pop("source", path.name)),
        text=text,
        sha256=sha256_text(text),
        metadata=meta,
    )
