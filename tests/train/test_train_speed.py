"""The fast training step: the same function as the plain one, exact resume, clean fallbacks.

The WaveNet here uses every rearranged piece of arithmetic: mel conditioning projected for
all blocks at the frame rate and then upsampled, a speaker vector, the stacked residual +
skip product, weight norm, dropout and the cross-entropy loss.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from wavekit.train import TrainConfig, Trainer
from wavekit.train import step as S
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.model import WaveNet

CFG = WaveNetConfig(layers=4, stacks=2, residual_channels=8, gate_channels=12, skip_channels=6, kernel_size=3,
                    cin_channels=5, gin_channels=3, n_speakers=2, upsample_scales=(2, 4), dropout=0.1)


def _items(n: int = 8, length: int = 64) -> list[dict[str, torch.Tensor]]:
    gen = torch.Generator().manual_seed(7)
    return [{"wav": torch.rand(length, generator=gen) * 1.8 - 0.9,
             "c": torch.randn(CFG.cin_channels, length // CFG.hop_length + 3, generator=gen),
             "g": torch.tensor(i % 2)} for i in range(n)]


@pytest.mark.parametrize("length", [13, 70])  # frame-rate product (3 frames < 5 bands), sample-rate one
def test_projected_conditioning_equals_projecting_the_upsampled_mel(length: int) -> None:
    torch.manual_seed(0)
    model = WaveNet(CFG).double()
    for conv in model.upsample.convs:  # not the flat initial kernels: every tap counts
        conv.weight.data.uniform_(-1, 1)
    c = torch.randn(2, CFG.cin_channels, 12, dtype=torch.float64)
    g = torch.tensor([1, 0])
    # lengths not a multiple of the hop: the crop of the upsampled frames matters
    projected = model.projected_conditioning(c, g, length)
    cond = model.conditioning(c, g, length)
    assert projected is not None and len(projected) == CFG.layers
    for block, p in zip(model.blocks, projected):
        assert p.shape == (2, CFG.gate_channels, length)
        torch.testing.assert_close(p, block.cond(cond), rtol=0, atol=1e-12)


def test_loss_is_the_mean_cross_entropy_of_the_logits() -> None:
    torch.manual_seed(0)
    model = WaveNet(CFG).eval()
    batch = {k: torch.stack([it[k] for it in _items(3)]) for k in ("wav", "c", "g")}
    logits = model(**batch)
    expected = F.nll_loss(F.log_softmax(logits, dim=1), model.targets(batch["wav"]))
    torch.testing.assert_close(model.loss(**batch), expected, rtol=1e-6, atol=1e-6)


def _trainer(out: Path, **overrides) -> Trainer:
    torch.manual_seed(0)
    model = WaveNet(CFG)
    settings = {"steps": 6, "batch_size": 2, "lr": 3e-3, "save_every": 3, "log_every": 1, "eval_every": 0,
                "ema_decay": 0.9, "device": "cpu"}
    return Trainer(model, _items(), config=TrainConfig(**{**settings, **overrides}), out_dir=out, progress=False)


def _same_weights(a: Trainer, b: Trainer) -> None:
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb), ka


def test_optimised_wavenet_step_resumes_bit_exactly(tmp_path: Path) -> None:
    whole = _trainer(tmp_path / "whole")
    whole.train()
    part = _trainer(tmp_path / "part")
    part.train(max_steps=3)
    resumed = _trainer(tmp_path / "part")
    resumed.train(resume=True)
    assert resumed.step == whole.step == 6
    _same_weights(resumed, whole)
    moved = any(not torch.equal(p, q) for p, q in zip(whole.model.state_dict().values(),
                                                       _trainer(tmp_path / "fresh").model.state_dict().values()))
    assert moved, "training did not change the weights"


def test_failed_compile_falls_back_to_the_eager_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_compile(module, **kw):
        def run(**batch):
            raise RuntimeError("no C++ compiler\nlong inductor trace")
        return run

    monkeypatch.setattr(S.torch, "compile", broken_compile)
    messages: list[str] = []
    eager = _trainer(tmp_path / "eager")
    eager.train()
    fallback = _trainer(tmp_path / "fallback", compile=True)
    fallback.loss_step.log = messages.append
    fallback.train()
    assert fallback.loss_step.fallback == "RuntimeError: no C++ compiler"
    assert fallback.loss_step.compiled is None and fallback.loss_step.compile_s is not None
    assert len(messages) == 1 and "training eagerly" in messages[0]
    _same_weights(fallback, eager)


def test_bf16_autocast_only_where_the_cpu_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr(S, "cpu_has_native_bf16", lambda: False)
    assert S.autocast_dtype(TrainConfig(amp_cpu=True), cpu) is None
    monkeypatch.setattr(S, "cpu_has_native_bf16", lambda: True)
    assert S.autocast_dtype(TrainConfig(amp_cpu=True), cpu) == torch.bfloat16
    assert S.autocast_dtype(TrainConfig(amp_cpu=False), cpu) is None
    assert S.autocast_dtype(TrainConfig(amp=True), torch.device("cuda")) == torch.bfloat16
    assert S.autocast_dtype(TrainConfig(amp=True, amp_dtype="fp16"), torch.device("cuda")) == torch.float16
    assert S.autocast_dtype(TrainConfig(amp=False), torch.device("cuda")) is None


def test_the_trainer_says_which_precision_it_trains_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(S, "cpu_has_native_bf16", lambda: True)
    assert _trainer(tmp_path / "a").precision.startswith("bf16 autocast, float32 weights")
    assert _trainer(tmp_path / "b", amp_cpu=False).precision == "float32"
    monkeypatch.setattr(WaveNet, "mixed_precision", False, raising=False)  # a model that opts out
    opted_out = _trainer(tmp_path / "d")
    assert opted_out.amp_dtype is None and opted_out.precision.startswith("float32 (WaveNet trains in float32")
    monkeypatch.setattr(S, "cpu_has_native_bf16", lambda: False)
    assert _trainer(tmp_path / "c").precision.startswith("float32 (no native bf16 on this CPU")


def test_cpu_bf16_autocast_keeps_float32_weights_and_gradients() -> None:
    torch.manual_seed(0)
    model = WaveNet(CFG)
    batch = {k: torch.stack([it[k] for it in _items(2)]) for k in ("wav", "c", "g")}
    step = S.LossStep(model_loss(model), TrainConfig(), torch.device("cpu"), torch.bfloat16, log=lambda m: None)
    loss = step(batch, lambda v: v.backward())
    assert torch.isfinite(loss)
    assert all(p.dtype == torch.float32 and p.grad is not None and p.grad.dtype == torch.float32
               for p in model.parameters() if p.requires_grad)


def model_loss(model: WaveNet) -> torch.nn.Module:
    from wavekit.train.distributed import LossModule

    return LossModule(model)


# ---- CUDA (skipped without a GPU) --------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.parametrize("compiled", [False, True])
def test_cuda_step_bf16_fused_adam_resumes_exactly(tmp_path: Path, cuda_device: torch.device, compiled: bool) -> None:
    extra = {"device": "cuda", "amp": True, "amp_dtype": "bf16", "fused_adam": True, "compile": compiled,
             "cuda_graphs": compiled}
    whole = _trainer(tmp_path / "whole", **extra)
    whole.train()
    assert whole.amp_dtype == torch.bfloat16
    assert all(p.dtype == torch.float32 for p in whole.model.parameters())
    assert whole.optimizer.defaults.get("fused") is True
    if compiled:
        assert whole.loss_step.compiled is not None, whole.loss_step.fallback
    part = _trainer(tmp_path / "part", **extra)
    part.train(max_steps=3)
    resumed = _trainer(tmp_path / "part", **extra)
    resumed.train(resume=True)
    _same_weights(resumed, whole)


@pytest.mark.cuda
def test_cuda_loader_pins_memory(cuda_device: torch.device, tmp_path: Path) -> None:
    trainer = _trainer(tmp_path, device="cuda")
    _, batch = next(trainer._batches())
    assert batch["wav"].is_pinned()
