"""What makes a million units workable stays exact: the faster segmentation gives pysbd's sentences,
a re-run with nothing changed does nothing (and one with a change does the work), the export's
SQL counts and CSV rows are the ones the Python loops made, and the scale benchmark runs."""

from __future__ import annotations

import csv
import io
import shutil

import pytest

from workbench import segment
from workbench.campaign import Campaign
from workbench.export.formats import csv_cell, write_csv
from workbench.spec import load_spec
from workbench.store import Store
from workbench.store import labels as labels_sql

from helpers import ARTICLES, pool, write_spec


def _pysbd_sentences(text: str) -> list[tuple[int, int, str, int]]:
    """The sentences as workbench cut them before: a stock pysbd segmenter per paragraph."""
    import re

    import pysbd

    seg = pysbd.Segmenter(language="en", clean=False, char_span=False)
    out = []
    for p, para in enumerate(re.finditer(r"[^\n]+", text)):
        ptext, cursor = para.group(), 0
        if not ptext.strip():
            continue
        for piece in seg.segment(ptext):
            s = piece.strip()
            if not s:
                continue
            local = ptext.find(s, cursor)
            cursor = local + len(s)
            out.append((para.start() + local, para.start() + local + len(s), s, p))
    return out


TRICKY = ("Mr. Smith paid $3.5 million to the U.S. Treasury on Jan. 5. He said: \"It's done!\" Was it?\n"
          "Dr. Lee (of Acme Inc.) arrived at 5 p.m. and left at 6 a.m. the next day... Really?? Yes.\n"
          "1. First item. 2. Second item. a) one b) two\n\n"
          "The U.N. said 10.5% of e.g. wheat exports fell.Then prices rose. i.e. they did. St. Louis, Mo. is far.\n"
          "\u201cQuoted,\u201d she said. \u2018Single.\u2019 (Parenthetical. Sentence.) [Bracketed. Too.]\n")


def test_sentences_are_pysbds_on_the_sample_articles_and_tricky_text():
    texts = [p.read_text("utf-8") for p in sorted(ARTICLES.glob("*.txt"))] + [TRICKY, TRICKY * 3]
    for text in texts:
        got = [(s.start, s.end, s.text, s.paragraph) for s in segment.sentences(text)]
        assert got == _pysbd_sentences(text)


def test_segmenting_on_every_core_gives_the_same_sentences(monkeypatch):
    texts = [p.read_text("utf-8") for p in sorted(ARTICLES.glob("*.txt"))] + [TRICKY]
    alone = [segment.sentences(t) for t in texts]
    monkeypatch.setattr(segment, "PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(segment, "_workers", lambda: 2)
    seen = []
    with segment.prefetched(texts, seen.append):
        assert len(segment._ahead) == len(set(texts))  # computed ahead, in worker processes
        ahead = [segment.sentences(t) for t in texts]
    assert ahead == alone
    assert sum(seen) == sum(len(t) for t in texts)
    assert not segment._ahead


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
