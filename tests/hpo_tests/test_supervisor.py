"""What `hpo worker`'s supervisor reads back from the storage about its own children."""

from __future__ import annotations

import socket
from pathlib import Path

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from hpo.study.supervisor import _running_trial_of, _trials_run_by


def _trial(state: TrialState, group: str | None, pid: int = 7) -> optuna.trial.FrozenTrial:
    attrs: dict[str, object] = {"worker": f"{socket.gethostname()}:{pid}"}
    if group is not None:
        attrs["worker_group"] = group
    value = 0.5 if state == TrialState.COMPLETE else None
    return create_trial(state=state, value=value, params={"x": 0.1}, distributions={"x": FloatDistribution(0, 1)},
                        user_attrs=attrs)  # fmt: skip


def test_the_supervisor_counts_and_finds_only_its_own_childrens_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'groups.db'}"
    study = optuna.create_study(study_name="s", storage=url, direction="maximize")
    # Two supervisors whose children share a host name and pid 7 (containers on the host's
    # network): each sees only its own group's trials.
    study.add_trials([
        _trial(TrialState.COMPLETE, "a"), _trial(TrialState.PRUNED, "a"), _trial(TrialState.FAIL, "a"),
        _trial(TrialState.COMPLETE, "b"), _trial(TrialState.COMPLETE, None), _trial(TrialState.RUNNING, "a"),
        _trial(TrialState.RUNNING, "b"),
    ])  # fmt: skip
    assert _trials_run_by("s", url, "a") == 3  # ended: complete, pruned or failed, as run_trials counts them
    assert _trials_run_by("s", url, "b") == 1
    assert _trials_run_by("s", url, "c") == 0
    assert _running_trial_of("s", url, 7, "b") == 6
    assert _running_trial_of("s", url, 7, "c") is None
    assert _trials_run_by("nope", url, "a") is None  # the storage cannot say: the line goes out without a count
