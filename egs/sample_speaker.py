"""Sample babble in one speaker's voice from an unconditional multi-speaker WaveNet.

    python egs/sample_speaker.py out.wav --checkpoint exp/uncond/checkpoints/best.pt --speaker 1
    python egs/sample_speaker.py out.wav --speaker 1          # a tiny untrained model (API demo)

A WaveNet with global conditioning only (cin_channels=0, gin_channels>0) generates
audio for the speaker id it is given; temperature < 1 makes it more conservative.
"""

import argparse

import torch

import wavekit
from wavekit.audio import save_wav
from wavekit.wavenet import WaveNet, WaveNetConfig

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--checkpoint", default=None)
ap.add_argument("--speaker", type=int, default=0)
ap.add_argument("--seconds", type=float, default=0.25)
ap.add_argument("--temperature", type=float, default=0.9)
args = ap.parse_args()

if args.checkpoint:
    model = wavekit.load(args.checkpoint)
else:
    torch.manual_seed(0)
    model = WaveNet(WaveNetConfig(layers=6, stacks=2, residual_channels=16, gate_channels=32, skip_channels=16,
                                  cin_channels=0, gin_channels=4, n_speakers=2)).eval()
print(f"WaveNet: receptive field {model.receptive_field} samples, {model.config.n_speakers} speakers")
wav = model.generate(length=int(args.seconds * 16000), g=torch.tensor([args.speaker]),
                     temperature=args.temperature, seed=0)
save_wav(args.out, wav[0].numpy(), 16000)
print(f"wrote {args.out}: speaker {args.speaker}, {wav.shape[1]} samples")
