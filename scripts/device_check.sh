#!/usr/bin/env bash
# GPU readiness check: one command on a lent GPU machine, everything written under $OUT.
#
#   scripts/device_check.sh --prepare   # here, with network: `make wheels` + a small preprocessed
#                                       # fillets_cs dump in wheels/fillets_dump (both ignored by git)
#   scripts/device_check.sh             # there (carry: wheels): install offline, CUDA tests,
#                                       # `wavekit bench --device cuda --json`, 2 minutes of GPU training
#                                       # of the fillets_cs default config, the engine at 1..256 streams
#   scripts/device_check.sh --dry-run   # here, on CPU: the same steps at toy sizes (--device cpu)
#
# Device tool call (the repo travels; wheels/ is git-ignored, so it is carried):
#   run(command="bash scripts/device_check.sh", carry=["wheels"], timeout_s=600)
# Budget on the GPU: at most about 8 of the 10 minutes a command may run (each step has its own
# timeout; the compiled training run is skipped when the earlier steps ran long).
# Files under $OUT (at most 8 come back): device_check.log, cuda_tests.txt, bench_cuda.json,
# train_metrics.jsonl, train_compiled_metrics.jsonl, engine.json, summary.json.
set -uo pipefail

mode=gpu
case "${1:-}" in
  --dry-run) mode=cpu ;;
  --prepare) mode=prepare ;;
  "") ;;
  *) echo "usage: $0 [--dry-run | --prepare]" >&2; exit 2 ;;
esac
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
PY=${PY:-python3}
dump=$repo/wheels/fillets_dump

if [ "$mode" = prepare ]; then
  make wheels PYTHON="$PY" || exit 1
  mkdir -p "$repo/exp"
  tmp=$repo/exp/device_dump
  # 60 files (about 3.5 minutes of speech) are plenty for a 2-minute run and travel in ~10 MB
  sed 's/^  limit: 0 .*/  limit: 60/; s/^  valid_count: 20/  valid_count: 4/; s/^  test_count: 20/  test_count: 4/' \
    recipes/fillets_cs/conf/default.yaml > "$repo/exp/device_default.yaml"
  PY=$PY bash recipes/fillets_cs/run.sh --conf "$repo/exp/device_default.yaml" --exp "$tmp" --stop-stage 2 || exit 1
  rm -rf "$dump" && cp -r "$tmp/dump" "$dump"
  "$PY" recipes/common/conf.py experiment recipes/fillets_cs/conf/default.yaml "$repo/wheels/vocoder.yaml" || exit 1
  du -sh wheels
  exit 0
fi

if [ "$mode" = cpu ]; then
  OUT=${OUT:-$repo/exp/device_check_dry}
  device=cpu; train_s=90; tests_s=300; bench_s=600; eng_s=300; bench_args="--quick"; streams="1 8"; eng_len=512
  train_small=(--set train.batch_size=1 --set data.crop_samples=2048 --set train.log_every=1)  # steps a CPU can log
  export PYTHONPATH=$repo${PYTHONPATH:+:$PYTHONPATH}
else
  OUT=${OUT:?set OUT (the device tool sets it)}
  device=cuda; train_s=120; tests_s=120; bench_s=170; eng_s=120; bench_args=""; streams="1 8 32 128 256"; eng_len=4096
  train_small=()
fi
mkdir -p "$OUT"
log=$OUT/device_check.log
t_start=$(date +%s)
say() { echo "== $* ($(( $(date +%s) - t_start )) s)" | tee -a "$log"; }
status=0

say "device_check mode=$mode"
{ nvidia-smi 2>&1 || true; "$PY" -c 'import sys, torch; print(sys.version); print("torch", torch.__version__, "cuda", torch.cuda.is_available())'; } >>"$log" 2>&1

if [ "$mode" = gpu ]; then
  say "install wheels offline"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site wheels/*.whl >>"$log" 2>&1 \
    || { say "wheel install FAILED"; exit 1; }
  export PYTHONPATH=/tmp/site:$repo${PYTHONPATH:+:$PYTHONPATH}
fi
"$PY" -c 'import wavekit, librosa, soundfile, soxr; print("wavekit from", wavekit.__file__)' >>"$log" 2>&1 \
  || { say "import FAILED"; exit 1; }

say "CUDA tests (pytest -m cuda)"
timeout "$tests_s" "$PY" -m pytest -q -m cuda -p no:cacheprovider tests/audio tests/train tests/generate >"$OUT/cuda_tests.txt" 2>&1
rc=$?; tail -1 "$OUT/cuda_tests.txt" | tee -a "$log"
[ $rc -eq 0 ] || [ $rc -eq 5 ] || status=1

say "wavekit bench --device $device --json $bench_args"
timeout "$bench_s" "$PY" -m wavekit bench --device "$device" --json $bench_args >"$OUT/bench_cuda.json" 2>>"$log" || { say "bench FAILED"; status=1; }

# fillets_cs default config, time-bounded: SIGINT after train_s saves a checkpoint (exit 130)
train_run() {  # name seconds extra-args...
  local name=$1 secs=$2; shift 2
  local out=$repo/exp/device_$name
  rm -rf "$out"
  timeout --preserve-status -s INT "$secs" "$PY" -m wavekit train --config "$repo/wheels/vocoder.yaml" --quiet \
    --set data.root="$dump" --set train.device="$device" --set train.log_every=10 --set train.eval_every=0 \
    --set train.num_workers=2 ${train_small[@]+"${train_small[@]}"} "$@" -o "$out" >>"$log" 2>&1
  local rc=$?
  cp "$out/metrics.jsonl" "$OUT/$name" 2>/dev/null || true
  [ $rc -eq 0 ] || [ $rc -eq 130 ] || { say "training $name FAILED (exit $rc)"; status=1; }
}
if [ -f wheels/vocoder.yaml ] && [ -d "$dump" ]; then
  say "train ${train_s}s: fillets_cs default, eager (bf16 autocast on CUDA)"
  train_run train "$train_s"
  mv "$OUT/train" "$OUT/train_metrics.jsonl" 2>/dev/null
  if [ "$mode" = gpu ] && [ $(( $(date +%s) - t_start )) -lt 300 ]; then  # only if the budget allows
    say "train 75s: the same, compiled + CUDA graphs"
    train_run train_compiled 75 --set train.compile=true --set train.cuda_graphs=true
    mv "$OUT/train_compiled" "$OUT/train_compiled_metrics.jsonl" 2>/dev/null
  fi
else
  say "no wheels/vocoder.yaml or wheels/fillets_dump: run scripts/device_check.sh --prepare here first"; status=1
fi

say "engine: default vocoder at streams $streams"
timeout "$eng_s" "$PY" - "$device" "$eng_len" $streams >"$OUT/engine.json" 2>>"$log" <<'EOF' || { say "engine FAILED"; status=1; }
import json, sys
import torch
from wavekit.generate.bench import engine_samples_per_s
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.model import WaveNet

device, length, streams = sys.argv[1], int(sys.argv[2]), [int(s) for s in sys.argv[3:]]
torch.manual_seed(0)
cfg = WaveNetConfig(dropout=0.0)
model = WaveNet(cfg).to(device).eval()
frames = length // cfg.hop_length
rows = []
for s in streams:
    sps = engine_samples_per_s(model, s, frames * cfg.hop_length, frames, device=device)
    rows.append({"streams": s, "samples_per_s": sps, "realtime_16k_streams": sps / 16000})
    print(f"streams {s}: {sps:.0f} samples/s = {sps / 16000:.1f} real-time 16 kHz streams", file=sys.stderr)
print(json.dumps({"device": device, "length": frames * cfg.hop_length, "rows": rows}, indent=1))
EOF

crop=$([ "$mode" = cpu ] && echo 2048 || echo 0)  # 0: the config's crop_samples
"$PY" - "$OUT" "$status" $(( $(date +%s) - t_start )) "$crop" >"$OUT/summary.json" <<'EOF'
import json, sys
from pathlib import Path
import yaml
out, status, secs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
crop = int(sys.argv[4]) or yaml.safe_load(open("wheels/vocoder.yaml"))["data"]["crop_samples"]
s = {"status": "ok" if status == 0 else "failed", "seconds": secs}
for name in ("train_metrics.jsonl", "train_compiled_metrics.jsonl"):
    p = out / name
    if p.is_file():
        rows = [json.loads(x) for x in p.read_text().splitlines() if '"loss"' in x]
        if rows:
            s[name] = {"steps": rows[-1]["step"], "first_loss": rows[0]["loss"], "last_loss": rows[-1]["loss"],
                       "crops_per_s_last": rows[-1]["items_per_s"],
                       "audio_samples_per_s_last": rows[-1]["items_per_s"] * crop}
print(json.dumps(s, indent=1))
EOF
say "done: status $status"
cat "$OUT/summary.json" | tee -a "$log"
exit $status
