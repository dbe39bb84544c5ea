"""Named study presets, and the one place a study request is resolved into a spec.

Presets are overrides of the one default space (`objectives.space`), checked by the same parser
as a user's TOML file. The ``seed`` preset reproduces the researchers' hand-run study: their
baseline plus one variation per factor, each enqueued as a trial labelled with its factor and
setting so that reports can print their per-factor tables.

`StudyRequest` is what a user asks for (``hpo study create``, ``hpo demo``); `resolve` fills in
what they left out, from the preset and then from `hpo.study.defaults`, and loads the data once
to fix the split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from hpo.study.algorithms import PrunerName, SamplerName
from hpo.study.defaults import (
    DEFAULT_DATA,
    DEFAULT_FINAL_SEEDS,
    DEFAULT_MAX_SKIPPED,
    DEFAULT_N_TRIALS,
    DEFAULT_PRUNER,
    DEFAULT_SAMPLER,
    DEFAULT_TEST_FRACTION,
    DEFAULT_TIME_BUDGET_TRIALS,
    DEFAULT_VAL_FRACTION,
)
from hpo.study.spec import StudySpec
from objectives.data import DataSource, DataSourceError, Skipped, load_dataset, make_split
from objectives.data.mdai import DEFAULT_MDAI_DOMAIN
from objectives.space import BASELINE, Choice, Fixed, SearchSpace

__all__ = [
    "PRESETS",
    "EnqueuedTrial",
    "Preset",
    "PresetName",
    "ResolvedStudy",
    "SeedTrial",
    "StudyRequest",
    "make_spec",
    "resolve",
    "seed_trials",
]

# Parameters and user attributes of a trial run before any is sampled.
EnqueuedTrial = tuple[dict[str, Any], dict[str, Any]]


class PresetName(StrEnum):
    demo = "demo"
    quick = "quick"
    full = "full"
    seed = "seed"


@dataclass(frozen=True)
class SeedTrial:
    """One enqueued configuration of a one-factor-at-a-time study."""

    factor: str  # e.g. "batch size"; "baseline" for the reference run
    setting: str  # e.g. "32"
    params: dict[str, Any]


@dataclass(frozen=True)
class Preset:
    description: str
    space_overrides: dict[str, Any] = field(default_factory=dict)
    n_trials: int = DEFAULT_N_TRIALS
    data: str = DEFAULT_DATA
    sampler: str = DEFAULT_SAMPLER
    pruner: str = DEFAULT_PRUNER
    seed_trials: tuple[SeedTrial, ...] = ()  # trials run first, in this order

    def space(self) -> SearchSpace:
        return SearchSpace.default().with_overrides(self.space_overrides)

    def trials_to_enqueue(self) -> list[EnqueuedTrial]:
        """Its seed trials as ``(params, user_attrs)`` pairs for `hpo.study.run.create_study`."""
        return [(trial.params, {"factor": trial.factor, "setting": trial.setting}) for trial in self.seed_trials]


def _variation(factor: str, setting: str, **changes: Any) -> SeedTrial:
    params = {**BASELINE, **changes}
    if not params["augment"]:
        params = {key: value for key, value in params.items() if key in _NON_AUGMENTATION}
    return SeedTrial(factor, setting, params)


_NON_AUGMENTATION = (
    "batch_size",
    "max_epochs",
    "steps_per_epoch",
    "learning_rate",
    "loss",
    "train_fraction",
    "augment",
)


def seed_trials() -> tuple[SeedTrial, ...]:
    """The researchers' study: baseline, then each factor varied alone."""
    return (
        _variation("baseline", "batch 8, 10 epochs, augmentation on"),
        _variation("batch size", "32", batch_size=32),
        _variation("batch size", "16", batch_size=16),
        _variation("epochs", "20 (early stopping)", max_epochs=20),
        _variation("epochs", "5", max_epochs=5),
        _variation("shift", "0.8", width_shift=0.8, height_shift=0.8),
        _variation("rotation", "90", rotation=90.0),
        _variation("shear and zoom", "0.8", shear=0.8, zoom=0.8),
        _variation("augmentation", "off", augment=False),
        _variation("augmentation", "off, 90% of the data", augment=False, train_fraction=0.9),
    )


def _choices_of(trials: tuple[SeedTrial, ...]) -> dict[str, Any]:
    """A space whose choices are exactly the values the enqueued trials use."""
    values: dict[str, list[Any]] = {}
    for trial in trials:
        for name, value in trial.params.items():
            if value not in values.setdefault(name, []):
                values[name].append(value)
    return {name: options[0] if len(options) == 1 else options for name, options in values.items()}


_SEED = seed_trials()

# No preset: the default space with the study defaults.
_NO_PRESET = Preset(description="the default space")

PRESETS: dict[PresetName, Preset] = {
    PresetName.demo: Preset(
        description="a dozen small, pruned trials on the phantom at 64 px: minutes on a laptop CPU",
        space_overrides={
            "image_size": 64,
            "batch_size": [8, 16],
            "max_epochs": 5,
            "steps_per_epoch": 10,
            "learning_rate": {"low": 1e-3, "high": 1e-2, "log": True},
            "patience": 2,
            # The phantom's lungs are learnt in a few dozen steps; judging after 2 of the 5 short
            # epochs leaves the demo something to prune.
            "warmup_steps": 20,
            "train_fraction": 1.0,
            "base_filters": [8, 12],
            "depth": 3,
            "dilated_layers": {"low": 0, "high": 2},
            "dropout": 0.0,
            "rotation": {"low": 0.0, "high": 30.0},
            "width_shift": {"low": 0.0, "high": 0.2},
            "height_shift": {"low": 0.0, "high": 0.2},
            "shear": {"low": 0.0, "high": 0.2},
            "zoom": {"low": 0.0, "high": 0.2},
            "elastic": 0.0,
        },
        n_trials=12,
        data="synthetic:120",
    ),
    PresetName.quick: Preset(
        description="a first look at new data: 12 short pruned trials at 128 px",
        space_overrides={"max_epochs": 8, "steps_per_epoch": 25, "base_filters": [8, 16]},
        n_trials=12,
    ),
    PresetName.full: Preset(description="the whole default space with the default sampler and pruner", n_trials=50),
    PresetName.seed: Preset(
        description="the researchers' one-factor-at-a-time study: baseline plus 9 variations, unpruned",
        space_overrides={**_choices_of(_SEED), "base_filters": 16, "depth": 4, "dilated_layers": 2, "dropout": 0.0},
        n_trials=len(_SEED),
        sampler="random",
        pruner="none",
        seed_trials=_SEED,
    ),
}


@dataclass(frozen=True)
class StudyRequest:
    """What a user asks of a new study; ``None`` takes the preset's value, then the default."""

    preset: PresetName | None = None
    data: str | None = None
    space_file: Path | None = None
    sampler: str | None = None
    pruner: str | None = None
    n_trials: int | None = None
    seed: int = 0
    val_fraction: float = DEFAULT_VAL_FRACTION
    test_fraction: float = DEFAULT_TEST_FRACTION
    label_ids: tuple[str, ...] = ()
    keep_unannotated: bool = False
    mdai_domain: str = DEFAULT_MDAI_DOMAIN
    enqueue_baseline: bool = False  # run the researchers' known-good configuration first
    max_skipped: float = DEFAULT_MAX_SKIPPED
    final_seeds: int = DEFAULT_FINAL_SEEDS  # retrainings for the final score at the study's end; 0: on demand
    time_budget_s: float | None = None  # wall-clock budget; without n_trials, time alone ends the study


@dataclass(frozen=True)
class ResolvedStudy:
    """A request made concrete: the spec to store, the trials to run first, what the data skipped."""

    spec: StudySpec
    enqueue: tuple[EnqueuedTrial, ...]
    skipped: tuple[Skipped, ...]


def make_spec(
    data: DataSource,
    space: SearchSpace,
    *,
    sampler: str = DEFAULT_SAMPLER,
    pruner: str = DEFAULT_PRUNER,
    n_trials: int = DEFAULT_N_TRIALS,
    seed: int = 0,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    preset: str = "",
    max_skipped: float = DEFAULT_MAX_SKIPPED,
    final_seeds: int = DEFAULT_FINAL_SEEDS,
    time_budget_s: float | None = None,
) -> tuple[StudySpec, tuple[Skipped, ...]]:
    """Builds a spec, loading the data once to fix the seeded train/validation/test split.

    Loading (rather than listing) the source is what finds unusable items, such as a corrupt
    DICOM; it also fills the cache that the study's workers then read.

    Args:
        val_fraction: share of the images for early stopping, pruning and ranking trials.
        test_fraction: share locked away for the final score; 0 leaves no test set.
        final_seeds: retrainings of the best configuration scored on the test set once the
            study is over; 0 leaves the final score to ``hpo study finalize``.
        time_budget_s: no trial starts once the study has run this long (see `hpo.study.budget`).
        max_skipped: the largest share of the source's items (images, annotations) that may be
            unusable; above it the study is refused, since its data is not what the user meant.

    Returns:
        The spec, and what the source skipped and why (for the caller to show).

    Raises:
        DataSourceError: more than ``max_skipped`` of the source is unusable.
    """
    if not 0.0 <= max_skipped <= 1.0:
        raise ValueError(f"max_skipped must be a share in [0, 1] but got {max_skipped!r}")
    sizes = space.distributions["image_size"]
    smallest = sizes.value if isinstance(sizes, Fixed) else min(sizes.values) if isinstance(sizes, Choice) else 64
    dataset = load_dataset(data, int(smallest))
    count, skipped = len(dataset), dataset.skipped
    share = len(skipped) / (count + len(skipped)) if skipped else 0.0
    if share > max_skipped:
        examples = "; ".join(f"{entry.item}: {entry.reason}" for entry in skipped[:3])
        raise DataSourceError(
            f"{len(skipped)} of {count + len(skipped)} items of {data} are unusable ({share:.0%}, more than the "
            f"{max_skipped:.0%} allowed), e.g. {examples}. See them all with `hpo data inspect`, or allow them "
            "with --max-skipped"
        )
    spec = StudySpec(
        data=data,
        space=space,
        split=make_split(count, val_fraction, seed, test_fraction),
        sampler=SamplerName(sampler).value,
        pruner=PrunerName(pruner).value,
        n_trials=n_trials,
        seed=seed,
        val_fraction=val_fraction,
        preset=preset,
        test_fraction=test_fraction,
        final_seeds=final_seeds,
        time_budget_s=time_budget_s,
    )
    return spec, skipped


def resolve(request: StudyRequest) -> ResolvedStudy:
    """The spec of a new study: options first, then the preset, then `hpo.study.defaults`.

    Raises:
        SearchSpaceError: the space file is invalid.
        DataSourceError: the data source is invalid, or too much of it is unusable.
    """
    from objectives.data import parse_source

    preset = PRESETS[request.preset] if request.preset else _NO_PRESET
    space = preset.space()
    if request.space_file is not None:
        space = SearchSpace.from_toml(request.space_file, base=space)
    source = parse_source(
        request.data or preset.data,
        request.label_ids,
        keep_unannotated=request.keep_unannotated,
        mdai_domain=request.mdai_domain,
    )
    spec, skipped = make_spec(
        source,
        space,
        sampler=request.sampler or preset.sampler,
        pruner=request.pruner or preset.pruner,
        n_trials=request.n_trials or (DEFAULT_TIME_BUDGET_TRIALS if request.time_budget_s else preset.n_trials),
        seed=request.seed,
        val_fraction=request.val_fraction,
        test_fraction=request.test_fraction,
        preset=request.preset.value if request.preset else "",
        max_skipped=request.max_skipped,
        final_seeds=request.final_seeds,
        time_budget_s=request.time_budget_s,
    )
    enqueue = [(dict(BASELINE), {"factor": "baseline", "setting": "baseline"})] if request.enqueue_baseline else []
    enqueue += preset.trials_to_enqueue()
    return ResolvedStudy(spec, tuple(enqueue), skipped)
