"""The pull step alone on a campaign ``bench_scale --keep DIR`` left behind (printed figures).

The kept home is copied, the campaign's annotations are deleted in the copy, and ``Campaign.pull()``
runs in this process: CPU seconds (``time.process_time``), wall seconds and the process's peak RSS
(``getrusage``). ``--warm`` loads the read model's units first, as a whole run has by the time it
pulls. Run it with another tree on ``PYTHONPATH`` to compare two versions of the code on the same store.

    python -m benchmarks.bench_pull /tmp/scale/5mb [--warm] [--cache-mb 256] [--keep-copy DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work", help="a size's folder of a kept bench_scale run (holding scale.toml and home/)")
    ap.add_argument("--warm", action="store_true", help="load the units before timing (as a run has)")
    ap.add_argument("--cache-mb", type=int, help="SQLite's page cache for the connection (default: SQLite's 2 MB); "
                    "a pull since 349fbe5 sets 256 MB for its own transaction whatever this says, so 256 gives "
                    "older code the same cache")
    ap.add_argument("--keep-copy", help="copy the home here and keep it (default: a temporary folder)")
    args = ap.parse_args()
    from workbench.campaign import Campaign
    from workbench.spec import load_spec
    from workbench.store import Store

    work = Path(args.work)
    tmp = None if args.keep_copy else tempfile.mkdtemp(prefix="bench-pull-")
    home = Path(args.keep_copy or tmp) / "home"
    store = None
    try:
        shutil.copytree(work / "home", home, dirs_exist_ok=True)
        spec = load_spec(str(work / "scale.toml"))
        store = Store(home)
        # raw SQL here, not the store's functions: the same lines must drive an older tree on PYTHONPATH
        if args.cache_mb:
            store.conn.execute(f"PRAGMA cache_size={-args.cache_mb * 1024}")
        store.conn.execute("DELETE FROM annotations WHERE campaign=?", (spec.name,))
        c = Campaign(spec, store)
        if args.warm:
            len(c.state.units_by_id)
        cpu, wall = time.process_time(), time.perf_counter()
        summary = c.pull()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps({"cpu": round(cpu, 2), "wall": round(wall, 2), "peak_rss_mb": round(peak / 1e6),
                          "received": summary["received"], "total_ok": summary["total_ok"]}))
    finally:
        if store is not None:
            store.close()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
