"""The dashboard's notes: a study's setup and score, a trial's results, in Markdown."""

from __future__ import annotations

from hpo.results.notes import study_note, trial_note
from hpo.study.finalize import FinalScore
from objectives.data import make_split
from tests.hpo_tests.test_spec import _spec


def test_the_study_note_names_data_split_search_and_budget() -> None:
    note = study_note("lungs", _spec(final_seeds=3))
    assert note.startswith("## Study lungs\n")
    assert "computed at its end (3 seeds)" in note
    assert "| split | 5 training / 3 validation / 2 locked test images (seed 4) |" in note
    assert "| sampler | random |" in note and "| pruner | hyperband |" in note and "| budget | 7 trials |" in note
    assert "| image_size | fixed 32 |" in note and "| learning_rate | 0.0005 to 0.01 (log) |" in note


def test_the_study_note_leads_with_the_final_score_or_says_why_there_is_none() -> None:
    score = FinalScore(3, 0.91, (1, 2), 20, 0.9, 0.01, (0.88, 0.92), 0.82, 0.01, 0.97)
    assert study_note("lungs", _spec(), score).splitlines()[2].startswith("**Final score:** test DICE 0.9000 ± 0.0100")
    assert "`hpo study finalize lungs`" in study_note("lungs", _spec(final_seeds=0))
    untested = _spec(split=make_split(10, 0.3, seed=4), test_fraction=0.0)
    assert "No locked test set" in study_note("lungs", untested)


def test_trial_notes_say_what_a_trial_reached_or_why_it_stopped() -> None:
    attrs = {"train_accuracy": 0.95, "val_accuracy": 0.94, "val_iou": 0.8, "epochs_run": 7, "seed": 3,
             "early_stopping_epoch": 7}  # fmt: skip
    complete = trial_note("COMPLETE", 0.91234, attrs)
    assert complete.startswith("**Validation DICE 0.9123**")
    assert "| epochs | 7 (early stopping at epoch 7) |" in complete and "| training accuracy | 0.95 |" in complete
    assert "trained on" not in complete  # recorded by older versions without the device
    on_gpu = trial_note("COMPLETE", 0.9, {**attrs, "device": "NVIDIA H100 80GB HBM3", "keras_backend": "jax",
                                          "precision": "mixed_bfloat16"})  # fmt: skip
    assert on_gpu.endswith("| trained on | NVIDIA H100 80GB HBM3 (jax, mixed_bfloat16) |\n")
    capped = trial_note("COMPLETE", 0.9, {**attrs, "early_stopping_epoch": None, "stopped_by": "trial time share"})
    assert "| epochs | 7 (stopped by the trial time share) |" in capped
    assert trial_note("PRUNED", None, {"epochs_run": 2}).startswith("**Pruned** after 2 epoch(s)")
    assert trial_note("FAIL", None, {"failure": "ValueError: out of memory"}) == "**Fail**: ValueError: out of memory\n"
