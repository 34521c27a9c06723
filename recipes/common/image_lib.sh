# Stage functions shared by the image recipes (digits, fashion_mnist, mnist, cifar10).
# Sourced by their run.sh after common/lib.sh; they use $conf, $exp and conf_get.
#   image_train [--set k=v ...]   stage "train": `wavekit image train`, resuming when a checkpoint exists
#   image_samples                 stage "sample": sample grid, completions, receptive field (PNG; kept if present)
#   image_evaluate                stage "evaluate": held-out bits/dim -> $exp/eval/image_metrics.json, report.md

image_train() {
  "$PY" "$repo/recipes/common/conf.py" experiment "$conf" "$exp/conf/model.yaml"
  local resume=
  [ -n "$(newest_checkpoint "$exp/train")" ] && resume=--resume
  wk image train --config "$exp/conf/model.yaml" -o "$exp/train" $resume "$@"
}

size_opts() { [ "$1" -gt 0 ] && echo "--height $1 --width $1" || true; }  # recipe.sample_size: 0 = training size
keep_opts() { [ "$1" -gt 0 ] && echo "--keep-rows $1" || true; }           # recipe.keep_rows: 0 = top half

image_samples() {
  local ckpt
  ckpt=$(newest_checkpoint "$exp/train")
  [ -n "$ckpt" ] || { echo "Error: no checkpoint in $exp/train; run the train stage first" >&2; return 1; }
  mkdir -p "$exp/samples"
  [ -f "$exp/samples/samples.png" ] ||
    wk image sample -c "$ckpt" -o "$exp/samples/samples.png" -n "$(conf_get recipe.samples 16)" \
      --temperature "$(conf_get recipe.temperature 1.0)" $(size_opts "$(conf_get recipe.sample_size 0)")
  [ -f "$exp/samples/completions.png" ] ||
    wk image complete -c "$ckpt" -o "$exp/samples/completions.png" -n "$(conf_get recipe.complete 8)" \
      --samples "$(conf_get recipe.completions_per_image 3)" $(keep_opts "$(conf_get recipe.keep_rows 0)")
  [ "$(conf_get recipe.receptive_field true)" = false ] || [ -f "$exp/samples/receptive_field.png" ] ||
    wk image receptive-field --checkpoint "$ckpt" -o "$exp/samples/receptive_field.png"
}

image_evaluate() {
  local ckpt
  ckpt=$(newest_checkpoint "$exp/train")
  [ -n "$ckpt" ] || { echo "Error: no checkpoint in $exp/train; run the train stage first" >&2; return 1; }
  mkdir -p "$exp/eval"
  wk image eval -c "$ckpt" -o "$exp/eval/image_metrics.json"
}

# Stages 0-1 of the download image recipes (mnist, cifar10): fetch $dataset with checksums,
# then write $exp/data/train.npz and test.npz (recipe.limit images at most, 0 = all).
image_download_stages() {
  if begin_stage 0 download; then
    corpus_source_args
    "$PY" "$repo/recipes/common/image_corpus.py" download --dataset "$dataset" --out "$exp/downloads" \
      "${corpus_args[@]}"
    end_stage 0 download
  fi
  if begin_stage 1 prepare; then
    "$PY" "$repo/recipes/common/image_corpus.py" prepare --dataset "$dataset" --root "$exp/downloads" \
      --out "$exp/data" --limit "$(conf_get recipe.limit 0)"
    end_stage 1 prepare
  fi
}

# Stages 2-4 of every image recipe: train, sample/complete, evaluate + report.
# $1 names the data set in the report title; the rest go to `wavekit image train`.
image_model_stages() {
  local name=$1
  shift
  if begin_stage 2 train; then
    image_train "$@"
    end_stage 2 train
  fi
  if begin_stage 3 sample; then
    image_samples
    end_stage 3 sample
  fi
  if begin_stage 4 evaluate; then
    image_evaluate
    end_stage 4 evaluate
    wk eval report "$exp" --title "$name: $(conf_get kind model) ($(basename "$conf"))"
    echo "report: $exp/report.md"
  fi
}
