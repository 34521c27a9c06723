"""Pitch for the source-filter vocoder: F0 on the mel's frames, voicing ramps, free-running and fundamental phase."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from wavekit.audio import MelConfig, load_wav, log_mel_spectrogram
from wavekit.audio.pitch import (
    PitchConfig,
    f0_from_mel,
    f0_from_waveform,
    free_running_phase,
    fundamental_phase,
    voicing_per_sample,
)
from wavekit.eval.pitch import f0_track, pitch_errors

MEL = MelConfig()
SR, HOP = MEL.sample_rate, MEL.hop_length


def cents(f: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return 1200.0 * np.log2(np.asarray(f) / np.asarray(ref))


def circular_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a - b in cycles, wrapped to [-0.5, 0.5)."""
    return np.mod(np.asarray(a) - np.asarray(b) + 0.5, 1.0) - 0.5


def circular_std(phase: np.ndarray) -> float:
    """Circular standard deviation in cycles: sqrt(-2 ln R) / 2 pi."""
    r = abs(np.mean(np.exp(2j * np.pi * phase)))
    return float(np.sqrt(-2.0 * np.log(r)) / (2.0 * np.pi))


def resonant_pulse_train(f0_of_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit pulses at the whole cycles of the integrated F0, through two fixed resonances: (wav, pulse indices)."""
    cycles = np.cumsum(f0_of_t / SR)
    pulses = np.flatnonzero(np.diff(np.floor(cycles)) > 0) + 1
    e = np.zeros(len(f0_of_t))
    e[pulses] = 1.0
    y = e
    for fc, bw in ((500.0, 80.0), (1500.0, 150.0)):
        r = np.exp(-np.pi * bw / SR)
        y = lfilter([1.0], [1.0, -2.0 * r * np.cos(2 * np.pi * fc / SR), r * r], y)
    return 0.3 * y / np.abs(y).max(), pulses


def test_free_running_phase_of_a_constant_f0_is_the_closed_form():
    f0 = 137.3
    length = 5 * SR // 2 + 17
    phase = free_running_phase(np.full(MEL.frames(length), f0), length, MEL)
    assert phase.shape == (length,) and phase.dtype == np.float64
    assert phase.min() >= 0.0 and phase.max() < 1.0
    expected = np.mod((np.arange(length) + 1) * f0 / SR, 1.0)
    assert np.abs(circular_diff(phase, expected)).max() < 1e-9


def test_free_running_phase_interpolates_f0_between_frame_centres():
    f0 = np.array([100.0, 200.0, 200.0, 50.0])
    length = 4 * HOP
    step = np.mod(np.diff(free_running_phase(f0, length, MEL)), 1.0) * SR  # F0 at samples 1 .. length-1
    t = np.arange(1, length)
    centres = np.arange(4) * HOP + HOP // 2
    np.testing.assert_allclose(step, np.interp(t, centres, f0), atol=1e-6)
    assert step[centres[0] - 1] == pytest.approx(100.0) and step[centres[1] - 1] == pytest.approx(200.0)
    assert step[(centres[0] + centres[1]) // 2 - 1] == pytest.approx(150.0)  # half way between the first two centres
    np.testing.assert_allclose(step[: HOP // 2 - 1], 100.0)  # before the first centre: held


@pytest.mark.parametrize("f0", [97.0, 151.3, 233.0, 410.0])
def test_a_pure_tone_gives_its_f0_within_a_few_cents(f0):
    t = np.arange(SR + 100)
    f, voiced = f0_from_waveform(0.5 * np.sin(2 * np.pi * f0 * t / SR + 0.3), MEL)
    assert f.shape == voiced.shape == (MEL.frames(len(t)),) and voiced.dtype == bool
    assert voiced.all()
    inner = cents(f[2:-2], f0)  # frames whose window lies inside the tone
    assert np.abs(inner).max() < 3.0 and abs(np.median(inner)) < 0.5


def test_frames_are_the_mels_frames():
    # a linear chirp: each frame's F0 must be the chirp's frequency at the centre of the mel's frame,
    # sample i*hop + hop//2; centring on i*hop would be 1.6 Hz (8 ms at 200 Hz/s) off, 7 .. 25 cents here
    t = np.arange(3 * SR // 2)
    inst = 100.0 + 200.0 * t / SR
    wav = 0.5 * np.cos(2 * np.pi * np.cumsum(inst) / SR)
    f, voiced = f0_from_waveform(wav, MEL)
    centres = np.arange(len(f)) * HOP + HOP // 2
    assert voiced[2:-2].all()
    assert np.abs(cents(f, inst[centres])[2:-2]).max() < 3.0
    # any length and any mel: exactly the mel's frame count
    other = MelConfig(n_fft=800, win_length=800, hop_length=200)
    for n in (800, 801, 5 * 200 + 199, 4000):
        x = np.random.default_rng(n).standard_normal(n) * 0.1
        for cfg in (MEL, other):
            f, v = f0_from_waveform(x, cfg)
            assert f.shape == v.shape == (cfg.frames(n),) == (log_mel_spectrogram(x, cfg).shape[1],)
            assert np.all(np.isfinite(f)) and np.all(f > 0)


def test_unvoiced_frames_are_interpolated_between_voiced_ones():
    t = np.arange(SR // 2)
    low, high = np.sin(2 * np.pi * 120.0 * t / SR), np.sin(2 * np.pi * 240.0 * t / SR)
    wav = 0.5 * np.r_[low, np.zeros(SR // 2), high]
    f, voiced = f0_from_waveform(wav, MEL)
    gap = np.flatnonzero(~voiced)
    assert gap.size > 10 and voiced[:20].all() and voiced[-20:].all()
    inside = f[gap[0] - 1 : gap[-1] + 2]
    assert np.all(np.diff(inside) > 0)  # a straight line from the last voiced F0 to the next
    np.testing.assert_allclose(np.diff(inside), np.diff(inside).mean(), rtol=1e-6)
    assert 115 < f[gap[0] - 1] < 125 and 230 < f[gap[-1] + 1] < 250
    # nothing voiced at all: twice f0_min everywhere
    f, voiced = f0_from_waveform(np.zeros(SR // 4), MEL, PitchConfig(f0_min=70.0, f0_max=400.0))
    assert not voiced.any() and np.all(f == 140.0)


def test_voicing_ramps_at_changes_and_stays_in_0_1():
    voiced = np.array([0, 0, 1, 1, 1, 0], dtype=bool)
    length = 6 * HOP + 37  # samples past the last frame hold its decision
    v = voicing_per_sample(voiced, length, HOP)
    assert v.shape == (length,) and v.dtype == np.float32 and v.min() >= 0.0 and v.max() <= 1.0
    up, down = 2 * HOP, 5 * HOP  # the frame boundaries where voicing changes
    assert np.all(v[: up - HOP // 2] == 0) and np.all(v[up + HOP // 2 : down - HOP // 2] == 1)
    assert np.all(v[down + HOP // 2 :] == 0)
    assert v[up] == pytest.approx(0.5, abs=1.0 / HOP) and v[down] == pytest.approx(0.5, abs=1.0 / HOP)
    ramp = v[up - HOP // 2 : up + HOP // 2]
    np.testing.assert_allclose(np.diff(ramp), 1.0 / HOP, atol=1e-6)  # linear, one hop long
    assert np.all(voicing_per_sample(np.ones(3, bool), 3 * HOP, HOP) == 1)
    assert voicing_per_sample(voiced, 0, HOP).shape == (0,)


def test_fundamental_phase_locks_to_the_glottal_pulses():
    t = np.arange(2 * SR)
    f0_of_t = 120.0 + 30.0 * np.sin(2 * np.pi * 0.5 * t / SR)  # 90 .. 150 Hz, slowly varying
    wav, pulses = resonant_pulse_train(f0_of_t)
    f, voiced = f0_from_waveform(wav, MEL)
    phase = fundamental_phase(wav, f, voiced, MEL)
    assert phase.shape == wav.shape and phase.dtype == np.float64 and phase.min() >= 0 and phase.max() < 1
    inner = pulses[(pulses > MEL.n_fft) & (pulses < len(wav) - MEL.n_fft)]
    assert circular_std(phase[inner]) < 0.01  # measured 0.0012 cycles: every pulse at the same phase
    # d(phase)/dt is f0 / sr: per sample within 2 %, averaged over a hop within 1 %
    step = circular_diff(phase[1:], phase[:-1]) * SR
    ref = f0_of_t[1:]
    mid = slice(MEL.n_fft, -MEL.n_fft)
    assert np.quantile(np.abs(step[mid] / ref[mid] - 1), 0.99) < 0.02
    box = np.ones(HOP) / HOP
    assert np.abs(np.convolve(step, box, "valid") / np.convolve(ref, box, "valid") - 1)[mid].max() < 0.01
    # the phase belongs to the signal, not to the clock: the same pulses 37 samples later sit at the same phase
    late = np.r_[np.zeros(37), wav[:-37]]
    f_late, v_late = f0_from_waveform(late, MEL)
    phase_late = fundamental_phase(late, f_late, v_late, MEL)
    mean_phase = lambda p: np.angle(np.mean(np.exp(2j * np.pi * p))) / (2 * np.pi)
    assert abs(circular_diff(mean_phase(phase_late[inner + 37]), mean_phase(phase[inner]))) < 0.01
    # (a free-running phase of the same track moves by 37 * f0 / sr, about 0.28 cycles)
    free, free_late = free_running_phase(f, len(wav), MEL), free_running_phase(f_late, len(wav), MEL)
    assert abs(circular_diff(mean_phase(free_late[inner + 37]), mean_phase(free[inner]))) > 0.1


def test_fundamental_phase_of_silence_is_the_free_running_phase():
    wav = np.zeros(SR // 4)
    f, voiced = f0_from_waveform(wav, MEL)
    phase = fundamental_phase(wav, f, voiced, MEL)
    np.testing.assert_allclose(phase, free_running_phase(f, len(wav), MEL))


def test_bad_input():
    with pytest.raises(ValueError, match="f0_min"):
        PitchConfig(f0_min=300.0, f0_max=200.0)
    with pytest.raises(ValueError, match="1-D"):
        f0_from_waveform(np.zeros((2, 1000)), MEL)
    with pytest.raises(ValueError, match="same number of frames"):
        fundamental_phase(np.zeros(1024), np.full(4, 100.0), np.zeros(3, bool), MEL)
    with pytest.raises(ValueError, match="n_mels"):
        f0_from_mel(np.zeros((40, 10)), MEL)


def real_utterances(fillets_files, names: tuple[str, ...]) -> list[np.ndarray]:
    """Real Czech utterances of fillets-ng, cut to whole frames."""
    out = []
    for name in names:
        path = next((p for p in fillets_files if p.name == name), None)
        if path is None:
            pytest.skip(f"fillets-ng file {name} not found")
        x = load_wav(path, SR).astype(np.float64)
        out.append(x[: MEL.frames(len(x)) * HOP])
    return out


@pytest.fixture(scope="module")
def two_utterances(fillets_files) -> list[np.ndarray]:
    """Two real Czech utterances of different speakers."""
    return real_utterances(fillets_files, ("pra-m-strach.ogg", "mik-v-ticho1.ogg"))


def test_voicing_from_the_mel_agrees_with_the_metrics_reference_track(fillets_files):
    """Against the track the V/UV metric scores with (pyin's defaults on the recording), not only against our own.

    A 20-cent pyin grid once made Griffin-Lim waveforms of these utterances (a trained voice,
    and the held-out speaker) wholly unvoiced, so the sine source of generation was silent:
    this catches any setting that loses the voicing the mel still carries.
    """
    for wav in real_utterances(fillets_files, ("bot-v-totem.ogg", "dir-hs-konec0.ogg")):
        f_ref, v_ref = f0_track(wav, SR, f0_min=60.0, f0_max=500.0, frame_length=MEL.n_fft, hop_length=HOP)
        f_wav, v_wav = f0_from_waveform(wav, MEL)
        f_mel, v_mel = f0_from_mel(log_mel_spectrogram(wav, MEL), MEL)
        from_wav, from_mel = pitch_errors(f_ref, v_ref, f_wav, v_wav), pitch_errors(f_ref, v_ref, f_mel, v_mel)
        # measured: waveform 0.150 / 0.018, mel 0.157 / 0.189 (the 20-cent grid: mel 0.60 on the first, no frame voiced)
        assert from_wav["vuv_error"] < 0.20 and from_mel["vuv_error"] < 0.25
        assert from_mel["voiced_both"] > 50 and from_mel["f0_rmse_cents"] < 35.0  # measured 22.4, 20.6


def test_f0_from_the_mel_agrees_with_f0_from_the_waveform_on_real_speech(two_utterances):
    for wav in two_utterances:
        f_wav, v_wav = f0_from_waveform(wav, MEL)
        f_mel, v_mel = f0_from_mel(log_mel_spectrogram(wav, MEL), MEL)
        assert f_mel.shape == f_wav.shape == (MEL.frames(len(wav)),)
        err = pitch_errors(f_wav, v_wav, f_mel, v_mel)
        assert err["voiced_both"] > 50
        assert err["f0_rmse_cents"] < 35.0 and err["vuv_error"] < 0.10  # measured 24.4 / 0.007 and 24.3 / 0.052


def test_the_cached_pyin_transition_matrix_is_librosas():
    import librosa.sequence

    f0_from_waveform(np.zeros(4 * HOP), MEL)  # installs the cache
    cached = librosa.sequence.transition_local
    fresh = cached.__wrapped__(184, 5, window="triangle", wrap=False)
    got = cached(184, 5, window="triangle", wrap=False)
    np.testing.assert_array_equal(got, fresh)
    assert got is cached(184, 5, window="triangle", wrap=False) and not got.flags.writeable
    assert cached(184, 7, window="triangle", wrap=False).shape == (184, 184)  # other arguments, other matrix
    assert not np.array_equal(cached(184, 7, window="triangle", wrap=False), got)
    widths = np.full(6, 3)  # an array: unhashable, passed on to librosa
    np.testing.assert_array_equal(cached(6, widths), cached.__wrapped__(6, widths))
