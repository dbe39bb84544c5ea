"""The summary's sentences and counts, on hand-made records (the tables are in test_report.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hpo.report.analysis import PruningSavings, counts, summary, worst
from hpo.results.records import TrialRecord

_NOON = datetime(2025, 1, 1, 12, 0)


def _trial(number: int, state: str, value: float | None, minutes: float | None = None) -> TrialRecord:
    completed = None if minutes is None else _NOON + timedelta(minutes=minutes)
    return TrialRecord(number, state, value, {"batch_size": 8}, started=_NOON, completed=completed)


def test_worst_is_the_latest_of_equals_and_none_before_a_completed_trial() -> None:
    records = [_trial(0, "COMPLETE", 0.2), _trial(1, "COMPLETE", 0.9), _trial(2, "COMPLETE", 0.2)]

    assert worst(records) == records[2]
    assert worst([_trial(0, "PRUNED", 0.1), _trial(1, "FAIL", None)]) is None


def test_summary_wall_time_is_optunas_not_a_user_attribute() -> None:
    records = [
        _trial(0, "COMPLETE", 0.5, minutes=1.5),
        _trial(1, "COMPLETE", 0.7, minutes=2.0),
        _trial(2, "PRUNED", 0.1, minutes=0.5),
        _trial(3, "RUNNING", None),  # no end yet: no wall time
    ]
    records.append(TrialRecord(4, "FAIL", None, attrs={"wall_time_s": 6000.0}))  # not read

    lines = summary(records, (), PruningSavings(1, 3, 10), "median")

    assert lines[0] == "Best: trial 1, validation DICE 0.7000, with batch_size = 8."
    assert lines[1] == "Worst completed: trial 0, validation DICE 0.5000."
    assert "saved 3 of 10 epochs (30%)" in lines[2]
    assert lines[-1] == "Trials took 4.0 minutes of wall time in all."  # 1.5 + 2 + 0.5


def test_summary_before_any_trial_completes() -> None:
    lines = summary([_trial(0, "RUNNING", None)], (), PruningSavings(0, 0, 0), "none")

    assert lines == ("No trial has completed yet.", "Pruning was off.", "Trials took 0.0 minutes of wall time in all.")


def test_counts_name_running_and_waiting_only_when_present() -> None:
    records = [_trial(0, "COMPLETE", 0.5), _trial(1, "RUNNING", None), _trial(2, "RUNNING", None)]

    assert counts(records) == "1 complete, 0 pruned, 0 failed, 2 running"
    assert counts([]) == "0 complete, 0 pruned, 0 failed"
