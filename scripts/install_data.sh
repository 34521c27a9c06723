#!/usr/bin/env bash
# Installs the offline data wavekit's recipes and tests use, from Debian:
#   espeak-ng            English text -> speech pairs (TTS recipe)
#   fillets-ng-data-cs   106 min of recorded Czech speech (vocoder recipe)
#   dataset-fashion-mnist  70,000 28x28 images (image recipes)
#   sox                  used by the espeak recipe to check generated audio
# As root this installs them with apt-get; otherwise it prints the command,
# and the tests that need the data skip with that reason.
set -u
pkgs=(espeak-ng fillets-ng-data-cs dataset-fashion-mnist)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "offline data: all present (${pkgs[*]})"
  exit 0
fi
cmd="apt-get update && apt-get install -y ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "offline data: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; then
    echo "offline data: installed"
  else
    echo "offline data: apt-get failed; tests that need ${missing[*]} will skip" >&2
  fi
else
  echo "offline data missing: ${missing[*]}"
  echo "  install with: sudo sh -c '$cmd'"
  echo "  (tests that need them will skip with this reason)"
fi
exit 0
