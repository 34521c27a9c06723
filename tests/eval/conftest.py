"""Real speech for the metric tests: one utterance of each main fillets-ng voice, at 16 kHz."""

from __future__ import annotations

import numpy as np
import pytest


def _pick(files, speaker: str):
    """First file of a speaker with 1.2-4 s of speech (deterministic: files are sorted)."""
    import soundfile as sf

    for f in files:
        parts = f.stem.split("-")
        if len(parts) >= 3 and parts[1] == speaker and 1.2 <= sf.info(str(f)).duration <= 4.0:
            return f
    pytest.skip(f"no suitable fillets-ng utterance of speaker {speaker}")


@pytest.fixture(scope="session")
def speech_pair(fillets_files) -> tuple[np.ndarray, np.ndarray, list]:
    """(small-fish utterance, big-fish utterance, their paths), float32 at 16 kHz."""
    from wavekit.audio import load_wav

    fm, fv = _pick(fillets_files, "m"), _pick(fillets_files, "v")
    return load_wav(fm, 16000), load_wav(fv, 16000), [fm, fv]
