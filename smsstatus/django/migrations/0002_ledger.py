"""The 0.3 ledger's tables and columns, made by `smsstatus.sql.StatusTable.create`
(interim: the Django app's full migration, with the models' state, replaces it)."""

from typing import Any

from django.db import migrations


def _create(apps: Any, schema_editor: Any) -> None:
    from smsstatus.sql import StatusTable

    schema_editor.connection.ensure_connection()
    StatusTable().create(schema_editor.connection.connection)


class Migration(migrations.Migration):
    dependencies = [("smsstatus", "0001_initial")]

    operations = [migrations.RunPython(_create, migrations.RunPython.noop)]
