"""The import-linter contracts of pyproject.toml (run by `make test` as
`lint-imports`): they break on a bad import, and they name every core module."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # coverage[toml] brings tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "smsstatus"
CONTRACTS = {
    contract["id"]: contract
    for contract in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "importlinter"
    ]["contracts"]
}

# A module of the tree, the line appended to it, and the complaint it must cause.
BAD_IMPORTS = [
    ("_model.py", "import django", "smsstatus._model is not allowed to import django"),
    (
        "_xml.py",
        "def late():\n    from smsstatus import sql",
        "smsstatus._xml is not allowed to import smsstatus.sql",
    ),
    # A 0.3 room that does not exist in the tree yet is checked once it does.
    (
        "_ack.py",
        "import smsstatus.metrics",
        "smsstatus._ack is not allowed to import smsstatus.metrics",
    ),
    (
        "__init__.py",
        "from smsstatus import testing",
        "smsstatus is not allowed to import smsstatus.testing",
    ),
    (
        "sql/_table.py",
        "from smsstatus.pull import _answer",
        "smsstatus.sql is not allowed to import smsstatus.pull._answer",
    ),
    (
        "flask.py",
        "import smsstatus.fastapi",
        "smsstatus.flask is not allowed to import smsstatus.fastapi",
    ),
    (
        "pull/_request.py",
        "from smsstatus import testing",
        "smsstatus.pull is not allowed to import smsstatus.testing",
    ),
]


def test_a_bad_import_breaks_the_contracts(tmp_path: Path) -> None:
    copy = tmp_path / "smsstatus"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for module, line, _ in BAD_IMPORTS:
        with (copy / module).open("a") as file:
            file.write(f"\n{line}\n")
    (copy / "metrics.py").write_text('"""A 0.3 room."""\n')
    (copy / "_unplaced.py").write_text('"""A new module no layer names."""\n')
    lint = subprocess.run(
        [
            Path(sys.executable).with_name("lint-imports"),
            "--no-cache",
            f"--config={ROOT / 'pyproject.toml'}",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 1, lint.stdout
    for _, _, complaint in BAD_IMPORTS:
        assert f"{complaint}:" in lint.stdout
    assert "not listed as layers:\n\n- smsstatus._unplaced" in lint.stdout


def test_the_contracts_name_every_core_module() -> None:
    core = {
        path.stem
        for path in PACKAGE.glob("_*.py")
        if path.stem not in {"__init__", "__main__", "_hypothesis_hook"}
    }
    bottom_layer = {
        name.strip() for name in CONTRACTS["layers"]["layers"][-1].split(":")
    }
    sources = set(CONTRACTS["core-externals"]["source_modules"])
    assert bottom_layer == core
    assert sources == {"smsstatus"} | {f"smsstatus.{name}" for name in core}
