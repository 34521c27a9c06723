"""Vocode a normalised log-mel (.npy, shape (n_mels, frames)) with a trained WaveNet vocoder.

    python egs/vocode_mel.py exp/voc/train/checkpoints/best.pt mel.npy out.wav [--speaker 0]

The mel must be normalised with the vocoder's own statistics (checkpoint["audio"]["stats"]),
as `wavekit preprocess` + FeatureStats.normalize produce it.
"""

import argparse

import numpy as np
import torch

import wavekit
from wavekit.audio import save_wav

ap = argparse.ArgumentParser()
ap.add_argument("checkpoint")
ap.add_argument("mel")
ap.add_argument("out")
ap.add_argument("--speaker", type=int, default=None, help="speaker id for multi-speaker vocoders")
ap.add_argument("--temperature", type=float, default=1.0)
args = ap.parse_args()

vocoder = wavekit.load(args.checkpoint)                     # any wavekit checkpoint rebuilds itself
mel = torch.from_numpy(np.load(args.mel)).float()[None]     # (1, n_mels, frames)
g = None if args.speaker is None else torch.tensor([args.speaker])
wav = vocoder.generate(c=mel, g=g, temperature=args.temperature, seed=0)   # (1, frames * hop), incremental
rate = vocoder.checkpoint_extra["audio"]["mel"]["sample_rate"]
save_wav(args.out, wav[0].numpy(), rate)
print(f"wrote {args.out}: {wav.shape[1] / rate:.2f} s at {rate} Hz")
