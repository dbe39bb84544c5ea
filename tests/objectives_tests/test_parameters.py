from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from objectives.config import AugmentConfig, TrainConfig, UNetConfig
from objectives.parameters import PARAMETERS, check_image_size, check_value, find_parameter

_SECTIONS = {"train": TrainConfig, "unet": UNetConfig, "augmentation": AugmentConfig}


def test_every_parameter_is_a_config_field_of_the_same_name() -> None:
    for definition in PARAMETERS:
        fields = {field.name: field for field in dataclasses.fields(_SECTIONS[definition.section])}
        assert definition.name in fields, definition.name
        assert fields[definition.name].type == definition.kind.__name__, definition.name


def test_config_defaults_respect_the_limits() -> None:
    config = TrainConfig()
    for definition in PARAMETERS:
        section = config if definition.section == "train" else getattr(config, definition.section)
        check_value(definition, getattr(section, definition.name))


def test_augmentation_parameters_follow_the_switch() -> None:
    names = [definition.name for definition in PARAMETERS]
    augmented = [definition.name for definition in PARAMETERS if definition.augmentation]
    assert augmented == [field.name for field in dataclasses.fields(AugmentConfig)]
    assert all(names.index("augment") < names.index(name) for name in augmented)  # sampled after the switch


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("batch_size", 8.0, 8),  # an integral float is an integer
        ("batch_size", np.int64(16), 16),
        ("rotation", 90, 90.0),
        ("augment", False, False),
        ("fill_mode", "reflect", "reflect"),
    ],
)
def test_check_value_returns_the_parameter_type(name: str, value: object, expected: object) -> None:
    checked = check_value(find_parameter(name), value)
    assert checked == expected and type(checked) is type(expected)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("batch_size", True, r"^where: expected a number, but got True$"),
        ("batch_size", "8", r"^where: expected a number, but got '8'$"),
        ("batch_size", 8.5, r"^where: expected an integer, but got 8.5$"),
        ("dropout", 0.95, r"^where: expected a value in \[0.0, 0.9\], but got 0.95$"),
        ("dropout", float("nan"), r"^where: expected a value in \[0.0, 0.9\], but got nan$"),
        ("batch_norm", 1, r"^where: expected true or false, but got 1$"),
        ("loss", "dice", r"^where: expected one of \('bce', 'bce_dice'\), but got 'dice'$"),
    ],
)
def test_check_value_names_the_bad_value(name: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_value(find_parameter(name), value, "where")


def test_image_size_must_halve_depth_times() -> None:
    check_image_size(64, 4)  # 64 / 2**4 = 4
    with pytest.raises(ValueError, match=r"^size: expected a multiple of 2\*\*depth = 16, but got 72$"):
        check_image_size(72, 4, "size")  # 72 / 16 = 4.5


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(ValueError, match=r"^space\.batch_sise: unknown parameter; did you mean 'batch_size'\?"):
        find_parameter("batch_sise", "space.batch_sise")
