"""Ask the gateway for statuses: the pull status request, and recovery with it.

The gateway pushes each status 5 times at most; a status whose every attempt met a
receiver that was down, slow or broken is gone from the push channel.  The gateway
also answers a pull request (``POST …/xml/state.php`` or ``…/json/state.php``) with
the latest status of each message asked about, so nothing has to stay lost::

    from smsstatus.pull import Credentials, recover

    credentials = Credentials(login="my-login", password=os.environ["SMS_PASSWORD"])
    ids = table.pending(connection, older_than=timedelta(hours=1))
    recover(ids, credentials, lambda reports: table.save(connection, reports))

`state_request` and `decode_state_answer` are the request and the answer without I/O;
`fetch_states` does the HTTP with the standard library; `recover` hands what it
fetched to the same ``store`` callable `smsstatus.receive_batch` uses.  No password or
token is ever logged, shown in a repr or put in an exception.
"""

from __future__ import annotations

from ._answer import (
    Answer,
    Detail,
    GatewayRefused,
    GatewayUnavailable,
    decode_state_answer,
)
from ._fetch import DEFAULT_BASE_URL, fetch_states
from ._recover import Recovery, recover
from ._request import Credentials, StateRequest, state_request

__all__ = [
    "DEFAULT_BASE_URL",
    "Answer",
    "Credentials",
    "Detail",
    "GatewayRefused",
    "GatewayUnavailable",
    "Recovery",
    "StateRequest",
    "decode_state_answer",
    "fetch_states",
    "recover",
    "state_request",
]
