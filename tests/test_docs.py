"""The code on the manual's pages (docs/*.md) and in README.md runs and says what
the pages show.

- ``pycon`` blocks are doctests, run page by page with the page's names shared;
- ``xml`` and ``json`` blocks are gateway documents and must decode without errors;
- ``console`` blocks: each ``$ smsstatus ...`` command is run and must print exactly
  the lines under it; commands with pipes or redirections, and ``replay`` (which
  needs a server), are not run, but every ``smsstatus`` command shown, in a pipe or
  not, must be one the command line accepts;
- ``python`` blocks must at least compile;
- the plain WSGI example (docs/examples/wsgi_statuses.py) is delivered to;
- install lines install from the clone, with extras that exist, and the documented
  adapter set-ups fail with the adapter's own message when the token is not set.

Sphinx itself (``make test``) checks that every ``literalinclude`` finds its file.
"""

from __future__ import annotations

import doctest
import importlib.util
import io
import re
import shlex
import sys
from pathlib import Path
from typing import NamedTuple
from wsgiref.util import setup_testing_defaults

import pytest

import smsstatus
from smsstatus import Status, StatusReport
from smsstatus.cli import _parser, main
from smsstatus.testing import Gateway, sample_reports

if sys.version_info >= (3, 11):
    import tomllib
else:  # coverage[toml] brings tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
OPENING = re.compile(r"```(\S*)")  # ```pycon, ```{literalinclude} file...


class Block(NamedTuple):
    page: str
    line: int  # of the first line inside the fence, 1-based
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def blocks() -> list[Block]:
    found = []
    for path in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        lines = path.read_text(encoding="utf-8").splitlines()
        start = lang = None
        for number, line in enumerate(lines, 1):
            if start is None:
                fence = OPENING.match(line)
                if fence is not None:
                    start, lang = number, fence.group(1)
            elif line == "```":
                text = "\n".join(lines[start : number - 1]) + "\n"
                found.append(Block(path.name, start + 1, lang or "", text))
                start = lang = None
    return found


BLOCKS = blocks()


def of(*langs: str) -> list[Block]:
    return [block for block in BLOCKS if block.lang in langs]


def test_the_pages_have_code_to_check() -> None:
    # Guards the parser: if it stopped finding blocks, every test below would pass.
    assert {"pycon", "xml", "json", "console"} <= {block.lang for block in BLOCKS}
    assert len(of("pycon")) >= 10


@pytest.mark.parametrize("page", sorted({block.page for block in of("pycon")}))
def test_doctests(page: str) -> None:
    globs: dict[str, object] = {}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL
    )
    out = io.StringIO()
    for block in of("pycon"):
        if block.page == page:
            test = parser.get_doctest(block.text, globs, block.id, page, block.line - 1)
            runner.run(test, out=out.write, clear_globs=False)
            globs = test.globs  # the next block sees this one's names
    assert runner.summarize(verbose=False).failed == 0, out.getvalue()


@pytest.mark.parametrize("block", of("xml", "json"), ids=lambda block: block.id)
def test_documents_shown_decode(block: Block) -> None:
    batch = smsstatus.decode(block.text.encode(), format=block.lang)
    assert batch.reports
    assert not batch.errors


def shown_commands() -> list[tuple[str, str, str]]:
    """Every command shown in console blocks (continuation lines joined), with the
    output shown under it."""
    found = []
    for block in of("console"):
        for shown in re.split(r"^\$ ", block.text, flags=re.MULTILINE)[1:]:
            command, _, output = shown.partition("\n")
            while command.endswith("\\"):
                more, _, output = output.partition("\n")
                command = command[:-1] + more
            found.append((block.id, command, output))
    return found


def commands() -> list[tuple[str, list[str], str]]:
    """The smsstatus commands to run, with their shown output."""
    found = []
    for where, command, output in shown_commands():
        if set("|<>;&").intersection(command):
            continue  # a pipeline or redirection: not run
        argv = shlex.split(command)
        if argv[0] == "smsstatus" and argv[1] != "replay":
            found.append((where, argv[1:], output))
    return found


def every_smsstatus_command() -> list[tuple[str, list[str]]]:
    """Each smsstatus command shown anywhere, pipelines included, redirections and
    comments left out."""
    found = []
    for where, command, _ in shown_commands():
        for part in command.split("|"):
            argv = shlex.split(re.sub(r"[0-9]?[<>]&?\s*\S+", "", part), comments=True)
            if argv and argv[0] == "smsstatus":
                found.append((where, argv[1:]))
    return found


COMMANDS = commands()
EVERY_COMMAND = every_smsstatus_command()


def test_the_pages_show_commands() -> None:
    assert len(COMMANDS) >= 5
    assert {argv[0] for _, argv in EVERY_COMMAND} >= {"decode", "sample", "replay"}


@pytest.mark.parametrize(
    ("where", "argv"), EVERY_COMMAND, ids=[c[0] for c in EVERY_COMMAND]
)
def test_every_command_shown_is_accepted(where: str, argv: list[str]) -> None:
    args = _parser().parse_args(argv)  # a usage error exits, failing the test
    assert callable(args.run)


@pytest.mark.parametrize(
    ("where", "argv", "output"), COMMANDS, ids=[c[0] for c in COMMANDS]
)
def test_commands_print_what_is_shown(where, argv, output, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    main(argv)
    printed = capsys.readouterr()
    assert printed.out + printed.err == output


@pytest.mark.parametrize("block", of("python"), ids=lambda block: block.id)
def test_python_snippets_compile(block: Block) -> None:
    compile(block.text, block.id, "exec")


# --- the plain WSGI example -------------------------------------------------------


def load_wsgi_example():  # type: ignore[no-untyped-def]
    path = DOCS / "examples" / "wsgi_statuses.py"
    spec = importlib.util.spec_from_file_location("wsgi_statuses", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wsgi_statuses = load_wsgi_example()


class Store:
    """Keeps the superseding report per message, as the manual says to."""

    def __init__(self) -> None:
        self.reports: dict[int, StatusReport] = {}

    def __call__(self, report: StatusReport) -> None:
        if report.supersedes(self.reports.get(report.id_sms)):
            self.reports[report.id_sms] = report


def call(app, method: str, path: str, body: bytes = b"", **environ: str):  # type: ignore[no-untyped-def]
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **environ,
    }
    setup_testing_defaults(env)
    started = []
    answer = b"".join(app(env, lambda status, headers: started.append(status)))
    return int(started[0].split()[0]), answer


@pytest.mark.parametrize("format", ["xml", "json"])
def test_the_wsgi_example_receives_a_disordered_delivery(format: str) -> None:
    store = Store()
    app = wsgi_statuses.make_app(store, token="t0ken")
    reports = sample_reports(300, seed=3)
    gateway = Gateway(format, batch_size=50, shuffle=True, duplicate=0.2, seed=3)
    delivery = gateway.deliver_wsgi(app, reports, path="/statuses/t0ken")
    assert delivery.acknowledged == {report.id_sms for report in reports}
    assert store.reports == {report.id_sms: report for report in reports}


def test_the_wsgi_example_refuses_what_it_must() -> None:
    store = Store()
    app = wsgi_statuses.make_app(
        store, token="t0ken", limits=smsstatus.Limits(max_bytes=1000)
    )
    good = smsstatus.encode_xml([StatusReport(1, time=None, state=Status.SEND)])
    hostile = b'<!DOCTYPE r [<!ENTITY a "b">]><response>&a;</response>'
    assert call(app, "POST", "/statuses/wrong", good)[0] == 404
    assert call(app, "POST", "/statuses/t0ken\xe9", good)[0] == 404
    assert call(app, "GET", "/statuses/t0ken")[0] == 405
    assert call(app, "POST", "/statuses/t0ken", hostile)[0] == 400
    assert call(app, "POST", "/statuses/t0ken", b" " * 1001)[0] == 413
    assert call(app, "POST", "/statuses/t0ken", good, CONTENT_LENGTH="x")[0] == 400
    assert store.reports == {}
    status, answer = call(app, "POST", "/statuses/t0ken", good)
    assert (status, smsstatus.decode_ack(answer, "xml")) == (200, (1,))


# --- installing, and a set-up run before the token is exported --------------------

PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md")), *ROOT.glob("examples/*/*.md")]
EXTRAS = set(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
)


def test_install_lines_install_from_the_clone_until_smsstatus_is_published() -> None:
    from_pypi = [
        (path.name, text[max(0, found.start() - 60) : found.end()])
        for path in PAGES
        for text in [path.read_text(encoding="utf-8")]
        for found in re.finditer(r"pip install '?smsstatus\[", text)
    ]
    assert len(from_pypi) >= 2  # the parser still finds them
    assert [hit for hit in from_pypi if "published" not in hit[1]] == []


def test_install_lines_name_extras_that_exist() -> None:
    named = {
        (path.name, extra)
        for path in PAGES
        for found in re.finditer(
            r"(?:\.|smsstatus)\[([a-z,]+)\]'", path.read_text(encoding="utf-8")
        )
        for extra in found.group(1).split(",")
    }
    assert {extra for _, extra in named} >= {"django", "flask", "fastapi", "server"}
    assert [(page, extra) for page, extra in named if extra not in EXTRAS] == []


@pytest.mark.parametrize(
    ("page", "adapter"),
    [
        ("README.md", "smsstatus.flask.blueprint"),
        ("docs/flask.md", "smsstatus.flask.blueprint"),
        ("README.md", "smsstatus.fastapi.router"),
        ("docs/fastapi.md", "smsstatus.fastapi.router"),
    ],
)
def test_a_set_up_without_the_token_says_what_to_set(
    page: str, adapter: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (snippet,) = [
        block.text
        for block in of("python")
        if block.page == Path(page).name and adapter in block.text
    ]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SMSSTATUS_TOKEN", raising=False)
    with pytest.raises(ValueError, match=r"^SMSSTATUS_TOKEN is missing: set it"):
        exec(compile(snippet, page, "exec"), {"__name__": "documented_app"})
