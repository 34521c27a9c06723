# Stage functions shared by the speech vocoder recipes (fillets_cs, ljspeech, cmu_arctic, vctk).
# Sourced by their run.sh after common/lib.sh; they use $conf, $exp, $dump, $jobs and conf_get.
#   speech_preprocess MANIFEST   `wavekit preprocess` (resumes: finished items are skipped)
#   speech_train                 `wavekit train` of the config's vocoder, --resume when a checkpoint exists
#   speech_vocode [SPEAKERS]     pick held-out utterances (each speaker, or the comma list SPEAKERS) and vocode them
#   speech_evaluate              MCD / LSD / SNR vs the references + comparison plots (eval/)
#   speech_report TITLE          $exp/report.md

speech_preprocess() {
  wk preprocess "$1" "$dump" -j "$jobs" --config "$conf" \
    --valid-count "$(conf_get recipe.valid_count 10)" --test-count "$(conf_get recipe.test_count 10)"
}

speech_train() {
  "$PY" "$repo/recipes/common/conf.py" experiment "$conf" "$exp/conf/vocoder.yaml"
  local resume=
  [ -n "$(newest_checkpoint "$exp/train")" ] && resume=--resume
  wk train --config "$exp/conf/vocoder.yaml" --set "data.root=$dump" --out "$exp/train" $resume
}

speech_vocode() {
  local ckpt
  ckpt=$(newest_checkpoint "$exp/train")
  [ -n "$ckpt" ] || { echo "Error: no checkpoint in $exp/train; run the train stage first" >&2; return 1; }
  "$PY" "$repo/recipes/common/heldout.py" "$dump" "$exp/heldout" ${1:+--speakers "$1"} \
    --per-speaker "$(conf_get recipe.vocode_per_speaker 2)" --max-seconds "$(conf_get recipe.vocode_seconds 0)"
  "$PY" "$repo/recipes/common/vocode_heldout.py" "$ckpt" "$exp/heldout" "$exp/gen" \
    --temperature "$(conf_get recipe.temperature 1.0)"
}

speech_evaluate() {
  wk eval speech --ref "$exp/heldout/ref" --gen "$exp/gen" -o "$exp/eval/speech_metrics.json" --plots "$exp/eval/plots"
}

speech_report() {
  wk eval report "$exp" --title "$1"
  echo "report: $exp/report.md"
}
