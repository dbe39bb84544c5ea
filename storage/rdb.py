"""Optuna's SQL storage with a heartbeat that outlives a moment without the database.

Optuna records a running trial's heartbeat from a thread that stops for good at the first
storage error. A heartbeat that falls inside a database restart or a network cut would then end
the thread, print its traceback, and leave the trial beating no more: once the grace period had
passed, another worker would fail the still-training trial and queue it again, and its own
worker would lose the result when reporting it. A beat that cannot be written is skipped here;
the next one reconnects (``pool_pre_ping``). Only an outage longer than the grace period then
costs the trial, as it should: its worker may really be gone.
"""

from __future__ import annotations

import optuna
import sqlalchemy.exc

__all__ = ["HeartbeatTolerantRDBStorage"]


class HeartbeatTolerantRDBStorage(optuna.storages.RDBStorage):
    """An `optuna.storages.RDBStorage` whose heartbeat skips a beat the database cannot take."""

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            super().record_heartbeat(trial_id)
        except (optuna.exceptions.StorageInternalError, sqlalchemy.exc.SQLAlchemyError):
            pass  # the next beat, an interval later, tries again
