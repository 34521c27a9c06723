"""Train a small Gated PixelCNN on the 8x8 digits for a moment, then complete the bottom halves.

    python egs/complete_image.py out.png [--steps 100] [--checkpoint exp/digits/train/checkpoints/best.pt]
"""

import argparse

import torch

import wavekit
from wavekit.image import GatedPixelCNN
from wavekit.image.data import load_digits
from wavekit.image.plots import save_grid

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--checkpoint", default=None, help="a digits checkpoint (else train a tiny model here)")
ap.add_argument("--steps", type=int, default=100)
args = ap.parse_args()

images, _ = load_digits()                          # (1797, 1, 8, 8), 17 levels
x = torch.from_numpy(images).long()
train, held_out = x[:1500], x[1500:1508]
if args.checkpoint:
    model = wavekit.load(args.checkpoint)
else:
    torch.manual_seed(0)
    model = GatedPixelCNN(image_channels=1, levels=17, layers=4, hidden_channels=32)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(args.steps):
        loss = model.loss(train[torch.randint(0, len(train), (64,))])
        opt.zero_grad(), loss.backward(), opt.step()
    model.eval()
with torch.no_grad():
    print(f"held-out bits/dim: {model.bits_per_dim(x[1500:]).mean().item():.3f} (uniform: 4.09)")
known = torch.zeros_like(held_out, dtype=torch.bool)
known[:, :, :4] = True                             # keep the top 4 rows
done = model.complete(held_out, known, seed=0)
print(f"wrote {save_grid(torch.cat([held_out, done]), model.levels, args.out, nrow=len(held_out))}")
