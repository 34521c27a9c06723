"""The embedded vocoder's check figures (the fenced json block of wavekit/pretrained/vocoder.md).

    python recipes/fillets_cs/local/vocoder_card.py [--vocoder pretrained:vocoder] [--per-group 1] [--seconds 2]

Copy-synthesises the first ``--per-group`` utterances of each group of
conf/pretrained_heldout.tsv (never trained on), cut to ``--seconds``, and prints
the JSON block that tests/pretrained/test_vocoder_card.py recomputes.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from wavekit.eval.copy_synthesis import card_check, pick, read_heldout_list

HERE = Path(__file__).resolve().parent
HELDOUT = HERE.parent / "conf" / "pretrained_heldout.tsv"
# the tolerance a recomputation on another machine may differ by (generation is sampled: rounding
# differences between CPUs change the draws after a while, so the figures move a little)
TOLERANCE = {"mcd_db": 0.6, "lsd_db": 1.5, "snr_db": 1.5, "stoi": 0.06, "pesq": 0.3, "f0_rmse_cents": 150.0,
             "vuv_error": 0.12, "harmonic_db": 1.5, "harmonic_ref_db": 1.5}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocoder", default="pretrained:vocoder")
    ap.add_argument("--root", default="/usr/share/games/fillets-ng")
    ap.add_argument("--per-group", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    items = pick(read_heldout_list(HELDOUT, args.root), args.per_group)
    with tempfile.TemporaryDirectory() as tmp:
        figures = card_check(args.vocoder, items, tmp, max_seconds=args.seconds, seed=args.seed)
    block = {"items": [it.id for it in items], "seconds": args.seconds, "seed": args.seed, "figures": figures,
             "tolerance": TOLERANCE}
    print(json.dumps(block, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
