"""The shape of the package (issue 9): no import cycle anywhere in workbench/, the SQL in one layer with
named columns, and the stages (aggregate, agreement, export, report, table) free of the engine, the
store and the read model: they take tables and records."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from helpers import ROOT

PACKAGE = ROOT / "workbench"
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|"
                 r"CREATE\s+(TABLE|INDEX)|ALTER\s+TABLE|DROP\s+TABLE|PRAGMA\s)", re.S)


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every workbench module ``name`` imports, at module level, in functions and under TYPE_CHECKING."""
    base = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = ".".join(base.split(".")[: len(base.split(".")) - (node.level - 1)])
                mod = parent + ("." + node.module if node.module else "")
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        for t in targets:
            while t and t not in known:
                t = t.rsplit(".", 1)[0] if "." in t else ""
            if t and t != name:
                found.add(t)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: imports(m, p, set(mods)) for m, p in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_in_workbench():
    g = graph()
    assert len(g) > 80
    assert cycles(g) == []


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_stages_take_tables_not_the_engine():
    g = graph()
    stages = ("workbench.aggregate", "workbench.agreement", "workbench.export", "workbench.report", "workbench.table")
    engine = ("workbench.campaign", "workbench.state", "workbench.steps", "workbench.store", "workbench.cli")
    for mod, deps in g.items():
        if mod.startswith(stages):
            bad = sorted(d for d in deps if d.startswith(engine) and d != "workbench.store.errors")
            assert not bad, f"{mod} imports {bad}"
    # and no step imports the engine that sequences the steps
    for mod, deps in g.items():
        if mod != "workbench.campaign" and not mod.startswith("workbench.cli"):
            assert "workbench.campaign" not in deps, mod


def _strings(path: Path) -> list[tuple[int, str]]:
    return [(n.lineno, n.value) for n in ast.walk(ast.parse(path.read_text("utf-8")))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_sql_lives_in_the_store_layer():
    outside = []
    for name, path in modules().items():
        if name.startswith("workbench.store"):
            continue
        for line, text in _strings(path):
            if SQL.search(text):
                outside.append(f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}")
    assert outside == []


def test_inserts_name_their_columns():
    unnamed = []
    for path in (PACKAGE / "store").glob("*.py"):
        for line, text in _strings(path):
            for m in re.finditer(r"INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(\w+)\s*(\(|SELECT|VALUES)", text):
                if m.group(2) != "(":
                    unnamed.append(f"{path.name}:{line}: INSERT INTO {m.group(1)} without column names")
    assert unnamed == []
    # the f-string INSERTs are built from column tuples: check those modules spell them out
    assert "INSERT INTO {table} (campaign, {', '.join(columns)})" in (PACKAGE / "store" / "results.py").read_text()
