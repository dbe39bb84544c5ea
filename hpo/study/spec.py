"""What a study needs to be resumed anywhere, stored inside the study itself.

Optuna keeps trials but not samplers, pruners, search spaces or data sources. `StudySpec` holds
them; it is written once, when the study is created, as one JSON user attribute, so that
`hpo worker NAME` needs nothing but the study's name and storage.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from hpo.study.algorithms import PrunerName, SamplerName
from objectives.data import DataSource, Split
from objectives.space import SearchSpace

if TYPE_CHECKING:
    import optuna

__all__ = [
    "PRUNERS",
    "SAMPLERS",
    "SPEC_ATTRIBUTE",
    "SpecError",
    "StudySpec",
    "load_spec",
    "save_spec",
]

SPEC_ATTRIBUTE = "lung_hpo.spec"
SPEC_VERSION = 1
SAMPLERS = tuple(name.value for name in SamplerName)
PRUNERS = tuple(name.value for name in PrunerName)
# The spec's plain fields, stored as they are.
_SCALARS = ("sampler", "pruner", "n_trials", "seed", "val_fraction", "preset", "test_fraction", "final_seeds",
            "time_budget_s")  # fmt: skip


class SpecError(ValueError):
    """A study that lung-hpo cannot run: missing or unreadable spec."""


@dataclass(frozen=True)
class StudySpec:
    """Everything a worker rebuilds a study's sampler, pruner and objective from."""

    data: DataSource
    space: SearchSpace
    split: Split
    sampler: str
    pruner: str
    n_trials: int  # study-wide budget of finished (complete or pruned) trials
    seed: int  # sampler seed; trial n trains with seed + n
    val_fraction: float
    preset: str = ""  # the preset it was created from, if any
    test_fraction: float = 0.0  # locked away for the final score; 0 in studies made before it existed
    final_seeds: int = 0  # retrainings for the final score once the study is over; 0: only on demand
    time_budget_s: float | None = None  # no trial starts once the study has run this long

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise SpecError(f"sampler must be one of {SAMPLERS}, but got {self.sampler!r}")
        if self.pruner not in PRUNERS:
            raise SpecError(f"pruner must be one of {PRUNERS}, but got {self.pruner!r}")
        if self.n_trials < 1:
            raise SpecError(f"n_trials must be at least 1, but got {self.n_trials!r}")
        if self.final_seeds < 0:
            raise SpecError(f"final_seeds must be 0 or more, but got {self.final_seeds!r}")
        if self.time_budget_s is not None and self.time_budget_s <= 0:
            raise SpecError(f"the time budget must be positive, but got {self.time_budget_s!r} s")

    @property
    def scores_at_end(self) -> bool:
        """Whether the study computes its final score itself when it ends (else `hpo study finalize` does)."""
        return self.final_seeds > 0 and bool(self.split.test)

    def split_text(self) -> str:
        """How the images are shared out, e.g. ``77 training / 19 validation / 24 locked test images``."""
        split = self.split
        shared = f"{len(split.train)} training / {len(split.val)} validation"
        if not split.test:
            return f"{shared} images (no locked test set)"
        return f"{shared} / {len(split.test)} locked test images"

    def budget_text(self) -> str:
        """The study's budgets in words, e.g. ``20 trials`` or ``1000 trials or 2h, whichever ends first``."""
        from hpo.study.budget import format_duration

        trials = f"{self.n_trials} trial{'' if self.n_trials == 1 else 's'}"
        if self.time_budget_s is None:
            return trials
        return f"{trials} or {format_duration(self.time_budget_s)}, whichever ends first"

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "version": SPEC_VERSION,
            "data": asdict(self.data),
            "space": self.space.to_dict(),
            "split": self.split.to_dict(),
        }
        for key in _SCALARS:
            data[key] = getattr(self, key)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StudySpec:
        data = json.loads(text)
        if data.get("version") != SPEC_VERSION:
            raise SpecError(f"study spec version {data.get('version')!r} is not supported (expected {SPEC_VERSION})")
        source = dict(data["data"], label_ids=tuple(data["data"]["label_ids"]))
        return cls(
            data=DataSource(**source),
            space=SearchSpace.from_dict(data["space"]),
            split=Split.from_dict(data["split"]),
            sampler=data["sampler"],
            pruner=data["pruner"],
            n_trials=data["n_trials"],
            seed=data["seed"],
            val_fraction=data["val_fraction"],
            preset=data.get("preset", ""),
            test_fraction=data.get("test_fraction", 0.0),
            final_seeds=data.get("final_seeds", 0),
            time_budget_s=data.get("time_budget_s"),
        )


def save_spec(study: optuna.Study, spec: StudySpec) -> None:
    """Stores the spec as a system attribute of the study: for lung-hpo's processes to read.

    Not a user attribute: those are what people browse (``optuna studies``, the dashboard's
    attribute card), and a kilobyte of JSON there hides the rest. People read the spec in the
    study's dashboard note (`hpo.results.notes`). Optuna exposes study system attributes on its
    storage only, as optuna-dashboard's own notes use them.
    """
    study._storage.set_study_system_attr(study._study_id, SPEC_ATTRIBUTE, spec.to_json())


def load_spec(study: optuna.Study) -> StudySpec:
    """The study's spec; studies created before it moved read it from their user attributes."""
    stored = study._storage.get_study_system_attrs(study._study_id).get(SPEC_ATTRIBUTE)
    text = stored if stored is not None else study.user_attrs.get(SPEC_ATTRIBUTE)
    if text is None:
        raise SpecError(
            f"study {study.study_name!r} was not created by lung-hpo (no {SPEC_ATTRIBUTE!r} attribute); "
            "create it with `hpo study create`"
        )
    return StudySpec.from_json(text)
