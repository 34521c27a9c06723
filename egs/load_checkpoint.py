"""Load any wavekit checkpoint (vocoder, acoustic model, image model) without its YAML.

    python egs/load_checkpoint.py exp/*/train/checkpoints/best.pt
"""

import sys

import wavekit

for path in sys.argv[1:]:
    model = wavekit.load(path)                     # rebuilt from the checkpoint's kind + config, eval mode
    params = sum(p.numel() for p in model.parameters())
    line = f"{path}: {type(model).__name__}, {params:,} parameters, step {model.checkpoint_step}"
    if hasattr(model, "receptive_field"):
        line += f", receptive field {model.receptive_field}"
    extra = model.checkpoint_extra
    if "audio" in extra:
        line += f", {extra['audio']['mel']['n_mels']} mel bands at {extra['audio']['mel']['sample_rate']} Hz"
    print(line)
