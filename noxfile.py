"""The version matrix: ``nox`` (installed by ``pip install -e '.[dev]'``).

- ``interpreters`` lists the Pythons 3.10 to 3.13 found on this machine, and fails
  when there are fewer than two;
- ``tests-3.X`` runs the test suite on each of them, against the installed package
  (not the checkout), with the derandomized ``ci`` hypothesis profile; the oldest
  runs it without msgspec (``tests-3.X-without-fast``), so that the pure JSON reader
  is what every test meets, as it is for users without the ``fast`` extra;
- ``package`` builds the sdist and the wheel, checks them with ``twine check``,
  installs the wheel into a fresh virtual environment and uses it there.

What runs where: ``make test`` (the README's test command, run first by
``.ci/run``) runs every test once, on the Python that made ``.venv``.  The matrix
leaves out the tests marked ``integration`` (pyproject.toml): real servers in
subprocesses (``smsstatus serve``, gunicorn, ``manage.py runserver``), the headless
browser, PostgreSQL servers stopped and restarted, and the benchmarks' load runs,
which test processes and timing rather than the interpreter.  It keeps everything
that could differ per interpreter or without msgspec: the decoders and encoders, the
ledger on SQLite and PostgreSQL, the adapters in process (and uvicorn in a thread),
the commands run in process.

Interpreters are found without the network: the newest ``3.X.*`` that pyenv
installed, else ``python3.X`` on the PATH.  The docs build is left to ``make test``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

VERSIONS = ("3.10", "3.11", "3.12", "3.13")
ROOT = Path(__file__).parent


def _patch_level(path: Path) -> tuple[int, ...]:
    # .../versions/3.12.1/bin/python3.12 -> (3, 12, 1); a name like 3.12-dev sorts low.
    parts = path.parents[1].name.split(".")
    return tuple(int(part) if part.isdigit() else -1 for part in parts)


def find_interpreter(version: str) -> str | None:
    """The newest pyenv-installed Python `version`, else ``python<version>`` on the
    PATH (not a pyenv shim, which may refuse to run), if it really is that version."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    installed = pyenv.glob(f"versions/{version}.*/bin/python{version}")
    found = max(installed, key=_patch_level, default=None)
    on_path = shutil.which(f"python{version}")
    if found is None and on_path and "shims" not in Path(on_path).parts:
        found = Path(on_path)
    if found is None:
        return None
    check = "import sys; print('%d.%d' % sys.version_info[:2])"
    ran = subprocess.run([found, "-c", check], capture_output=True, text=True)
    return str(found) if ran.stdout.strip() == version else None


INTERPRETERS = {
    version: path for version in VERSIONS if (path := find_interpreter(version))
}

# The oldest interpreter runs the suite without the ``fast`` extra.
WITHOUT_FAST = next(iter(INTERPRETERS), None)


def tests_name(version: str) -> str:
    return f"tests-{version}" + ("-without-fast" if version == WITHOUT_FAST else "")


nox.options.sessions = [
    "interpreters",
    *map(tests_name, INTERPRETERS),
    "package",
]


@nox.session(python=False)
def interpreters(session: nox.Session) -> None:
    """Say which interpreters the matrix runs on; fail with fewer than two."""
    for version in VERSIONS:
        session.log(f"Python {version}: {INTERPRETERS.get(version, 'not found')}")
    if len(INTERPRETERS) < 2:
        session.error(
            f"the matrix needs at least two of Python {', '.join(VERSIONS)}; "
            f"found {len(INTERPRETERS)}"
        )


# `pytest`, not `python -m pytest`, which would import the checkout instead.
PYTEST = ("pytest", "-q", "-p", "no:cacheprovider", "-m", "not integration")


def tests(session: nox.Session) -> None:
    """The test suite but its integration tests, against the installed package."""
    session.install(".[test]")
    session.run(*PYTEST, env={"HYPOTHESIS_PROFILE": "ci"})


def tests_without_fast(session: nox.Session) -> None:
    """`tests` without msgspec: the JSON accelerator stays out."""
    session.install(".[test]")
    session.run("python", "-m", "pip", "uninstall", "--yes", "--quiet", "msgspec")
    # tests/test_json_fast.py checks that msgspec really is gone.
    env = {"HYPOTHESIS_PROFILE": "ci", "SMSSTATUS_WITHOUT_FAST": "1"}
    session.run(*PYTEST, env=env)


# .ci/run runs the sessions after `interpreters` in two lanes at once, one a core
# (``nox -t lane-1`` and ``nox -t lane-2``): the tests sessions alternate, oldest
# (and slowest, without msgspec) first, and `package` goes with the second lane.
for _index, (_version, _path) in enumerate(INTERPRETERS.items()):
    nox.session(
        name=tests_name(_version), python=_path, tags=[f"lane-{_index % 2 + 1}"]
    )(tests_without_fast if _version == WITHOUT_FAST else tests)


@nox.session(python=next(iter(INTERPRETERS.values()), None), tags=["lane-2"])
def package(session: nox.Session) -> None:
    """Build, check, and install the wheel into a fresh virtual environment."""
    session.install("build>=1.0", "twine>=5.0")
    dist = Path(session.create_tmp()) / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    built = sorted(dist.iterdir())
    session.run("twine", "check", "--strict", *map(str, built))
    (wheel,) = (path for path in built if path.suffix == ".whl")

    fresh = dist.parent / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    session.run("python", "-m", "venv", str(fresh))
    python = str(fresh / "bin" / "python")
    session.run(python, "-m", "pip", "install", "--quiet", str(wheel), external=True)
    # -I: isolated, so the checkout in the working directory is not importable.
    session.run(python, "-I", "-c", SMOKE_TEST, external=True)
    session.run(
        str(fresh / "bin" / "smsstatus"),
        "decode",
        str(ROOT / "examples" / "statuses.xml"),
        external=True,
        success_codes=[1],  # the example holds one bad item
    )


# Run in the fresh environment: the installed package works, the typing marker is
# there, and the hypothesis extra is needed (and named) only for the strategies.
SMOKE_TEST = """
import importlib.resources, smsstatus, smsstatus.testing
assert smsstatus.__file__.find("site-packages") > 0, smsstatus.__file__
assert importlib.resources.files("smsstatus").joinpath("py.typed").is_file()
delivery = smsstatus.testing.Gateway().deliver(
    lambda body, content_type: (200, smsstatus.receive(body, print).body),
    smsstatus.testing.sample_reports(3, seed=1),
)
assert len(delivery.acknowledged) == 3 and not delivery.lost, delivery
try:
    import smsstatus.strategies
except ImportError as exc:
    assert "smsstatus[hypothesis]" in str(exc), exc
else:
    raise AssertionError("smsstatus.strategies imported without hypothesis")
print("smsstatus", smsstatus.__version__, "works from its wheel")
"""
