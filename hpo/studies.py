"""Study orchestration: create a study with its spec, attach to one, run trials to its budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.algorithms import build_pruner, build_sampler
from hpo.spec import StudySpec, load_spec, save_spec
from objectives.data import DataSource, load_dataset, make_split
from objectives.objective import DataProvider, KerasCallbackFactory, LungObjective
from objectives.space import Choice, Fixed, SearchSpace, params_in_space
from objectives.train import TrainResult
from storage import open_artifact_store, open_storage

if TYPE_CHECKING:
    import optuna

__all__ = [
    "budget_filled",
    "StudyHandle",
    "StudyExistsError",
    "create_study",
    "finished_trials",
    "make_spec",
    "open_study",
    "replay_trial",
    "run_trials",
]


class StudyExistsError(ValueError):
    """`create_study` found a study of that name; nothing was changed."""


@dataclass(frozen=True)
class StudyHandle:
    """An attached study and the spec it was created with."""

    study: optuna.Study
    spec: StudySpec


def _finished_states() -> tuple[Any, ...]:
    from optuna.trial import TrialState

    return (TrialState.COMPLETE, TrialState.PRUNED)


def finished_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Complete and pruned trials: the ones that count against the study's budget."""
    return study.get_trials(deepcopy=False, states=_finished_states())


def make_spec(
    data: DataSource,
    space: SearchSpace,
    *,
    sampler: str = "tpe",
    pruner: str = "median",
    n_trials: int = 20,
    seed: int = 0,
    val_fraction: float = 0.2,
    preset: str = "",
) -> StudySpec:
    """Builds a spec, loading the data once to fix the seeded train/validation split."""
    sizes = space.distributions["image_size"]
    smallest = sizes.value if isinstance(sizes, Fixed) else min(sizes.values) if isinstance(sizes, Choice) else 64
    count = len(load_dataset(data, int(smallest)))
    return StudySpec(
        data=data,
        space=space,
        split=make_split(count, val_fraction, seed),
        sampler=sampler,
        pruner=pruner,
        n_trials=n_trials,
        seed=seed,
        val_fraction=val_fraction,
        preset=preset,
    )


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
        pruner=build_pruner(spec.pruner),
    )
    save_spec(study, spec)
    for params, user_attrs in enqueue:
        study.enqueue_trial(params_in_space(spec.space, params), user_attrs=user_attrs)
    return StudyHandle(study, spec)


def open_study(storage_url: str, name: str, sampler_seed: int | None = None, **storage_options: int) -> StudyHandle:
    """Attaches to an existing study and rebuilds its sampler and pruner from its spec.

    Args:
        sampler_seed: ``None`` uses the spec's seed (one process); workers pass distinct seeds.
        storage_options: passed to `storage.open_storage` (heartbeat interval, grace period).
    """
    import optuna

    storage = open_storage(storage_url, **storage_options)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        known = sorted(summary.study_name for summary in optuna.get_all_study_summaries(storage))
        raise KeyError(f"no study named {name!r} in this storage; known studies: {known or 'none'}") from None
    spec = load_spec(study)
    seed = spec.seed if sampler_seed is None else sampler_seed
    study.sampler = build_sampler(spec.sampler, seed, spec.space)
    study.pruner = build_pruner(spec.pruner)
    return StudyHandle(study, spec)


class _BudgetGuard:
    """Keeps concurrent workers to the study-wide budget and stops a worker that only fails.

    Optuna's own `MaxTrialsCallback` checks after a trial, so N workers may overshoot by N - 1.
    Here a trial first counts the finished trials plus the running ones numbered before it; if
    they already fill the budget, it is not run (it is marked failed with ``surplus`` set).
    """

    def __init__(self, budget: int, max_consecutive_failures: int = 3) -> None:
        self.budget = budget
        self.max_consecutive_failures = max_consecutive_failures
        self._failures = 0

    def budget_reached(self, study: optuna.Study, before_number: int | None = None) -> bool:
        from optuna.trial import TrialState

        trials = study.get_trials(deepcopy=False)
        finished = sum(trial.state in _finished_states() for trial in trials)
        running = sum(
            trial.state == TrialState.RUNNING and before_number is not None and trial.number < before_number
            for trial in trials
        )
        return finished + running >= self.budget

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        from optuna.trial import TrialState

        self._failures = self._failures + 1 if trial.state == TrialState.FAIL else 0
        if self.budget_reached(study) or self._failures >= self.max_consecutive_failures:
            study.stop()

    @property
    def gave_up(self) -> bool:
        return self._failures >= self.max_consecutive_failures


def budget_filled(handle: StudyHandle) -> bool:
    """Whether the study's finished trials already fill its budget."""
    return _BudgetGuard(handle.spec.n_trials).budget_reached(handle.study)


class SurplusTrial(RuntimeError):
    """Raised for a trial started after the study's budget was filled by others."""


def run_trials(
    handle: StudyHandle,
    artifact_dir: Path | None = None,
    timeout: float | None = None,
    keras_callbacks: KerasCallbackFactory | None = None,
    trial_callbacks: Sequence[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = (),
    max_trials: int | None = None,
) -> int:
    """Runs trials until the study's budget is filled, ``timeout`` seconds pass, or trials keep failing.

    Args:
        max_trials: stop after training this many trials here, budget or not (a worker process
            recycles itself this way, see `hpo.workers`).

    Returns:
        The number of trials this call trained (surplus trials it refused do not count).
    """
    study, spec = handle.study, handle.spec
    guard = _BudgetGuard(spec.n_trials)
    if guard.budget_reached(study):
        return 0
    store = open_artifact_store(artifact_dir) if artifact_dir is not None else None
    objective = LungObjective(
        spec.space,
        DataProvider(spec.data, spec.split),
        base_seed=spec.seed,
        artifact_store=store,
        keras_callbacks=keras_callbacks,
    )

    running: list[int] = []
    trained: list[int] = []

    def guarded(trial: optuna.trial.Trial) -> float:
        running[:] = [trial.number]
        if guard.budget_reached(study, before_number=trial.number):
            trial.set_user_attr("surplus", True)
            study.stop()
            raise SurplusTrial("not run: the study's budget was already filled by other trials")
        trained.append(trial.number)
        return objective(trial)

    def enough_here(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if max_trials is not None and len(trained) >= max_trials:
            study.stop()

    try:
        study.optimize(
            guarded,
            timeout=timeout,
            callbacks=[guard.after_trial, enough_here, *trial_callbacks],
            gc_after_trial=True,
            catch=(Exception,),
        )
    except KeyboardInterrupt:
        _requeue_interrupted(study, running)
        raise
    if guard.gave_up:
        failure = study.get_trials(deepcopy=False)[-1].user_attrs.get("failure", "unknown error")
        raise RuntimeError(f"stopped after {guard.max_consecutive_failures} failed trials in a row; last: {failure}")
    return len(trained)


def _requeue_interrupted(study: optuna.Study, numbers: Sequence[int]) -> None:
    """Enqueues again the parameters of a trial that Ctrl-C failed, so no configuration is lost."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        if trial.number in numbers and not trial.user_attrs.get("surplus"):
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})


def replay_trial(storage_url: str, study_name: str, number: int) -> tuple[float | None, TrainResult]:
    """Retrains a stored trial from its parameters and seed.

    Returns:
        The trial's stored DICE (``None`` if it did not complete) and the replay's results.
    """
    from objectives.space import config_from_params
    from objectives.train import train

    handle = open_study(storage_url, study_name)
    trials = {trial.number: trial for trial in handle.study.get_trials(deepcopy=False)}
    if number not in trials:
        raise KeyError(f"study {study_name!r} has no trial {number}; it has {len(trials)} trials")
    trial = trials[number]
    if "seed" not in trial.user_attrs or not trial.params:
        raise ValueError(f"trial {number} never started training (state {trial.state.name}); nothing to replay")
    config = config_from_params(handle.spec.space, trial.params, seed=int(trial.user_attrs["seed"]))
    data = DataProvider(handle.spec.data, handle.spec.split).training_data(config.image_size)
    _, result = train(config, data)
    return trial.value, result
