"""A study's final score: its best configuration retrained, scored once on the locked test set.

The search chose the configuration on the validation images, so its validation DICE is
optimistic. Finalizing retrains that configuration with fresh seeds (on the training images, with
early stopping on the validation images, as in the search) and scores each model on the test
images that no part of the search has read, at each image's native resolution. The result is
stored in the study (`FINAL_ATTRIBUTE`), where every reader finds it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from hpo.study.defaults import DEFAULT_FINAL_SEEDS

if TYPE_CHECKING:
    import numpy as np
    import optuna

    from hpo.results.records import TrialRecord
    from hpo.study.run import StudyHandle
    from objectives.evaluate import ImageScores
    from objectives.objective import DataProvider

__all__ = [
    "DEFAULT_FINAL_SEEDS",
    "FINAL_ATTRIBUTE",
    "FinalScore",
    "final_score_due",
    "finalize",
    "finalize_when_over",
    "load_final_score",
]

FINAL_ATTRIBUTE = "lung_hpo.final_score"
_SEED_BASE = 1_000_000  # retraining seeds lie apart from the trials' (spec seed + trial number)


@dataclass(frozen=True)
class FinalScore:
    """Test-set scores of the best configuration, over seeds and images."""

    trial: int  # the trial whose configuration was retrained
    validation_dice: float  # that trial's value: what the search saw
    seeds: tuple[int, ...]
    test_images: int
    dice: float  # mean over seeds of the mean DICE over test images
    dice_sd: float  # standard deviation of that mean over seeds (0 with one seed)
    dice_ci95: tuple[float, float]  # bootstrap over images of the seed-averaged DICE
    iou: float
    iou_sd: float
    pixel_accuracy: float
    resolution: str = "native"  # each image scored on its own pixels

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FinalScore:
        data: dict[str, Any] = json.loads(text)
        return cls(**{**data, "seeds": tuple(data["seeds"]), "dice_ci95": tuple(data["dice_ci95"])})

    def summary(self) -> str:
        """One line for people, e.g. in ``hpo study finalize`` and the report."""
        low, high = self.dice_ci95
        spread = f" ± {self.dice_sd:.4f} over {len(self.seeds)} seeds" if len(self.seeds) > 1 else " with 1 seed"
        return (
            f"test DICE {self.dice:.4f}{spread} "
            f"(95% CI {low:.4f} to {high:.4f} over {self.test_images} locked test images at native resolution) "
            f"for the configuration of trial #{self.trial}, whose validation DICE was {self.validation_dice:.4f}"
        )


def load_final_score(study: optuna.Study) -> FinalScore | None:
    """The study's final score, or None before it was finalized."""
    text = study.user_attrs.get(FINAL_ATTRIBUTE)
    return None if text is None else FinalScore.from_json(text)


def final_score_due(handle: StudyHandle) -> bool:
    """Whether the study asks for a final score at its end (``final_seeds``) and has none yet."""
    return handle.spec.scores_at_end and load_final_score(handle.study) is None


def finalize_when_over(
    handle: StudyHandle,
    on_start: Callable[[int, int], None] | None = None,
    on_seed: Callable[[int, float], None] | None = None,
) -> FinalScore | None:
    """Computes the study's final score once it is over, if it asks for one; every worker calls it.

    The first worker to find the study over, with no trial running any more, computes the score
    (with the study's ``final_seeds``) under a lock of the study; the others wait for it and find
    it done. A worker that dies meanwhile releases the lock, and the next worker takes over.

    Args:
        on_start: told the trial whose configuration is retrained, and the number of seeds.
        on_seed: see `finalize`.

    Returns:
        The score computed here, or None (not asked for, not over yet, done elsewhere, or no
        trial completed).
    """
    from hpo.results.records import best, records_of
    from hpo.study.budget import count_trials
    from hpo.study.run import fail_stale_trials
    from storage.locks import StudyLock

    if not final_score_due(handle):
        return None
    with StudyLock(handle.storage_url, handle.study.study_name, purpose="final"):
        fail_stale_trials(handle.study)
        counts = count_trials(handle.study, handle.spec)
        chosen = best(records_of(handle.study))
        if not final_score_due(handle) or not counts.done or counts.running or chosen is None:
            return None
        if on_start is not None:
            on_start(chosen.number, handle.spec.final_seeds)
        return finalize(handle, handle.spec.final_seeds, on_seed=on_seed)


def finalize(
    handle: StudyHandle, seeds: int = DEFAULT_FINAL_SEEDS, on_seed: Callable[[int, float], None] | None = None
) -> FinalScore:
    """Retrains the best trial's configuration ``seeds`` times and scores it on the test set.

    Args:
        handle: an open study (`hpo.study.run.open_study`).
        seeds: how many models to train.
        on_seed: told each seed and its mean test DICE as it finishes (progress).

    Raises:
        ValueError: the study has no locked test set or no completed trial.
    """
    import numpy as np

    from hpo.results.notes import save_study_note
    from hpo.results.records import best, records_of
    from objectives.data import load_native
    from objectives.metrics import bootstrap_interval
    from objectives.objective import DataProvider
    from objectives.space import config_from_params

    study, spec = handle.study, handle.spec
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, but got {seeds!r}")
    if not spec.split.test:
        raise ValueError(
            f"study {study.study_name!r} has no locked test set (created with --test-fraction 0 or before test "
            "sets existed), so it has no honest final score; create a new study to get one"
        )
    chosen = best(records_of(study))
    if chosen is None or chosen.value is None:
        raise ValueError(f"study {study.study_name!r} has no completed trial to finalize")
    provider = DataProvider(spec.data, spec.split)
    used = tuple(_SEED_BASE + spec.seed * 1000 + k for k in range(seeds))
    # The phantom has no size of its own: it is drawn at the trained size, its native one.
    image_size = config_from_params(spec.space, dict(chosen.params), seed=used[0]).image_size
    truths = [item.mask for item in load_native(spec.data, spec.split.test, image_size=image_size)]
    dice, iou, accuracy = [], [], []
    for seed in used:
        scores = _train_and_score(handle, chosen, seed, provider, truths)
        dice.append(scores.dice)
        iou.append(scores.iou)
        accuracy.append(scores.pixel_accuracy)
        if on_seed is not None:
            on_seed(seed, float(scores.dice.mean()))
    per_seed = np.array([values.mean() for values in dice])
    score = FinalScore(
        trial=chosen.number,
        validation_dice=float(chosen.value),
        seeds=used,
        test_images=len(truths),
        dice=float(per_seed.mean()),
        dice_sd=_sd(per_seed),
        dice_ci95=bootstrap_interval(np.mean(dice, axis=0), seed=spec.seed),
        iou=float(np.mean([values.mean() for values in iou])),
        iou_sd=_sd(np.array([values.mean() for values in iou])),
        pixel_accuracy=float(np.mean([values.mean() for values in accuracy])),
    )
    study.set_user_attr(FINAL_ATTRIBUTE, score.to_json())
    save_study_note(study, spec, score)  # the dashboard shows it on the study's page
    return score


def _train_and_score(
    handle: StudyHandle, chosen: TrialRecord, seed: int, provider: DataProvider, truths: list[np.ndarray]
) -> ImageScores:
    """One model of the chosen trial's configuration, trained as in the search, scored on the test images."""
    from hpo.study.time_limit import config_as_trained
    from objectives.evaluate import score_at_native_resolution
    from objectives.keras_setup import import_keras
    from objectives.train import train

    import_keras().backend.clear_session()
    config = config_as_trained(handle.spec.space, chosen.params, chosen.attrs, seed=seed)
    model, _ = train(config, provider.training_data(config.image_size))
    test = provider.dataset(config.image_size).images[list(handle.spec.split.test)]
    probabilities = model.predict(test, verbose=0)
    return score_at_native_resolution(probabilities, truths)


def _sd(values: np.ndarray) -> float:
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0
