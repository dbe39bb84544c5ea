"""Resident memory of a worker over 30 consecutive trials: one process against recycled ones.

TensorFlow keeps memory after every `model.fit` (keras-team/keras#21090), so a worker that
trains every trial in one process grows; `hpo worker` therefore hands over to a fresh process
every ``--recycle-after`` trials (default 10). This runs the same 30 small trials both ways in one
run: in this process, recording the resident set size (RSS) after every trial, and through
``hpo worker --recycle-after N``, sampling the RSS of its worker processes twice a second.

Run: ``python -m bench.memory [--trials 30] [--image-size 64] [--recycle-after 10]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine, publish
from hpo.study.presets import make_spec
from hpo.study.run import create_study, run_trials
from objectives.data import parse_source
from objectives.space import SearchSpace


def resident_mib(pid: int | str = "self") -> float:
    """RSS of a process, from /proc (Linux); 0 for a process that has just ended."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith("VmRSS:")), 0.0)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    return found


def _supervised_peak(storage: str, study: str, recycle_after: int) -> tuple[float, float, int]:
    """Runs `hpo worker` on the study; returns (peak worker RSS, peak supervisor RSS, workers seen)."""
    command = [
        sys.executable,
        "-m",
        "hpo",
        "worker",
        study,
        "--storage",
        storage,
        "--recycle-after",
        str(recycle_after),
    ]
    supervisor = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_worker = peak_supervisor = 0.0
    seen: set[int] = set()
    while supervisor.poll() is None:
        peak_supervisor = max(peak_supervisor, resident_mib(supervisor.pid))
        for child in _children(supervisor.pid):
            seen.add(child)
            peak_worker = max(peak_worker, resident_mib(child))
        time.sleep(0.5)
    if supervisor.returncode != 0:
        raise RuntimeError(f"hpo worker exited with {supervisor.returncode}")
    return peak_worker, peak_supervisor, len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--recycle-after", type=int, default=10)
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
    spec, _ = make_spec(parse_source("synthetic:64"), space, sampler="random", pruner="none", n_trials=arguments.trials)
    samples: list[float] = []
    with tempfile.TemporaryDirectory(prefix="lung-hpo-memory-") as folder:
        storage = f"sqlite:///{folder}/memory.db"
        handle = create_study(storage, "one-process", spec)
        run_trials(
            handle, artifact_dir=Path(folder) / "a", trial_callbacks=[lambda s, t: samples.append(resident_mib())]
        )
        create_study(storage, "recycled", spec)
        peak_worker, peak_supervisor, workers = _supervised_peak(storage, "recycled", arguments.recycle_after)
    baseline = samples[0]
    rows = [
        {"run": "one process", "after trial": index + 1, "RSS MiB": rss, "ratio to trial 1": rss / baseline}
        for index, rss in enumerate(samples)
        if index in (0, 4, 9, 19) or index == len(samples) - 1
    ]
    rows.append(
        {
            "run": f"hpo worker, recycled every {arguments.recycle_after}",
            "after trial": f"peak of {workers} processes",
            "RSS MiB": peak_worker,
            "ratio to trial 1": peak_worker / baseline,
        }  # fmt: skip
    )
    middle = samples[len(samples) // 3]
    slope = (samples[-1] - middle) / max(1, len(samples) - 1 - len(samples) // 3)
    info = machine()
    info.update({"image_size": arguments.image_size, "trials": len(samples)})
    publish(
        "memory",
        f"Worker memory over {len(samples)} consecutive trials",
        rows,
        notes=[
            f"In one process RSS grows {slope:.1f} MiB per trial after the first third of the run "
            f"(TensorFlow keeps memory after every fit). Recycled workers peak at {peak_worker:.0f} MiB; "
            f"the supervisor itself at {peak_supervisor:.0f} MiB."
        ],
        meta=info,
    )


if __name__ == "__main__":
    main()
