from pathlib import Path

from workbench.segment import sentences

ARTICLES = Path(__file__).resolve().parent.parent / "tasks" / "articles"


def test_offsets_point_at_the_text():
    for path in ARTICLES.glob("*.txt"):
        text = path.read_text("utf-8")
        sents = sentences(text)
        assert len(sents) > 20
        for s in sents:
            assert text[s.start:s.end] == s.text
            assert s.text == s.text.strip() and s.text
        starts = [s.start for s in sents]
        assert starts == sorted(starts)


def test_headings_are_not_glued_to_the_next_sentence():
    text = "Why Scale AI?\nMeta invested $14.3 billion. Dr. Smith agreed, e.g. in June.\n\nA heading\nLast one."
    got = [s.text for s in sentences(text)]
    assert got == ["Why Scale AI?", "Meta invested $14.3 billion.", "Dr. Smith agreed, e.g. in June.",
                   "A heading", "Last one."]


def test_abbreviations_and_decimals_do_not_split():
    got = [s.text for s in sentences("Meta Platforms Inc. paid $2.5 billion. It rose 3.4% in the U.S. market.")]
    assert len(got) == 2, got


def test_text_pysbd_mangles_gives_the_rest_of_its_paragraph_as_one_sentence():
    # pysbd (clean=False) cuts "?. . .\t." into "?. " and ". . .\t": overlapping, the last dot dropped
    text = "First line.\n?. . .\t.  \nDr. Smith agreed. It rose."
    got = sentences(text)
    for s in got:
        assert text[s.start:s.end] == s.text
    assert [(s.text, s.paragraph) for s in got] == [("First line.", 0), ("?.", 1), (". .\t.", 1),
                                                   ("Dr. Smith agreed.", 2), ("It rose.", 2)]
    ends = [(s.start, s.end) for s in got]
    assert all(a[1] <= b[0] for a, b in zip(ends, ends[1:]))  # no text in two sentences
