"""Running the receiver on uvicorn: workers, logging, metrics and signals.

Strategy.  `run` prepares the process environment every worker inherits (the
settings, a fresh directory for the multiprocess metrics) and hands the rest to
`uvicorn.run`, which with ``workers > 1`` supervises that many spawned processes,
each building its `Receiver` with `application` (an app factory).  uvicorn's own
shutdown is the graceful one we want, on SIGTERM and SIGINT alike: stop accepting,
let in-flight requests finish (bounded by `_GRACE`), run the lifespan shutdown.  When
it is done uvicorn raises the signal it caught once more, for whoever handled it
before; here that is a handler that does nothing, so the command exits 0.  The access
log goes through `smsstatus.RedactToken`, so no log line holds the token.
"""

from __future__ import annotations

import copy
import logging.config
import os
import shutil
import signal
import tempfile
from collections.abc import Callable
from typing import Any

from ._loop import RecoveryLoop
from ._recovery import Pass
from ._settings import Settings

__all__ = ["application", "run"]

# Seconds in-flight requests get to finish after SIGTERM or SIGINT.
_GRACE = 30
_METRICS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


def application() -> Any:
    """The worker's ASGI application (uvicorn's app factory): a `Receiver` on the
    settings the command left in the environment, with the server's metrics."""
    from . import _metrics
    from ._app import Receiver

    return Receiver(
        Settings.from_environment(),
        token=os.environ.get("SMSSTATUS_TOKEN"),
        metrics=_metrics.enable(),
    )


def run(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    recovery: Callable[[], Pass | None] | None = None,
    recover_every: float = 0.0,
) -> None:
    """Serve `settings`' ledger on `host`:`port` with `workers` processes until
    SIGTERM or SIGINT; with `recovery`, run it every `recover_every` seconds."""
    import uvicorn

    metrics = tempfile.mkdtemp(prefix="smsstatus-metrics-")
    os.environ[_METRICS_DIRECTORY] = metrics  # before prometheus_client is imported
    settings.to_environment()
    logging.config.dictConfig(_logging())  # uvicorn applies it again in each worker
    loop = None
    previous = {sig: signal.signal(sig, _ignore) for sig in _SIGNALS}
    try:
        if recovery is not None:
            from ._metrics import recovery_counters

            loop = RecoveryLoop(
                recovery, every=recover_every, counters=recovery_counters()
            )
            loop.start()
        uvicorn.run(
            "smsstatus.serve._run:application",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=_logging(),
            lifespan="on",
            timeout_graceful_shutdown=_GRACE,
            server_header=False,
        )
    finally:
        if loop is not None:
            loop.stop(timeout=_GRACE)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(metrics, ignore_errors=True)


_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _ignore(signum: int, frame: Any) -> None:
    """uvicorn re-raises the signal that stopped it once it has stopped: by then
    there is nothing left to do but return."""


def _logging() -> dict[str, Any]:
    """uvicorn's logging configuration, with the token redacted from the access log
    and the library's loggers (``smsstatus.*``) at INFO on stderr."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"token": {"()": "smsstatus.RedactToken"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["token"]
    config["loggers"]["smsstatus"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config
