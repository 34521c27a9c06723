#!/usr/bin/env bash
# Multi-speaker WaveNet vocoder on the Czech speech of Fish Fillets NG (Debian
# fillets-ng-data-cs; the two main voices 'm' and 'v', global conditioning).
#
#   bash recipes/fillets_cs/run.sh                                 # full config (conf/default.yaml)
#   bash recipes/fillets_cs/run.sh --conf conf/debug.yaml --exp exp/debug
#   bash recipes/fillets_cs/run.sh --stage 4 --stop-stage 5        # vocode + evaluate again
#
#   bash recipes/fillets_cs/run.sh --conf conf/pretrained.yaml --exp exp/pretrained_vocoder   # the embedded vocoder
#
# Stages: 0 check data, 1 prepare manifest, 2 preprocess, 3 train, 4 vocode held-out
# utterances of both speakers, 5 evaluate (the model with and without its postfilter, then
# Griffin-Lim, LPC + white noise and that noise postfiltered, from the same mels) + report. Every stage resumes: rerun the same
# command after Ctrl-C. Everything lands in --exp (default exp/fillets_cs_<conf name>).
# A config with recipe.heldout_list (conf/pretrained.yaml) trains on every voice but the
# recipe.exclude_speakers and the listed files; stage 4 then copy-synthesises that list and
# scores it per group (`wavekit eval copy-synthesis`), 5 writes the report, and 6 strips the
# checkpoint into $exp/vocoder.pt, the file wavekit ships as wavekit/pretrained/vocoder.pt.
set -euo pipefail

stage=0
stop_stage=100
conf=conf/default.yaml
exp=
dump=                     # preprocessed corpus (default: $exp/dump)
jobs=                     # preprocess workers (default: recipe.jobs of the config, else 2)
root=${WAVEKIT_FILLETS:-/usr/share/games/fillets-ng}
STAGES_HELP="0 check data, 1 prepare, 2 preprocess, 3 train, 4 vocode held-out, 5 evaluate + report (6 export)"
. "$(dirname "${BASH_SOURCE[0]}")/../common/lib.sh"
. "$repo/recipes/common/parse_options.sh"
. "$repo/recipes/common/speech_lib.sh"

conf=$(resolve_conf "$conf")
exp=$(abspath "${exp:-exp/fillets_cs_$(basename "$conf" .yaml)}")
dump=$(abspath "${dump:-$exp/dump}")
jobs=${jobs:-$(conf_get recipe.jobs 2)}
speakers=$(conf_get recipe.speakers m,v)
heldout_list=$(conf_get recipe.heldout_list "")
[ -z "$heldout_list" ] || heldout_list=$(resolve_conf "$heldout_list")
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
  prepare_args=(--speakers "$speakers" --exclude-speakers "$(conf_get recipe.exclude_speakers "")")
  [ "$(conf_get recipe.all_speakers false)" = true ] && prepare_args+=(--all-speakers)
  [ -z "$heldout_list" ] || prepare_args+=(--exclude-list "$heldout_list")
  "$PY" "$recipe_dir/local/prepare.py" --root "$root" "${prepare_args[@]}" -o "$exp/data/manifest.csv" \
    $([ "$limit" -gt 0 ] && echo --limit "$limit")
  end_stage 1 prepare
fi
if [ -z "$heldout_list" ]; then
  vocoder_stages "fillets_cs: two-speaker WaveNet vocoder ($(basename "$conf"))"
else
  # the embedded vocoder: every voice, one speaker and a fixed list held out (conf/pretrained.yaml)
  preprocess_train_stages
  if begin_stage 4 vocode_heldout_list; then
    ckpt=$(newest_checkpoint "$exp/train")
    [ -n "$ckpt" ] || { echo "Error: no checkpoint in $exp/train; run the train stage first" >&2; exit 1; }
    per_group=$(conf_get recipe.vocode_per_group 0)
    wk eval copy-synthesis -c "$ckpt" --list "$heldout_list" --root "$root" -o "$exp/heldout_list" --no-report \
      --system "WaveNet ($(basename "$conf" .yaml))" \
      --max-seconds "$(conf_get recipe.vocode_seconds 2.0)" --temperature "$(conf_get recipe.temperature 1.0)" \
      $([ "$per_group" -gt 0 ] && echo --per-group "$per_group")
    end_stage 4 vocode_heldout_list
  fi
  if begin_stage 5 report; then
    speech_report "fillets_cs: the embedded vocoder, every voice but one ($(basename "$conf"))"
    end_stage 5 report
  fi
  if begin_stage 6 export; then
    ckpt=$(newest_checkpoint "$exp/train")
    "$PY" -c 'import sys; from wavekit.checkpoint import strip_checkpoint; strip_checkpoint(*sys.argv[1:])' \
      "$ckpt" "$exp/vocoder.pt"
    echo "stripped $ckpt -> $exp/vocoder.pt ($(du -h "$exp/vocoder.pt" | cut -f1)); to embed it:" \
      "cp $exp/vocoder.pt wavekit/pretrained/vocoder.pt"
    end_stage 6 export
  fi
fi
echo "fillets_cs recipe finished stages $stage..$stop_stage in $(( $(date +%s) - t_all )) s"
