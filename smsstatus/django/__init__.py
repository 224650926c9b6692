"""The reusable Django app: receive the gateway's statuses into your database.

Needs the extra ``smsstatus[django]``.  The whole integration::

    # settings.py
    INSTALLED_APPS = [..., "smsstatus.django"]
    SMSSTATUS_TOKEN = "a long random string, at least 32 characters"

    # urls.py
    urlpatterns = [..., path("sms/", include("smsstatus.django.urls"))]

then ``python3 manage.py migrate``, and give the gateway the URL
``https://your.host/sms/statuses/<SMSSTATUS_TOKEN>``.

Strategy: the app owns one table, ``smsstatus_delivery``, with the very layout that
`smsstatus.sql.StatusTable` creates and writes; the migration creates it, the model
`~smsstatus.django.models.Delivery` reads it (and the admin shows it), and the view
writes each batch with one `StatusTable.update` on Django's own connection, so the
rule that a status never goes backwards is applied by the database, in the writing
statement, however many processes receive at once.
"""
