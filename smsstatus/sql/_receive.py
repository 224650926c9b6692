"""`StatusTable.receive`: one delivery, decoded, stored and logged in one transaction.

Strategy.  The acknowledgement is decided before anything is written, by the rules of
`receive_batch` (the same private helpers): every id the table can hold is taken,
and every per-item error is kept, so it is handled too.  That is true only if the
write then succeeds, and the write is one transaction: the latest rows, the history,
the rejected items and the webhook row (whose counts are the `Ack`'s) commit
together or not at all.  When the database fails, the driver's exception propagates
after the rollback, and the receiver answers 503: nothing was acknowledged, so the
gateway sends the document again.  A refused document (400) writes its webhook row
alone.  The observation hook (`smsstatus._observe`) hears of every document once,
503 included.
"""

from __future__ import annotations

import hashlib
from datetime import tzinfo
from typing import Any

from smsstatus._ack import Ack
from smsstatus._body import DEFAULT_LIMITS, Body, sniff_format
from smsstatus._decode import decode
from smsstatus._errors import DecodeError
from smsstatus._model import Format, Limits
from smsstatus._observe import Watch, watch
from smsstatus._receive import _batch_ack, _first_seen, _refused

from ._dialect import MAX_ID, Log, Names, dialect_of
from ._records import Change
from ._rows import rows_of
from ._store import store

__all__ = ["receive"]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def receive(
    names: Names,
    connection: Any,
    body: Body,
    *,
    format: Format | str | None,
    tz: tzinfo | None,
    limits: Limits | None,
    remote: str | None,
    keep_body: bool,
    changes: list[Change] | None,
) -> Ack:
    dialect = dialect_of(connection)
    watching = watch()
    data = (
        body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    )
    max_bytes = (limits or DEFAULT_LIMITS).max_bytes
    try:
        batch = decode(body, format=format, tz=tz, limits=limits)
    except DecodeError as exc:
        sniffed = sniff_format(data[:4096])
        ack = _refused(body, format, exc, None)  # the hook hears of it below
        digest = _sha256(data)
        refused: tuple[Any, ...] = (
            remote,
            None if sniffed is None else sniffed.value,
            len(data),
            digest,
            ack.status,
            0,
            0,
            0,
            str(exc),
            data if len(data) <= max_bytes else None,
        )
        try:
            with dialect.transaction(connection, write=True) as cursor:
                dialect.write(cursor, names, (), Log("push", refused))
        except Exception:
            _done(watching, body, digest, sniffed, 503)
            raise
        _done(watching, body, digest, sniffed, ack.status)
        return ack
    reports = batch.reports
    taken, rows = rows_of(dialect, reports)
    first_seen, _ = _first_seen(reports)
    errors = batch.errors
    ack = _batch_ack(batch, first_seen, taken, [True] * len(errors))
    kept = keep_body or bool(errors)
    digest = _sha256(data)  # the webhook row's, and the hook's (the log line's)
    webhook = (
        remote,
        batch.format.value,
        len(data),
        digest,
        ack.status,
        len(reports),
        len(ack.ids),
        len(errors),
        None,
        data if kept and len(data) <= max_bytes else None,
    )
    rejected = [
        (
            error.id_sms
            if error.id_sms is not None and 0 <= error.id_sms <= MAX_ID
            else None,
            error.reason,
            error.raw,
            _sha256(error.raw.encode("utf-8", "surrogatepass")),
        )
        for error in errors
    ]
    try:
        with dialect.transaction(connection, write=True) as cursor:
            store(
                dialect,
                cursor,
                names,
                reports,
                taken,
                rows,
                Log("push", webhook, rejected),
                changes,
            )
    except Exception:
        _done(watching, body, digest, batch.format, 503, batch)
        raise
    _done(watching, body, digest, batch.format, ack.status, batch, ack.ids)
    return ack


def _done(
    watching: Watch | None,
    body: Body,
    digest: str,
    format: Format | None,
    code: int,
    batch: Any = None,
    taken: tuple[int, ...] = (),
) -> None:
    if watching is not None:
        watching.done(
            body=body,
            format=format,
            code=code,
            batch=batch,
            taken=taken,
            sha256=digest,
        )
