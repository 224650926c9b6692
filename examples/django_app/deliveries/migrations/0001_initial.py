from django.db import migrations, models

STATUS_CHOICES = [
    (status, status)
    for status in (
        "send",
        "not_deliver",
        "expired",
        "deliver",
        "read",
        "partly_deliver",
    )
]


class Migration(migrations.Migration):
    initial = True

    dependencies = []  # noqa: RUF012 (Django's own convention for migrations)

    operations = [  # noqa: RUF012
        migrations.CreateModel(
            name="Delivery",
            fields=[
                ("id_sms", models.BigIntegerField(primary_key=True, serialize=False)),
                ("time", models.DateTimeField(null=True)),
                ("state", models.CharField(choices=STATUS_CHOICES, max_length=16)),
                (
                    "sms",
                    models.CharField(choices=STATUS_CHOICES, max_length=16, null=True),
                ),
                (
                    "viber",
                    models.CharField(choices=STATUS_CHOICES, max_length=16, null=True),
                ),
            ],
        ),
    ]
