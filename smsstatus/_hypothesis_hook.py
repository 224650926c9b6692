"""The ``hypothesis`` entry point: teaches ``st.from_type`` about `StatusReport`.

Hypothesis runs `_hypothesis_setup_hook` while it is itself being imported, so this
module must not import Hypothesis or `smsstatus.strategies` at its top: the strategy
is resolved on first use, when both are fully imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._model import StatusReport

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy


def _status_reports(_: type[StatusReport]) -> SearchStrategy[StatusReport]:
    from .strategies import status_reports

    return status_reports()


def _hypothesis_setup_hook() -> None:
    """Register `smsstatus.strategies.status_reports` for `StatusReport`."""
    from hypothesis import strategies as st

    st.register_type_strategy(StatusReport, _status_reports)
