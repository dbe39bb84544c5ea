"""Where a study stands against its budgets: finished trials, and wall-clock time.

A study ends when its finished (complete or pruned) trials fill its trial budget, or when its
time budget leaves no room for one more trial of typical length. Both are read from the study's
trials alone (their states and timestamps), so every worker, wherever it runs, decides the same.

A time budget also bounds each trial (`TrialTimeLimit`): no trial takes more than
1/`TRIALS_PER_TIME_BUDGET` of the budget, nor runs past its end, so that a slow machine still
gets a study of several trials rather than two long ones that overrun.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from hpo.results.records import FINISHED
from hpo.study.defaults import TRIALS_PER_TIME_BUDGET

if TYPE_CHECKING:
    import optuna

    from hpo.study.spec import StudySpec

__all__ = [
    "TrialCounts",
    "TrialTimeLimit",
    "count_trials",
    "format_duration",
    "parse_duration",
    "trial_time_limit",
]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``90``, ``45m``, ``2h``, ``1h30m`` or ``1.5h``.

    Raises:
        ValueError: the text is not a positive duration.
    """
    cleaned = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        seconds = float(cleaned)
    elif cleaned and _DURATION.sub("", cleaned) == "":
        seconds = sum(float(number) * _UNITS[unit] for number, unit in _DURATION.findall(cleaned))
    else:
        raise ValueError(f"{text!r} is not a duration; write e.g. 90s, 45m, 2h or 1h30m (a bare number is seconds)")
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, but got {text!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """``5400`` as ``1h30m``, ``90`` as ``1m30s``: the form `parse_duration` reads."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{value}{unit}" for value, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if value]
    return "".join(parts) or "0s"


@dataclass(frozen=True)
class TrialCounts:
    """Where a study stands against its budgets, counted in one read of its trials."""

    budget: int
    finished: int  # complete or pruned: what fills the budget
    running: int  # trained right now by a worker whose heartbeat is alive (stale ones are failed first)
    waiting: int  # queued: enqueued configurations and retries of failed trials
    time_left_s: float | None = None  # of the study's time budget; None: it has none
    typical_trial_s: float = 0.0  # median wall time of its finished trials (0 before the first)

    @property
    def out_of_time(self) -> bool:
        """Whether the time budget leaves no room for one more trial of typical length."""
        return self.time_left_s is not None and self.time_left_s <= self.typical_trial_s

    @property
    def done(self) -> bool:
        """Whether the study is over: no trial will start again (running ones still finish)."""
        return self.finished >= self.budget or self.out_of_time

    @property
    def room(self) -> bool:
        """Whether one more trial may start: the running ones may all finish, and still leave a place."""
        return self.finished + self.running < self.budget and not self.out_of_time


def count_trials(study: optuna.Study, spec: StudySpec, now: datetime | None = None) -> TrialCounts:
    """The study's finished, running and waiting trials against its trial and time budgets.

    The time budget runs from the start of the study's first trial (creating a study costs
    nothing), in the storage's clock as Optuna records it.
    """
    trials = study.get_trials(deepcopy=False)
    states = [trial.state.name for trial in trials]
    time_left = typical = None
    if spec.time_budget_s is not None:
        starts = [trial.datetime_start for trial in trials if trial.datetime_start is not None]
        elapsed = ((now or datetime.now()) - min(starts)).total_seconds() if starts else 0.0
        time_left = spec.time_budget_s - elapsed
        durations = [
            (trial.datetime_complete - trial.datetime_start).total_seconds()
            for trial in trials
            if trial.state.name in FINISHED and trial.datetime_start and trial.datetime_complete
        ]
        typical = statistics.median(durations) if durations else 0.0
    return TrialCounts(
        budget=spec.n_trials,
        finished=sum(state in FINISHED for state in states),
        running=states.count("RUNNING"),
        waiting=states.count("WAITING"),
        time_left_s=time_left,
        typical_trial_s=typical or 0.0,
    )


@dataclass(frozen=True)
class TrialTimeLimit:
    """The wall-clock limits of one trial of a time-budgeted study, in seconds from its start."""

    share_s: float  # its share of the study's budget
    study_left_s: float  # of the study's budget when the trial began

    def stop_reason(self, elapsed_s: float, epoch_s: float) -> str | None:
        """Why training should stop now, ``elapsed_s`` into the trial, after an epoch of ``epoch_s``:
        one more such epoch would end past the study's budget or past the trial's share.
        ``None``: go on."""
        ends = elapsed_s + epoch_s
        if ends > self.study_left_s:
            return "study time budget"
        if ends > self.share_s:
            return "trial time share"
        return None


def trial_time_limit(spec: StudySpec, counts: TrialCounts) -> TrialTimeLimit | None:
    """The limits of a trial starting at ``counts``; ``None`` for a study without a time budget."""
    if spec.time_budget_s is None or counts.time_left_s is None:
        return None
    return TrialTimeLimit(share_s=spec.time_budget_s / TRIALS_PER_TIME_BUDGET, study_left_s=counts.time_left_s)
