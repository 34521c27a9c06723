#!/usr/bin/env bash
# Multi-speaker WaveNet vocoder on the Czech speech of Fish Fillets NG (Debian
# fillets-ng-data-cs; the two main voices 'm' and 'v', global conditioning).
#
#   bash recipes/fillets_cs/run.sh                                 # full config (conf/default.yaml)
#   bash recipes/fillets_cs/run.sh --conf conf/debug.yaml --exp exp/debug
#   bash recipes/fillets_cs/run.sh --stage 4 --stop-stage 5        # vocode + evaluate again
#
# Stages: 0 check data, 1 prepare manifest, 2 preprocess, 3 train, 4 vocode held-out
# utterances of both speakers, 5 evaluate (the model, then Griffin-Lim and LPC + white noise
# from the same mels) + report. Every stage resumes: rerun the same
# command after Ctrl-C. Everything lands in --exp (default exp/fillets_cs_<conf name>).
set -euo pipefail

stage=0
stop_stage=100
conf=conf/default.yaml
exp=
dump=                     # preprocessed corpus (default: $exp/dump)
jobs=                     # preprocess workers (default: recipe.jobs of the config, else 2)
root=${WAVEKIT_FILLETS:-/usr/share/games/fillets-ng}
STAGES_HELP="0 check data, 1 prepare, 2 preprocess, 3 train, 4 vocode held-out, 5 evaluate + report"
. "$(dirname "${BASH_SOURCE[0]}")/../common/lib.sh"
. "$repo/recipes/common/parse_options.sh"
. "$repo/recipes/common/speech_lib.sh"

conf=$(resolve_conf "$conf")
exp=$(abspath "${exp:-exp/fillets_cs_$(basename "$conf" .yaml)}")
dump=$(abspath "${dump:-$exp/dump}")
jobs=${jobs:-$(conf_get recipe.jobs 2)}
speakers=$(conf_get recipe.speakers m,v)
echo "recipe fillets_cs: conf=$conf exp=$exp dump=$dump"
t_all=$(date +%s)

if begin_stage 0 check_data; then
  if [ ! -d "$root/sound" ]; then
    echo "Error: Fish Fillets NG data not found under $root; install it: sudo apt-get install fillets-ng-data-cs" >&2
    exit 1
  fi
  echo "found $(find "$root/sound" -path '*/cs/*.ogg' | wc -l) Czech speech files under $root"
  end_stage 0 check_data
fi
if begin_stage 1 prepare; then
  limit=$(conf_get recipe.limit 0)
  "$PY" "$recipe_dir/local/prepare.py" --root "$root" --speakers "$speakers" -o "$exp/data/manifest.csv" \
    $([ "$limit" -gt 0 ] && echo --limit "$limit")
  end_stage 1 prepare
fi
vocoder_stages "fillets_cs: two-speaker WaveNet vocoder ($(basename "$conf"))"
echo "fillets_cs recipe finished stages $stage..$stop_stage in $(( $(date +%s) - t_all )) s"
