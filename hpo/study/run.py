"""Study orchestration: create a study with its spec, attach to one, run trials to its budget."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.results.notes import save_study_note, save_trial_note
from hpo.results.studies import read_study
from hpo.study.algorithms import build_pruner, build_sampler
from hpo.study.budget import TrialCounts, count_trials
from hpo.study.hints import worker_command
from hpo.study.presets import StudyRequest, resolve
from hpo.study.spec import StudySpec, load_spec, save_spec
from hpo.study.time_limit import time_limited
from objectives.objective import DataProvider, KerasCallbackFactory, LungObjective
from objectives.space import params_in_space
from objectives.train import TrainResult
from storage import mask_url, open_artifact_store, open_storage
from storage.heartbeats import fail_orphaned_trials
from storage.locks import StudyLock

if TYPE_CHECKING:
    import optuna
    from optuna.trial import TrialState

__all__ = [
    "METRIC_NAME",
    "StudyHandle",
    "TrialInterrupted",
    "StudyExistsError",
    "create_requested_study",
    "create_study",
    "fail_stale_trials",
    "open_study",
    "replay_trial",
    "run_trials",
    "study_over",
]


METRIC_NAME = "validation DICE"  # what every trial's value is


class StudyExistsError(ValueError):
    """`create_study` found a study of that name; nothing was changed."""


@dataclass(frozen=True)
class StudyHandle:
    """An attached study and the spec it was created with."""

    study: optuna.Study
    spec: StudySpec
    storage_url: str


def create_study(
    storage_url: str,
    name: str,
    spec: StudySpec,
    enqueue: Sequence[tuple[dict[str, Any], dict[str, Any]]] = (),
) -> StudyHandle:
    """Creates a study and stores its spec; raises `StudyExistsError` if the name is taken.

    Args:
        storage_url: Optuna storage URL (see `storage.open_storage`).
        name: the study's name.
        spec: sampler, pruner, space, data and budget.
        enqueue: ``(params, user_attrs)`` pairs to run first, in order (a known-good baseline, a
            preset's fixed configurations); the params are cut to what the space tunes.
    """
    import optuna

    storage = open_storage(storage_url)
    if name in {summary.study_name for summary in optuna.get_all_study_summaries(storage)}:
        raise StudyExistsError(f"study {name!r} already exists; nothing was changed")
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        sampler=build_sampler(spec.sampler, spec.seed, spec.space),
        pruner=build_pruner(spec.pruner, spec.space.warmup_epochs()),
    )
    save_spec(study, spec)
    save_study_note(study, spec)
    with warnings.catch_warnings():  # experimental in Optuna 5; it names the objective in the dashboard
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([METRIC_NAME])
    for params, user_attrs in enqueue:
        study.enqueue_trial(params_in_space(spec.space, params), user_attrs=user_attrs)
    return StudyHandle(study, spec, storage_url)


def create_requested_study(
    storage_url: str,
    name: str,
    request: StudyRequest,
    exist_ok: bool = False,
    warn: Callable[[str], None] = lambda line: None,
) -> str:
    """Resolves ``request`` (see `hpo.study.presets.resolve`) and creates the study.

    Args:
        exist_ok: a study of that name already there is fine; it is left unchanged.
        warn: told of each item of the data source that was skipped, and why.

    Returns:
        The line that tells the user what was created (or that the study was already there).

    Raises:
        StudyExistsError: the name is taken and ``exist_ok`` is false.
    """
    resolved = resolve(request)
    for entry in resolved.skipped:
        warn(f"skipped {entry.item}: {entry.reason}")
    if not resolved.spec.split.test:
        warn("no locked test set (--test-fraction 0): every score of this study is measured on the images "
             "that chose its best trial, so it is optimistic")  # fmt: skip
    spec = resolved.spec
    try:
        create_study(storage_url, name, spec, resolved.enqueue)
    except StudyExistsError as error:
        if not exist_ok:
            raise
        return str(error)
    final = (
        f"at its end, the best configuration retrained {spec.final_seeds} time(s) and scored on the test set"
        if spec.scores_at_end
        else "final score on demand (hpo study finalize)"
    )
    return (
        f"Created study {name!r} in {mask_url(storage_url)}: {spec.data}, {spec.split_text()}, "
        f"{spec.sampler} sampler, {spec.pruner} pruner, "
        f"budget {spec.budget_text()}; {final}.\nAttach workers with: {worker_command(name, storage_url)}"
    )


def open_study(storage_url: str, name: str, worker_seed: int | None = None, **storage_options: int) -> StudyHandle:
    """Attaches to an existing study and rebuilds its sampler and pruner from its spec.

    Args:
        worker_seed: ``None`` seeds the sampler with the spec's seed (one process); concurrent
            workers pass distinct numbers (their process ids), mixed into the spec's seed.
        storage_options: passed to `storage.open_storage` (heartbeat interval, grace period).
    """
    study = read_study(storage_url, name, **storage_options)
    spec = load_spec(study)
    seed = spec.seed if worker_seed is None else spec.seed * 100_003 + worker_seed
    study.sampler = build_sampler(spec.sampler, seed, spec.space)
    study.pruner = build_pruner(spec.pruner, spec.space.warmup_epochs())
    return StudyHandle(study, spec, storage_url)


def study_over(handle: StudyHandle) -> bool:
    """Whether the study's trial or time budget is spent: no trial will start again."""
    return count_trials(handle.study, handle.spec).done


WaitCallback = Callable[[TrialCounts], None]
_WAIT_POLL_S = 1.0  # seconds between two looks at trials that other workers are running
_MAX_CONSECUTIVE_FAILURES = 3  # a worker whose trials keep failing stops rather than burn the queue


def run_trials(
    handle: StudyHandle,
    artifact_dir: Path | None = None,
    timeout: float | None = None,
    keras_callbacks: KerasCallbackFactory | None = None,
    trial_callbacks: Sequence[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = (),
    max_trials: int | None = None,
    max_wait: float | None = None,
    on_wait: WaitCallback | None = None,
    on_taken_over: Callable[[int], None] | None = None,
) -> int:
    """Runs trials until finished trials fill the study's budget, time runs out, or trials keep failing.

    Workers take turns, under a lock shared through the storage, to count the study's trials and
    start the next one, so together they never run past the budget. When only trials that other
    workers are running stand between the study and its budget, this worker waits: each of those
    finishes, or its heartbeat goes stale (its worker died) and it is failed and queued again, and
    then run here. A trial whose heartbeat is alive is left to its worker.

    Args:
        timeout: start no trial after this many seconds (a running one is finished).
        max_trials: stop after training this many trials here, budget or not (a worker process
            recycles itself this way, see `hpo.study.workers`).
        max_wait: leave after waiting this many seconds in a row for other workers' live trials
            (they finish them); ``None`` waits as long as they run.
        on_wait: called with the counts each time they change while this worker waits.
        on_taken_over: called with a trial's number when another worker failed it while it trained
            here: this process stalled, or lost the database, for longer than the grace period,
            so its heartbeat went stale and the trial was queued again. Its result is dropped and
            this worker goes on.

    Returns:
        The number of trials this call trained.
    """

    import optuna

    study, spec = handle.study, handle.spec
    deadline = None if timeout is None else time.monotonic() + timeout
    lock = StudyLock(handle.storage_url, study.study_name)
    objective = _objective(spec, artifact_dir, keras_callbacks)
    current: list[int] = []
    states: list[TrialState] = []

    def guarded(trial: optuna.trial.Trial) -> float:
        lock.release()  # the trial exists: other workers may count it and start theirs
        current[:] = [trial.number]
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            save_trial_note(trial, "PRUNED", None)
            raise
        except Exception as error:
            # The objective records why training failed; anything else that broke is recorded here.
            if "failure" not in trial.user_attrs:
                trial.set_user_attr("failure", f"{type(error).__name__}: {error}")
            save_trial_note(trial, "FAIL", None)
            raise
        save_trial_note(trial, "COMPLETE", value)
        return value

    def record_state(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        states.append(trial.state)

    waited_since: float | None = None
    last_counts: TrialCounts | None = None
    try:
        while max_trials is None or len(states) < max_trials:
            if deadline is not None and time.monotonic() >= deadline:
                break
            with lock:
                fail_stale_trials(study)
                counts = count_trials(study, spec)
                if counts.done:
                    break
                if counts.room:
                    waited_since = last_counts = None
                    try:
                        study.optimize(
                            guarded,
                            n_trials=1,
                            callbacks=[record_state, *trial_callbacks],
                            gc_after_trial=True,
                            catch=(Exception,),
                        )
                    except Exception:
                        # Optuna raises when it cannot tell the trial; it cannot when another
                        # worker has failed it (its heartbeat went stale) while it trained here.
                        if not current or not _failed_elsewhere(study, current[-1]):
                            raise
                        if on_taken_over is not None:
                            on_taken_over(current[-1])
                        current.clear()
                        continue
                    _stop_if_failing(study, states, current.pop())
                    continue
            waited_since = time.monotonic() if waited_since is None else waited_since
            if max_wait is not None and time.monotonic() - waited_since >= max_wait:
                break
            if on_wait is not None and counts != last_counts:
                on_wait(counts)
            last_counts = counts
            time.sleep(_WAIT_POLL_S)
    except KeyboardInterrupt:
        if current:
            _requeue_interrupted(study, current)
        raise TrialInterrupted(current[0] if current else None) from None
    return len(states)


def _objective(
    spec: StudySpec, artifact_dir: Path | None, keras_callbacks: KerasCallbackFactory | None
) -> LungObjective:
    return LungObjective(
        spec.space,
        DataProvider(spec.data, spec.split),
        base_seed=spec.seed,
        artifact_store=open_artifact_store(artifact_dir) if artifact_dir is not None else None,
        keras_callbacks=time_limited(spec, keras_callbacks),
    )


def _failed_elsewhere(study: optuna.Study, number: int) -> bool:
    """Whether trial ``number``, whose worker (this process) could not tell it, is FAIL in the storage.

    Telling fails for a storage that is gone too, and then the trial is still RUNNING (or cannot
    be read: the caller's error is then the one to show).
    """
    from optuna.trial import TrialState

    try:
        failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    except Exception:
        return False
    return any(trial.number == number for trial in failed)


def _stop_if_failing(study: optuna.Study, states: Sequence[TrialState], number: int) -> None:
    """Trials failing over and over mean a broken setup, not bad luck: stop and say why."""
    from optuna.trial import TrialState

    if states[-_MAX_CONSECUTIVE_FAILURES:].count(TrialState.FAIL) == _MAX_CONSECUTIVE_FAILURES:
        failure = study.get_trials(deepcopy=False)[number].user_attrs.get("failure", "unknown error")
        raise RuntimeError(f"stopped after {_MAX_CONSECUTIVE_FAILURES} failed trials in a row; last: {failure}")


class TrialInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, see `hpo.study.workers`) stopped `run_trials`; the trial it ran is queued again.

    Attributes:
        number: the interrupted trial's number, or ``None`` when no trial was running.
    """

    def __init__(self, number: int | None) -> None:
        super().__init__(number)
        self.number = number


def fail_stale_trials(study: optuna.Study) -> None:
    """Fails the running trials that no worker will finish and queues them again (the retry callback):
    those whose heartbeat went stale, and those that never recorded one (`storage.heartbeats`)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    fail_orphaned_trials(study)


def _requeue_interrupted(study: optuna.Study, numbers: Sequence[int]) -> None:
    """Enqueues again the parameters of a trial that Ctrl-C failed, so no configuration is lost."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        if trial.number in numbers:
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})


def replay_trial(storage_url: str, study_name: str, number: int) -> tuple[float | None, TrainResult]:
    """Retrains a stored trial from its parameters and seed.

    Returns:
        The trial's stored DICE (``None`` if it did not complete) and the replay's results.
    """
    from hpo.study.time_limit import config_as_trained
    from objectives.train import train

    handle = open_study(storage_url, study_name)
    trials = {trial.number: trial for trial in handle.study.get_trials(deepcopy=False)}
    if number not in trials:
        raise KeyError(f"study {study_name!r} has no trial {number}; it has {len(trials)} trials")
    trial = trials[number]
    if "seed" not in trial.user_attrs or not trial.params:
        raise ValueError(f"trial {number} never started training (state {trial.state.name}); nothing to replay")
    config = config_as_trained(handle.spec.space, trial.params, trial.user_attrs, seed=int(trial.user_attrs["seed"]))
    data = DataProvider(handle.spec.data, handle.spec.split).training_data(config.image_size)
    _, result = train(config, data)
    return trial.value, result
