"""``status_changed``: sent after the commit, once for each row a delivery changed.

Receivers get ``sender=Delivery``, ``report`` (the new `~smsstatus.StatusReport`) and
``previous`` (the report the row held, or None for a new row).  Duplicates and
statuses older than the stored one change nothing, so they send nothing.  It is sent
with ``send_robust`` once the data is committed: a failing receiver is logged (logger
``"smsstatus"``) and neither undoes the write nor costs the acknowledgement.
"""

from __future__ import annotations

from django.dispatch import Signal

status_changed = Signal()
