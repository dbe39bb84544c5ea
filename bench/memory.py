"""Resident memory of one worker process over 30 consecutive trials.

Trials must not leak: the trainer clears the Keras session and Optuna collects garbage after
each trial. This runs a study of small trials in one process and records the resident set size
(RSS) after every trial; the baseline is the RSS after the first trial, in the same run.

Run: ``python -m bench.memory [--trials 30] [--image-size 64]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import machine, publish
from hpo.studies import create_study, make_spec, run_trials
from objectives.data import parse_source
from objectives.space import SearchSpace


def resident_mib() -> float:
    """Current RSS of this process, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--image-size", type=int, default=64)
    arguments = parser.parse_args()
    space = SearchSpace.default().with_overrides(
        {
            "image_size": arguments.image_size,
            "max_epochs": 2,
            "steps_per_epoch": 5,
            "depth": 3,
            "base_filters": [8, 16],
            "batch_size": [8, 16],
            "elastic": 0.0,
        }  # fmt: skip
    )
    spec = make_spec(parse_source("synthetic:64"), space, sampler="random", pruner="none", n_trials=arguments.trials)
    samples: list[float] = []
    with tempfile.TemporaryDirectory(prefix="lung-hpo-memory-") as folder:
        handle = create_study(f"sqlite:///{folder}/memory.db", "memory", spec)
        run_trials(
            handle,
            artifact_dir=Path(folder) / "artifacts",
            trial_callbacks=[lambda s, t: samples.append(resident_mib())],
        )
    baseline = samples[0]
    rows = [
        {"after trial": index + 1, "RSS MiB": rss, "ratio to trial 1": rss / baseline}
        for index, rss in enumerate(samples)
        if index in (0, 1, 4, 9, 14, 19, 24) or index == len(samples) - 1
    ]
    middle = samples[len(samples) // 3]
    slope = (samples[-1] - middle) / max(1, len(samples) - 1 - len(samples) // 3)
    info = machine()
    info.update({"image_size": arguments.image_size, "trials": len(samples)})
    publish(
        "memory",
        f"Worker memory over {len(samples)} consecutive trials",
        rows,
        notes=[f"Growth after the first third of the run: {slope:.2f} MiB per trial."],
        meta=info,
    )


if __name__ == "__main__":
    main()
