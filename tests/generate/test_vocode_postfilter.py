"""The postfilter in the vocoding path: `wavekit vocode` writes the network's output matched to its mel,
--raw-outdir keeps the output before it, --no-postfilter writes what the network made."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from test_generate_cli import write_checkpoint, write_mels

from wavekit.audio import load_wav
from wavekit.audio.pitch_comb import pitch_comb
from wavekit.audio.postfilter import mel_postfilter
from wavekit.checkpoint import load
from wavekit.cli import cli
from wavekit.errors import WavekitError
from wavekit.generate.plan import OutputOptions, plan_vocode


def vocode(*args):
    result = CliRunner().invoke(cli, ["vocode", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result


def test_written_wav_is_the_raw_output_through_the_postfilter(tmp_path):
    ck, stats = write_checkpoint(tmp_path / "ck.pt")
    mels = write_mels(tmp_path / "mel", count=2, frames=6)
    vocode("-c", ck, mels, "-o", tmp_path / "pf", "--raw-outdir", tmp_path / "raw", "--seed", "4")
    vocode("-c", ck, mels, "-o", tmp_path / "plain", "--no-postfilter", "--seed", "4")
    for name in ("u0", "u1"):
        raw = load_wav(tmp_path / "raw" / f"{name}.wav")
        # the raw folder holds exactly what --no-postfilter writes (same seeds), and the postfiltered file
        # is that output through the pitch comb, then mel_postfilter with the checkpoint's mel settings and
        # statistics
        np.testing.assert_array_equal(raw, load_wav(tmp_path / "plain" / f"{name}.wav"))
        mel = stats.denormalize(np.load(mels / f"{name}.npy"))
        expected = np.clip(mel_postfilter(pitch_comb(raw, 16000), mel), -1, 1)
        np.testing.assert_allclose(load_wav(tmp_path / "pf" / f"{name}.wav"), expected, atol=2 / 32768)
        assert not np.array_equal(load_wav(tmp_path / "pf" / f"{name}.wav"), raw)


def test_plan_resolves_the_postfilter_only_for_mel_conditioning(tmp_path):
    ck80, _ = write_checkpoint(tmp_path / "ck80.pt")
    ck8, _ = write_checkpoint(tmp_path / "ck8.pt", cin=8)  # conditioned on 8 channels, records an 80-band mel
    mels = write_mels(tmp_path / "mel", frames=4)
    model = load(ck80)
    assert plan_vocode(model, [mels], tmp_path / "a").write.postfilter is not None
    assert plan_vocode(model, [mels], tmp_path / "b", output=OutputOptions(postfilter=False)).write.postfilter is None
    np.save(tmp_path / "c8.npy", np.zeros((8, 4), np.float32))
    assert plan_vocode(load(ck8), [tmp_path / "c8.npy"], tmp_path / "c").write.postfilter is None
    with pytest.raises(WavekitError, match="raw output folder"):
        plan_vocode(model, [mels], tmp_path / "d", output=OutputOptions(raw_outdir=tmp_path / "d"))
