"""smsstatus.sql: the ledger (`register`, the history, `receive`, `webhooks`,
`rejected`, `pending(limit=)`, `prune`, the 0.2 upgrade) on SQLite and on a real
PostgreSQL server.

Every test that takes `connection` runs on both (see conftest.py).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from smsstatus import (
    Format,
    Limits,
    Status,
    StatusReport,
    _observe,
    encode_json,
    encode_xml,
)
from smsstatus.sql import (
    Change,
    Event,
    Pruned,
    Rejected,
    Sent,
    StatusTable,
    Webhook,
    _ledger,
)
from smsstatus.testing._simulator import encode_document

T = datetime(2026, 11, 26, 9, 14, 2)
UTC = timezone.utc
BAD = '<state id_sms="{}" time="2026-02-30 10:00:00">deliver</state>'


def report(id_sms: int, state: Status, time: datetime | None = T, **legs: Status):
    return StatusReport(id_sms, time=time, state=state, **legs)


def kind(connection: Any) -> str:
    return "sqlite" if isinstance(connection, sqlite3.Connection) else "postgresql"


def sql(connection: Any, statement: str, *parameters: Any) -> list[Any]:
    """Rows of a statement written with ``%s`` placeholders, committed."""
    if kind(connection) == "sqlite":
        statement = statement.replace("%s", "?")
    cursor = connection.execute(statement, parameters)
    rows = cursor.fetchall() if cursor.description else []
    connection.commit()
    return rows


def clock(connection: Any, value: Any) -> datetime | None:
    """A time column of the database's clock as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def facts(connection: Any, id_sms: int, table: str = "smsstatus_delivery") -> dict:
    """The 0.3 columns of a latest row, and its changed_at."""
    (row,) = sql(
        connection,
        f"SELECT sent_at, tag, seen_at, final_at, changed_at FROM {table}"
        " WHERE id_sms = %s",
        id_sms,
    )
    names = ("sent_at", "tag", "seen_at", "final_at", "changed_at")
    return {
        name: value if name == "tag" else clock(connection, value)
        for name, value in zip(names, row, strict=True)
    }


def count(connection: Any, table: str) -> int:
    ((found,),) = sql(connection, f"SELECT count(*) FROM {table}")
    return found


def reports_of(events: list[Event]) -> list[StatusReport]:
    return [event.report for event in events]


def in_transaction(connection: Any) -> bool:
    if kind(connection) == "sqlite":
        return connection.in_transaction
    return connection.info.transaction_status.name != "IDLE"


@pytest.fixture
def table(connection: Any) -> StatusTable:
    table = StatusTable()
    table.create(connection)
    return table


# --- records and names --------------------------------------------------------------


def test_a_tag_over_64_characters_is_refused_when_the_sent_is_made() -> None:
    assert Sent(1, tag="t" * 64).tag == "t" * 64
    with pytest.raises(ValueError, match="64"):
        Sent(1, tag="t" * 65)
    with pytest.raises(ValueError, match="64"):
        Sent(1, tag=7)  # type: ignore[arg-type]


def test_the_derived_names_follow_the_identifier_rule() -> None:
    with pytest.raises(ValueError, match="_rejected"):
        StatusTable("a" * 55)
    table = StatusTable("a" * 54, history=False)
    assert table.name == "a" * 54
    assert not table.history_kept
    assert repr(table) == f"StatusTable({'a' * 54!r}, history=False)"


# --- create and the upgrade from 0.2 ------------------------------------------------

_V02 = (
    "CREATE TABLE smsstatus_delivery (id_sms bigint NOT NULL PRIMARY KEY,"
    " time {ts} NULL, time_offset integer NULL, state varchar(14) NOT NULL,"
    " sms varchar(14) NULL, viber varchar(14) NULL, changed_at {ts} NOT NULL)"
)


def test_create_makes_every_table_and_is_idempotent(connection) -> None:
    table = StatusTable()
    table.create(connection)
    table.create(connection)
    for name in ("", "_event", "_webhook", "_rejected"):
        assert count(connection, f"smsstatus_delivery{name}") == 0
    StatusTable("quiet", history=False).create(connection)
    with pytest.raises(Exception, match="quiet_event"):
        sql(connection, "SELECT count(*) FROM quiet_event")
    if kind(connection) == "postgresql":
        connection.rollback()


def test_create_upgrades_a_02_table_in_place_keeping_its_rows(connection) -> None:
    ts = "datetime" if kind(connection) == "sqlite" else "timestamp with time zone"
    sql(connection, _V02.format(ts=ts))
    changed = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    stamp: Any = changed
    if kind(connection) == "sqlite":
        stamp = "2026-11-20 08:00:00.000000"
    for id_sms, state in ((1, "deliver"), (2, "read")):
        sql(
            connection,
            "INSERT INTO smsstatus_delivery (id_sms, time, time_offset, state,"
            " changed_at) VALUES (%s, NULL, NULL, %s, %s)",
            id_sms,
            state,
            stamp,
        )
    table = StatusTable()
    table.create(connection)
    table.create(connection)  # idempotent on the upgraded table too
    assert table.load(connection, [1, 2]) == {
        1: report(1, Status.DELIVER, None),
        2: report(2, Status.READ, None),
    }
    assert facts(connection, 1) == {
        "sent_at": None,
        "tag": None,
        "seen_at": changed,  # first seen at its last change
        "final_at": None,
        "changed_at": changed,
    }
    assert facts(connection, 2)["final_at"] == changed
    # The upgraded table takes 0.3's writes.
    assert table.save(connection, [report(1, Status.READ)]) == {1}
    assert facts(connection, 1)["seen_at"] == changed
    assert facts(connection, 1)["final_at"] > changed
    assert reports_of(table.history(connection, 1)) == [report(1, Status.READ)]


# --- register ------------------------------------------------------------------------


def test_register_makes_a_send_row_without_a_time(connection, table) -> None:
    sent = datetime(2026, 11, 26, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    taken = table.register(connection, [Sent(1, sent, "otp"), 2, Sent(3, T)])
    assert taken == {1, 2, 3}
    assert not in_transaction(connection)
    assert table.load(connection, [1, 2, 3]) == {
        i: report(i, Status.SEND, None) for i in (1, 2, 3)
    }
    one = facts(connection, 1)
    assert one["sent_at"] == sent == one["seen_at"]
    assert one["tag"] == "otp"
    assert facts(connection, 3)["sent_at"] == T.replace(tzinfo=UTC)  # naive: UTC
    two = facts(connection, 2)
    assert two["sent_at"] == two["seen_at"] == two["changed_at"]  # the clock
    assert two["tag"] is None
    assert table.history(connection, 1) == []  # a registration is not a status


def test_the_first_registration_wins_field_by_field(connection, table) -> None:
    first = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    table.register(connection, [Sent(1, first), Sent(1, first + timedelta(1), "a")])
    assert facts(connection, 1)["sent_at"] == first
    assert facts(connection, 1)["tag"] == "a"
    table.register(connection, [Sent(1, first - timedelta(1), "b")])
    assert facts(connection, 1)["sent_at"] == first
    assert facts(connection, 1)["tag"] == "a"
    before = facts(connection, 1)["changed_at"]
    table.register(connection, [1])  # nothing new: not a change
    assert facts(connection, 1)["changed_at"] == before


def test_register_keeps_the_state_of_a_known_message(connection, table) -> None:
    table.save(connection, [report(1, Status.DELIVER)])
    seen = facts(connection, 1)["seen_at"]
    sent = seen - timedelta(minutes=5)
    # SQLite's clock counts milliseconds: let it move past the save's.
    time.sleep(0.01)
    assert table.register(connection, [Sent(1, sent, "promo")]) == {1}
    assert table.load(connection, [1]) == {1: report(1, Status.DELIVER)}
    after = facts(connection, 1)
    assert after["seen_at"] == sent  # first seen: when it was sent
    assert after["tag"] == "promo"
    assert after["changed_at"] > seen  # a change of the row, for pending


def test_a_status_after_the_registration_keeps_the_registered_facts(
    connection, table
) -> None:
    sent = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    table.register(connection, [Sent(1, sent, "otp")])
    table.save(connection, [report(1, Status.SEND, None), report(1, Status.READ)])
    row = facts(connection, 1)
    assert (row["sent_at"], row["seen_at"], row["tag"]) == (sent, sent, "otp")
    assert row["final_at"] == row["changed_at"]


def test_ids_a_table_cannot_hold_are_not_registered(connection, table, caplog):
    with caplog.at_level(logging.WARNING, logger="smsstatus"):
        assert table.register(connection, [2**63, -1, 5]) == {5}
    assert "9223372036854775808" in caplog.text
    assert table.register(connection, []) == frozenset()


# --- the history ---------------------------------------------------------------------


def test_save_appends_each_distinct_report_once(connection, table) -> None:
    late = report(1, Status.DELIVER, T + timedelta(seconds=5))
    read = report(1, Status.READ, T + timedelta(seconds=9))
    send = report(1, Status.SEND, None)
    table.save(connection, [read, send, read])
    table.save(connection, [late, send])  # a late deliver after read is history too
    table.save(connection, [late, read])  # repeats add nothing
    assert table.load(connection, [1]) == {1: read}
    events = table.history(connection, 1)
    assert reports_of(events) == [send, late, read]  # no time first, then by time
    assert {event.source for event in events} == {"push"}
    assert {event.webhook_id for event in events} == {None}
    assert all(event.received_at.tzinfo is UTC for event in events)


def test_history_orders_equal_times_by_progress_then_arrival(connection, table):
    table.save(connection, [report(1, Status.READ)])
    table.save(connection, [report(1, Status.DELIVER)])
    table.save(connection, [report(1, Status.EXPIRED)])
    assert [e.report.state for e in table.history(connection, 1)] == [
        Status.DELIVER,
        Status.READ,
        Status.EXPIRED,
    ]


def test_an_aware_time_is_one_report_whatever_its_offset(connection, table) -> None:
    utc = report(1, Status.DELIVER, datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    moscow = report(1, Status.DELIVER, utc.time.astimezone(ZoneInfo("Europe/Moscow")))
    naive = report(1, Status.DELIVER, datetime(2026, 11, 26, 9, 0))
    table.save(connection, [utc])
    table.save(connection, [moscow, naive])
    assert reports_of(table.history(connection, 1)) == [utc, naive]  # by arrival


def test_the_legs_make_reports_distinct(connection, table) -> None:
    sms = report(1, Status.DELIVER, sms=Status.DELIVER)
    viber = report(1, Status.DELIVER, viber=Status.NOT_DELIVER, sms=Status.DELIVER)
    table.save(connection, [report(1, Status.DELIVER), sms, viber, viber])
    assert len(table.history(connection, 1)) == 3


def test_pulled_statuses_are_marked_pull(connection, table) -> None:
    table.save(connection, [report(1, Status.DELIVER)], source="pull")
    table.update(connection, [report(1, Status.READ)], source="pull")
    table.update(connection, [report(1, Status.READ)])
    assert [e.source for e in table.history(connection, 1)] == ["pull", "pull"]
    with pytest.raises(ValueError, match="push"):
        table.save(connection, [report(1, Status.READ)], source="webhook")


def test_update_appends_history_and_tells_the_changes(connection, table) -> None:
    table.save(connection, [report(1, Status.SEND, None)])
    update = table.update(
        connection,
        [
            report(1, Status.DELIVER),
            report(2, Status.SEND, None),
            report(1, Status.SEND, None),
        ],
    )
    assert update.taken == {1, 2}
    assert update.changes == (
        Change(report(1, Status.DELIVER), report(1, Status.SEND, None)),
        Change(report(2, Status.SEND, None), None),
    )
    assert len(table.history(connection, 1)) == 2
    assert len(table.history(connection, 2)) == 1


def test_without_history_nothing_is_appended(connection) -> None:
    table = StatusTable("quiet", history=False)
    table.create(connection)
    assert table.save(connection, [report(1, Status.DELIVER)]) == {1}
    table.receive(connection, encode_xml([report(2, Status.READ)]))
    assert table.load(connection, [1, 2]) == {
        1: report(1, Status.DELIVER),
        2: report(2, Status.READ),
    }
    with pytest.raises(ValueError, match="history=False"):
        table.history(connection, 1)
    assert table.prune(connection, older_than=timedelta(0)).events == 0


def test_history_of_an_unknown_or_impossible_id_is_empty(connection, table):
    assert table.history(connection, 5) == []
    assert table.history(connection, 2**63) == []


def test_seen_and_final_are_set_once(connection, table) -> None:
    table.save(connection, [report(1, Status.SEND, None)])
    first = facts(connection, 1)
    assert first["seen_at"] == first["changed_at"]
    assert first["final_at"] is None
    table.save(connection, [report(1, Status.DELIVER)])
    table.save(connection, [report(1, Status.READ)])
    final = facts(connection, 1)
    assert final["seen_at"] == first["seen_at"]
    assert final["final_at"] == final["changed_at"] > first["changed_at"]
    table.save(connection, [report(1, Status.EXPIRED)])  # final already: no change
    assert facts(connection, 1) == final


# --- receive -------------------------------------------------------------------------


def test_receive_stores_the_reports_history_and_the_webhook(connection, table):
    reports = [
        report(1, Status.SEND, None),
        report(1, Status.DELIVER),
        report(2, Status.READ),
        report(1, Status.SEND, None),
    ]
    body = encode_xml(reports)
    ack = table.receive(connection, body, remote="203.0.113.7")
    assert ack.status == 200
    assert ack.ids == (1, 2)
    assert not in_transaction(connection)
    assert table.load(connection, [1, 2]) == {1: reports[1], 2: reports[2]}
    (webhook,) = table.webhooks(connection)
    assert webhook == Webhook(
        id=webhook.id,
        received_at=webhook.received_at,
        remote="203.0.113.7",
        format=Format.XML,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        code=200,
        reports=4,
        taken=2,
        rejected=0,
        refused=None,
        body=None,  # nothing went wrong: not kept
    )
    assert webhook.received_at.tzinfo is UTC
    events = table.history(connection, 1)
    assert reports_of(events) == reports[:2]
    assert {event.webhook_id for event in events} == {webhook.id}
    # The same body again: acknowledged, logged, and nothing else.
    assert table.receive(connection, body).ids == (1, 2)
    assert len(table.history(connection, 1)) == 2
    assert len(table.webhooks(connection)) == 2


def test_receive_keeps_the_body_when_asked(connection, table) -> None:
    body = encode_json([report(1, Status.READ)]).decode()  # a str body too
    table.receive(connection, body, keep_body=True)
    (webhook,) = table.webhooks(connection)
    assert webhook.body == body.encode()
    assert webhook.format is Format.JSON
    assert webhook.size == len(body.encode())


def test_bad_items_are_kept_acknowledged_and_deduplicated(connection, table) -> None:
    body = encode_document(
        Format.XML, [report(1, Status.READ), BAD.format(7), BAD.format(7), "<state/>"]
    )
    ack = table.receive(connection, body)
    assert ack.ids == (1, 7)
    (webhook,) = table.webhooks(connection)
    assert (webhook.reports, webhook.taken, webhook.rejected) == (1, 2, 3)
    assert webhook.body == body  # kept: it had rejected items
    rejected = sorted(table.rejected(connection), key=lambda r: r.raw)
    assert [(r.id_sms, r.raw) for r in rejected] == [
        (7, BAD.format(7)),
        (None, "<state/>"),
    ]
    assert all(r.webhook_id == webhook.id for r in rejected)
    assert all(r.received_at == webhook.received_at for r in rejected)
    assert "time" in rejected[0].reason
    assert table.receive(connection, body).ids == (1, 7)  # a repeat adds no row
    assert len(table.rejected(connection)) == 2
    assert table.webhooks(connection)[0].rejected == 3


def test_a_refused_document_is_logged_with_its_body_and_nothing_else(
    connection, table
) -> None:
    for body, format in ((b"<response><state", Format.XML), (b"nonsense", None)):
        ack = table.receive(connection, body, remote="::1")
        assert ack.status == 400
        assert ack.ids == ()
        webhook = table.webhooks(connection, limit=1)[0]
        assert (webhook.code, webhook.format, webhook.body) == (400, format, body)
        assert webhook.refused
        assert (webhook.reports, webhook.taken, webhook.rejected) == (0, 0, 0)
    assert count(connection, "smsstatus_delivery") == 0
    assert count(connection, "smsstatus_delivery_event") == 0


def test_a_body_over_the_limit_is_never_kept(connection, table) -> None:
    body = encode_xml([report(i, Status.READ) for i in range(1, 40)])
    ack = table.receive(connection, body, limits=Limits(max_bytes=len(body) - 1))
    assert ack.status == 400
    (webhook,) = table.webhooks(connection)
    assert webhook.body is None
    assert webhook.size == len(body)
    ack = table.receive(
        connection, body, keep_body=True, limits=Limits(max_bytes=len(body))
    )
    assert ack.status == 200
    assert table.webhooks(connection)[0].body == body


def test_an_id_the_table_cannot_hold_is_not_acknowledged(connection, table) -> None:
    far = report(1, Status.READ, datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))
    body = encode_document(
        Format.XML,
        [
            report(2**63, Status.READ),
            report(1, Status.SEND, None),
            report(3, Status.READ),
        ],
    )
    ack = table.receive(connection, body)
    assert ack.ids == (1, 3)
    assert table.save(connection, [far, report(1, Status.DELIVER)]) == frozenset()
    assert table.load(connection, [1]) == {1: report(1, Status.SEND, None)}
    assert table.webhooks(connection)[0].taken == 2


def test_a_database_error_propagates_and_writes_nothing(connection, table) -> None:
    watched: list[_observe.Document] = []
    _observe.SINKS.append(watched.append)
    try:
        sql(connection, "DROP TABLE smsstatus_delivery_event")
        with pytest.raises(Exception, match="smsstatus_delivery_event"):
            table.receive(connection, encode_xml([report(1, Status.READ)]))
        assert not in_transaction(connection)
        sql(connection, "DROP TABLE smsstatus_delivery_webhook")
        with pytest.raises(Exception, match="smsstatus_delivery_webhook"):
            table.receive(connection, b"nonsense")
    finally:
        _observe.SINKS.remove(watched.append)
    assert [(d.code, d.taken) for d in watched] == [(503, ()), (503, ())]
    assert watched[0].batch is not None
    assert watched[1].batch is None
    assert count(connection, "smsstatus_delivery") == 0
    table.create(connection)
    assert table.webhooks(connection) == []


def test_the_observation_hook_hears_every_document(connection, table) -> None:
    watched: list[_observe.Document] = []
    _observe.SINKS.append(watched.append)
    bodies = [encode_xml([report(4, Status.READ)]), b"nonsense"]
    try:
        for body in bodies:
            table.receive(connection, body)
    finally:
        _observe.SINKS.remove(watched.append)
    assert [(d.code, d.taken, d.format) for d in watched] == [
        (200, (4,), Format.XML),
        (400, (), None),
    ]
    # The ledger's digest of each body, handed over rather than computed again.
    digests = [hashlib.sha256(body).hexdigest() for body in bodies]
    assert [d.digest for d in watched] == digests
    assert [d.sha256 for d in watched] == digests
    assert [w.sha256 for w in reversed(table.webhooks(connection))] == digests


def test_receive_joins_the_callers_transaction(connection, table) -> None:
    if kind(connection) == "sqlite":
        connection.execute("BEGIN")
    else:
        connection.execute("SELECT 1")
    table.receive(connection, encode_xml([report(1, Status.READ)]))
    assert in_transaction(connection)
    connection.rollback()
    assert table.load(connection, [1]) == {}
    assert table.webhooks(connection) == []


def test_receive_tells_the_changed_rows_when_asked(connection, table) -> None:
    table.save(connection, [report(1, Status.SEND, None), report(2, Status.READ)])
    changes: list[Change] = []
    body = encode_document(
        Format.XML,
        [
            report(1, Status.DELIVER),
            report(2, Status.DELIVER),
            report(3, Status.SEND, None),
            BAD.format(9),
        ],
    )
    assert table.receive(connection, body, changes=changes).ids == (1, 2, 3, 9)
    assert changes == [
        Change(report(1, Status.DELIVER), report(1, Status.SEND, None)),
        Change(report(3, Status.SEND, None), None),
    ]
    assert len(table.history(connection, 2)) == 2
    assert len(table.rejected(connection)) == 1
    assert table.webhooks(connection)[0].taken == 4
    changes.clear()
    table.receive(
        connection, encode_xml([report(3, Status.SEND, None)]), changes=changes
    )
    assert changes == []


# --- webhooks and rejected: newest first, keyset-paged -------------------------------


def test_webhooks_and_rejected_are_paged_newest_first(connection, table) -> None:
    for i in range(5):
        table.receive(connection, encode_document(Format.XML, [BAD.format(i)]))
    hooks = table.webhooks(connection, limit=2)
    assert [h.id for h in hooks] == sorted((h.id for h in hooks), reverse=True)
    older = table.webhooks(connection, limit=2, before_id=hooks[-1].id)
    rest = table.webhooks(connection, before_id=older[-1].id)
    ids = [h.id for h in hooks + older + rest]
    assert len(ids) == 5 == len(set(ids))
    assert ids == sorted(ids, reverse=True)
    items = table.rejected(connection, limit=3)
    assert [r.id_sms for r in items] == [4, 3, 2]
    assert [r.id_sms for r in table.rejected(connection, before_id=items[-1].id)] == [
        1,
        0,
    ]
    assert table.webhooks(connection, limit=0) == []
    assert table.rejected(connection, before_id=2**70)[0].id_sms == 4
    assert isinstance(items[0], Rejected)
    for bad in (-1, None, "3", 1.5):
        with pytest.raises(ValueError, match="limit"):
            table.webhooks(connection, limit=bad)  # type: ignore[arg-type]


# --- pending ------------------------------------------------------------------------


def age(connection: Any, by: timedelta, *ids: int) -> None:
    for id_sms in ids:
        if kind(connection) == "sqlite":
            sql(
                connection,
                "UPDATE smsstatus_delivery SET changed_at ="
                " strftime('%Y-%m-%d %H:%M:%f000', changed_at, ?) WHERE id_sms = ?",
                f"{-by.total_seconds()} seconds",
                id_sms,
            )
        else:
            sql(
                connection,
                "UPDATE smsstatus_delivery SET changed_at = changed_at - %s"
                " WHERE id_sms = %s",
                by,
                id_sms,
            )


def test_pending_lists_registered_messages_oldest_change_first(connection, table):
    table.register(connection, [1, 2, 3])
    table.save(connection, [report(4, Status.DELIVER), report(5, Status.READ)])
    age(connection, timedelta(hours=3), 2)
    age(connection, timedelta(hours=2), 4, 5)
    age(connection, timedelta(hours=1), 3)
    hour = timedelta(minutes=59)
    assert table.pending(connection, hour) == [2, 4, 3]
    assert table.pending(connection, hour, limit=2) == [2, 4]
    assert table.pending(connection, timedelta(0), limit=10) == [2, 4, 3, 1]
    assert table.pending(connection, hour, limit=0) == []
    assert table.pending(connection, timedelta.max) == []
    with pytest.raises(ValueError, match="limit"):
        table.pending(connection, hour, limit=-1)


def test_pulled_statuses_send_their_rows_to_the_back_of_the_queue(connection, table):
    table.register(connection, [1, 2, 3, 4])
    age(connection, timedelta(hours=1), 1, 2, 3, 4)
    hour = timedelta(minutes=30)
    assert table.pending(connection, hour, limit=2) == [1, 2]
    # Recovery's answer for 1 and 2: no news for 1, a new status for 2.
    pulled = [report(1, Status.SEND, None), report(2, Status.DELIVER)]
    assert table.save(connection, pulled, source="pull") == {1, 2}
    assert table.pending(connection, hour, limit=2) == [3, 4]
    assert (
        table.update(connection, [report(3, Status.SEND, None)], source="pull").changes
        == ()
    )
    assert table.pending(connection, hour, limit=2) == [4]
    assert table.pending(connection, timedelta(0)) == [4, 1, 2, 3]
    assert [e.source for e in table.history(connection, 1)] == ["pull"]


# --- prune -------------------------------------------------------------------------


def age_ledger(connection: Any, by: timedelta) -> None:
    for name in ("event", "webhook", "rejected"):
        target = f"smsstatus_delivery_{name}"
        if kind(connection) == "sqlite":
            sql(
                connection,
                f"UPDATE {target} SET received_at ="
                " strftime('%Y-%m-%d %H:%M:%f000', received_at, ?)",
                f"{-by.total_seconds()} seconds",
            )
        else:
            sql(connection, f"UPDATE {target} SET received_at = received_at - %s", by)


def test_prune_deletes_what_is_old_in_batches_and_keeps_the_latest_rows(
    connection, table, monkeypatch
) -> None:
    monkeypatch.setattr(_ledger, "PRUNE_BATCH", 2)
    for i in range(3):
        body = encode_document(
            Format.XML,
            [report(i, Status.SEND, None), report(i, Status.READ), BAD.format(i)],
        )
        table.receive(connection, body)
    age_ledger(connection, timedelta(days=2))
    table.receive(
        connection, encode_document(Format.XML, [report(9, Status.READ), BAD.format(9)])
    )
    assert table.prune(connection, older_than=timedelta(days=3)) == Pruned(0, 0, 0)
    assert table.prune(connection, older_than=timedelta(days=1)) == Pruned(6, 3, 3)
    assert not in_transaction(connection)
    assert table.load(connection, [0, 1, 2, 9]) == {
        i: report(i, Status.READ) for i in (0, 1, 2, 9)
    }
    assert len(table.history(connection, 9)) == 1
    assert [r.id_sms for r in table.rejected(connection)] == [9]
    assert len(table.webhooks(connection)) == 1
    assert table.prune(connection, older_than=timedelta.max) == Pruned(0, 0, 0)


# --- every method refuses other connections -----------------------------------------


@pytest.mark.parametrize("connection", [object(), None])
def test_other_connections_are_refused(connection) -> None:
    table = StatusTable()
    for call in (
        lambda: table.register(connection, [1]),
        lambda: table.receive(connection, b"[]"),
        lambda: table.history(connection, 1),
        lambda: table.webhooks(connection),
        lambda: table.rejected(connection),
        lambda: table.prune(connection, older_than=timedelta(0)),
        lambda: table.pending(connection, timedelta(0), limit=1),
    ):
        with pytest.raises(TypeError, match=r"sqlite3.*psycopg"):
            call()


def test_a_send_that_says_more_replaces_a_bare_one(connection, table) -> None:
    # A registration writes a bare send ("no status yet"); the gateway's own send,
    # with its leg, replaces it, in either order, and is told as a change.
    table.register(connection, [1, 2])
    leg = report(1, Status.SEND, None, sms=Status.SEND)
    changes: list[Change] = []
    body = encode_xml([report(1, Status.SEND, None), leg, report(2, Status.SEND, None)])
    table.receive(connection, body, changes=changes)
    assert changes == [Change(leg, report(1, Status.SEND, None))]
    assert table.load(connection, [1]) == {1: leg}
    assert table.update(connection, [report(1, Status.SEND, None)]).changes == ()
    assert table.load(connection, [1]) == {1: leg}
