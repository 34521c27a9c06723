#!/usr/bin/env bash
# PixelCNN-family image models on Fashion-MNIST (28x28, 256 levels; Debian dataset-fashion-mnist, offline).
#
#   bash recipes/fashion_mnist/run.sh                                  # conf/default.yaml (Gated PixelCNN)
#   bash recipes/fashion_mnist/run.sh --conf conf/debug.yaml --exp exp/fashion_mnist_debug
#
# Stages: 0 check data, 1 prepare (nothing: the IDX files are read in place), 2 train,
# 3 sample grid + completions + receptive field, 4 held-out bits/dim + report.
set -euo pipefail

stage=0
stop_stage=100
conf=conf/default.yaml
exp=
root=${WAVEKIT_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}   # folder of the *-idx?-ubyte.gz files
STAGES_HELP="0 check data, 1 prepare, 2 train, 3 sample/complete, 4 evaluate + report"
. "$(dirname "${BASH_SOURCE[0]}")/../common/lib.sh"
. "$repo/recipes/common/parse_options.sh"
. "$repo/recipes/common/image_lib.sh"

conf=$(resolve_conf "$conf")
exp=$(abspath "${exp:-exp/fashion_mnist_$(basename "$conf" .yaml)}")
echo "recipe fashion_mnist: conf=$conf exp=$exp"
t_all=$(date +%s)

if begin_stage 0 check_data; then
  for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [ -f "$root/$f" ] || { echo "Error: $root/$f not found; install it: sudo apt-get install dataset-fashion-mnist (or pass --root DIR)" >&2; exit 1; }
  done
  echo "Fashion-MNIST found in $root"
  end_stage 0 check_data
fi
if begin_stage 1 prepare; then
  echo "nothing to prepare: the model reads the IDX files in $root (data.dataset: fashion_mnist)"
  end_stage 1 prepare
fi
image_model_stages "fashion_mnist" --set "data.path=$root"
echo "fashion_mnist recipe finished stages $stage..$stop_stage in $(( $(date +%s) - t_all )) s"
