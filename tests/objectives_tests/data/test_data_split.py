from __future__ import annotations

import numpy as np
import pytest

from objectives.data import Split, make_split, parse_source
from objectives.objective import DataProvider


def test_three_parts_are_disjoint_and_cover_every_image() -> None:
    split = make_split(20, 0.2, seed=3, test_fraction=0.25)
    train, val, test = set(split.train), set(split.val), set(split.test)
    assert (len(train), len(val), len(test)) == (11, 4, 5)  # 20 * 0.25 = 5 test, 20 * 0.2 = 4 validation
    assert not (train & val or train & test or val & test)
    assert train | val | test == set(range(20))


def test_the_split_is_fixed_by_its_seed() -> None:
    assert make_split(30, 0.2, seed=1, test_fraction=0.2) == make_split(30, 0.2, seed=1, test_fraction=0.2)
    assert make_split(30, 0.2, seed=1, test_fraction=0.2) != make_split(30, 0.2, seed=2, test_fraction=0.2)


def test_without_a_test_set_the_split_is_the_one_studies_stored_before() -> None:
    # Studies created before the test set existed keep their split: the same seed, the same indices.
    order = np.random.default_rng(5).permutation(10)
    assert make_split(10, 0.3, seed=5) == Split(
        train=tuple(sorted(int(i) for i in order[3:])), val=tuple(sorted(int(i) for i in order[:3]))
    )
    assert Split.from_dict({"train": [0, 1], "val": [2]}).test == ()


def test_every_part_asked_for_gets_an_image() -> None:
    split = make_split(3, 0.1, seed=0, test_fraction=0.1)
    assert (len(split.train), len(split.val), len(split.test)) == (1, 1, 1)


@pytest.mark.parametrize(
    ("val_fraction", "test_fraction", "message"),
    [(0.5, 0.5, "leave images for training"), (0.2, -0.1, "test_fraction"), (0.0, 0.2, "val_fraction")],
)
def test_bad_fractions_are_refused(val_fraction: float, test_fraction: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_split(10, val_fraction, seed=0, test_fraction=test_fraction)


def test_overlapping_parts_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        Split(train=(0, 1), val=(2,), test=(1,))


def test_the_search_never_receives_a_test_image() -> None:
    split = make_split(12, 0.25, seed=0, test_fraction=0.25)
    provider = DataProvider(parse_source("synthetic:12"), split)
    data = provider.training_data(32)
    dataset = provider.dataset(32)
    handed_out = np.concatenate([data.train_images, data.val_images])
    searched = (*split.train, *split.val)  # every image the search may read
    assert len(handed_out) == len(searched)
    for index in split.test:  # every phantom differs, so equal pixels would mean the same image
        assert not any(np.array_equal(dataset.images[index], image) for image in handed_out)
    for index in searched:
        assert any(np.array_equal(dataset.images[index], image) for image in handed_out)
