"""Cutting documents into sentences with exact character offsets.

Lines are paragraphs (news text puts headings on their own line, with no final period, so a
segmenter would glue them to the next sentence); each paragraph is split by pysbd, a maintained
rule-based sentence boundary detector, and every sentence is mapped back to document offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    paragraph: int


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=False)


def sentences(text: str) -> list[Sentence]:
    """Sentences of ``text``; ``text[s.start:s.end] == s.text`` for each, stripped of whitespace."""
    out: list[Sentence] = []
    for p_index, para in enumerate(re.finditer(r"[^\n]+", text)):
        ptext = para.group()
        if not ptext.strip():
            continue
        cursor = 0
        for piece in _segmenter().segment(ptext):
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
