#!/usr/bin/env bash
# The first half of `make demo`: wavekit speaks with the models embedded in it (no training, no checkpoint).
#
#   bash recipes/fillets_cs/pretrained_demo.sh [--exp exp/demo/pretrained] [--per-group 2] [--seconds 2.0]
#
# 1 speak  three English sentences: `wavekit synthesize` with the embedded voice and vocoder
#          -> $exp/speech/0001.wav ... (each sentence's attention alignment, .png; spectrograms.png)
# 2 copy   copy-synthesise held-out real Czech speech that the embedded vocoder never heard in
#          training (the first --per-group utterances of each group of conf/pretrained_heldout.tsv,
#          the very list conf/pretrained.yaml held out: trained speakers m and v, and the
#          held-out speaker hs), beside Griffin-Lim, LPC + noise and LPC + noise + postfilter
#          from the same mels (and the network's output before the postfilter, copy/gen_raw)
# 3 report $exp/report.md: metrics per group, spectrogram stacks, links to every wav
# A model that is not installed in this copy of wavekit is skipped with one line (never an error).
set -euo pipefail

exp=exp/demo/pretrained
per_group=2
seconds=2.0
root=${WAVEKIT_FILLETS:-/usr/share/games/fillets-ng}
stage=0
stop_stage=100
STAGES_HELP="1 speak English with the embedded voice, 2 copy-synthesise held-out speech, 3 report"
. "$(dirname "${BASH_SOURCE[0]}")/../common/lib.sh"
. "$repo/recipes/common/parse_options.sh"

exp=$(abspath "$exp")
installed() { "$PY" -c 'import sys, wavekit.pretrained as p; sys.exit(0 if p.available(sys.argv[1]) else 1)' "$1"; }
if ! installed vocoder; then
  echo "pretrained demo skipped: the embedded vocoder is not installed in this copy of wavekit" \
       "($("$PY" -c 'import wavekit.pretrained as p; print(p.path_of("vocoder"))') missing)"
  exit 0
fi
mkdir -p "$exp"
: >"$exp/times.tsv"

if begin_stage 1 speak; then
  if installed en; then
    printf '%s\n' "Hello! This is wavekit, speaking the moment it is installed." \
      "The voice and the vocoder were trained by recipes in this repository." \
      "Now listen to real speech it has never heard." >"$exp/sentences.txt"
    wk synthesize --text-file "$exp/sentences.txt" -o "$exp/speech" --plot --seed 0
    "$PY" - "$exp" <<'EOF'
import sys
from pathlib import Path

from wavekit.audio import load_wav
from wavekit.eval.plots import plot_spectrogram_stack

exp = Path(sys.argv[1])
lines = (exp / "sentences.txt").read_text(encoding="utf-8").splitlines()
waves = [(f"{i}: {t[:50]}", load_wav(exp / "speech" / f"{i:04d}.wav")) for i, t in enumerate(lines, 1)]
print("wrote", plot_spectrogram_stack(waves, exp / "speech" / "spectrograms.png", title="the embedded voice"))
EOF
  else
    echo "speak skipped: the embedded English voice is not installed in this copy of wavekit"
  fi
  end_stage 1 speak
fi
if begin_stage 2 copy_synthesis; then
  if [ -d "$root/sound" ]; then
    wk eval copy-synthesis --list "$recipe_dir/conf/pretrained_heldout.tsv" --root "$root" -o "$exp/copy" \
      --per-group "$per_group" --max-seconds "$seconds" --system "WaveNet (embedded)" --no-report
  else
    echo "copy synthesis skipped: Fish Fillets NG data not found under $root (make data installs it)"
  fi
  end_stage 2 copy_synthesis
fi
if begin_stage 3 report; then
  wk eval report "$exp" --title "wavekit out of the box: the embedded voice and vocoder"
  end_stage 3 report
fi
echo "listen: $exp/speech/*.wav (English), $exp/copy/gen/*/*.wav (held-out Czech); report: $exp/report.md"
