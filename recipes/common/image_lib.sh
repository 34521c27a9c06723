# Stage functions shared by the image recipes (digits, fashion_mnist, mnist, cifar10).
# Sourced by their run.sh after common/lib.sh; they use $conf, $exp and conf_get.
#   image_train [--set k=v ...]   stage "train": `wavekit image train`, resuming when a checkpoint exists
#   image_samples                 stage "sample": sample grid, completions, receptive field (PNG; kept if present)
#   image_evaluate                stage "evaluate": held-out bits/dim -> $exp/eval/image_metrics.json, report.md

image_train() {
  "$PY" "$repo/recipes/common/conf.py" experiment "$conf" "$exp/conf/model.yaml"
  local resume=
  [ -n "$(newest_checkpoint "$exp/train")" ] && resume=--resume
  wk image train --config "$exp/conf/model.yaml" --out "$exp/train" $resume "$@"
}

size_opts() { [ "$1" -gt 0 ] && echo "--height $1 --width $1" || true; }  # recipe.sample_size: 0 = training size
keep_opts() { [ "$1" -gt 0 ] && echo "--keep-rows $1" || true; }           # recipe.keep_rows: 0 = top half

image_samples() {
  local ckpt
  ckpt=$(newest_checkpoint "$exp/train")
  [ -n "$ckpt" ] || { echo "Error: no checkpoint in $exp/train; run the train stage first" >&2; return 1; }
  mkdir -p "$exp/samples"
  [ -f "$exp/samples/samples.png" ] ||
    wk image sample "$ckpt" -o "$exp/samples/samples.png" -n "$(conf_get recipe.samples 16)" \
      --temperature "$(conf_get recipe.temperature 1.0)" $(size_opts "$(conf_get recipe.sample_size 0)")
  [ -f "$exp/samples/completions.png" ] ||
    wk image complete "$ckpt" -o "$exp/samples/completions.png" -n "$(conf_get recipe.complete 8)" \
      --samples "$(conf_get recipe.completions_per_image 3)" $(keep_opts "$(conf_get recipe.keep_rows 0)")
  [ "$(conf_get recipe.receptive_field true)" = false ] || [ -f "$exp/samples/receptive_field.png" ] ||
    wk image receptive-field --checkpoint "$ckpt" -o "$exp/samples/receptive_field.png"
}

image_evaluate() {
  local ckpt
  ckpt=$(newest_checkpoint "$exp/train")
  [ -n "$ckpt" ] || { echo "Error: no checkpoint in $exp/train; run the train stage first" >&2; return 1; }
  mkdir -p "$exp/eval"
  wk image eval "$ckpt" | tee "$exp/eval/image_eval.txt"
  # "held-out images: N  bits/dim: X" [+ "nats/image: Y"] -> a flat JSON the report tabulates
  awk -v ck="$ckpt" '
    /bits\/dim:/ { for (i = 1; i <= NF; i++) { if ($i == "images:") n = $(i + 1); if ($i == "bits/dim:") b = $(i + 1) } }
    /nats\/image:/ { nats = $2 }
    END {
      if (b == "") { print "Error: no bits/dim in the output of wavekit image eval" > "/dev/stderr"; exit 1 }
      printf "{\"held_out_bits_per_dim\": %s, \"held_out_images\": %s", b, n
      if (nats != "") printf ", \"held_out_nats_per_image\": %s", nats
      printf ", \"checkpoint\": \"%s\"}\n", ck
    }' "$exp/eval/image_eval.txt" >"$exp/eval/image_metrics.json"
}
