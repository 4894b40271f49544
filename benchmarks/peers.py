"""storydiff against the feed readers people already use, side by side in one run (issue 15).

The same feeds that ``benchmarks/ingest.py`` builds (120 feeds × 50 real items, resampled from
../shared/data/rss-feeds-real, unique GUIDs and links) are served from 127.0.0.1 with an ETag and
a Last-Modified header; a conditional request (If-None-Match / If-Modified-Since) that matches
gets 304. Each system runs as its real command in a fresh child process against a fresh database
in a temporary folder, twice: **cold** (every item new) and an **unchanged re-run** (every feed
checked again, every answer 304). Systems:

- ``storydiff ingest --once --all --no-fulltext`` — the whole pipeline a user runs: fetch, parse,
  store with dedup, versions and MinHash wire-copy links, then clustering and reports (no
  full-text extraction: nothing to fetch from 127.0.0.1). ``--all`` makes the re-run check every
  feed although none is due yet (as the peers do); the feeds are added with ``storydiff feeds
  import`` beforehand, not timed.
- ``reader`` (the Python feed reader library, extra ``bench``): ``update_feeds(workers=8,
  scheduled=False)`` in a fresh interpreter, feeds added beforehand, not timed.
- ``newsboat`` (Debian's package): ``newsboat -x reload`` with a urls file, a temporary cache and
  ``reload-threads 2``.
- feedparser alone on the same bytes in memory, one process: the floor for Python parsing (its
  wall time is the parse loop only; CPU and memory are the whole process).

For each: wall time of the whole command, items/s (6,000 items / wall), CPU seconds (user + sys
of the whole process tree, from getrusage(RUSAGE_CHILDREN) around the command: every child and
grandchild that was waited for), peak RSS of the whole process tree (the RSS of the process and
all its descendants, read from /proc every 20 ms and summed; the maximum is reported — shared
pages count once per process). Median of ``--runs`` runs. A system that is not installed is
reported as skipped. Nothing is downloaded at run time.

    .venv/bin/python benchmarks/peers.py [--runs 3] [--feeds 120 --items 50] [--only storydiff,reader]
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import hashlib
import importlib.util
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = os.sysconf("SC_PAGE_SIZE")
LAST_MODIFIED = email.utils.formatdate(1761000000, usegmt=True)  # 2025-10-20, fixed: the feeds never change


def _ingest_bench():  # type: ignore[no-untyped-def]
    """benchmarks/ingest.py, whose feed builder this benchmark reuses (same feeds, same seed)."""
    spec = importlib.util.spec_from_file_location("ingest_bench", ROOT / "benchmarks" / "ingest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_feeds(feeds: int, items: int) -> list[bytes]:
    bench = _ingest_bench()
    shared = Path(os.environ.get("STORYDIFF_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not shared.is_absolute():
        shared = (ROOT / shared).resolve()
    real = shared / "rss-feeds-real"
    rng = random.Random(42)
    if real.is_dir():
        return bench.real_feeds(real, feeds, items, rng)  # type: ignore[no-any-return]
    print(f"{real} not found: using synthetic feeds")
    return [bench.make_feed(f, items, rng) for f in range(feeds)]


class ConditionalServer:
    """Serves /fN.xml from 127.0.0.1 with ETag and Last-Modified; 304 to a matching conditional GET."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = {
            f"/f{n}.xml": (body, '"' + hashlib.sha1(body).hexdigest() + '"') for n, body in enumerate(bodies)
        }
        self.counts = {200: 0, 304: 0, 404: 0}
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                found = server.bodies.get(self.path.split("?")[0])
                if found is None:
                    self.send_error(404)
                    with lock:
                        server.counts[404] += 1
                    return
                body, etag = found
                inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
                # RFC 9110: If-None-Match wins; If-Modified-Since only when there is none
                fresh = etag in [t.strip() for t in inm.split(",")] if inm else ims == LAST_MODIFIED
                status = 304 if fresh else 200
                with lock:
                    server.counts[status] += 1
                self.send_response(status)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", LAST_MODIFIED)
                if fresh:
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def urls(self) -> list[str]:
        return [self.base + path for path in self.bodies]

    def reset_counts(self) -> dict[int, int]:
        counts, self.counts = self.counts, {200: 0, 304: 0, 404: 0}
        return counts

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- measuring a process tree ----------------------------------------------------------------


def _tree_rss(root: int) -> int:
    """Summed RSS in bytes of ``root`` and every descendant (one pass over /proc)."""
    parent_of: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        parent_of[int(entry.name)] = int(fields[1])
    members, frontier = {root}, [root]
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_of.items():
        children.setdefault(ppid, []).append(pid)
    while frontier:
        for child in children.get(frontier.pop(), ()):
            if child not in members:
                members.add(child)
                frontier.append(child)
    total = 0
    for pid in members:
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


@dataclass
class Measure:
    wall: float
    cpu: float  # user + sys of the process tree
    rss: int  # peak summed RSS of the process tree, bytes
    inner: float | None = None  # a time the command reports itself (feedparser's parse loop)
    output: str = ""


def measure(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Measure:
    """Run ``argv`` to completion; wall time, CPU of the tree and peak tree RSS (sampled every 20 ms)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            with contextlib.suppress(Exception):
                peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = output.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{text[-3000:]}")
    inner = None
    for line in text.splitlines():
        if line.startswith("INNER "):
            inner = float(line.split()[1])
    return Measure(wall, cpu, peak, inner, text)


# --- the systems ------------------------------------------------------------------------------


@dataclass
class System:
    name: str
    label: str
    cold: list[Measure] = field(default_factory=list)
    rerun: list[Measure] = field(default_factory=list)
    skipped: str | None = None
    note: str = ""


def storydiff_bin() -> Path:
    found = Path(sys.executable).with_name("storydiff")
    if not found.exists():
        raise SystemExit(f"{found} not found: run from the project's venv (pip install -e .)")
    return found


def run_storydiff(
    urls: list[str],
    workdir: Path,
    server: ConditionalServer,
    no_fulltext_flag: bool,
    exe_path: Path | None = None,
    through: str | None = None,
) -> tuple[Measure, Measure, str]:
    """STORYDIFF_FULLTEXT=0: the feed text is the article (nothing to fetch from 127.0.0.1), so every
    article is clustered and compared in the same run. With ``--no-fulltext`` instead (the issue's
    command) summary-only articles are stored as waiting for their page and are not clustered yet."""
    exe = str(exe_path or storydiff_bin())
    data = workdir / "storydiff"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYDIFF_") and k != "DATABASE_URL"}
    env.update(STORYDIFF_DATA_DIR=str(data), STORYDIFF_ALLOW_PRIVATE_URLS="1")
    if not no_fulltext_flag:
        env["STORYDIFF_FULLTEXT"] = "0"
    opml = workdir / "feeds.opml"
    outlines = "".join(
        f'<outline type="rss" text="Outlet {n}" title="Outlet {n}" xmlUrl="{url}" category="kind:newspaper"/>'
        for n, url in enumerate(urls)
    )
    opml.write_text(f'<?xml version="1.0"?><opml version="2.0"><head/><body>{outlines}</body></opml>')
    subprocess.run([exe, "feeds", "import", str(opml)], env=env, check=True, capture_output=True, cwd=workdir)
    command = [exe, "ingest", "--once", "--all"] + (["--no-fulltext"] if no_fulltext_flag else [])
    command += ["--through", through] if through else []
    cold = measure(command, env, workdir)
    lines = cold.output.splitlines()
    clustered = next((line.split()[1] for line in lines if line.startswith("stories: ")), "0")
    compared = next((line.split()[1] for line in lines if line.startswith("reports: ")), "0")
    server.reset_counts()
    rerun = measure(command, env, workdir)
    stats = subprocess.run([exe, "stats", "--json"], env=env, check=True, capture_output=True, cwd=workdir)
    counts = json.loads(stats.stdout)
    return (
        cold,
        rerun,
        f"{counts['articles']} articles ({clustered} clustered), {counts['wire_copies']} wire copies, "
        f"{counts['stories']} stories, {compared} reports",
    )


READER_SCRIPT = """
import sys, time
from reader import make_reader
reader = make_reader(sys.argv[1])
if sys.argv[2] == "add":
    for url in sys.argv[3:]:
        reader.add_feed(url)
else:
    reader.update_feeds(workers=8, scheduled=False)
    counts = reader.get_entry_counts()
    print("ENTRIES", counts.total)
    print("BROKEN", sum(1 for f in reader.get_feeds() if f.last_exception))
"""


def run_reader(urls: list[str], workdir: Path, server: ConditionalServer) -> tuple[Measure, Measure, str]:
    db = str(workdir / "reader.sqlite")
    subprocess.run([sys.executable, "-c", READER_SCRIPT, db, "add", *urls], check=True, capture_output=True)
    command = [sys.executable, "-c", READER_SCRIPT, db, "update"]
    cold = measure(command)
    server.reset_counts()
    rerun = measure(command)
    entries = next(line.split()[1] for line in rerun.output.splitlines() if line.startswith("ENTRIES"))
    broken = next(line.split()[1] for line in rerun.output.splitlines() if line.startswith("BROKEN"))
    return cold, rerun, f"{entries} entries stored, {broken} feeds with an error"


def run_newsboat(urls: list[str], workdir: Path, server: ConditionalServer) -> tuple[Measure, Measure, str]:
    exe = shutil.which("newsboat")
    assert exe
    home = workdir / "home"
    home.mkdir()
    (workdir / "urls").write_text("\n".join(urls) + "\n")
    (workdir / "config").write_text("reload-threads 2\n")
    cache = workdir / "cache.db"
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".data"))
    command = [exe, "-u", str(workdir / "urls"), "-c", str(cache), "-C", str(workdir / "config"), "-x", "reload"]
    cold = measure(command, env, workdir)
    # newsboat 2.21 stores a new feed's ETag/Last-Modified before the feed's row exists, so they are
    # lost on its first fetch: one untimed reload stores them, the timed re-run is then conditional
    subprocess.run(command, env=env, cwd=workdir, check=True, capture_output=True)
    server.reset_counts()
    rerun = measure(command, env, workdir)
    with contextlib.closing(sqlite3.connect(cache)) as db:
        items = db.execute("SELECT count(*) FROM rss_item").fetchone()[0]
    return cold, rerun, f"{items} items stored"


FEEDPARSER_SCRIPT = """
import sys, time
from pathlib import Path
import feedparser
bodies = [p.read_bytes() for p in sorted(Path(sys.argv[1]).glob("*.xml"))]
feedparser.parse(bodies[0])
started = time.perf_counter()
n = sum(len(feedparser.parse(b, response_headers={"content-type": "application/rss+xml"}).entries) for b in bodies)
print("INNER", time.perf_counter() - started)
print("ENTRIES", n)
"""


def run_feedparser(bodies: list[bytes], workdir: Path) -> tuple[Measure, None, str]:
    folder = workdir / "bodies"
    folder.mkdir()
    for n, body in enumerate(bodies):
        (folder / f"{n:04d}.xml").write_bytes(body)
    cold = measure([sys.executable, "-c", FEEDPARSER_SCRIPT, str(folder)])
    entries = next(line.split()[1] for line in cold.output.splitlines() if line.startswith("ENTRIES"))
    return cold, None, f"{entries} entries parsed"


# --- report -----------------------------------------------------------------------------------


def med(values: list[float]) -> float:
    return statistics.median(values)


def summary(ms: list[Measure], items: int) -> dict[str, float]:
    wall = med([m.inner if m.inner is not None else m.wall for m in ms])
    return {
        "wall": wall,
        "command": med([m.wall for m in ms]),
        "items_per_s": items / wall,
        "cpu": med([m.cpu for m in ms]),
        "rss_mb": med([m.rss for m in ms]) / 1e6,
    }


def cache_bytecode() -> str | None:
    """Each of this checkout's modules compiled once, before any run, when PYTHONDONTWRITEBYTECODE
    is set (as on this workplace's machines and in many containers): an editable install then keeps
    no bytecode and every start compiles each module it imports (~0.3 s for a cold run's ~100),
    while the peers, installed into site-packages, read theirs — as a pip install (or any first run
    without that variable) leaves storydiff's too."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return None
    import compileall
    import re

    skip = re.compile(r"[/\\](?:\.venv|\.git|tests|node_modules)[/\\]")
    compileall.compile_dir(str(ROOT), quiet=1, rx=skip)
    return f"PYTHONDONTWRITEBYTECODE is set: {ROOT}'s modules compiled once before the runs, as an install does"


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="storydiff-peers-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--feeds", type=int, default=120)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument(
        "--only",
        default="feedparser,reader,newsboat,storydiff,storydiff-ingest,storydiff-nofulltext",
        help="comma-separated systems",
    )
    parser.add_argument("--json", dest="json_out", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="the storydiff command of another checkout (e.g. ../base/.venv/bin/storydiff): measured in the "
        "same runs as 'baseline', for before/after figures",
    )
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    bodies = build_feeds(args.feeds, args.items)
    items = args.feeds * args.items
    server = ConditionalServer(bodies)
    urls = server.urls()

    systems = [
        System("feedparser", "feedparser alone, bytes in memory, 1 process (floor)"),
        System("reader", "reader (Python, feedparser + SQLite), workers=8"),
        System("newsboat", "newsboat (C++), -x reload, reload-threads 2"),
        System("storydiff", "storydiff ingest --once --all, STORYDIFF_FULLTEXT=0 (every article clustered, compared)"),
        System(
            "storydiff-ingest",
            "storydiff ingest --once --all --through ingest, STORYDIFF_FULLTEXT=0 (the part the readers do: fetch, "
            "parse, store, languages, wire copies; clustering and reports left to the next run)",
        ),
        System(
            "storydiff-nofulltext",
            "storydiff ingest --once --all --no-fulltext (summary-only articles left waiting for their page)",
        ),
    ]
    if args.baseline:
        systems.append(System("baseline", f"baseline: {args.baseline} ingest --once --all, STORYDIFF_FULLTEXT=0"))
    if importlib.util.find_spec("reader") is None:
        systems[1].skipped = "not installed (pip install -e '.[bench]')"
    else:
        from importlib.metadata import version

        systems[1].label = systems[1].label.replace("reader", f"reader {version('reader')}", 1)
    if shutil.which("newsboat") is None:
        systems[2].skipped = "not installed (apt-get install newsboat)"
    else:
        first = subprocess.run(["newsboat", "--version"], capture_output=True, text=True).stdout.split()
        systems[2].label = systems[2].label.replace("newsboat", f"newsboat {first[1]}", 1)
    for system in systems:
        if system.name not in wanted | {"baseline"} and not system.skipped:
            system.skipped = "not selected (--only)"

    compiled = cache_bytecode()
    if compiled:
        print(compiled)
    load = os.getloadavg()
    print(
        f"{items} items in {args.feeds} feeds from {server.base}; {args.runs} runs, median; load before {load[0]:.2f}"
    )
    for run in range(args.runs):
        # interleaved: each run measures every system, so background load hits all of them alike
        for system in systems:
            if system.skipped:
                continue
            with workdir() as tmp:
                server.reset_counts()
                if system.name == "feedparser":
                    cold, rerun, note = run_feedparser(bodies, tmp)
                elif system.name == "reader":
                    cold, rerun, note = run_reader(urls, tmp, server)
                elif system.name == "newsboat":
                    cold, rerun, note = run_newsboat(urls, tmp, server)
                elif system.name == "baseline":
                    cold, rerun, note = run_storydiff(urls, tmp, server, False, args.baseline)
                elif system.name == "storydiff-ingest":
                    cold, rerun, note = run_storydiff(urls, tmp, server, False, through="ingest")
                else:
                    cold, rerun, note = run_storydiff(urls, tmp, server, system.name == "storydiff-nofulltext")
                counts = server.reset_counts()
                if system.name != "feedparser":
                    note += f"; re-run answered {counts[200]} × 200, {counts[304]} × 304"
                    # newsboat loses a few validators in its own races (see run_newsboat): reported, not fatal
                    if system.name != "newsboat":
                        assert counts[304] == args.feeds, f"{system.name}: the re-run was not all 304 ({counts})"
                system.cold.append(cold)
                if rerun is not None:
                    system.rerun.append(rerun)
                system.note = note
                print(
                    f"  run {run + 1} {system.name:<10} cold {cold.inner or cold.wall:6.2f} s"
                    + (f", re-run {rerun.wall:5.2f} s" if rerun else "")
                    + f"  ({note})",
                    flush=True,
                )
    server.close()
    load_after = os.getloadavg()

    print()
    print("| system | cold: wall | items/s | CPU s | peak RSS (tree) | unchanged re-run: wall | CPU s | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    figures: dict[str, dict[str, object]] = {}
    for system in systems:
        if system.skipped:
            print(f"| {system.label} | skipped: {system.skipped} | | | | | | |")
            continue
        cold = summary(system.cold, items)
        rerun = summary(system.rerun, items) if system.rerun else None
        figures[system.name] = {"label": system.label, "cold": cold, "rerun": rerun, "note": system.note}
        print(
            f"| {system.label} | {cold['wall']:.2f} s | {cold['items_per_s']:,.0f} | {cold['cpu']:.2f} | "
            f"{cold['rss_mb']:.0f} MB | "
            + (f"{rerun['wall']:.2f} s | {rerun['cpu']:.2f} | {rerun['rss_mb']:.0f} MB |" if rerun else "— | | |")
        )
    for own in ("storydiff", "storydiff-ingest", "storydiff-nofulltext"):
        if own not in figures:
            continue
        ours = figures[own]
        print()
        print(f"{own} / peer, same run (below 1.0: storydiff is faster / leaner):")
        for name, peer in figures.items():
            if name.startswith("storydiff") or (name == "baseline" and own != "storydiff"):
                continue
            parts = []
            for phase in ("cold", "rerun"):
                a, b = ours[phase], peer[phase]
                if not a or not b:
                    continue
                assert isinstance(a, dict) and isinstance(b, dict)
                parts.append(
                    f"{phase}: wall {a['wall'] / b['wall']:.2f}×, CPU {a['cpu'] / b['cpu']:.2f}×, "
                    f"RSS {a['rss_mb'] / b['rss_mb']:.2f}×"
                    + (f" (items/s {b['wall'] / a['wall']:.2f}× the peer's)" if phase == "cold" else "")
                )
            print(f"  vs {name:<10} " + "; ".join(parts))
    for system in systems:
        if not system.skipped:
            print(f"{system.name}: {system.note}")
    for system in systems:
        if system.skipped:
            print(f"{system.name}: skipped — {system.skipped}")
    print(
        f"load average before {load[0]:.2f}, after {load_after[0]:.2f} "
        f"({os.cpu_count()} cores; above ~0.5 means other work was running)"
    )
    if args.json_out:
        args.json_out.write_text(json.dumps({"items": items, "runs": args.runs, "systems": figures}, indent=2))


if __name__ == "__main__":
    main()
