"""The package layout: one installed name (storydiff), no import cycles, storage at the bottom,
the pure ingest modules light to import, data files found from editable and regular installs."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_PACKAGE = {"tests", "benchmarks", "scripts", "build", ".venv", "data"}
BASE = {"storydiff.settings", "storydiff.errors"}  # the floor everything may stand on


def package_modules() -> dict[str, Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in NOT_PACKAGE or rel.parts[0].startswith("."):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(["storydiff", *parts])] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every storydiff module this file imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def test_it_finds_the_modules_and_their_imports():
    graph = import_graph()
    assert "storydiff.compare.align" in graph and "storydiff.store.models" in graph
    assert "storydiff.compare.features" in graph["storydiff.compare.align"]


def test_it_has_no_import_cycle():
    graph = import_graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_it_keeps_store_at_the_bottom():
    upward = {
        (name, target)
        for name, targets in import_graph().items()
        if name.startswith("storydiff.store")
        for target in targets
        if not target.startswith("storydiff.store") and target not in BASE
    }
    assert upward == set()


def test_it_bans_bare_top_level_names_in_ruff():
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for name in ("ingest", "compare", "store", "web", "settings", "errors", "worker", "cli"):
        assert f'"{name}".msg' in config


def run_python(code: str, cwd: Path, python: str = sys.executable) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python, "-X", "importtime", "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_it_imports_store_models_on_a_cold_interpreter(tmp_path):
    done = run_python("import storydiff.store.models", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]


def test_it_imports_the_pure_parser_without_the_io_stack(tmp_path):
    done = run_python("import storydiff.ingest.parse", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert "feedparser" in loaded
    assert not loaded & {"sqlalchemy", "httpx", "trafilatura"}


def test_the_stats_command_counts_through_the_driver_alone_once_the_database_is_current(tmp_path):
    code = (
        "import sys; from storydiff.cli import main; sys.argv = ['storydiff', 'stats', '--json']\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code"
    )
    data = tmp_path / "data"
    env = {**os.environ, "STORYDIFF_DATA_DIR": str(data), "DATABASE_URL": f"sqlite:///{data}/db.sqlite"}
    runs = [
        subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        for _ in range(2)  # the first creates and migrates the database (Alembic loads the ORM)
    ]
    for done in runs:
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout)["feeds"] == 0
    first, second = ({line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line} for done in runs)
    assert "sqlalchemy" in first  # a new database: migrated through SQLAlchemy and Alembic
    # a database at the newest schema: counted through the driver alone
    assert "sqlite3" in second and not {m for m in second if m.split(".")[0] in ("sqlalchemy", "alembic")}
    assert "storydiff.store.models" not in second and "rich.table" not in second


DATA_PATHS = """
import json
from storydiff.compare.paraphrase import MODEL_FILE
from storydiff.demo.server import ROOT
from storydiff.ingest.feeds import DEFAULT_FEEDS
from storydiff.store.db import MIGRATIONS_DIR
from storydiff.web.templating import TEMPLATES
from storydiff import settings
print(json.dumps({
    "model": MODEL_FILE.is_file(),
    "demo": (ROOT / "outlets.toml").is_file() and any((ROOT / "feeds").iterdir()),
    "feeds": DEFAULT_FEEDS.is_file(),
    "migrations": (MIGRATIONS_DIR / "versions" / "0001_initial_schema.py").is_file(),
    "templates": TEMPLATES.env.get_template("story.html") is not None,
    "shared": str(settings.shared_data_dir()),
}))
"""


def check_data_paths(python: str, cwd: Path) -> None:
    import json

    env = {k: v for k, v in os.environ.items() if k != "STORYDIFF_SHARED_DATA"}
    done = subprocess.run([python, "-c", DATA_PATHS], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert found.pop("shared") == str((cwd / ".." / "shared" / "data").resolve())  # relative to the working directory
    assert all(found.values()), found


def test_it_finds_data_files_from_the_editable_install(tmp_path):
    check_data_paths(sys.executable, tmp_path)


@pytest.mark.slow
def test_it_builds_a_wheel_with_one_top_level_name_that_works_installed(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT), "-w", tmp_path],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("storydiff-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"storydiff", wheel.name.split("-py3")[0] + ".dist-info"}
    # a regular install into a fresh venv; the dependencies come from this venv's site-packages,
    # added as a plain path (so its editable-install hook is not loaded)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True
    ).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    where = subprocess.run(
        [python, "-c", "import storydiff.cli; print(storydiff.cli.__file__)"], capture_output=True, text=True
    )
    assert where.stdout.strip().startswith(site), where.stderr[-2000:]
    work = tmp_path / "work"
    work.mkdir()
    check_data_paths(str(python), work)
