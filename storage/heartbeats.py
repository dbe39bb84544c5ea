"""Running trials that no worker will ever finish: failed and queued again, like stale ones.

Optuna's heartbeat fails a running trial whose last heartbeat is older than the grace period, but
it passes over a running trial that has no heartbeat at all. Such a trial exists when its worker
lost the storage (a database restart, a network cut) or died between creating the trial and
recording its first heartbeat, which Optuna's thread does a moment later. Without this module
that trial stays RUNNING for ever and every worker waits for it: the study never ends.

A trial's start time is written by the machine that created it, so a trial counts as orphaned
once it has had no heartbeat for the grace period by this machine's clock; clocks that disagree
by more than that could fail a trial in the milliseconds before its first heartbeat.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

__all__ = ["ORPHAN_FAILURE", "fail_orphaned_trials", "orphaned_trial_ids"]

ORPHAN_FAILURE = "its worker lost the storage or died before the trial's first heartbeat"


def _rdb_of(study: optuna.Study) -> Any:
    """The study's RDBStorage (Optuna wraps it in a cache), or ``None`` for other storages."""
    import optuna

    storage = getattr(study._storage, "_backend", study._storage)
    return storage if isinstance(storage, optuna.storages.RDBStorage) else None


def orphaned_trial_ids(study: optuna.Study, now: datetime | None = None) -> list[int]:
    """Ids of the study's running trials with no heartbeat recorded that started a grace period before ``now``.

    Empty for storages without a heartbeat (journal files, in-memory studies).
    """
    import sqlalchemy

    storage = _rdb_of(study)
    if storage is None or storage.heartbeat_interval is None:
        return []
    grace = storage.grace_period if storage.grace_period is not None else 2 * storage.heartbeat_interval
    cutoff = (now or datetime.now()) - timedelta(seconds=grace)
    query = sqlalchemy.text(
        "SELECT t.trial_id FROM trials t "
        "LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
        "WHERE t.study_id = :study AND t.state = 'RUNNING' AND h.trial_id IS NULL"
    )
    with storage.engine.connect() as connection:
        ids = [int(trial_id) for (trial_id,) in connection.execute(query, {"study": study._study_id})]
    started = {trial_id: storage.get_trial(trial_id).datetime_start for trial_id in ids}
    return [trial_id for trial_id in ids if (start := started[trial_id]) is not None and start < cutoff]


def fail_orphaned_trials(study: optuna.Study, now: datetime | None = None) -> list[int]:
    """Fails the orphaned running trials (see the module) and queues each again through the
    storage's stale-trial callback, as Optuna does for a stale heartbeat.

    Returns:
        The numbers of the trials this call failed (another worker may fail some first).
    """
    import optuna
    from optuna.trial import TrialState

    storage = _rdb_of(study)
    failed = []
    for trial_id in orphaned_trial_ids(study, now):
        try:
            study._storage.set_trial_user_attr(trial_id, "failure", ORPHAN_FAILURE)
            if study._storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                failed.append(trial_id)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # another worker failed it, or its own worker finished it after all
    callback = storage.get_heartbeat_stale_trial_callback() if storage is not None else None
    numbers = []
    for trial_id in failed:
        trial = copy.deepcopy(study._storage.get_trial(trial_id))
        numbers.append(trial.number)
        if callback is not None:
            callback(study, trial)
    return numbers
