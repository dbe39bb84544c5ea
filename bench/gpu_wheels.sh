#!/usr/bin/env bash
# Wheels for running bench/gpu_check.sh on a GPU machine without network whose Python image
# already holds a CUDA build of JAX and PyTorch with the usual scientific stack (numpy, scipy,
# scikit-learn, h5py, ml-dtypes, pillow, matplotlib, typer, rich, pyyaml, tqdm): what lung-hpo's
# workers and benchmarks need beyond that, at the versions this checkout's .venv tested.
#
#   bash bench/gpu_wheels.sh DIR [PYTHON_VERSION]      (default 3.12; about 19 MB)
#
# On the GPU machine, from the repository root:
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site DIR/*.whl
#   PYTHONPATH=/tmp/site bash bench/gpu_check.sh OUT
set -euo pipefail

dir=${1:?usage: bash bench/gpu_wheels.sh DIR [PYTHON_VERSION]}
target=${2:-3.12}
venv=${VENV:-.venv}
# Imported by a worker, `hpo study create|export` or bench.gpu, with their own requirements;
# mdai, plotly and the report's libraries are left out (the check never loads them).
packages=(keras namex optree optuna optuna-integration optuna-dashboard bottle alembic mako sqlalchemy
    colorlog pydicom psycopg2-binary)

pins=()
for package in "${packages[@]}"; do
    version=$("$venv/bin/python" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$package")
    pins+=("$package==$version")
done
mkdir -p "$dir"
platforms=()
for tag in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 \
    manylinux2014_x86_64 manylinux1_x86_64; do
    platforms+=(--platform "$tag")
done
"$venv/bin/python" -m pip download --quiet --no-deps --only-binary=:all: --python-version "$target" \
    --implementation cp "${platforms[@]}" --dest "$dir" "${pins[@]}"
du -sh "$dir"
