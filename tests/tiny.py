"""Tiny settings that make a real training run take a second or two in tests."""

from __future__ import annotations

from pathlib import Path

from objectives.space import SearchSpace

TINY_SPACE = {
    "image_size": 32,
    "batch_size": [4],
    "max_epochs": 2,
    "steps_per_epoch": 2,
    "patience": 2,
    "warmup_steps": 4,  # two epochs of two steps, as tiny as the rest
    "train_fraction": 1.0,
    "base_filters": 4,
    "depth": 2,
    "dilated_layers": [0, 1],
    "dropout": 0.0,
    "augment": [True, False],
    "elastic": 0.0,
}


def tiny_space() -> SearchSpace:
    return SearchSpace.default().with_overrides(TINY_SPACE)


def write_tiny_space(folder: Path) -> Path:
    lines = ["[space]"]
    for name, value in TINY_SPACE.items():
        if isinstance(value, list):
            rendered = "[" + ", ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in value) + "]"
        else:
            rendered = str(value).lower() if isinstance(value, bool) else str(value)
        lines.append(f"{name} = {rendered}")
    path = folder / "tiny.toml"
    path.write_text("\n".join(lines) + "\n")
    return path
