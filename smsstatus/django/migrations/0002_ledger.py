"""0.3: the ledger.  The tables are made and upgraded by `StatusTable.create` (the
layout is defined once, in ``smsstatus.sql``): the latest-status table gains its
0.3 columns, keeping its rows, and the event, webhook and rejected-item tables are
made.  0.2's ``smsstatus_rejecteditem`` rows move into ``smsstatus_delivery_rejected``
(a repeat of the same item for the same id kept once, the oldest), then the old
table is dropped.  The state operations tell Django what the models now describe.
"""

import hashlib
from typing import Any

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from smsstatus.sql import StatusTable

_OLD = "smsstatus_rejecteditem"


def create_the_ledger(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        # Inside the migration's transaction: StatusTable joins it.
        StatusTable().create(connection.connection)
        cursor.execute(f"SELECT id, raw FROM {_OLD} ORDER BY received_at, id")
        digests = [
            (hashlib.sha256(raw.encode("utf-8")).hexdigest(), id_)
            for id_, raw in cursor.fetchall()
        ]
        # Oldest first, so that of repeated items (same id_sms, same raw) the
        # oldest is the one kept.  The times are copied by the database, as stored.
        cursor.executemany(
            "INSERT INTO smsstatus_delivery_rejected"
            " (webhook_id, id_sms, reason, raw, received_at, raw_sha256)"
            f" SELECT NULL, id_sms, reason, raw, received_at, %s FROM {_OLD}"
            " WHERE id = %s ON CONFLICT DO NOTHING",
            digests,
        )
        cursor.execute(f"DROP TABLE {_OLD}")


class Migration(migrations.Migration):
    dependencies = [
        ("smsstatus", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(create_the_ledger)],
            state_operations=[
                migrations.CreateModel(
                    name="Webhook",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("received_at", models.DateTimeField()),
                        (
                            "remote",
                            models.CharField(
                                help_text="The peer address the receiver saw.",
                                max_length=255,
                                null=True,
                            ),
                        ),
                        (
                            "format",
                            models.CharField(
                                choices=[("xml", "xml"), ("json", "json")],
                                max_length=4,
                                null=True,
                            ),
                        ),
                        (
                            "size",
                            models.BigIntegerField(help_text="Bytes of the body."),
                        ),
                        ("sha256", models.CharField(max_length=64)),
                        (
                            "code",
                            models.IntegerField(help_text="The HTTP status answered."),
                        ),
                        (
                            "reports",
                            models.IntegerField(
                                help_text="Valid reports in the document."
                            ),
                        ),
                        (
                            "taken",
                            models.IntegerField(help_text="Distinct ids acknowledged."),
                        ),
                        (
                            "rejected",
                            models.IntegerField(
                                help_text="Items that were not valid statuses."
                            ),
                        ),
                        (
                            "refused",
                            models.TextField(
                                help_text="Why the document was refused (400).",
                                null=True,
                            ),
                        ),
                        (
                            "body",
                            models.BinaryField(
                                help_text="Kept when refused or with rejected items, or always with SMSSTATUS_KEEP_BODIES.",
                                null=True,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "smsstatus_delivery_webhook",
                        "ordering": ("-id",),
                    },
                ),
                migrations.AddField(
                    model_name="delivery",
                    name="final_at",
                    field=models.DateTimeField(
                        help_text="When its first final status came.", null=True
                    ),
                ),
                migrations.AddField(
                    model_name="delivery",
                    name="seen_at",
                    field=models.DateTimeField(
                        help_text="First seen: when sent, else its first status.",
                        null=True,
                    ),
                ),
                migrations.AddField(
                    model_name="delivery",
                    name="sent_at",
                    field=models.DateTimeField(
                        help_text="When the application sent it (register_sent).",
                        null=True,
                    ),
                ),
                migrations.AddField(
                    model_name="delivery",
                    name="tag",
                    field=models.CharField(
                        help_text="The application's label (campaign, template), from register_sent.",
                        max_length=64,
                        null=True,
                    ),
                ),
                migrations.AddField(
                    model_name="rejecteditem",
                    name="raw_sha256",
                    field=models.CharField(
                        default="", help_text="The hex digest of raw.", max_length=64
                    ),
                    preserve_default=False,
                ),
                migrations.AlterField(
                    model_name="rejecteditem",
                    name="id_sms",
                    field=models.BigIntegerField(null=True),
                ),
                migrations.AlterField(
                    model_name="rejecteditem",
                    name="received_at",
                    field=models.DateTimeField(default=django.utils.timezone.now),
                ),
                migrations.AlterModelTable(
                    name="rejecteditem",
                    table="smsstatus_delivery_rejected",
                ),
                migrations.CreateModel(
                    name="StatusEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("id_sms", models.BigIntegerField(verbose_name="id_sms")),
                        (
                            "time",
                            models.DateTimeField(
                                help_text="When the gateway says the status changed.",
                                null=True,
                            ),
                        ),
                        (
                            "time_offset",
                            models.IntegerField(
                                help_text="Seconds east of UTC of the gateway's time, if known.",
                                null=True,
                            ),
                        ),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("send", "send"),
                                    ("not_deliver", "not_deliver"),
                                    ("expired", "expired"),
                                    ("deliver", "deliver"),
                                    ("read", "read"),
                                    ("partly_deliver", "partly_deliver"),
                                ],
                                max_length=14,
                            ),
                        ),
                        (
                            "sms",
                            models.CharField(
                                choices=[
                                    ("send", "send"),
                                    ("not_deliver", "not_deliver"),
                                    ("expired", "expired"),
                                    ("deliver", "deliver"),
                                    ("read", "read"),
                                    ("partly_deliver", "partly_deliver"),
                                ],
                                max_length=14,
                                null=True,
                            ),
                        ),
                        (
                            "viber",
                            models.CharField(
                                choices=[
                                    ("send", "send"),
                                    ("not_deliver", "not_deliver"),
                                    ("expired", "expired"),
                                    ("deliver", "deliver"),
                                    ("read", "read"),
                                    ("partly_deliver", "partly_deliver"),
                                ],
                                max_length=14,
                                null=True,
                            ),
                        ),
                        ("received_at", models.DateTimeField()),
                        (
                            "source",
                            models.CharField(
                                choices=[("push", "push"), ("pull", "pull")],
                                help_text="push: a webhook; pull: recovery.",
                                max_length=4,
                            ),
                        ),
                        (
                            "webhook",
                            models.ForeignKey(
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="smsstatus.webhook",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "status event",
                        "db_table": "smsstatus_delivery_event",
                        "ordering": ("-received_at", "-id"),
                    },
                ),
                migrations.AddField(
                    model_name="rejecteditem",
                    name="webhook",
                    field=models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="smsstatus.webhook",
                    ),
                ),
            ],
        ),
    ]
