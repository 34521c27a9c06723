#!/usr/bin/env bash
# Multi-speaker WaveNet vocoder on VCTK 0.92 (110 English speakers, 48 kHz FLAC, mic1;
# speakers from recipe.speakers, global conditioning).
# Downloads the 11 GB zip with a sha256 check when you have network.
#
#   bash recipes/vctk/run.sh                                   # full config (conf/default.yaml)
#   bash recipes/vctk/run.sh --download-source /data/VCTK-Corpus-0.92.zip   # a local copy
#   bash recipes/vctk/run.sh --conf conf/debug.yaml --download-source DIR --checksums DIR/SHA256SUMS
#
# Stages: 0 download + extract (resumes), 1 prepare manifest, 2 preprocess, 3 train,
# 4 vocode held-out utterances of every speaker, 5 evaluate + report. Every stage resumes.
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
corpus=vctk
STAGES_HELP="0 download, 1 prepare, 2 preprocess, 3 train, 4 vocode held-out, 5 evaluate + report"
. "$(dirname "${BASH_SOURCE[0]}")/../common/lib.sh"
. "$repo/recipes/common/parse_options.sh"
. "$repo/recipes/common/speech_lib.sh"

download_vocoder_recipe
