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
from array import array
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Iterator


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


#: pysbd 0.3.4's English sentence starters, and the pattern it makes of them (``AbbreviationReplacer.
#: replace_abbreviation_as_sentence_boundary``)
_STARTERS = ("A Being Did For He How However I In It Millions More She That The There They We What When Where Who "
             "Why").split(" ")
_BOUNDARY = r"(U∯S|U\.S|U∯K|E∯U|E\.U|U∯S∯A|U\.S\.A|I|i.v|I.V)∯({})".format(
    "|".join(r"(?=\s{}\s)".format(word) for word in _STARTERS))


def _gates() -> dict[object, Callable[[str], bool]]:
    """pysbd 0.3.4's slowest patterns, each with a quick test that is true of every text in which the
    pattern has a match (so a text it is false of has none, and ``re`` need not scan it): what every
    match must contain, found by a pattern that begins with a literal (which ``re`` looks for with a
    fast scan) or at a fixed place. Keyed as :class:`_CachedRe` keys its entries."""
    def finds(pattern: str, flags: int = 0) -> Callable[[str], bool]:
        search = re.compile(pattern, flags).search
        return lambda text: search(text) is not None

    # one or two digits then "." and \s or ")", the digits at the start or after \s, "-" or "⁃"
    numbered = finds(r"\.(?:(?<=[\s\-⁃]\d\.)|(?<=[\s\-⁃]\d\d\.)|(?<=^\d\.)|(?<=^\d\d\.))[\s)]")
    space_letter_period = re.compile(r"\.(?<=\s[a-z]\.)").search
    return {
        # each of the twelve alternatives ends in \d{1,2} followed by "." and then \s or ")"; before the
        # digits (all of them: the lookahead comes right after) is \s, the start, or a lookbehind's "-"
        # (after \s, the start or "s") or "⁃"
        r'\s\d{1,2}(?=\.\s)|^\d{1,2}(?=\.\s)|\s\d{1,2}(?=\.\))|^\d{1,2}(?=\.\))|(?<=\s\-)\d{1,2}(?=\.\s)|'
        r'(?<=^\-)\d{1,2}(?=\.\s)|(?<=\s\⁃)\d{1,2}(?=\.\s)|(?<=^\⁃)\d{1,2}(?=\.\s)|(?<=s\-)\d{1,2}(?=\.\))|'
        r'(?<=^\-)\d{1,2}(?=\.\))|(?<=\s\⁃)\d{1,2}(?=\.\))|(?<=^\⁃)\d{1,2}(?=\.\))': numbered,
        # an ASCII lowercase letter then "." at the start (^ and \A: no MULTILINE) or after \s
        r'(?<=^)[a-z](?=\.)|(?<=\A)[a-z](?=\.)|(?<=\s)[a-z](?=\.)':
            lambda text: space_letter_period(text) is not None or ("a" <= text[:1] <= "z" and text[1:2] == "."),
        # "." or "∯" after a character that is neither a digit nor \s, then "[" (the first alternative) or
        # a digit (the second)
        r'(?<=[^\d\s])(\.|∯)((\[(\d{1,3},?\s?-?\s?)*\b\d{1,3}\])+|((\d{1,3}\s?)?\d{1,3}))(\s)(?=[A-Z])':
            finds(r"[.∯](?<=[^\d\s][.∯])[\[\d]"),
        # "." between two of [a-zA-Z0-9_] (the pattern itself, led by the literal "." for a fast scan)
        r'([a-zA-Z0-9_])(\.)([a-zA-Z0-9_])': finds(r"\.(?<=[a-zA-Z0-9_]\.)[a-zA-Z0-9_]"),
        # a digit, "." and a character that is not \s (the pattern itself, led by the ".")
        r'(?<=\d)\.(?=\S)': finds(r"\.(?<=\d\.)\S"),
        # \s then "."
        r'(?<=\s)\.(?=(jpe?g|png|gif|tiff?|pdf|ps|docx?|xlsx?|svg|bmp|tga|exif|odt|html?|txt|rtf|bat|sxw|xml|zip|'
        r'exe|msi|blend|wmv|mp[34]|pptx?|flac|rb|cpp|cs|js)\s)': finds(r"\.(?<=\s\.)"),
        # pysbd's abbreviation as a sentence boundary (English: ``AbbreviationReplacer.
        # replace_abbreviation_as_sentence_boundary``): each alternative ends in one of S K U A I v V,
        # then "∯", \s, a sentence starter and \s
        _BOUNDARY: finds(r"∯(?<=[SKUAIvV]∯)\s(?:" + "|".join(_STARTERS) + r")\s"),
        # ". . . ." with \s between
        r'(?<=[a-z])(\.\s){3}\.($|\\n)': finds(r"\.\s\.\s\.\s\."),
        r'(\s\.){3}\s': finds(r"\.\s\.\s\."),
        # a letter (any case) between two "."
        (str, r"\b[a-z](?:\.[a-z])+[.]", re.IGNORECASE): finds(r"\..\.", re.DOTALL),
        # \s, an uppercase ASCII letter, "." and ",\s" or \s (the pattern itself, led by the ".")
        r"(?<=\s[A-Z])\.(?=,?\s)": finds(r"\.(?<=\s[A-Z]\.),?\s"),
        # three of "!" and "?" in a row
        r'(?<=\S)(!|\?){3,}(?=(\s|\Z|$))': finds(r"[!?][!?][!?]"),
        r'(?<=\S)\.{3}(?=\.\s[A-Z])': lambda text: "...." in text,
        # "." second (after ^ and one character: no MULTILINE) or third
        r"(?<=^[A-Z])\.(?=\s)": lambda text: text[1:2] == ".",
        r'(?<=^\d)\.(?=(\s\S)|\))': lambda text: text[1:2] == ".",
        r'(?<=^\d\d)\.(?=(\s\S)|\))': lambda text: text[2:3] == ".",
    }


def _lacks(needs: tuple[tuple[str, ...], ...], text: str) -> bool:
    """True when ``text`` holds none of the strings of one of the sets ``needs``."""
    for pieces in needs:
        for piece in pieces:
            if piece in text:
                break
        else:
            return True
    return False


class _CachedRe:
    """The ``re`` module as pysbd's modules see it, with compiled patterns kept.

    pysbd builds its patterns with ``str.format`` per call (an abbreviation found, the text's list
    items) and calls ``re.sub``/``re.findall`` with them: more distinct patterns than ``re``'s own
    cache of 512 holds, so most calls compiled their pattern anew (half of segmentation's time).
    The same patterns compiled once give the same matches. Each pattern is kept with the strings
    of :func:`_required_pieces` and its quick test of :func:`_gates` if it has one: ``sub``,
    ``findall``, ``search`` and ``match`` on a text that holds none of one set of those strings, or
    that the test is false of, return what ``re`` would when nothing matches (the text, no matches,
    None) without scanning."""

    LIMIT = 50_000

    def __init__(self, gates: dict[object, Callable[[str], bool]] | None = None) -> None:
        #: per pattern (with its flags when it has any): ``(compiled, required pieces, quick test)``
        self._entries: dict[object, tuple[re.Pattern, tuple[tuple[str, ...], ...], Callable[[str], bool] | None]] = {}
        self._gates = gates or {}

    def __getattr__(self, name: str):
        return getattr(re, name)

    def _entry(self, pattern, flags: int):
        key = pattern if not flags else (type(pattern), pattern, flags)
        found = self._entries.get(key)
        if found is not None:
            return found
        if isinstance(pattern, re.Pattern):
            if flags:
                raise ValueError("cannot process flags argument with a compiled pattern")
            return pattern, (), None
        if len(self._entries) >= self.LIMIT:
            self._entries.clear()
        compiled = re.compile(pattern, flags)  # first: a bad pattern raises as ``re`` does
        needs = tuple(tuple(p) for p in _required_pieces(pattern, flags))
        found = self._entries[key] = (compiled, needs, self._gates.get(key))
        return found

    def _compiled(self, pattern, flags: int) -> re.Pattern:
        return self._entry(pattern, flags)[0]

    def _hopeless(self, pattern, flags: int, string) -> bool:
        """True when ``string`` has no match: it holds none of the strings of one of the pattern's
        required sets, or the pattern's quick test is false of it."""
        if not isinstance(string, str):
            return False
        _compiled, needs, gate = self._entry(pattern, flags)
        return _lacks(needs, string) or (gate is not None and not gate(string))

    def compile(self, pattern, flags=0):
        return self._entry(pattern, flags)[0]

    def sub(self, pattern, repl, string, count=0, flags=0):
        found = self._entries.get(pattern if not flags else (type(pattern), pattern, flags))
        compiled, needs, gate = found if found is not None else self._entry(pattern, flags)
        if isinstance(string, str) and (_lacks(needs, string) or (gate is not None and not gate(string))):
            return string if type(string) is str else str(string)  # what ``re.sub`` returns when nothing matches
        return compiled.sub(repl, string, count)

    def subn(self, pattern, repl, string, count=0, flags=0):
        return self._entry(pattern, flags)[0].subn(repl, string, count)

    def findall(self, pattern, string, flags=0):
        found = self._entries.get(pattern if not flags else (type(pattern), pattern, flags))
        compiled, needs, gate = found if found is not None else self._entry(pattern, flags)
        if isinstance(string, str) and (_lacks(needs, string) or (gate is not None and not gate(string))):
            return []
        return compiled.findall(string)

    def finditer(self, pattern, string, flags=0):
        return self._entry(pattern, flags)[0].finditer(string)

    def search(self, pattern, string, flags=0):
        found = self._entries.get(pattern if not flags else (type(pattern), pattern, flags))
        compiled, needs, gate = found if found is not None else self._entry(pattern, flags)
        if (needs or gate is not None) and self._hopeless(pattern, flags, string):
            return None
        return compiled.search(string)

    def match(self, pattern, string, flags=0):
        found = self._entries.get(pattern if not flags else (type(pattern), pattern, flags))
        compiled, needs, gate = found if found is not None else self._entry(pattern, flags)
        if (needs or gate is not None) and self._hopeless(pattern, flags, string):
            return None
        return compiled.match(string)

    def fullmatch(self, pattern, string, flags=0):
        return self._entry(pattern, flags)[0].fullmatch(string)

    def split(self, pattern, string, maxsplit=0, flags=0):
        return self._entry(pattern, flags)[0].split(string, maxsplit)


#: the ``re`` of pysbd's modules
_RE = _CachedRe(_gates())


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


class _Abbreviations:
    """A language's list of abbreviations, prepared: each ``(stripped, plain ASCII letters and
    digits)`` in the list's order; the positions of the plain ones by their text, and of the others."""

    __slots__ = ("source", "entries", "plain", "others")

    def __init__(self, abbreviations: list) -> None:
        self.source = abbreviations
        self.entries = [(a, a.isascii() and a.isalnum()) for a in (b.strip() for b in abbreviations)]
        self.plain: dict[str, int] = {}
        for i, (a, simple) in enumerate(self.entries):
            if simple:
                self.plain.setdefault(a, i)  # pysbd's list has no repeats; a repeat would be searched again (below)
        self.others = [i for i, (a, simple) in enumerate(self.entries) if not simple or self.plain[a] != i]


#: per list of abbreviations (a language's), by its id
_prepared: dict[int, _Abbreviations] = {}


def _abbreviations(abbreviations: list) -> _Abbreviations:
    found = _prepared.get(id(abbreviations))
    if found is None or found.source is not abbreviations:
        found = _prepared[id(abbreviations)] = _Abbreviations(abbreviations)
    return found


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
    # pysbd's scan_for_replacements is a function of the text, the match and the character after
    # it (``char_array[ind]``, or "" past its end): a call with the same match and character on a
    # text that such a call left as it was leaves it again, and is skipped
    memo = type(self).scan_for_replacements is _stock_scan
    unchanged: set[tuple[str, str]] = set()
    prepared = _abbreviations(self.lang.Abbreviation.ABBREVIATIONS)
    entries = prepared.entries
    words = ""
    order: Iterable[int] = range(len(entries))
    if plain:
        words = " " + lowered.translate(_SPACES)
        if memo:
            # pysbd's replacements (scan_for_replacements, all three of its ways) change the text only
            # where the abbreviation as matched, ABBR, is followed by "." right after whitespace or at
            # the start: ``(?<=\sABBR)\.`` on " " + text. They turn periods into "∯" and nothing else,
            # so such a place was in the text as given too: a word of ``words`` begins with the
            # lowered abbreviation and ".". A plain abbreviation (letters and digits) that begins no
            # word so is left as it is, whatever its matches: only the others are searched, in order.
            dotted = prepared.plain.keys() & {w[:w.find(".")] for w in words.split(" ") if "." in w}
            if dotted:
                order = sorted([prepared.plain[a] for a in dotted] + prepared.others)
            else:
                order = prepared.others
    for index in order:
        stripped, simple = entries[index]
        if plain and simple:
            needle = " " + stripped
            abbrev_match = []
            j = words.find(needle)
            while j >= 0:
                # words[j] is the space before the abbreviation: text[j - 1], or the start
                abbrev_match.append(text[max(j - 1, 0):j + len(stripped)])
                j = words.find(needle, j + len(needle))
        else:
            if stripped not in lowered:
                continue
            abbrev_match = _RE.findall(r"(?:^|\s|\r|\n){}".format(stripped), text, flags=re.IGNORECASE)
        if not abbrev_match:
            continue
        next_word_start = r"(?<={" + str(re.escape(stripped)) + "} ).{1}"
        char_array = _RE.findall(next_word_start, text) if "{" in text else []
        for ind, match in enumerate(abbrev_match):
            if memo:
                key = (match, char_array[ind] if ind < len(char_array) else "")
                if key in unchanged:
                    continue
                replaced = self.scan_for_replacements(text, match, ind, char_array)
                if replaced == text:
                    unchanged.add(key)
                else:
                    unchanged.clear()
                text = replaced
            else:
                text = self.scan_for_replacements(text, match, ind, char_array)
    return text


#: pysbd's own ``AbbreviationReplacer.scan_for_replacements`` (set by :func:`_segmenter`)
_stock_scan: object = None

#: per tuple of pysbd rules given to ``Text.apply``: each rule's ``(compiled, required pieces, quick test,
#: replacement)``
_plans: dict[tuple, tuple[tuple[re.Pattern, tuple[tuple[str, ...], ...], Callable[[str], bool] | None, object], ...]] = {}


def _apply(self, *rules):
    """pysbd 0.3.4's ``Text.apply``, the same result with less work: ``re.sub(rule.pattern,
    rule.replacement, text)`` for each rule in turn, the patterns compiled once and a rule whose
    required pieces (:func:`_required_pieces`) the text lacks skipped (``re.sub`` would return the
    text, as a ``str``). pysbd applies some 60 rules to each paragraph and 25 to each sentence this
    way; most find nothing to do."""
    plan = _plans.get(rules)
    if plan is None:
        if len(_plans) >= 1_000:
            _plans.clear()
        plan = _plans[rules] = tuple((*_RE._entry(r.pattern, 0), r.replacement) for r in rules)
    text = self
    for compiled, needs, gate, repl in plan:
        for pieces in needs:
            for piece in pieces:
                if piece in text:
                    break
            else:  # a required piece missing: no match
                if type(text) is not str:
                    text = str(text)
                break
        else:
            if gate is not None and not gate(text):
                if type(text) is not str:
                    text = str(text)
            else:
                text = compiled.sub(repl, text)
    return text


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd
    from pysbd.abbreviation_replacer import AbbreviationReplacer
    from pysbd.utils import Text

    shim = _RE
    for name, module in list(sys.modules.items()):
        if (name == "pysbd" or name.startswith("pysbd.")) and getattr(module, "re", None) is re:
            module.re = shim  # type: ignore[attr-defined]
    global _stock_scan
    _stock_scan = AbbreviationReplacer.scan_for_replacements
    if getattr(pysbd, "__version__", None) == "0.3.4" and not hasattr(AbbreviationReplacer, "_stock_search"):
        # the code _abbreviations_in_string and _apply reproduce (pysbd's own kept, for the tests to compare with)
        AbbreviationReplacer._stock_search = AbbreviationReplacer.search_for_abbreviations_in_string
        AbbreviationReplacer.search_for_abbreviations_in_string = _abbreviations_in_string
        Text._stock_apply = Text.apply
        Text.apply = _apply
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

#: inside :func:`prefetched`: the texts given to the worker processes (forked, they read them from
#: here), the workers' answers in the same order as the texts, and who hears the characters segmented
_texts: list[str] = []
_pending: Iterator[tuple[int, array]] | None = None
_heard: Callable[[int], None] | None = None

#: below this many characters in all, segmenting in one process is as quick as starting workers
PARALLEL_MIN_CHARS = 2_000_000


def _bounds(text: str) -> list[tuple[int, int, int]]:
    return [(s.start, s.end, s.paragraph) for s in _sentences(text)]


def _bounds_of(index: int) -> array:
    """In a worker: the sentences of ``_texts[index]`` as start, end, paragraph, one after the other
    (an array of integers is quicker to send back than tuples)."""
    out = array("q")
    for s in _sentences(_texts[index]):
        out.extend((s.start, s.end, s.paragraph))
    return out


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def prefetched(texts: list[str], advance: Callable[[int], None] | None = None) -> Iterator[None]:
    """Inside the block, :func:`sentences` of each of ``texts`` is computed ahead: spread over the
    machine's cores (pysbd is pure Python, one core per process) when there are several and the texts
    are large; else nothing is done ahead. The workers take the texts in order and :func:`sentences`
    waits for its text's answer, so the caller can work on the first texts (cut units) while the
    workers segment the next ones. The sentences are the same either way. ``advance(n)`` hears the
    characters segmented."""
    global _texts, _pending, _heard
    workers = min(_workers(), len(texts))
    total = sum(len(t) for t in texts)
    if workers < 2 or total < PARALLEL_MIN_CHARS or not sys.platform.startswith("linux"):
        yield
        return
    import concurrent.futures
    import multiprocessing

    _segmenter()  # pysbd loaded and its shortcuts set up once, before the workers are forked
    _lookalikes()
    pool = None
    try:
        _texts, _heard = list(texts), advance
        pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        _pending = enumerate(pool.map(_bounds_of, range(len(_texts)), chunksize=1))
    except Exception:  # no workers: each text is segmented in this process
        _pending = None
    try:
        yield
    finally:
        _pending, _texts, _heard = None, [], None
        _ahead.clear()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _take(text: str) -> list[Sentence] | None:
    """The sentences of ``text`` from the workers of :func:`prefetched`: their answers are taken in
    order (kept in ``_ahead`` until asked for) until ``text``'s. None when it was not given to them,
    or when a worker failed (then every text is segmented in this process, where errors name it)."""
    global _pending
    while _pending is not None:
        try:
            index, flat = next(_pending)
        except StopIteration:
            _pending = None
            break
        except Exception:
            _pending = None
            _ahead.clear()
            break
        done = _texts[index]
        got = [Sentence(flat[i], flat[i + 1], done[flat[i]:flat[i + 1]], flat[i + 2]) for i in range(0, len(flat), 3)]
        if _heard is not None:
            _heard(len(done))
        if done is text or done == text:
            return got
        _ahead[done] = got
    return None


def sentences(text: str) -> list[Sentence]:
    """Sentences of ``text``; ``text[s.start:s.end] == s.text`` for each, stripped of whitespace."""
    if _ahead or _pending is not None:
        ahead = _ahead.pop(text, None)
        if ahead is None and _pending is not None:
            ahead = _take(text)
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
            if local < 0:
                # pysbd with clean=False keeps the text verbatim, except on runs of spaced dots and tabs
                # (". . .\t." gives the pieces ". " and ". . .\t": they overlap and drop the last
                # dot): the rest of the paragraph is then one sentence, so no text is lost or doubled
                stripped = ptext[cursor:].strip()
                if not stripped:
                    break
                local = ptext.find(stripped, cursor)
                out.append(Sentence(para.start() + local, para.start() + local + len(stripped), stripped, p_index))
                break
            cursor = local + len(stripped)
            start = para.start() + local
            out.append(Sentence(start, start + len(stripped), stripped, p_index))
    return out
