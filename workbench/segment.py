"""Cutting documents into sentences with exact character offsets.

Lines are paragraphs (news text puts headings on their own line, with no final period, so a
segmenter would glue them to the next sentence); each paragraph is split by pysbd, a maintained
rule-based sentence boundary detector, and every sentence is mapped back to document offsets.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    paragraph: int


class _CachedRe:
    """The ``re`` module as pysbd's modules see it, with compiled patterns kept.

    pysbd builds its patterns with ``str.format`` per call (an abbreviation found, the text's list
    items) and calls ``re.sub``/``re.findall`` with them: more distinct patterns than ``re``'s own
    cache of 512 holds, so most calls compiled their pattern anew (half of segmentation's time).
    The same patterns compiled once give the same matches."""

    LIMIT = 50_000

    def __init__(self) -> None:
        self._cache: dict[object, re.Pattern] = {}

    def __getattr__(self, name: str):
        return getattr(re, name)

    def _compiled(self, pattern, flags: int) -> re.Pattern:
        key = pattern if not flags else (type(pattern), pattern, flags)
        found = self._cache.get(key)
        if found is not None:
            return found
        if isinstance(pattern, re.Pattern):
            if flags:
                raise ValueError("cannot process flags argument with a compiled pattern")
            return pattern
        if len(self._cache) >= self.LIMIT:
            self._cache.clear()
        found = self._cache[key] = re.compile(pattern, flags)
        return found

    def compile(self, pattern, flags=0):
        return self._compiled(pattern, flags)

    def sub(self, pattern, repl, string, count=0, flags=0):
        return self._compiled(pattern, flags).sub(repl, string, count)

    def subn(self, pattern, repl, string, count=0, flags=0):
        return self._compiled(pattern, flags).subn(repl, string, count)

    def findall(self, pattern, string, flags=0):
        return self._compiled(pattern, flags).findall(string)

    def finditer(self, pattern, string, flags=0):
        return self._compiled(pattern, flags).finditer(string)

    def search(self, pattern, string, flags=0):
        return self._compiled(pattern, flags).search(string)

    def match(self, pattern, string, flags=0):
        return self._compiled(pattern, flags).match(string)

    def fullmatch(self, pattern, string, flags=0):
        return self._compiled(pattern, flags).fullmatch(string)

    def split(self, pattern, string, maxsplit=0, flags=0):
        return self._compiled(pattern, flags).split(string, maxsplit)


def _spans(sentences: list[str], text: str) -> list[str]:
    """pysbd's ``Segmenter.sentences_with_char_spans`` without a regex per sentence: each sentence
    with the whitespace after it, the first occurrence (scanning as ``re.finditer`` does) that ends
    after the previous one."""
    out: list[str] = []
    prior = 0
    for sent in sentences:
        if not sent:  # pysbd's own loop (it makes no empty sentence that we know of)
            for match in re.finditer(r"\s*", text):
                if match.end() > prior:
                    out.append(match.group())
                    prior = match.end()
                    break
            continue
        pos = 0
        while True:
            i = text.find(sent, pos)
            if i < 0:
                break
            j = i + len(sent)
            while j < len(text) and text[j].isspace():
                j += 1
            if j > prior:
                out.append(text[i:j])
                prior = j
                break
            pos = j
    return out


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    shim = _CachedRe()
    for name, module in list(sys.modules.items()):
        if (name == "pysbd" or name.startswith("pysbd.")) and getattr(module, "re", None) is re:
            module.re = shim  # type: ignore[attr-defined]
    return pysbd.Segmenter(language="en", clean=False, char_span=False)


def _segment(text: str) -> list[str]:
    """``pysbd.Segmenter(language="en", clean=False, char_span=False).segment(text)``, faster."""
    seg = _segmenter()
    if not text:
        return []
    seg.original_text = text
    return _spans(seg.processor(text).process(), text)


#: sentences computed ahead (:func:`prefetched`), by text; each is taken out when asked for
_ahead: dict[str, list[Sentence]] = {}

#: below this many characters in all, segmenting in one process is as quick as starting workers
PARALLEL_MIN_CHARS = 2_000_000


def _bounds(text: str) -> list[tuple[int, int, int]]:
    return [(s.start, s.end, s.paragraph) for s in _sentences(text)]


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def prefetched(texts: list[str], advance: Callable[[int], None] | None = None) -> Iterator[None]:
    """Inside the block, :func:`sentences` of each of ``texts`` is already computed: spread over the
    machine's cores (pysbd is pure Python, one core per process) when there are several and the texts
    are large; else nothing is done ahead. The sentences are the same either way. ``advance(n)``
    hears the characters segmented."""
    workers = min(_workers(), len(texts))
    total = sum(len(t) for t in texts)
    if workers < 2 or total < PARALLEL_MIN_CHARS or not sys.platform.startswith("linux"):
        yield
        return
    import concurrent.futures
    import multiprocessing

    try:
        pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        with pool:
            for text, bounds in zip(texts, pool.map(_bounds, texts, chunksize=1)):
                _ahead[text] = [Sentence(a, b, text[a:b], p) for a, b, p in bounds]
                if advance is not None:
                    advance(len(text))
    except Exception:  # a worker that failed: each text is segmented in this process, where errors name it
        _ahead.clear()
    try:
        yield
    finally:
        _ahead.clear()


def sentences(text: str) -> list[Sentence]:
    """Sentences of ``text``; ``text[s.start:s.end] == s.text`` for each, stripped of whitespace."""
    ahead = _ahead.pop(text, None) if _ahead else None
    if ahead is not None:
        return ahead
    return _sentences(text)


def _sentences(text: str) -> list[Sentence]:
    out: list[Sentence] = []
    for p_index, para in enumerate(re.finditer(r"[^\n]+", text)):
        ptext = para.group()
        if not ptext.strip():
            continue
        cursor = 0
        for piece in _segment(ptext):
            stripped = piece.strip()
            if not stripped:
                continue
            # pysbd returns the pieces in order; find each from where the previous one ended
            local = ptext.find(stripped, cursor)
            if local < 0:  # pragma: no cover - pysbd with clean=False keeps the text verbatim
                raise RuntimeError(f"segmenter changed the text near {stripped[:40]!r}")
            cursor = local + len(stripped)
            start = para.start() + local
            out.append(Sentence(start, start + len(stripped), stripped, p_index))
    return out
