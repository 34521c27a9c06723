#!/usr/bin/env bash
# Offline English text to speech: a corpus spoken by espeak-ng, a WaveNet vocoder and a
# Tacotron 2 acoustic model trained on it, then `wavekit synthesize` of held-out sentences.
#
#   bash recipes/espeak/run.sh                                    # full config (conf/default.yaml)
#   bash recipes/espeak/run.sh --conf conf/debug.yaml --exp exp/espeak_debug
#
# Stages: 0 check espeak-ng, 1 prepare corpus, 2 preprocess, 3 train vocoder + acoustic
# model, 4 vocode held-out mels (copy synthesis) and synthesize held-out sentences from
# text, 5 evaluate + report. Every stage resumes.
set -euo pipefail

stage=0
stop_stage=100
conf=conf/default.yaml
exp=
dump=
jobs=                     # preprocess workers (default: recipe.jobs of the config, else 2)
STAGES_HELP="0 check espeak-ng, 1 prepare corpus, 2 preprocess, 3 train vocoder + Tacotron 2, 4 vocode + synthesize, 5 evaluate + report"
. "$(dirname "${BASH_SOURCE[0]}")/../common/lib.sh"
. "$repo/recipes/common/parse_options.sh"
. "$repo/recipes/common/speech_lib.sh"

conf=$(resolve_conf "$conf")
exp=$(abspath "${exp:-exp/espeak_$(basename "$conf" .yaml)}")
dump=$(abspath "${dump:-$exp/dump}")
jobs=${jobs:-$(conf_get recipe.jobs 2)}
echo "recipe espeak: conf=$conf exp=$exp dump=$dump"
t_all=$(date +%s)

if begin_stage 0 check_espeak; then
  command -v espeak-ng >/dev/null || { echo "Error: espeak-ng not found; install it: sudo apt-get install espeak-ng" >&2; exit 1; }
  espeak-ng --version
  end_stage 0 check_espeak
fi

if begin_stage 1 prepare; then
  "$PY" "$recipe_dir/local/prepare.py" --out "$exp/data" --count "$(conf_get recipe.sentences 400)" \
    --voice "$(conf_get recipe.voice en-us)" --speed "$(conf_get recipe.speed 160)"
  end_stage 1 prepare
fi

if begin_stage 2 preprocess; then
  wk preprocess "$exp/data/manifest.csv" "$dump" -j "$jobs" --config "$conf" \
    --valid-count "$(conf_get recipe.valid_count 10)" --test-count "$(conf_get recipe.test_count 10)"
  end_stage 2 preprocess
fi

if begin_stage 3 train; then
  "$PY" "$repo/recipes/common/conf.py" experiment "$conf" "$exp/conf/vocoder.yaml"
  "$PY" "$repo/recipes/common/conf.py" experiment "$conf" "$exp/conf/tts.yaml" --section tts
  for part in vocoder tts; do
    echo "--- training the ${part}"
    resume=$([ -n "$(newest_checkpoint "$exp/train_$part")" ] && echo --resume || true)
    wk train --config "$exp/conf/$part.yaml" --set "data.root=$dump" -o "$exp/train_$part" $resume
  done
  end_stage 3 train
fi

if begin_stage 4 synthesize; then
  vocoder=$(newest_checkpoint "$exp/train_vocoder")
  acoustic=$(newest_checkpoint "$exp/train_tts")
  [ -n "$vocoder" ] && [ -n "$acoustic" ] || { echo "Error: checkpoints missing in $exp/train_*; run stage 3" >&2; exit 1; }
  n=$(conf_get recipe.heldout 2)
  echo "--- copy synthesis: vocode held-out mels"
  "$PY" "$repo/recipes/common/heldout.py" "$dump" "$exp/heldout" --per-speaker "$n" \
    --max-seconds "$(conf_get recipe.vocode_seconds 0)"
  vocode_heldout "$vocoder" "$exp/heldout" "$exp/gen"
  echo "--- text to speech: synthesize held-out sentences"
  "$PY" "$repo/recipes/common/heldout.py" "$dump" "$exp/heldout_tts" --per-speaker "$n"
  tail -n +2 "$exp/heldout_tts/heldout.tsv" | cut -f1 >"$exp/heldout_tts/ids.txt"
  tail -n +2 "$exp/heldout_tts/heldout.tsv" | cut -f6 >"$exp/heldout_tts/text.txt"
  missing=0
  while read -r id; do [ -f "$exp/tts/$id.wav" ] || missing=1; done <"$exp/heldout_tts/ids.txt"
  if [ "$missing" = 1 ]; then
    wk synthesize --text-file "$exp/heldout_tts/text.txt" --acoustic "$acoustic" --vocoder "$vocoder" \
      -o "$exp/tts_work" --plot --max-frames "$(conf_get recipe.tts_max_frames 1000)" \
      --temperature "$(conf_get recipe.temperature 1.0)"
    k=0
    while read -r id; do  # line k of text.txt -> <id>.wav, so evaluation pairs it with its reference
      k=$((k + 1)); num=$(printf '%04d' "$k")
      mkdir -p "$exp/tts"
      mv -f "$exp/tts_work/$num.wav" "$exp/tts/$id.wav"
      [ -f "$exp/tts_work/$num.png" ] && mv -f "$exp/tts_work/$num.png" "$exp/tts/${id}_alignment.png"
    done <"$exp/heldout_tts/ids.txt"
    rm -rf "$exp/tts_work"
  fi
  end_stage 4 synthesize
fi

if begin_stage 5 evaluate; then
  wk eval speech --ref "$exp/heldout/ref" --gen "$exp/gen" -o "$exp/eval/vocoder_metrics.json" \
    --plots "$exp/eval/vocoder_plots"
  wk eval speech --ref "$exp/heldout_tts/ref" --gen "$exp/tts" --align dtw -o "$exp/eval/tts_metrics.json" \
    --plots "$exp/eval/tts_plots"
  echo "--- acoustic model on the test sentences: held-out mel loss, alignment, stop token"
  wk eval tts -c "$(newest_checkpoint "$exp/train_tts")" --data "$dump" --split test \
    --max-frames "$(conf_get recipe.tts_max_frames 1000)" -o "$exp/eval/tts_acoustic_metrics.json"
  end_stage 5 evaluate
  wk eval report "$exp" --title "espeak: Tacotron 2 + WaveNet text to speech ($(basename "$conf"))"
  echo "report: $exp/report.md"
fi
echo "espeak recipe finished stages $stage..$stop_stage in $(( $(date +%s) - t_all )) s"
