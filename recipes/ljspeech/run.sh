#!/usr/bin/env bash
# WaveNet vocoder on LJSpeech-1.1 (one female English speaker, 24 h, 22.05 kHz).
# Downloads the 2.6 GB archive with a sha256 check when you have network.
#
#   bash recipes/ljspeech/run.sh                                   # full config (conf/default.yaml)
#   bash recipes/ljspeech/run.sh --download-source /data/LJSpeech-1.1.tar.bz2   # a local copy
#   bash recipes/ljspeech/run.sh --conf conf/debug.yaml --download-source DIR --checksums DIR/SHA256SUMS
#
# Stages: 0 download + extract (resumes), 1 prepare manifest, 2 preprocess, 3 train,
# 4 vocode held-out utterances, 5 evaluate + report. Every stage resumes.
set -euo pipefail

stage=0
stop_stage=100
conf=conf/default.yaml
exp=
dump=                     # preprocessed corpus (default: $exp/dump)
downloads=                # where the corpus is downloaded and extracted (default: $exp/downloads)
download_source=          # mirror URL, local archive, or folder holding it (default: the official URL)
checksums=                # sha256sum-style file overriding the published checksum (mirrors, stand-ins)
jobs=                     # preprocess workers (default: recipe.jobs of the config, else 2)
corpus=ljspeech
STAGES_HELP="0 download, 1 prepare, 2 preprocess, 3 train, 4 vocode held-out, 5 evaluate + report"
. "$(dirname "${BASH_SOURCE[0]}")/../common/lib.sh"
. "$repo/recipes/common/parse_options.sh"
. "$repo/recipes/common/speech_lib.sh"

download_vocoder_recipe
