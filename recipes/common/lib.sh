# Shared functions for recipes/<dataset>/run.sh (sourced, not run).
#
# After sourcing: $repo (repository root), $PY (python with wavekit), and
#   wk ARGS...              runs the wavekit CLI (${WAVEKIT:-.venv/bin/wavekit, else wavekit})
#   resolve_conf FILE       prints FILE resolved against the cwd, then the recipe dir, then the repo root
#   abspath PATH            prints PATH made absolute against the cwd (it need not exist)
#   conf_get KEY DEFAULT    prints a value of the recipe config ($conf), e.g. recipe.test_count
#   begin_stage N NAME      prints a banner, returns 1 (skip) unless stage <= N <= stop_stage
#   end_stage N NAME        prints the stage's wall time and appends it to $exp/times.tsv
#   newest_checkpoint DIR   prints DIR/checkpoints/best.pt or last.pt (empty if neither exists)

recipe_dir=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
repo=$(cd "$recipe_dir/../.." && pwd)

if [ -z "${PY:-}" ]; then
  if [ -x "$repo/.venv/bin/python" ]; then PY="$repo/.venv/bin/python"; else PY=python3; fi
fi
if [ -z "${WAVEKIT:-}" ]; then
  if [ -x "$repo/.venv/bin/wavekit" ]; then WAVEKIT="$repo/.venv/bin/wavekit"
  elif command -v wavekit >/dev/null 2>&1; then WAVEKIT=wavekit
  else WAVEKIT="$PY -m wavekit"; fi
fi
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"

wk() {
  # shellcheck disable=SC2086  # WAVEKIT may be "python -m wavekit"
  $WAVEKIT "$@"
}

abspath() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$PWD/$1" ;;
  esac
}

resolve_conf() {
  local c=$1
  for cand in "$c" "$recipe_dir/$c" "$repo/$c"; do
    if [ -f "$cand" ]; then (cd "$(dirname "$cand")" && printf '%s/%s\n' "$PWD" "$(basename "$cand")"); return 0; fi
  done
  echo "$0: config $c not found (looked in $PWD, $recipe_dir, $repo)" >&2
  return 1
}

conf_get() {
  "$PY" "$repo/recipes/common/conf.py" get "$conf" "$1" "$2"
}

_stage_start=0
begin_stage() {
  local n=$1 name=$2
  if [ "$stage" -le "$n" ] && [ "$stop_stage" -ge "$n" ]; then
    echo "================================================================"
    echo "stage $n: $name  ($(date '+%H:%M:%S'))"
    echo "================================================================"
    _stage_start=$(date +%s.%N)
    return 0
  fi
  return 1
}

end_stage() {
  local n=$1 name=$2 secs
  secs=$(awk -v a="$_stage_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  mkdir -p "$exp"
  printf 'stage%s_%s\t%s\n' "$n" "$name" "$secs" >>"$exp/times.tsv"
  echo "stage $n ($name) done in ${secs} s"
}

newest_checkpoint() {
  local d=$1/checkpoints
  if [ -f "$d/best.pt" ]; then echo "$d/best.pt"
  elif [ -e "$d/last.pt" ]; then echo "$d/last.pt"
  fi
}

# Sets the array corpus_args (--source/--checksums for a download script) from the
# recipe options --download-source (a URL is kept, a path made absolute) and --checksums.
corpus_source_args() {
  corpus_args=()
  if [ -n "${download_source:-}" ]; then
    case $download_source in
      *://*) corpus_args+=(--source "$download_source") ;;
      *) corpus_args+=(--source "$(abspath "$download_source")") ;;
    esac
  fi
  if [ -n "${checksums:-}" ]; then corpus_args+=(--checksums "$(abspath "$checksums")"); fi
  return 0
}
