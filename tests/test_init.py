"""The package as imported: what `import smsstatus` costs and what it loads."""

from __future__ import annotations

import os
import subprocess
import sys

import smsstatus

# Loaded only when needed: logging when there is something to log, hmac (which
# loads OpenSSL) on the first token check, msgspec on the first JSON document, and
# never a framework or a database driver.
NOT_ON_IMPORT = (
    "django",
    "fastapi",
    "flask",
    "hmac",
    "hypothesis",
    "logging",
    "msgspec",
    "psycopg",
    "sqlite3",
)


def test_import_loads_no_optional_or_lazy_module() -> None:
    probe = (
        "import sys, smsstatus; "
        f"print(' '.join(m for m in {NOT_ON_IMPORT!r} if m in sys.modules))"
    )
    # Without the variable by which coverage measures subprocesses (pyproject.toml's
    # patch = ["subprocess"]): coverage itself imports sqlite3.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    found = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=clean,
    )
    assert found.stdout.split() == []


def test_all_is_sorted() -> None:
    # That each name exists (and has a docstring) is test_model's.
    assert smsstatus.__all__ == sorted(smsstatus.__all__)
