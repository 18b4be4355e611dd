"""The ``[backend]`` options of a Label Studio campaign, checked when the campaign file is read
(this module imports nothing of Label Studio's, so a spec is checked even without the extra)."""

from __future__ import annotations

OPTIONS = {"url", "api_key_env", "batch_size", "workers", "retries"}
DEFAULTS = {"batch_size": (500, 1), "workers": (1, 1), "retries": (5, 0)}  # default, lowest allowed


def check_options(opts: dict) -> list[tuple[str, str]]:
    """``[(field, problem)]`` of a ``[backend]`` table for Label Studio (empty: fine)."""
    problems = []
    unknown = sorted(set(opts) - OPTIONS - {"name"})
    if unknown:
        problems.append((unknown[0], f"unknown field (expected one of {', '.join(sorted(OPTIONS | {'name'}))})"))
    for key in ("url", "api_key_env"):
        if key in opts and (not isinstance(opts[key], str) or not opts[key]):
            problems.append((key, f"expected a non-empty string, got {opts[key]!r}"))
    if ("url" in opts) != ("api_key_env" in opts):
        problems.append(("url", "an existing server needs both url and api_key_env (the name of the environment "
                                "variable that holds its API key)"))
    if isinstance(opts.get("url"), str) and opts["url"] and not opts["url"].startswith(("http://", "https://")):
        problems.append(("url", f"expected an http:// or https:// address, got {opts['url']!r}"))
    for key, (default, low) in DEFAULTS.items():
        value = opts.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            problems.append((key, f"expected an integer >= {low}, got {value!r}"))
    return problems
