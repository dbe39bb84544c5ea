from __future__ import annotations

import json

import optuna
import pytest

from hpo.study.spec import SPEC_ATTRIBUTE, SpecError, StudySpec, load_spec, save_spec
from objectives.data import make_split, parse_source
from tests.tiny import tiny_space


def _spec(**changes: object) -> StudySpec:
    source = parse_source("mdai-export:/data/export", ("L_1", "L_2"), keep_unannotated=True, mdai_domain="x.md.ai")
    values: dict[str, object] = {
        "data": source,
        "space": tiny_space(),
        "split": make_split(10, 0.3, seed=4, test_fraction=0.2),
        "sampler": "random",
        "pruner": "hyperband",
        "n_trials": 7,
        "seed": 4,
        "val_fraction": 0.3,
        "preset": "demo",
        "test_fraction": 0.2,
    }
    values.update(changes)
    return StudySpec(**values)  # type: ignore[arg-type]


def test_round_trip_through_a_study() -> None:
    study = optuna.create_study()
    spec = _spec()
    save_spec(study, spec)
    assert load_spec(study) == spec


@pytest.mark.parametrize(
    ("change", "message"),
    [({"sampler": "annealing"}, "sampler must be one of"), ({"n_trials": 0}, "n_trials must be at least 1")],
)
def test_invalid_spec_is_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        _spec(**change)


def test_a_foreign_study_is_explained() -> None:
    study = optuna.create_study(study_name="foreign")
    with pytest.raises(SpecError, match="'foreign' was not created by lung-hpo"):
        load_spec(study)


def test_the_spec_stays_out_of_the_user_attributes_people_browse() -> None:
    study = optuna.create_study()
    save_spec(study, _spec())
    assert study.user_attrs == {}  # `optuna studies` and the dashboard's attribute card stay readable
    assert load_spec(study) == _spec()


def test_a_spec_stored_before_the_test_set_loads_without_one() -> None:
    stored = json.loads(_spec(split=make_split(10, 0.3, seed=4), test_fraction=0.0).to_json())
    del stored["test_fraction"], stored["split"]["test"]  # as written by earlier versions,
    study = optuna.create_study()
    study.set_user_attr(SPEC_ATTRIBUTE, json.dumps(stored))  # which kept it among the user attributes
    spec = load_spec(study)
    assert spec.split.test == () and spec.test_fraction == 0.0
    assert spec.split_text() == "7 training / 3 validation images (no locked test set)"


def test_split_text_names_the_locked_test_images() -> None:
    assert _spec().split_text() == "5 training / 3 validation / 2 locked test images"
