"""Copy synthesis: analyse a recording into a log-mel and resynthesise it with a vocoder.

    python egs/copy_synthesis.py speech.ogg out.wav --checkpoint exp/voc/train/checkpoints/best.pt

The vocoder's checkpoint carries its mel settings and feature statistics, so the same
features it was trained on are computed here.
"""

import argparse

import torch

import wavekit
from wavekit.audio import FeatureStats, MelConfig, load_wav, log_mel_spectrogram, save_wav

ap = argparse.ArgumentParser()
ap.add_argument("audio")
ap.add_argument("out")
ap.add_argument("--checkpoint", required=True)
ap.add_argument("--speaker", type=int, default=None)
ap.add_argument("--seconds", type=float, default=0.0, help="only the first N seconds (0: all)")
args = ap.parse_args()

vocoder = wavekit.load(args.checkpoint)
audio = vocoder.checkpoint_extra["audio"]
mel_cfg, stats = MelConfig(**audio["mel"]), FeatureStats.from_dict(audio["stats"])
wav = load_wav(args.audio, sample_rate=mel_cfg.sample_rate)           # float32 mono in [-1, 1]
if args.seconds:
    wav = wav[: int(args.seconds * mel_cfg.sample_rate)]
mel = stats.normalize(log_mel_spectrogram(wav, mel_cfg))             # (n_mels, frames), normalised
g = None if args.speaker is None else torch.tensor([args.speaker])
out = vocoder.generate(c=torch.from_numpy(mel).float()[None], g=g, seed=0)
save_wav(args.out, out[0].numpy(), mel_cfg.sample_rate)
print(f"analysed {len(wav) / mel_cfg.sample_rate:.2f} s into {mel.shape[1]} frames; wrote {args.out}")
