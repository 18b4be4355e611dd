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


def _required_pieces(pattern: str | bytes, flags: int) -> tuple[frozenset[str], ...]:
    """Sets of strings of which every match of ``pattern`` (with what its lookarounds look at) holds
    one each: a string that contains none of one set cannot match, and ``re`` need not scan it.
    Only literal characters count: runs of them (a lookbehind's last ones joined to the literals
    after it), classes of single literals, alternatives; no ranges, categories, negations or
    case-insensitive parts. Empty when nothing is sure."""
    if not isinstance(pattern, str) or flags & (re.IGNORECASE | re.VERBOSE):
        return ()
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    try:
        parsed = _parser.parse(pattern, flags)
    except re.error:
        return ()
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return ()

    def one(op, av) -> frozenset[str] | None:
        """Strings one of which a match of this item holds, or None."""
        if op is c.IN:
            if all(o is c.LITERAL for o, _ in av):
                return frozenset(chr(a) for _, a in av)
            return None
        if op is c.SUBPATTERN:
            _group, add_flags, _del_flags, sub = av
            return None if add_flags & (re.IGNORECASE | re.VERBOSE) else best(seq(sub))
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            low, _high, sub = av
            return best(seq(sub)) if low >= 1 else None
        if op is c.ATOMIC_GROUP:
            return best(seq(av))
        if op is c.BRANCH:
            out: set[str] = set()
            for branch in av[1]:
                got = best(seq(branch))
                if got is None:
                    return None
                out |= got
            return frozenset(out)
        if op is c.ASSERT:  # a lookahead or lookbehind matches characters of the string too
            return best(seq(av[1]))
        return None

    def seq(items) -> list[frozenset[str]]:
        found: list[frozenset[str]] = []
        run = ""
        for op, av in items:
            if op is c.LITERAL:
                run += chr(av)
                continue
            if run:
                found.append(frozenset([run]))
                run = ""
            got = one(op, av)
            if got is not None:
                found.append(got)
            if op is c.ASSERT and av[0] < 0:  # a lookbehind's last literals end where the next items start
                inner = list(av[1])
                while inner and inner[-1][0] is c.LITERAL:
                    run = chr(inner.pop()[1]) + run
        if run:
            found.append(frozenset([run]))
        return found

    def best(sets: list[frozenset[str]]) -> frozenset[str] | None:
        return min(sets, key=rank) if sets else None

    def rank(alternatives: frozenset[str]) -> tuple[int, int]:
        return (-min(map(len, alternatives)), len(alternatives))

    return tuple(sorted(set(seq(parsed)), key=rank))[:3]


class _CachedRe:
    """The ``re`` module as pysbd's modules see it, with compiled patterns kept.

    pysbd builds its patterns with ``str.format`` per call (an abbreviation found, the text's list
    items) and calls ``re.sub``/``re.findall`` with them: more distinct patterns than ``re``'s own
    cache of 512 holds, so most calls compiled their pattern anew (half of segmentation's time).
    The same patterns compiled once give the same matches."""

    LIMIT = 50_000

    def __init__(self) -> None:
        self._cache: dict[object, re.Pattern] = {}
        #: per pattern (as ``_cache``): the sets of strings of :func:`_required_pieces`
        self._needs: dict[object, tuple[frozenset[str], ...]] = {}

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
            self._needs.clear()
        found = self._cache[key] = re.compile(pattern, flags)
        self._needs[key] = _required_pieces(pattern, flags)
        return found

    def _hopeless(self, pattern, flags: int, string) -> bool:
        """True when ``string`` holds none of the strings of one of the pattern's required sets
        (so it has no match). Call after :meth:`_compiled`."""
        if not isinstance(string, str):
            return False
        needs = self._needs.get(pattern if not flags else (type(pattern), pattern, flags))
        if not needs:
            return False
        for pieces in needs:
            for piece in pieces:
                if piece in string:
                    break
            else:
                return True
        return False

    def compile(self, pattern, flags=0):
        return self._compiled(pattern, flags)

    def sub(self, pattern, repl, string, count=0, flags=0):
        compiled = self._compiled(pattern, flags)
        if self._hopeless(pattern, flags, string):  # what ``re.sub`` returns when nothing matches
            return string if type(string) is str else str(string)
        return compiled.sub(repl, string, count)

    def subn(self, pattern, repl, string, count=0, flags=0):
        return self._compiled(pattern, flags).subn(repl, string, count)

    def findall(self, pattern, string, flags=0):
        compiled = self._compiled(pattern, flags)
        if self._hopeless(pattern, flags, string):
            return []
        return compiled.findall(string)

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


#: the ``re`` of pysbd's modules
_RE = _CachedRe()


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
def _lookalikes() -> re.Pattern:
    """Characters beyond ASCII that are whitespace to ``re`` or that it takes for an ASCII letter or
    digit when ignoring case (the Kelvin sign for k, the long s for s, ...)."""
    beyond = "".join(map(chr, range(0x80, sys.maxunicode + 1)))
    found = set(re.findall(r"\s", beyond)) | set(re.findall(r"[a-z0-9]", beyond, re.IGNORECASE))
    return re.compile("[" + "".join(sorted(map(re.escape, found))) + "]")


#: ASCII whitespace (as ``str.isspace``, which is ``re``'s ``\s``) to a space
_SPACES = {c: " " for c in range(128) if chr(c).isspace()}


#: per list of abbreviations (a language's): ``(the list, [(stripped, plain ASCII letters and digits)])``
_prepared: dict[int, tuple[list, list[tuple[str, bool]]]] = {}


def _abbreviations(abbreviations: list) -> list[tuple[str, bool]]:
    found = _prepared.get(id(abbreviations))
    if found is None or found[0] is not abbreviations:
        stripped = [a.strip() for a in abbreviations]
        found = _prepared[id(abbreviations)] = (abbreviations, [(a, a.isascii() and a.isalnum()) for a in stripped])
    return found[1]


def _abbreviations_in_string(self, text):
    r"""pysbd 0.3.4's ``AbbreviationReplacer.search_for_abbreviations_in_string``, the same result
    with fewer regex scans.

    pysbd runs ``re.findall(r"(?:^|\s|\r|\n)ABBR", text, flags=re.IGNORECASE)`` for each of its 188
    abbreviations that is a substring of the text (short ones, "a", "no", "st", nearly always are):
    a slow case-insensitive scan of the whole paragraph. For an abbreviation of ASCII letters and
    digits, in a text with no character that ``re`` takes for whitespace or for an ASCII letter or
    digit but ASCII ones, a match is the abbreviation (any case) at the text's start or after a
    whitespace character (the match holds that character): found with ``str.find`` in the lowered
    text, whitespace made spaces and a space put first, leftmost and without overlaps as ``findall``
    does. The replacements below change periods to "∯" (one character for one, neither whitespace
    nor a letter), so positions and both tests hold as the text changes. Likewise the second
    ``findall`` looks behind for a literal "{" (pysbd's braces), so it finds nothing in a text
    without one. Abbreviations with other characters, and other texts, take pysbd's way."""
    lowered = text.lower()
    plain = len(lowered) == len(text) and _lookalikes().search(text) is None
    words = " " + lowered.translate(_SPACES) if plain else ""
    for stripped, simple in _abbreviations(self.lang.Abbreviation.ABBREVIATIONS):
        if stripped not in lowered:
            continue
        if plain and simple:
            needle = " " + stripped
            abbrev_match = []
            j = words.find(needle)
            while j >= 0:
                # words[j] is the space before the abbreviation: text[j - 1], or the start
                abbrev_match.append(text[max(j - 1, 0):j + len(stripped)])
                j = words.find(needle, j + len(needle))
        else:
            abbrev_match = _RE.findall(r"(?:^|\s|\r|\n){}".format(stripped), text, flags=re.IGNORECASE)
        if not abbrev_match:
            continue
        next_word_start = r"(?<={" + str(re.escape(stripped)) + "} ).{1}"
        char_array = _RE.findall(next_word_start, text) if "{" in text else []
        for ind, match in enumerate(abbrev_match):
            text = self.scan_for_replacements(text, match, ind, char_array)
    return text


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd
    from pysbd.abbreviation_replacer import AbbreviationReplacer

    shim = _RE
    for name, module in list(sys.modules.items()):
        if (name == "pysbd" or name.startswith("pysbd.")) and getattr(module, "re", None) is re:
            module.re = shim  # type: ignore[attr-defined]
    if getattr(pysbd, "__version__", None) == "0.3.4" and not hasattr(AbbreviationReplacer, "_stock_search"):
        # the code _abbreviations_in_string reproduces (its own kept, for the tests to compare with)
        AbbreviationReplacer._stock_search = AbbreviationReplacer.search_for_abbreviations_in_string
        AbbreviationReplacer.search_for_abbreviations_in_string = _abbreviations_in_string
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
