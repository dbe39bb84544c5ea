"""Accelerator throughput: the bare-fit ceiling against lung-hpo's pipeline, and trials packed on one GPU.

On whatever accelerator is present (the CPU where there is none), for each Keras backend
installed, each in its own process:

1. train images/s of a bare `model.fit` on device-resident arrays without augmentation (the
   ceiling) against lung-hpo's pipeline with the researchers' baseline augmentation (batches
   gathered on the host, augmentation in the compiled train step), in float32 and bf16 mixed
   precision;
2. the GPU's busy share (``nvidia-smi`` utilisation, sampled twice a second) and the peak of its
   used memory while each row ran;
3. trials per hour of a fixed short configuration, trained by `objectives.train.train` (the
   trainer a worker runs, validation included) in 1, 2 and 4 processes on one GPU, each started
   with the environment a worker gets (`hpo.study.gpus.gpu_environment`).

It writes ``bench/results/gpu.json`` and ``gpu_packing.json`` with the device name.

Run: ``python -m bench.gpu [--backends jax,torch] [--processes 1,2,4] [--packing-backends jax] [--budget-s 480]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import machine, publish
from objectives.config import AugmentConfig, TrainConfig, UNetConfig

BASELINE_AUGMENT = AugmentConfig(rotation=180, width_shift=0.3, height_shift=0.3, shear=0.1, zoom=0.1)
UNET = UNetConfig(base_filters=16, depth=4, dilated_layers=2)
BACKENDS = ("tensorflow", "jax", "torch")


class GpuSampler:
    """Samples the GPU's utilisation % and used memory (MiB) with timestamps, in a thread.

    Empty where ``nvidia-smi`` is missing; `window` summarises the samples of a time span.
    """

    def __init__(self, gpu: str = "0", interval_s: float = 0.5) -> None:
        self.samples: list[tuple[float, float, float]] = []  # (time, utilisation %, memory MiB)
        self._gpu, self._interval = gpu, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        query = ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"]
        while not self._stop.wait(self._interval):
            completed = subprocess.run([*query, "-i", self._gpu], capture_output=True, text=True, timeout=10)
            fields = completed.stdout.strip().split(",")
            if completed.returncode == 0 and len(fields) == 2:
                self.samples.append((time.time(), float(fields[0]), float(fields[1])))

    def __enter__(self) -> GpuSampler:
        if shutil.which("nvidia-smi"):
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)

    def window(self, start: float, end: float) -> dict[str, Any]:
        """Mean busy % and peak used memory between two ``time.time()`` stamps; "—" without samples."""
        inside = [(busy, memory) for stamp, busy, memory in self.samples if start <= stamp <= end]
        if not inside:
            return {"GPU busy %": "—", "peak GPU MiB": "—"}
        return {
            "GPU busy %": sum(busy for busy, _ in inside) / len(inside),
            "peak GPU MiB": max(memory for _, memory in inside),
        }


def _emit(record: dict[str, Any]) -> None:
    print(json.dumps(record, default=float), flush=True)


def _epoch_timer(times: list[float]) -> Any:
    from objectives.keras_setup import import_keras

    keras = import_keras()

    class _EpochTimer(keras.callbacks.Callback):  # type: ignore[name-defined]  # a module bound at run time
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            times.append(time.perf_counter() - self.started)

    return _EpochTimer()


def _throughput_child(arguments: argparse.Namespace) -> None:
    """Prints one JSON line per row: bare fit, lung-hpo's pipeline and the host pipeline."""
    from objectives.device import training_device
    from objectives.keras_metrics import make_loss, make_metrics
    from objectives.keras_setup import import_keras
    from objectives.phantom import make_phantom_dataset
    from objectives.train import compiled_training_model, training_batches
    from objectives.unet import build_unet

    keras = import_keras()
    size, batch, steps, epochs = arguments.image_size, arguments.batch_size, arguments.steps, arguments.epochs
    images, masks = make_phantom_dataset(240, size, seed=0)
    # Bare fit reads its arrays in order, so one epoch needs steps x batch rows: the phantoms, repeated.
    repeat = -(-steps * batch // len(images))
    tiled_images = np.concatenate([images] * repeat)[: steps * batch]
    tiled_masks = np.concatenate([masks.astype(np.float32)] * repeat)[: steps * batch]
    _emit({"device": training_device()})

    def timed(name: str, precision: str, fit: Any) -> None:
        times: list[float] = []
        start = time.time()
        fit(_epoch_timer(times))
        print(f"bench.gpu: {name}, {precision}: epochs took {', '.join(f'{t:.1f}' for t in times)} s",
              file=sys.stderr, flush=True)  # fmt: skip
        _emit({"row": {"pipeline": name, "precision": precision,
                       "train images/s": steps * batch / float(np.mean(times[1:]))},
               "start": start + sum(times[:1]), "end": time.time()})  # fmt: skip

    for precision in arguments.precisions.split(","):
        config = TrainConfig(image_size=size, batch_size=batch, steps_per_epoch=steps, augmentation=BASELINE_AUGMENT,
                             unet=UNET, precision=precision)  # fmt: skip

        def plain_unet() -> Any:
            keras.backend.clear_session()
            keras.utils.set_random_seed(0)
            model = build_unet(UNET, size, dtype_policy=precision)  # noqa: B023  # used within the iteration
            model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=make_loss("bce_dice"), metrics=make_metrics())
            return model

        def bare_fit(timer: Any) -> None:
            resident = (keras.ops.convert_to_tensor(tiled_images), keras.ops.convert_to_tensor(tiled_masks))
            plain_unet().fit(*resident, batch_size=batch, epochs=epochs, steps_per_epoch=steps, shuffle=False,  # noqa: B023
                             verbose=0, callbacks=[timer])  # fmt: skip

        def pipeline(timer: Any) -> None:
            keras.backend.clear_session()
            keras.utils.set_random_seed(0)
            model = compiled_training_model(config, precision)  # noqa: B023
            model.fit(training_batches(config, images, masks), epochs=epochs, verbose=0, callbacks=[timer])  # noqa: B023

        timed("bare fit, device-resident arrays, no augmentation", precision, bare_fit)
        timed("lung-hpo pipeline, baseline augmentation in the train step", precision, pipeline)


def _trials_child(arguments: argparse.Namespace) -> None:
    """Trains ``--trials`` + 1 fixed trials with `train`; prints a timestamp after each."""
    from objectives.keras_setup import import_keras
    from objectives.phantom import make_phantom_dataset
    from objectives.train import TrainingData, train

    import_keras()
    size = arguments.image_size
    images, masks = make_phantom_dataset(300, size, seed=0)
    data = TrainingData(images[:240], masks[:240], images[240:], masks[240:])
    _emit({"ready": time.time()})
    for seed in range(arguments.trials + 1):
        config = TrainConfig(image_size=size, batch_size=arguments.batch_size, max_epochs=arguments.epochs,
                             steps_per_epoch=arguments.trial_steps, augmentation=BASELINE_AUGMENT, unet=UNET, seed=seed,
                             precision=arguments.precisions.split(",")[0])  # fmt: skip
        began = time.time()
        train(config, data)
        _emit({"trial_done": time.time()})
        print(f"bench.gpu: trial {seed} of process {os.getpid()} took {time.time() - began:.1f} s",
              file=sys.stderr, flush=True)  # fmt: skip


def _child_command(arguments: argparse.Namespace, part: str, **extra: Any) -> list[str]:
    command = [sys.executable, "-m", "bench.gpu", "--child", part, "--image-size", str(arguments.image_size),
               "--batch-size", str(arguments.batch_size), "--steps", str(arguments.steps),
               "--epochs", str(arguments.epochs), "--trial-steps", str(arguments.trial_steps),
               "--precisions", arguments.precisions]  # fmt: skip
    for key, value in extra.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    return command


def _child_environment(backend: str, gpu: str | None, cache_dir: Path) -> dict[str, str]:
    from hpo.study.gpus import gpu_environment

    environment = dict(os.environ, KERAS_BACKEND=backend, PYTHONUNBUFFERED="1")
    if gpu is None:
        environment["CUDA_VISIBLE_DEVICES"] = ""
    else:
        environment.update(gpu_environment(gpu, backend, cache_dir))
    return environment


def _run_children(commands: list[list[str]], environment: dict[str, str], timeout_s: float) -> list[list[dict]]:
    """Runs commands at once until all exit; per process, the JSON records it printed."""
    records: list[list[dict]] = [[] for _ in commands]
    children = [subprocess.Popen(c, env=environment, stdout=subprocess.PIPE, text=True) for c in commands]
    deadline = time.monotonic() + timeout_s
    for index, child in enumerate(children):
        try:
            out, _ = child.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            out, _ = child.communicate()
            print(f"bench.gpu: a child ran past its {timeout_s:.0f} s and was stopped", file=sys.stderr)
        for line in (out or "").splitlines():
            if line.startswith("{"):
                records[index].append(json.loads(line))
    return records


def _throughput(arguments: argparse.Namespace, backend: str, gpu: str | None, cache_dir: Path,
                sampler: GpuSampler, timeout_s: float) -> tuple[str, list[dict[str, Any]]]:  # fmt: skip
    records = _run_children([_child_command(arguments, "throughput")], _child_environment(backend, gpu, cache_dir),
                            timeout_s)  # fmt: skip
    device = next((r["device"] for r in records[0] if "device" in r), "unknown")
    rows = [{"backend": backend, **r["row"], **sampler.window(r["start"], r["end"])} for r in records[0] if "row" in r]
    for row in rows:
        ceiling = next((other["train images/s"] for other in rows if other["pipeline"].startswith("bare fit")
                        and other["precision"] == row["precision"]), None)  # fmt: skip
        row["ratio to bare fit"] = "—" if ceiling is None else row["train images/s"] / ceiling
    return device, rows


def _packing(arguments: argparse.Namespace, backend: str, processes: int, gpu: str | None, cache_dir: Path,
             sampler: GpuSampler, timeout_s: float) -> dict[str, Any] | None:  # fmt: skip
    """Trials per hour with ``processes`` trainers at once; each one's first trial is not counted."""
    commands = [_child_command(arguments, "trials", trials=arguments.trials)] * processes
    records = _run_children(commands, _child_environment(backend, gpu, cache_dir), timeout_s)
    done = [[r["trial_done"] for r in child if "trial_done" in r] for child in records]
    if any(len(stamps) < 2 for stamps in done):
        return None
    start, end = max(stamps[0] for stamps in done), max(stamps[-1] for stamps in done)
    counted = sum(len(stamps) - 1 for stamps in done)
    firsts = [
        stamps[0] - next(r["ready"] for r in child if "ready" in r) for stamps, child in zip(done, records, strict=True)
    ]
    return {
        "backend": backend,
        "processes on the GPU": processes,
        "trials per hour": counted / (end - start) * 3600,
        "first trial s": float(np.mean(firsts)),
        "later trial s": (end - start) / counted * processes,
        **sampler.window(start, end),
    }


def _installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def plan_parts(
    backends: str, packing_backends: str | None, processes: str, installed: Callable[[str], bool]
) -> list[tuple[str, str, int]]:
    """The runs in order, as (part, backend, processes): throughput on every installed backend of
    ``backends``, then packing with each count of ``processes`` on those of ``packing_backends``
    (default: the same); each part gets its share of the time left when it starts."""
    wanted = [b.strip() for b in backends.split(",") if b.strip()]
    usable = [b for b in wanted if installed(b)]
    packing = set(wanted if packing_backends is None else (b.strip() for b in packing_backends.split(",")))
    counts = [int(count) for count in processes.split(",")]
    return [("throughput", backend, 1) for backend in usable] + [
        ("packing", backend, count) for backend in usable if backend in packing for count in counts
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS), help="those not installed are skipped")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=50, help="batches per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="per row; the first (compilation) is not timed")
    parser.add_argument("--precisions", default=None, help="default: float32,mixed_bfloat16 on a GPU, float32 on a CPU")
    parser.add_argument("--processes", default="1,2,4", help="trainers sharing one GPU in the packing runs")
    parser.add_argument("--packing-backends", default=None, help="backends of the packing runs (default: --backends)")
    parser.add_argument("--trial-steps", type=int, default=50, help="batches per epoch of a packed trial")
    parser.add_argument("--trials", type=int, default=3, help="timed trials per packed process (after one untimed)")
    parser.add_argument(
        "--budget-s", type=float, default=480, help="the whole run; parts that no longer fit are skipped"
    )
    parser.add_argument("--child", choices=("throughput", "trials"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child == "throughput":
        return _throughput_child(arguments)
    if arguments.child == "trials":
        return _trials_child(arguments)

    from hpo.study.gpus import detect_gpus

    try:
        gpu: str | None = detect_gpus()[0]
    except ValueError:
        gpu = None
    if arguments.precisions is None:
        arguments.precisions = "float32,mixed_bfloat16" if gpu is not None else "float32"
    parts = plan_parts(arguments.backends, arguments.packing_backends, arguments.processes, _installed)
    deadline = time.monotonic() + arguments.budget_s
    rows: list[dict[str, Any]] = []
    packed: list[dict[str, Any]] = []
    devices: set[str] = set()
    skipped: list[str] = []
    with tempfile.TemporaryDirectory() as cache, GpuSampler(gpu or "0") as sampler:
        for index, (part, backend, count) in enumerate(parts):
            left = deadline - time.monotonic()
            share = left / (len(parts) - index) * (2.5 if part == "throughput" else 1)
            if left < 20:
                skipped.append(f"{part} {backend} x{count}")
                continue
            print(f"bench.gpu: {part} on {backend} ({count} process(es)), up to {min(share, left):.0f} s",
                  file=sys.stderr)  # fmt: skip
            if part == "throughput":
                device, found = _throughput(arguments, backend, gpu, Path(cache), sampler, min(share, left))
                devices.add(device)
                rows += found
            else:
                row = _packing(arguments, backend, count, gpu, Path(cache), sampler, min(share, left))
                if row is None:
                    skipped.append(f"{part} {backend} x{count} (did not finish two trials per process)")
                else:
                    packed.append(row)
    info = machine()
    info.update({"device": " / ".join(sorted(devices)) or "unknown", "image_size": arguments.image_size,
                 "batch_size": arguments.batch_size, "steps_per_epoch": arguments.steps})  # fmt: skip
    where = info["device"]
    notes = [
        f"U-Net {UNET.base_filters} base filters, depth {UNET.depth}; images/s over the epochs after the first; "
        "ratio to the bare fit of the same backend and precision. Busy % is nvidia-smi's utilisation."
    ]
    if skipped:
        notes.append("Not run in the time budget: " + "; ".join(skipped) + ".")
    publish("gpu", f"Accelerator throughput: bare fit against the lung-hpo pipeline ({where})", rows, notes, info)
    publish(
        "gpu_packing",
        f"Trials per hour with several trainers on one accelerator ({where})",
        packed,
        [
            f"Each process trains {arguments.trials} + 1 trials of one configuration ({arguments.epochs} epochs x "
            f"{arguments.trial_steps} steps, batch {arguments.batch_size}, validation each epoch) with the "
            "environment a "
            "GPU worker gets; its first trial (compilation, or JAX's compile-cache fill) is not counted. "
            "On JAX the later trials reuse the compiled train step, as a study's trials of the same shapes do."
        ],
        info,
    )


if __name__ == "__main__":
    main()
