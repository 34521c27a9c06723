# Stage functions shared by the speech vocoder recipes (fillets_cs, ljspeech, cmu_arctic, vctk).
# Sourced by their run.sh after common/lib.sh; they use $conf, $exp, $dump, $jobs and conf_get.
#   speech_preprocess MANIFEST   `wavekit preprocess` (resumes: finished items are skipped)
#   speech_train                 `wavekit train` of the config's vocoder, --resume when a checkpoint exists
#   speech_vocode [SPEAKERS]     pick held-out utterances (each speaker, or the comma list SPEAKERS) and vocode them
#   vocode_heldout CKPT HELDOUT GEN  `wavekit vocode` of the mels listed in HELDOUT/heldout.tsv into GEN/<id>.wav
#                                (postfiltered; the network output before it in GEN_raw/<id>.wav):
#                                one call per speaker with --speaker NAME when the vocoder has global conditioning
#                                (model.gin_channels > 0), else one call; finished wavs are kept (--skip-existing)
#   speech_evaluate              MCD / LSD / SNR / STOI / PESQ / F0 / V/UV vs the references + comparison plots (eval/),
#                                (also of GEN_raw: the network before the postfilter, when vocode_heldout wrote it),
#                                then speech_baselines: Griffin-Lim, LPC + noise and LPC + noise + postfilter
#                                from the same mels, scored the same way
#   speech_report TITLE          $exp/report.md
#   download_vocoder_recipe      all of ljspeech / cmu_arctic / vctk after option parsing (stages 0-5)

speech_preprocess() {
  wk preprocess "$1" "$dump" -j "$jobs" --config "$conf" \
    --valid-count "$(conf_get recipe.valid_count 10)" --test-count "$(conf_get recipe.test_count 10)"
}

speech_train() {
  "$PY" "$repo/recipes/common/conf.py" experiment "$conf" "$exp/conf/vocoder.yaml"
  local resume=
  [ -n "$(newest_checkpoint "$exp/train")" ] && resume=--resume
  wk train --config "$exp/conf/vocoder.yaml" --set "data.root=$dump" -o "$exp/train" $resume
}

speech_vocode() {
  local ckpt
  ckpt=$(newest_checkpoint "$exp/train")
  [ -n "$ckpt" ] || { echo "Error: no checkpoint in $exp/train; run the train stage first" >&2; return 1; }
  "$PY" "$repo/recipes/common/heldout.py" "$dump" "$exp/heldout" ${1:+--speakers "$1"} \
    --per-speaker "$(conf_get recipe.vocode_per_speaker 2)" --max-seconds "$(conf_get recipe.vocode_seconds 0)"
  vocode_heldout "$ckpt" "$exp/heldout" "$exp/gen"
}

heldout_mels() {  # heldout_mels HELDOUT [SPEAKER]: HELDOUT/mel/<speaker>/<id>.npy of heldout.tsv's rows, in order
  awk -F '\t' -v d="$1/mel" -v s="${2:-}" 'NR > 1 && (s == "" || $2 == s) { print d "/" $2 "/" $1 ".npy" }' \
    "$1/heldout.tsv"
}

vocode_heldout() {
  local ckpt=$1 heldout=$2 gen=$3 spk mels
  local opts=(-c "$ckpt" -o "$gen" --raw-outdir "${gen}_raw" --skip-existing
    --temperature "$(conf_get recipe.temperature 1.0)")
  if [ "$(conf_get model.gin_channels 0)" -gt 0 ]; then
    for spk in $(tail -n +2 "$heldout/heldout.tsv" | cut -f2 | sort -u); do
      mapfile -t mels < <(heldout_mels "$heldout" "$spk")
      wk vocode "${opts[@]}" --speaker "$spk" "${mels[@]}" || return 1
    done
  else
    mapfile -t mels < <(heldout_mels "$heldout")
    wk vocode "${opts[@]}" "${mels[@]}"
  fi
}

speech_evaluate() {
  wk eval speech --ref "$exp/heldout/ref" --gen "$exp/gen" -o "$exp/eval/speech_metrics.json" --plots "$exp/eval/plots" \
    --system "WaveNet ($(basename "$conf" .yaml))"
  if [ -d "$exp/gen_raw" ]; then
    wk eval speech --ref "$exp/heldout/ref" --gen "$exp/gen_raw" -o "$exp/eval/speech_metrics_raw.json" \
      --system "WaveNet ($(basename "$conf" .yaml)), no postfilter"
  fi
  speech_baselines
}

# Griffin-Lim, LPC envelope + white noise, and that noise through the vocoder's postfilter, from the same
# held-out mels, scored on the same references (eval/baseline_<name>.json, one process for all); the report
# puts them beside the model. Kept once made.
speech_baselines() {
  local mels
  local name missing=
  for name in $("$PY" -c 'from wavekit.eval.baselines import BASELINES; print(*BASELINES)'); do
    [ -f "$exp/eval/baseline_$name.json" ] || missing=1
  done
  [ -z "$missing" ] && return 0
  mapfile -t mels < <(heldout_mels "$exp/heldout")
  wk eval baselines "${mels[@]}" --data "$dump" -o "$exp/baselines" --ref "$exp/heldout/ref" --metrics-dir "$exp/eval"
}

speech_report() {
  wk eval report "$exp" --title "$1"
  echo "report: $exp/report.md"
}

# Stage 0 of the download recipes: local/download.py into $downloads (resumes, sha256 checked).
speech_download() {
  corpus_source_args
  "$PY" "$recipe_dir/local/download.py" --out "$downloads" "${corpus_args[@]}" "$@"
}

# Stages 2 (preprocess $exp/data/manifest.csv) and 3 (train) of every vocoder recipe.
preprocess_train_stages() {
  if begin_stage 2 preprocess; then
    speech_preprocess "$exp/data/manifest.csv"
    end_stage 2 preprocess
  fi
  if begin_stage 3 train; then
    speech_train
    end_stage 3 train
  fi
}

# Stages 2-5 of every vocoder recipe, from $exp/data/manifest.csv; $1 is the report title.
# Uses $speakers (comma list, or empty for every speaker) for the held-out utterances.
vocoder_stages() {
  preprocess_train_stages
  if begin_stage 4 vocode; then
    speech_vocode "$speakers"
    end_stage 4 vocode
  fi
  if begin_stage 5 evaluate; then
    speech_evaluate
    end_stage 5 evaluate
    speech_report "$1"
  fi
}

# Everything after option parsing for the download recipes (ljspeech, cmu_arctic, vctk): resolves
# $conf/$exp/$dump/$downloads/$jobs/$speakers, then stage 0 download (with --speakers when
# $download_per_speaker is set: one archive per speaker), 1 prepare (recipe.speakers and
# recipe.limit of the config) and stages 2-5.
download_vocoder_recipe() {
  conf=$(resolve_conf "$conf")
  exp=$(abspath "${exp:-exp/${corpus}_$(basename "$conf" .yaml)}")
  dump=$(abspath "${dump:-$exp/dump}")
  downloads=$(abspath "${downloads:-$exp/downloads}")
  jobs=${jobs:-$(conf_get recipe.jobs 2)}
  speakers=$(conf_get recipe.speakers "")
  echo "recipe $corpus: conf=$conf exp=$exp dump=$dump"
  local t_all limit
  t_all=$(date +%s)
  if begin_stage 0 download; then
    if [ -n "${download_per_speaker:-}" ]; then
      speech_download ${speakers:+--speakers "$speakers"}
    else
      speech_download
    fi
    end_stage 0 download
  fi
  if begin_stage 1 prepare; then
    limit=$(conf_get recipe.limit 0)
    "$PY" "$recipe_dir/local/prepare.py" --root "$downloads" -o "$exp/data/manifest.csv" \
      ${speakers:+--speakers "$speakers"} $([ "$limit" -gt 0 ] && echo --limit "$limit")
    end_stage 1 prepare
  fi
  vocoder_stages "$corpus: WaveNet vocoder ($(basename "$conf"))"
  echo "$corpus recipe finished stages $stage..$stop_stage in $(( $(date +%s) - t_all )) s"
}
