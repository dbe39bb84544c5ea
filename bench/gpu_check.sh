#!/usr/bin/env bash
# lung-hpo's GPU acceptance run, in one command that fits a short rental of a GPU machine.
#
#   bash bench/gpu_check.sh OUTDIR [SECONDS]
#
# Run it from the repository root on a machine with NVIDIA GPUs, lung-hpo's dependencies and a
# CUDA-enabled Keras backend installed (`pip install -e '.[gpu]'`; for a machine without network,
# `bench/gpu_wheels.sh` gathers what a CUDA image usually lacks). In SECONDS (default 480) it
# writes to OUTDIR:
#   1. nvidia-smi.txt: the GPUs the machine has;
#   2. worker.log, worker-trials.json, worker-check.txt: `hpo worker --gpus all` on a small demo
#      study, and the device (GPU model) each trial trained on: PASS when every trial finished and
#      none on "cpu" (worker.log's first lines say how many processes started on which GPUs);
#   3. gpu.json, gpu_packing.json (and bench-gpu.log): `python -m bench.gpu` with the time left
#      (throughput on jax and torch, packing 1 to 6 processes on jax), the figures that
#      bench/README.md publishes (copy the JSON into bench/results/).
# It exits 1 when the worker check fails or the benchmark wrote no results, after running both.
set -uo pipefail

out=${1:?usage: bash bench/gpu_check.sh OUTDIR [SECONDS]}
total=${2:-480}
python=${PYTHON:-python3}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
storage="sqlite:///$work/gpu-check.db"
export PYTHONUNBUFFERED=1 HPO_CACHE_DIR="$work/cache"
SECONDS=0

nvidia-smi -L > "$out/nvidia-smi.txt" 2>&1 || echo "gpu_check: nvidia-smi found no GPU" >&2

# 2. The worker end to end: a demo study of 12 short trials, one worker supervising its default
# number of processes on every GPU, then each finished trial's device.
ok=0
{
    "$python" -m hpo study create gpu-check --preset demo --n-trials 12 --final-seeds 1 --storage "$storage" &&
        timeout -k 30 "$((total / 3))" "$python" -m hpo worker gpu-check --gpus all --storage "$storage" \
            --artifacts "$work/artifacts"
} > "$out/worker.log" 2>&1
worker_status=$?
"$python" -m hpo study export gpu-check --format json --storage "$storage" > "$out/worker-trials.json" 2>> "$out/worker.log"
"$python" - "$out/worker-trials.json" "$worker_status" > "$out/worker-check.txt" <<'EOF' && ok=1
import collections
import json
import subprocess
import sys

trials = json.load(open(sys.argv[1]))
finished = [t for t in trials if t["state"] in ("COMPLETE", "PRUNED")]
devices = collections.Counter(t["device"] for t in finished)
try:
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.count("GPU ")
except FileNotFoundError:
    listed = 0
print(f"worker exit status {sys.argv[2]}; {len(finished)} of {len(trials)} trials finished")
for device, count in devices.most_common():
    print(f"  {device}: {count} trial(s)")
problems = [
    *(["nvidia-smi lists no GPU"] if listed == 0 else []),
    *([f"the worker exited with {sys.argv[2]}" + (" (out of time)" if sys.argv[2] == "124" else "")]
      if sys.argv[2] != "0" else []),
    *([f"{len(finished)} of the budget's 12 trials finished"] if len(finished) != 12 else []),
    *([f"{devices['cpu']} trial(s) trained on the CPU"] if "cpu" in devices else []),
]
print("PASS" if not problems else "FAIL: " + "; ".join(problems))
sys.exit(1 if problems else 0)
EOF
cat "$out/worker-check.txt" >&2

# 3. The benchmark, with what is left of the time.
left=$((total - SECONDS - 20))
if [ "$left" -gt 60 ]; then
    # Packing on jax alone, the GPU workers' default backend: torch's would take the time of the 6-process run.
    HPO_BENCH_RESULTS="$out" "$python" -m bench.gpu --backends jax,torch --processes 1,2,4,6 --packing-backends jax \
        --budget-s "$left" 2>&1 | tee "$out/bench-gpu.log"
    bench_status=${PIPESTATUS[0]}
    if [ "$bench_status" != 0 ] || [ ! -s "$out/gpu.json" ] || [ ! -s "$out/gpu_packing.json" ]; then
        echo "gpu_check: bench.gpu failed (exit $bench_status) or wrote no results; see bench-gpu.log" >&2
        ok=0
    fi
else
    echo "gpu_check: no time left for bench.gpu" >&2
fi
echo "gpu_check: done in ${SECONDS} s; results in $out" >&2
[ "$ok" = 1 ]
