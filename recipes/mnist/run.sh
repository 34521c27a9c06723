#!/usr/bin/env bash
# PixelCNN-family image models on MNIST (28x28, 256 levels, or binarized with data.binarize).
# Downloads the four IDX files with checksums when you have network.
#
#   bash recipes/mnist/run.sh                                    # conf/default.yaml
#   bash recipes/mnist/run.sh --conf conf/debug.yaml --download-source /path/to/mirror_or_folder \
#       --checksums /path/to/SHA256SUMS                          # offline copy / stand-in
#
# Stages: 0 download (sha256 checked), 1 prepare (train.npz / test.npz), 2 train,
# 3 sample grid + completions + receptive field, 4 held-out bits/dim + report.
set -euo pipefail

stage=0
stop_stage=100
conf=conf/default.yaml
exp=
download_source=          # URL folder or local folder holding the files (default: the official URL)
checksums=                # sha256sum-style file overriding the published checksums (mirrors, stand-ins)
dataset=mnist
STAGES_HELP="0 download, 1 prepare, 2 train, 3 sample/complete, 4 evaluate + report"
. "$(dirname "${BASH_SOURCE[0]}")/../common/lib.sh"
. "$repo/recipes/common/parse_options.sh"
. "$repo/recipes/common/image_lib.sh"

conf=$(resolve_conf "$conf")
exp=$(abspath "${exp:-exp/${dataset}_$(basename "$conf" .yaml)}")
echo "recipe $dataset: conf=$conf exp=$exp"
t_all=$(date +%s)

image_download_stages
image_model_stages "$dataset" --set "data.path=$exp/data/train.npz"
echo "$dataset recipe finished stages $stage..$stop_stage in $(( $(date +%s) - t_all )) s"
