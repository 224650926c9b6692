"""`recover`: fetch the statuses the push channel gave up on, and store them.

Strategy.  Recovery is the pull request plus the application's own `store`, the very
callable it gives `receive_batch`, called the same way: once per answer with the
reports collapsed to one per id.  The ids go one chunk at a time, each chunk fetched
and then stored before the next is asked for, so when the gateway fails half-way the
statuses already fetched are kept and the rest stay pending for the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import tzinfo

import attrs

from smsstatus._collapse import collapse
from smsstatus._model import Format, StatusReport
from smsstatus._receive import _is_async, _store_offered

from ._answer import Answer
from ._fetch import DEFAULT_BASE_URL, fetch_states, merge_answers
from ._request import Credentials, unique_ids

__all__ = ["Recovery", "recover"]

Store = Callable[[tuple[StatusReport, ...]], "Iterable[int] | None"]


@attrs.frozen
class Recovery:
    """What `recover` did: the ids it `asked` about, the gateway's whole `answer`,
    the ids whose reports `store` `taken`, and the asked ids the answer held no
    report for (`unanswered`: unknown to the gateway, or a bad item, which is in
    ``answer.batch.errors``)."""

    asked: tuple[int, ...]
    answer: Answer
    taken: frozenset[int]

    @property
    def unanswered(self) -> frozenset[int]:
        """The asked ids without a report in the answer."""
        answered = {report.id_sms for report in self.answer.batch.reports}
        return frozenset(self.asked) - answered


def recover(
    ids: Iterable[int],
    credentials: Credentials,
    store: Store,
    *,
    base_url: str = DEFAULT_BASE_URL,
    format: Format | str = "xml",
    timeout: float = 30.0,
    chunk_size: int = 100,
    tz: tzinfo | None = None,
) -> Recovery:
    """Fetch the latest status of each of `ids` with `fetch_states` and hand the
    reports to `store`, exactly as `receive_batch` would: one call per answer, with
    one report per id (the furthest along).

    With `smsstatus.sql`, ``lambda reports: table.save(connection, reports,
    source="pull")`` stores them as pulled statuses in the history.  `store`
    returns the ids it took, or None for all; one that raises or returns
    something else takes nothing (logged).  Nothing is lost either way: an id not
    taken is still pending, and the next run asks again.  The exceptions of
    `fetch_states` propagate, after the chunks already answered were stored.
    """
    if _is_async(store):
        raise TypeError("recover() calls store synchronously; give it a plain function")
    wanted = unique_ids(ids)
    if type(chunk_size) is not int or chunk_size < 1:
        raise ValueError(f"chunk_size must be an int >= 1, not {chunk_size!r}")
    answers: list[Answer] = []
    taken: set[int] = set()
    for at in range(0, len(wanted), chunk_size):
        answer = fetch_states(
            wanted[at : at + chunk_size],
            credentials,
            base_url=base_url,
            format=format,
            timeout=timeout,
            chunk_size=chunk_size,
            tz=tz,
        )
        answers.append(answer)
        taken |= _store(store, answer.batch.reports)
    answer = merge_answers(answers, answers[0].batch.format)
    return Recovery(tuple(wanted), answer, frozenset(taken))


def _store(store: Store, reports: Iterable[StatusReport]) -> frozenset[int]:
    """What `receive_batch` does with a document's reports, with the same helpers."""
    collapsed = collapse(reports)
    if not collapsed:
        return frozenset()
    return frozenset(_store_offered(store, tuple(collapsed.values()), collapsed.keys()))
