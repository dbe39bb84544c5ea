"""A small lung-hpo study on real chest X-rays: the DICE the tool reaches on actual data.

It runs the real study machinery (spec, split, sampler, pruner, objective) on
``folder:../shared/data/shenzhen-256`` (300 Shenzhen images with lung masks) at 128 px, in a
throw-away SQLite file, over a narrow space around settings known to train well on CPU.

Run: ``python -m bench.real_data [--data folder:PATH] [--n-trials 2]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import machine, publish
from hpo.study.presets import make_spec
from hpo.study.run import create_study, run_trials
from objectives.data import parse_source
from objectives.space import SearchSpace

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "shenzhen-256"

REAL_DATA_SPACE = {
    "image_size": 128,
    "batch_size": 8,
    "max_epochs": 20,
    "steps_per_epoch": 40,
    "learning_rate": {"low": 5e-4, "high": 2e-3, "log": True},
    "loss": "bce_dice",
    "patience": 4,
    "train_fraction": 1.0,
    "base_filters": 16,
    "depth": 4,
    "dilated_layers": [1, 2],
    "dropout": 0.0,
    "augment": True,
    "rotation": {"low": 0.0, "high": 15.0},
    "width_shift": {"low": 0.0, "high": 0.1},
    "height_shift": {"low": 0.0, "high": 0.1},
    "shear": {"low": 0.0, "high": 0.1},
    "zoom": {"low": 0.0, "high": 0.1},
    "horizontal_flip": False,
    "vertical_flip": False,
    "fill_mode": "constant",
    "elastic": 0.0,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=f"folder:{DEFAULT_DATA}")
    parser.add_argument("--n-trials", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    space = SearchSpace.default().with_overrides(REAL_DATA_SPACE)
    spec, _ = make_spec(parse_source(arguments.data), space, sampler="tpe", pruner="median",
                        n_trials=arguments.n_trials, seed=arguments.seed)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="lung-hpo-real-") as folder:
        handle = create_study(f"sqlite:///{folder}/real.db", "real-data", spec)
        started = time.perf_counter()
        run_trials(handle)
        elapsed = time.perf_counter() - started
        rows = [
            {
                "trial": trial.number,
                "state": trial.state.name,
                "val DICE": trial.value if trial.value is not None else float("nan"),
                "val IoU": trial.user_attrs.get("val_iou", float("nan")),
                "train acc": trial.user_attrs.get("train_accuracy", float("nan")),
                "val acc": trial.user_attrs.get("val_accuracy", float("nan")),
                "epochs": trial.user_attrs.get("epochs_run", len(trial.intermediate_values)),
                "learning rate": trial.params.get("learning_rate", float("nan")),
                "run time s": trial.duration.total_seconds() if trial.duration else float("nan"),
            }
            for trial in handle.study.trials
        ]
        best = max((row["val DICE"] for row in rows if row["state"] == "COMPLETE"), default=float("nan"))
    info = machine()
    info.update({"data": str(spec.data), "train images": len(spec.split.train), "val images": len(spec.split.val)})
    publish(
        "real_data",
        "DICE of a small study on real chest X-rays (Shenzhen, 128 px)",
        rows,
        notes=[f"Best validation DICE {best:.4f}; study wall time {elapsed / 60:.1f} min."],
        meta=info,
    )


if __name__ == "__main__":
    main()
