#!/usr/bin/env bash
# PixelCNN-family image models on scikit-learn's 8x8 digits (17 intensity levels, offline).
#
#   bash recipes/digits/run.sh                                  # conf/default.yaml (Gated PixelCNN)
#   bash recipes/digits/run.sh --conf conf/debug.yaml --exp exp/digits_debug
#
# Stages: 0 check data, 1 prepare (nothing: the data ships with scikit-learn), 2 train,
# 3 sample grid + completions + receptive field, 4 held-out bits/dim + report.
set -euo pipefail

stage=0
stop_stage=100
conf=conf/default.yaml
exp=
STAGES_HELP="0 check data, 1 prepare, 2 train, 3 sample/complete, 4 evaluate + report"
. "$(dirname "${BASH_SOURCE[0]}")/../common/lib.sh"
. "$repo/recipes/common/parse_options.sh"
. "$repo/recipes/common/image_lib.sh"

conf=$(resolve_conf "$conf")
exp=$(abspath "${exp:-exp/digits_$(basename "$conf" .yaml)}")
echo "recipe digits: conf=$conf exp=$exp"
t_all=$(date +%s)

if begin_stage 0 check_data; then
  "$PY" -c "from sklearn.datasets import load_digits; print('sklearn digits:', load_digits().images.shape)"
  end_stage 0 check_data
fi
if begin_stage 1 prepare; then
  echo "nothing to prepare: the model reads the digits straight from scikit-learn (data.dataset: digits)"
  end_stage 1 prepare
fi
image_model_stages "digits"
echo "digits recipe finished stages $stage..$stop_stage in $(( $(date +%s) - t_all )) s"
