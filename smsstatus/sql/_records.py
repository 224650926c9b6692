"""What the ledger's methods take and give back: plain frozen attrs classes.

Strategy.  Values only, no behaviour and no database: the dialects and the table
build them from rows, the application builds `Sent`.  Times here are the database's
clock, aware and in UTC (the report's own time stays as `StatusReport` has it).
"""

from __future__ import annotations

from datetime import datetime

import attrs

from smsstatus._model import Format, StatusReport

__all__ = ["Change", "Event", "Pruned", "Rejected", "Sent", "Update", "Webhook"]

_MAX_TAG = 64  # the column is varchar(64)


def _check_tag(
    instance: object, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > _MAX_TAG):
        raise ValueError(
            f"tag must be a str of at most {_MAX_TAG} characters, not {value!r}"
        )


@attrs.frozen
class Sent:
    """A message the application has sent: the `id_sms` the gateway gave it, when it
    was sent (None: the database's clock when it is registered; a naive time is
    read as UTC), and an optional `tag` of at most 64 characters (a campaign, a
    template: the application's own label), else `ValueError`."""

    id_sms: int
    sent_at: datetime | None = None
    tag: str | None = attrs.field(default=None, validator=_check_tag)


@attrs.frozen
class Event:
    """One status a message went through, as the history keeps it: the `report`,
    when it arrived (`received_at`, the database's clock, aware UTC), how (`source`:
    ``"push"`` for a webhook, ``"pull"`` for recovery) and the `Webhook` row that
    brought it (`webhook_id`, None for what did not come by `StatusTable.receive`)."""

    report: StatusReport
    received_at: datetime
    source: str
    webhook_id: int | None


@attrs.frozen
class Webhook:
    """One POST the gateway made, as `StatusTable.receive` logged it.

    `format` is the one sniffed (even for a refused body), None when it could not
    be told; `size` and `sha256` describe the body as received; `code` is the HTTP
    status answered; `reports` the document's valid reports, `taken` the distinct ids
    acknowledged, `rejected` its per-item errors; `refused` the `DecodeError`'s
    message of a refused document; `body` the body when it was kept."""

    id: int
    received_at: datetime
    remote: str | None
    format: Format | None
    size: int
    sha256: str
    code: int
    reports: int
    taken: int
    rejected: int
    refused: str | None
    body: bytes | None = attrs.field(repr=False)


@attrs.frozen
class Rejected:
    """An item of a delivery that was not a valid status (a `~smsstatus.ReportError`),
    kept with its `raw` text, and acknowledged."""

    id: int
    webhook_id: int | None
    id_sms: int | None
    reason: str
    raw: str
    received_at: datetime


@attrs.frozen
class Pruned:
    """How many rows `StatusTable.prune` deleted from each table."""

    events: int
    webhooks: int
    rejected: int


@attrs.frozen
class Change:
    """One row that `StatusTable.update` inserted (`previous` is None) or replaced
    (`previous` is the report it held)."""

    report: StatusReport
    previous: StatusReport | None


@attrs.frozen
class Update:
    """What `StatusTable.update` did: the ids it took (what `StatusTable.save`
    returns) and the rows it changed, in the order of the ids' first appearance."""

    taken: frozenset[int]
    changes: tuple[Change, ...]
