"""What makes a million units workable stays exact: the faster segmentation gives pysbd's sentences,
a re-run with nothing changed does nothing (and one with a change does the work), the export's
SQL counts and CSV rows are the ones the Python loops made, and the scale benchmark runs."""

from __future__ import annotations

import csv
import io
import re
import shutil

import pytest

from workbench import segment
from workbench.campaign import Campaign
from workbench.export.formats import csv_cell, write_csv
from workbench.spec import load_spec
from workbench.store import Store
from workbench.store import labels as labels_sql

from helpers import ARTICLES, pool, write_spec

_STOCK = """
import json, re, sys
import pysbd
seg = pysbd.Segmenter(language="en", clean=False, char_span=False)
out = []
for text in json.load(sys.stdin):
    sents = []
    for p, para in enumerate(re.finditer(r"[^\\n]+", text)):
        ptext, cursor = para.group(), 0
        if not ptext.strip():
            continue
        for piece in seg.segment(ptext):
            s = piece.strip()
            if not s:
                continue
            local = ptext.find(s, cursor)
            cursor = local + len(s)
            sents.append((para.start() + local, para.start() + local + len(s), s, p))
    out.append(sents)
json.dump(out, sys.stdout)
"""


def _pysbd_sentences(texts: list[str]) -> list[list[tuple[int, int, str, int]]]:
    """The sentences as workbench cut them before: a stock pysbd segmenter per paragraph, in a
    process of its own (in this one, workbench has given pysbd its faster ways)."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _STOCK], input=json.dumps(texts), capture_output=True, text=True,
                          check=True)
    return [[tuple(s) for s in sents] for sents in json.loads(done.stdout)]


TRICKY = ("Mr. Smith paid $3.5 million to the U.S. Treasury on Jan. 5. He said: \"It's done!\" Was it?\n"
          "Dr. Lee (of Acme Inc.) arrived at 5 p.m. and left at 6 a.m. the next day... Really?? Yes.\n"
          "1. First item. 2. Second item. a) one b) two\n\n"
          "The U.N. said 10.5% of e.g. wheat exports fell.Then prices rose. i.e. they did. St. Louis, Mo. is far.\n"
          "\u201cQuoted,\u201d she said. \u2018Single.\u2019 (Parenthetical. Sentence.) [Bracketed. Too.]\n")

#: what the abbreviation search's shortcut must not get wrong: abbreviations in any case, at a
#: paragraph's start, after tabs and odd whitespace (no-break, thin, separators), next to letters
#: that ``re`` folds into ASCII ones (the Kelvin sign, the long s, dotted capital I), in pysbd's
#: braces, repeated and overlapping
ODD = ("Gen. Lee met MR. Smith and DR. Who.\tNo. 5 is ST. Louis; \u00a0Col. Mustard and\u2009Capt. Hook left.\n"
       "al al al. Al. AL. al.so also. No. no. NO. 5 a. b. c. A. B. C. dept. Dept. DEPT. of fin.\n"
       "The \u212aelvin Prof. said \u017ft. Louis and \u0130nc. Ltd. grew 5%. Then \u017fSt. Mary left.\n"
       "{mr.} Smith and {Dr.} Jones. Sen. {Gov.} Brown. e.g. Mr.Mr. Mrs.Mrs. ms. MS. Ms.\n"
       "Vol. 3, p. 45, fig. 2, ch. 7, art. 5 and sec. 2 say so.\x1cInc. Corp. Co. Ltd. Bros. Jr. Sr. Rev.\n"
       "Approx. 3 km. Est. 1999. Mt. Fuji, Ft. Worth, Pt. Reyes, Rd. 5, Blvd. 7, Ave. 9, St. 1. Done.\n")


def _varied(seed: int, n: int) -> str:
    """Seeded paragraphs of words, abbreviations, figures, quotes, lists and odd characters."""
    import random

    import pysbd.lang.english as english

    r = random.Random(seed)
    abbreviations = [a.strip() for a in english.English.Abbreviation.ABBREVIATIONS]
    pieces = ["the", "a", "said", "Smith", "prices", "rose", "also", "in", "no", "5", "3.5%", "$2", "U.S.",
              "(see", "this)", "\"Yes,\"", "\u201cno\u201d", "...", "?", "!", "1.", "a)", "i.", "\u212a",
              "\u017f", "\u0130", "\u00e9t\u00e9", "{", "}", "e.g.", "i.e.", "p.m.", "\u2014"]
    out = []
    for _ in range(n):
        words = []
        for _ in range(r.randint(3, 40)):
            k = r.random()
            if k < 0.3:
                a = r.choice(abbreviations)
                words.append(r.choice([a, a.title(), a.upper()]) + r.choice([".", ".", "", ". ", ".,"]))
            elif k < 0.9:
                words.append(r.choice(pieces))
            else:
                words.append(r.choice(["Then", "He", "It", "Mr.", "Dr."]) + r.choice([".", "", " "]))
        sep = [r.choice([" ", " ", " ", "  ", "\t", "\u00a0", "\u2009"]) for _ in words]
        out.append("".join(w + s for w, s in zip(words, sep)).strip() + r.choice([".", "?", "!", "", "\""]))
    return "\n".join(out)


def test_sentences_are_pysbds_on_the_sample_articles_and_tricky_text():
    texts = ([p.read_text("utf-8") for p in sorted(ARTICLES.glob("*.txt"))]
             + [TRICKY, TRICKY * 3, ODD, _varied(1, 400), _varied(2, 400)])
    stock = _pysbd_sentences(texts)
    for text, expected in zip(texts, stock):
        got = [(s.start, s.end, s.text, s.paragraph) for s in segment.sentences(text)]
        assert got == expected


def test_the_abbreviation_search_is_pysbds():
    """The shortcut of the abbreviation search (``segment._abbreviations_in_string``) against pysbd's
    own method, paragraph by paragraph, on the odd and the varied texts."""
    from pysbd.abbreviation_replacer import AbbreviationReplacer
    from pysbd.languages import Language

    segment._segmenter()
    lang = Language.get_language_code("en")
    stock = getattr(AbbreviationReplacer, "_stock_search", None)
    if stock is None:
        pytest.skip("pysbd is not 0.3.4: its own abbreviation search is in use")
    paragraphs = [p for t in (ODD, TRICKY, _varied(3, 400)) for p in t.split("\n") if p]
    shortcut = 0
    for para in paragraphs:
        mine, theirs = AbbreviationReplacer(para, lang), AbbreviationReplacer(para, lang)
        assert segment._abbreviations_in_string(mine, para) == stock(theirs, para), para
        shortcut += segment._lookalikes().search(para) is None
    assert 0 < shortcut < len(paragraphs)  # both ways were taken


def test_a_replacement_needs_the_abbreviation_and_a_period_at_a_words_start():
    """The abbreviation search skips a plain abbreviation (ASCII letters and digits) unless a word of the
    text (split at whitespace) begins with it and "." (lowered): pysbd's replacements of it would
    leave the text as it is. Tried against pysbd's own ``scan_for_replacements`` for every match of
    every such abbreviation in random paragraphs."""
    from pysbd.abbreviation_replacer import AbbreviationReplacer
    from pysbd.languages import Language

    segment._segmenter()
    stock = segment._stock_scan
    lang = Language.get_language_code("en")
    simple = [a.strip() for a in lang.Abbreviation.ABBREVIATIONS if a.strip().isascii() and a.strip().isalnum()]
    import random

    r = random.Random(11)
    glued = []  # abbreviations with and without periods, in any case, before what pysbd's patterns look at
    for _ in range(600):
        parts = []
        for _ in range(r.randint(1, 12)):
            a = r.choice(simple)
            parts.append(r.choice(["", "", "x", "(", "{"]) + r.choice([a, a.title(), a.upper()]) + r.choice([".", ".", ""])
                         + r.choice(["", ".", ":5", "-", ",", "?", ")", "}"]))
            parts.append(r.choice([" ", " ", "\t", "  ", ""]) + r.choice(["a", "5", "I ", "I'm", "(x", "The", "x", ""]))
            parts.append(r.choice([" ", "\t", "\r", ""]))
        glued.append("".join(parts))
    paragraphs = [p for t in (ODD, TRICKY, _varied(9, 300)) for p in t.split("\n") if p] + glued
    changed = 0
    for para in paragraphs:
        if segment._lookalikes().search(para) is not None or len(para.lower()) != len(para):
            continue
        words = (" " + para.lower().translate(segment._SPACES)).split(" ")
        replacer = AbbreviationReplacer(para, lang)
        for abbr in simple:
            matches = re.findall(r"(?:^|\s|\r|\n)" + abbr, para, flags=re.IGNORECASE)
            chars = re.findall(r"(?<={" + re.escape(abbr) + "} ).{1}", para)
            for ind, match in enumerate(matches):
                if stock(replacer, para, match, ind, chars) != para:
                    changed += 1
                    assert any(w.startswith(abbr + ".") for w in words), (abbr, match, para)
    assert changed > 300
    search = getattr(AbbreviationReplacer, "_stock_search", None)
    if search is not None:  # pysbd 0.3.4: the whole search (these texts are mostly plain) against pysbd's own
        for para in glued:
            mine, theirs = AbbreviationReplacer(para, lang), AbbreviationReplacer(para, lang)
            assert segment._abbreviations_in_string(mine, para) == search(theirs, para), para


def test_the_required_pieces_of_a_pattern():
    pieces = segment._required_pieces
    assert pieces(r"(?<=\sal)\.(?=(\s\d|\s+\())", 0)[0] == frozenset(["al."])
    assert pieces(r"ab(?<=b)c", 0)[0] in (frozenset(["ab"]), frozenset(["bc"]))
    assert pieces(r"(a|bc)d*", 0) == (frozenset(["a", "bc"]),)
    assert pieces(r"x?y*", 0) == ()
    assert pieces(r"abc", re.IGNORECASE) == ()
    assert pieces(r"(?i)abc", 0) == ()
    assert pieces(r"[^a]b", 0) == (frozenset(["b"]),)
    shim = segment._CachedRe()
    for pattern, text in [(r"(?<=\sal)\.", " al. x"), (r"(?<=\sal)\.", " al x"), (r"(a|bc)d", "xbcd"),
                          (r"(a|bc)d", "xbd"), (r"\.\.\.", "a.. b."), (r"\.\.\.", "a... b.")]:
        assert shim.sub(pattern, "#", text) == re.sub(pattern, "#", text)
        assert shim.findall(pattern, text) == re.findall(pattern, text)


def test_segmenting_on_every_core_gives_the_same_sentences(monkeypatch):
    texts = [p.read_text("utf-8") for p in sorted(ARTICLES.glob("*.txt"))] + [TRICKY, ODD]
    alone = [segment.sentences(t) for t in texts]
    monkeypatch.setattr(segment, "PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(segment, "_workers", lambda: 2)
    seen = []
    with segment.prefetched(texts, seen.append):
        assert segment._pending is not None  # the workers are forked and at work
        here = []  # what this process segments itself from now on (the workers have their own copy)
        monkeypatch.setattr(segment, "_sentences", lambda text: here.append(text) or [])
        ahead = [segment.sentences(t) for t in reversed(texts)]  # the last first: the others kept meanwhile
        assert not here and not segment._ahead
    assert ahead[::-1] == alone
    assert sum(seen) == sum(len(t) for t in texts)
    assert not segment._ahead and segment._pending is None and not segment._texts


def _spec(tmp_path, **kw):
    return write_spec(tmp_path, name="s", task_type="claims", documents=str(ARTICLES / "00[01]_*.txt"),
                      pool=pool(("ana", "expert"), ("ben", "careful"), ("dev", "hasty")), overlap=2,
                      extra='[export]\nformats = ["jsonl", "csv"]\n', **kw)


def test_a_rerun_with_nothing_changed_does_nothing_and_a_change_does_the_work(tmp_path, home):
    spec = _spec(tmp_path)
    notes: list[str] = []
    first = Campaign(load_spec(spec), Store(home), notify=notes.append).run()
    seq = Campaign(load_spec(spec), Store(home)).state.steps["export"]["seq"]

    again = Campaign(load_spec(spec), Store(home), notify=notes.append).run()
    assert any("nothing changed since the last run" in n for n in notes)
    assert {k: again[k] for k in first} == first  # the same summaries, nothing recomputed
    assert Campaign(load_spec(spec), Store(home)).state.steps["export"]["seq"] == seq

    # an export file gone: the run exports again
    out = home / "exports" / "s" / "s.csv"
    out.unlink()
    notes.clear()
    Campaign(load_spec(spec), Store(home), notify=notes.append).run()
    assert out.is_file() and not any("nothing changed" in n for n in notes)

    # a changed spec (one more annotator, overlap raised): a new version, more work handed out
    spec.write_text(spec.read_text("utf-8").replace("overlap = 2", "overlap = 3"), "utf-8")
    notes.clear()
    c = Campaign(load_spec(spec), Store(home), notify=notes.append)
    results = c.run()
    assert not any("nothing changed" in n for n in notes)
    assert results["aggregate"]["units"] == first["aggregate"]["units"]
    assert all(len(set(v)) == 3 for v in _annotators_per_unit(c).values())


def _annotators_per_unit(c):
    per: dict[str, list[str]] = {}
    for a in c.state.annotations:
        per.setdefault(a.unit_id, []).append(a.annotator_id)
    return per


def test_a_plan_with_the_same_inputs_is_not_cut_again(tmp_path, home, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    for p in sorted(ARTICLES.glob("00[01]_*.txt")):
        shutil.copy(p, docs / p.name)
    spec = write_spec(tmp_path, name="p", task_type="claims", documents=str(docs / "*.txt"))
    first = Campaign(load_spec(spec), Store(home)).plan()
    calls = []
    real = segment._sentences
    monkeypatch.setattr(segment, "_sentences", lambda text: calls.append(1) or real(text))
    c = Campaign(load_spec(spec), Store(home))
    assert c.plan() == first and not calls
    seq = c.state.steps["plan"]["seq"]
    # a title from index.toml is part of the plan: it is planned again
    (docs / "index.toml").write_text('["000_d369bcd6a49f9c65"]\ntitle = "Another title"\n', "utf-8")
    c = Campaign(load_spec(spec), Store(home))
    assert c.plan() == first and calls
    assert c.state.steps["plan"]["seq"] > seq
    assert c.documents()["000_d369bcd6a49f9c65"].title == "Another title"


def test_status_counts_in_sql_are_the_loops(tmp_path, home):
    spec = _spec(tmp_path)
    c = Campaign(load_spec(spec), Store(home))
    c.run("pull")
    store = c.store
    # some other statuses, in no particular order
    store.conn.execute("UPDATE annotations SET status='extra' WHERE rowid % 7 = 0")
    store.conn.execute("UPDATE annotations SET status='invalid' WHERE rowid % 5 = 0")
    store.conn.commit()
    c._fresh()
    loop: dict[str, dict[str, int]] = {}
    for a in c.state.annotations:
        per = loop.setdefault(a.annotator_id, {})
        per[a.status.value] = per.get(a.status.value, 0) + 1
    sql = labels_sql.status_counts(store, "s")
    assert sql == loop
    assert list(sql) == list(loop) and all(list(sql[k]) == list(loop[k]) for k in loop)
    assert c.state.counted == [(a.unit_id, a.annotator_id, a.label, a.status) for a in c.state.annotations
                               if a.status.value == "ok" and a.label is not None]


def _dictwriter_csv(records, fields):
    fh = io.StringIO(newline="")
    w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in records:
        w.writerow({k: csv_cell(v) for k, v in r.items()})
    return fh.getvalue()


def test_csv_rows_are_the_dictwriters(tmp_path):
    records = [
        {"a": "=1+1", "b": {"x": [1, "é"]}, "c": 1.5, "d": None, "e": True, "f": ["-x", 2], "g": "+", "h": ""},
        {"a": "plain, with comma", "b": "@user", "c": 2, "d": "\ttab", "e": False, "f": [], "g": "\rcr", "h": "-"},
        {"a": "no b", "c": 0.0, "d": "line\nbreak", "e": None, "f": {}, "g": 'quote "x"', "h": "ok"},
    ]
    fields = list(records[0])
    path = tmp_path / "x.csv"
    write_csv(records, path)
    assert path.read_bytes().decode("utf-8") == _dictwriter_csv(records, fields)
    with pytest.raises(ValueError, match="not in fieldnames"):
        write_csv([records[0], {**records[1], "zz": 1}], tmp_path / "y.csv")


def test_scale_benchmark_runs_on_a_tiny_corpus(tmp_path, capsys):
    from benchmarks import bench_scale

    a, b = tmp_path / "a", tmp_path / "b"
    assert bench_scale.write_corpus(a, 0.05) == bench_scale.write_corpus(b, 0.05)
    assert [p.read_bytes() for p in sorted(a.iterdir())] == [p.read_bytes() for p in sorted(b.iterdir())]
    bench_scale.main(["--sizes", "0.05", "--keep", str(tmp_path / "run")])
    out = capsys.readouterr().out
    for row in ("units", "plan", "export", "peak RSS", "store", "no-op rerun", "status CPU"):
        assert row in out
    assert (tmp_path / "run" / "0.05mb" / "home" / "workbench.db").is_file()


def _pysbd_patterns() -> set[str]:
    """Every pattern pysbd 0.3.4 spells out: its classes' string attributes and rules' patterns."""
    import importlib
    import pkgutil

    import pysbd
    from pysbd.utils import Rule

    found: set[str] = set()

    def walk(obj, depth=0):
        for value in vars(obj).values():
            if isinstance(value, str):
                found.add(value)
            elif isinstance(value, Rule):
                found.add(value.pattern)
            elif isinstance(value, type) and depth < 3 and value.__module__.startswith("pysbd"):
                walk(value, depth + 1)

    for info in pkgutil.walk_packages(pysbd.__path__, "pysbd."):
        walk(importlib.import_module(info.name))

    # and the one English pattern pysbd builds as it runs, from its sentence starters
    from pysbd import abbreviation_replacer
    from pysbd.languages import Language

    class Recorder:
        def sub(self, pattern, repl, string, *args, **kwargs):
            found.add(pattern)
            return string

    kept = abbreviation_replacer.re
    abbreviation_replacer.re = Recorder()
    try:
        Language.get_language_code("en").AbbreviationReplacer("x", Language.get_language_code("en")) \
            .replace_abbreviation_as_sentence_boundary()
    finally:
        abbreviation_replacer.re = kept
    return found


def _odd_texts(seed: int, n: int) -> list[str]:
    """Short random texts of the characters pysbd's list, number, ellipsis and abbreviation patterns
    look at."""
    import random

    r = random.Random(seed)
    alphabet = list(" .∯[](),-⁃!?'\"\r\n\t0123456789aAbiKkMsSvXxzZ\u00a0\u212a\u017f") + [". ", " 1. ", "U.S.", "e.g."]
    return [("".join(r.choice(alphabet) for _ in range(r.randint(0, 14)))) for _ in range(n)]


def test_each_quick_test_is_true_wherever_its_pattern_matches():
    """A quick test (``segment._gates``) that were false of a text with a match would change pysbd's
    sentences: each is tried on 30 000 random texts of the characters that matter, and each is of a
    pattern pysbd really has (else it would never be used)."""
    import random

    gates = segment._gates()
    patterns = _pysbd_patterns()
    r = random.Random(12)
    pieces = ["U∯S", "U.S", "U∯K", "E∯U", "E.U", "U∯S∯A", "U.S.A", "I", "i.v", "I.V", "ixv", "S", "K", "v", "∯", "∯",
              ".", " .", " ", " ", "\t", "\u00a0", "The", "the", "Being", "However", "Why", "A", "In", "x", "pdf", "js",
              "mp3", "docx", "5", "12", "[", "1]", "-", "⁃", ")", "x.", "a∯", "[1, 2]", "3 ", " .pdf", "\t.js", " .mp3",
              "U∯S∯", "I∯", "i.v∯", "Gov∯", "U.S.A∯", " The ", "\tIn ", " A\u00a0", " Why\t", "a. . . .", ". . . ", "!!!", "?!?", "...."]
    # pysbd's periods and "∯" after abbreviations, before sentence starters and file formats
    texts = ["".join(r.choice(pieces) for _ in range(r.randint(1, 10))) for _ in range(30_000)]
    texts += _odd_texts(5, 30_000) + [t for p in (TRICKY, ODD, _varied(6, 200)) for t in p.split("\n")]
    for key, gate in gates.items():
        pattern, flags = (key[1], key[2]) if isinstance(key, tuple) else (key, 0)
        assert pattern in patterns, pattern
        compiled = re.compile(pattern, flags)
        used = 0
        for text in texts:
            if compiled.search(text) is not None:
                used += 1
                assert gate(text), (pattern, text)
        assert used > 30, pattern  # each was tried where its pattern matches


def test_pysbds_rules_give_what_re_gives():
    """``Text.apply`` (workbench's, with the required pieces and quick tests) against ``re.sub`` rule by
    rule, on random texts and paragraphs."""
    from pysbd.utils import Rule, Text

    segment._segmenter()
    if getattr(Text, "_stock_apply", None) is None:
        pytest.skip("pysbd is not 0.3.4: its own Text.apply is in use")
    import pysbd.lang.english as english

    rules: list = []

    def walk(obj, depth=0):
        for name in dir(obj):
            value = getattr(obj, name)
            if isinstance(value, Rule) and value not in rules:
                rules.append(value)
            elif isinstance(value, type) and depth < 3 and value.__module__.startswith("pysbd"):
                walk(value, depth + 1)

    walk(english.English)
    assert len(rules) > 40
    texts = _odd_texts(7, 3_000) + [t for p in (TRICKY, ODD, _varied(8, 100)) for t in p.split("\n")]
    for text in texts:
        expected = text
        for rule in rules:
            expected = re.sub(rule.pattern, rule.replacement, expected)
        got = Text(text).apply(*rules)
        assert got == expected and type(got) is str, text
        for rule in rules:
            assert Text(text).apply(rule) == re.sub(rule.pattern, rule.replacement, text)


def test_plan_benchmark_runs_on_a_tiny_corpus(tmp_path, capsys):
    from benchmarks import bench_plan

    bench_plan.main(["--sizes", "0.05", "--keep", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert "0.05 MB:" in out and "units, plan" in out and "workers" in out
    assert (tmp_path / "run" / "0.05mb" / "home" / "workbench.db").is_file()


def _broken_bounds(index: int):
    raise MemoryError(f"worker, text {index}")


def test_a_failing_worker_leaves_the_segmenting_to_this_process(monkeypatch):
    texts = [p.read_text("utf-8") for p in sorted(ARTICLES.glob("*.txt"))] + [TRICKY]
    alone = [segment.sentences(t) for t in texts]
    monkeypatch.setattr(segment, "PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(segment, "_workers", lambda: 2)
    monkeypatch.setattr(segment, "_bounds_of", _broken_bounds)  # before the fork: the workers have it too
    with segment.prefetched(texts):
        got = [segment.sentences(t) for t in texts]
        assert segment._pending is None
    assert got == alone
