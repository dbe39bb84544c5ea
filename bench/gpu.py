"""Training throughput on the accelerator: image size, batch size and mixed precision.

For each of 128 and 256 px, batch 8 and 32, it trains the default U-Net through lung-hpo's
batches (baseline augmentation) in float32 and in mixed precision, and reports images per second,
the mixed/float32 ratio and, where ``nvidia-smi`` exists, the mean GPU utilisation while timing.
It runs on the configured Keras backend (``KERAS_BACKEND=jax`` or ``torch`` on GPU machines
without TensorFlow) and on a CPU too, where it shows why ``precision = "auto"`` stays float32.

Run: ``python -m bench.gpu [--sizes 128,256] [--batches 8,32] [--steps 20]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import threading
from typing import Any

from bench.common import machine, publish
from bench.pipeline import BASELINE_AUGMENT, timed_fit
from objectives.config import TrainConfig, UNetConfig
from objectives.keras_metrics import make_loss, make_metrics
from objectives.keras_setup import import_keras
from objectives.phantom import make_phantom_dataset
from objectives.train import augmented_batches
from objectives.unet import build_unet


class _UtilisationSampler:
    """Polls ``nvidia-smi`` in a thread; `mean` is None where there is no NVIDIA GPU."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        command = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-i", "0"]
        while not self._stop.wait(0.5):
            completed = subprocess.run(command, capture_output=True, text=True, timeout=10)
            if completed.returncode == 0 and completed.stdout.strip():
                self.samples.append(float(completed.stdout.split()[0]))

    def __enter__(self) -> _UtilisationSampler:
        if shutil.which("nvidia-smi"):
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    @property
    def mean(self) -> float | None:
        return sum(self.samples) / len(self.samples) if self.samples else None


def _device() -> str:
    keras = import_keras()
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    if backend == "jax":
        import jax

        return str(jax.devices()[0])
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return gpus[0].name if gpus else "cpu"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,256")
    parser.add_argument("--batches", default="8,32")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3, help="per setting; the first is not timed")
    parser.add_argument("--mixed", default="mixed_float16", choices=("mixed_float16", "mixed_bfloat16"))
    arguments = parser.parse_args()
    keras = import_keras()
    unet = UNetConfig(base_filters=16, depth=4, dilated_layers=2)
    rows: list[dict[str, Any]] = []
    for size in (int(s) for s in arguments.sizes.split(",")):
        for batch in (int(b) for b in arguments.batches.split(",")):
            images, masks = make_phantom_dataset(batch * 2, size, seed=0)
            speeds: dict[str, float] = {}
            for precision in ("float32", arguments.mixed):
                # Built first: TrainConfig is where a size the U-Net cannot halve is refused.
                config = TrainConfig(image_size=size, batch_size=batch, steps_per_epoch=arguments.steps,
                                     augmentation=BASELINE_AUGMENT, unet=unet, precision=precision)  # fmt: skip
                keras.backend.clear_session()
                keras.utils.set_random_seed(0)
                model = build_unet(unet, size, dtype_policy=precision)
                model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=make_loss("bce_dice"), metrics=make_metrics())
                with _UtilisationSampler() as utilisation:
                    speeds[precision] = timed_fit(
                        model, augmented_batches(config, images, masks), arguments.epochs, arguments.steps, batch, False
                    )
                rows.append(
                    {
                        "size px": size,
                        "batch": batch,
                        "precision": precision,
                        "train images/s": speeds[precision],
                        "ratio to float32": speeds[precision] / speeds["float32"],
                        "GPU util %": "—" if utilisation.mean is None else utilisation.mean,
                    }
                )
    info = machine()
    info["device"] = _device()
    publish("gpu", f"Accelerator throughput ({info['device']})", rows, meta=info)


if __name__ == "__main__":
    main()
