"""Tacotron 2 (Shen et al. 2018): symbols -> normalised log-mel frames.

    symbols --embedding--> conv x3 --BiLSTM--> memory (B, N, encoder_dim)
    decoder step t:  prenet(previous frame) + context -> attention LSTM -> location-sensitive
                     attention over memory -> context -> decoder LSTM -> r mel frames + stop logit
    mel --postnet (5 convs, residual)--> refined mel

Training uses teacher forcing; the loss is mel MSE (or L1) before and after
the post-net, stop-token BCE, and the guided-attention loss of Tachibana
et al. (2017) so alignments appear quickly on small data. Inference runs
the decoder autoregressively (pre-net dropout stays on, as in the paper)
until the stop token fires or ``max_frames`` is reached.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from wavekit.registry import register_model
from wavekit.tts.attention import LocationSensitiveAttention, guided_attention_weights


@dataclass
class Tacotron2Config:
    """Sizes follow the paper by default; ``n_symbols`` bounds the symbol table size."""

    n_symbols: int = 256
    n_mels: int = 80
    reduction_factor: int = 1
    embed_dim: int = 512
    encoder_conv_layers: int = 3
    encoder_kernel: int = 5
    encoder_dim: int = 512
    attention_rnn_dim: int = 1024
    decoder_rnn_dim: int = 1024
    prenet_dim: int = 256
    prenet_layers: int = 2
    attention_dim: int = 128
    location_filters: int = 32
    location_kernel: int = 31
    postnet_layers: int = 5
    postnet_channels: int = 512
    postnet_kernel: int = 5
    dropout: float = 0.5
    prenet_dropout: float = 0.5
    attention_dropout: float = 0.1
    decoder_dropout: float = 0.1
    mel_loss: Literal["mse", "l1"] = "mse"
    stop_pos_weight: float = 5.0
    guided_attention_weight: float = 1.0
    guided_attention_sigma: float = 0.2
    stop_threshold: float = 0.5
    max_frames: int = 1000

    def __post_init__(self) -> None:
        for name in ("n_symbols", "n_mels", "reduction_factor", "embed_dim", "encoder_kernel", "encoder_dim",
                     "attention_rnn_dim", "decoder_rnn_dim", "prenet_dim", "prenet_layers", "attention_dim",
                     "location_filters", "location_kernel", "postnet_channels", "postnet_kernel", "max_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.encoder_conv_layers < 0 or self.postnet_layers < 0:
            raise ValueError("encoder_conv_layers and postnet_layers must be >= 0")
        if self.encoder_dim % 2:
            raise ValueError(f"encoder_dim must be even (two LSTM directions), got {self.encoder_dim}")
        if self.encoder_kernel % 2 == 0 or self.postnet_kernel % 2 == 0 or self.location_kernel % 2 == 0:
            raise ValueError("encoder_kernel, postnet_kernel and location_kernel must be odd")
        for name in ("dropout", "prenet_dropout", "attention_dropout", "decoder_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.mel_loss not in ("mse", "l1"):
            raise ValueError(f"mel_loss must be 'mse' or 'l1', got {self.mel_loss!r}")
        if self.guided_attention_weight < 0 or self.guided_attention_sigma <= 0 or self.stop_pos_weight <= 0:
            raise ValueError("guided_attention_weight >= 0, guided_attention_sigma > 0, stop_pos_weight > 0")
        if not 0.0 < self.stop_threshold < 1.0:
            raise ValueError(f"stop_threshold must be in (0, 1), got {self.stop_threshold}")


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, max_len) bool, True at valid positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class ConvStack(nn.Module):
    """Conv1d + BatchNorm + activation + dropout layers over (B, C, T); padding re-zeroed after each layer."""

    def __init__(self, *, channels: list[int], kernel: int, activations: list[str], dropout: float) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(a, b, kernel, padding=kernel // 2) for a, b in zip(channels, channels[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(c) for c in channels[1:])
        self.activations = activations
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, C_in, T), mask (B, T) -> (B, C_out, T), zero where mask is False."""
        m = mask.unsqueeze(1).to(x.dtype)
        x = x * m
        for conv, norm, act in zip(self.convs, self.norms, self.activations):
            x = norm(conv(x))
            x = {"relu": torch.relu, "tanh": torch.tanh, "linear": lambda v: v}[act](x)
            x = F.dropout(x, self.dropout, self.training) * m
        return x


class Encoder(nn.Module):
    """Symbols (B, N) -> memory (B, N, encoder_dim)."""

    def __init__(self, cfg: Tacotron2Config) -> None:
        super().__init__()
        self.embedding = nn.Embedding(cfg.n_symbols, cfg.embed_dim, padding_idx=0)
        dims = [cfg.embed_dim] * (cfg.encoder_conv_layers + 1)
        self.convs = ConvStack(channels=dims, kernel=cfg.encoder_kernel, activations=["relu"] * cfg.encoder_conv_layers,
                               dropout=cfg.dropout)
        self.lstm = nn.LSTM(cfg.embed_dim, cfg.encoder_dim // 2, batch_first=True, bidirectional=True)

    def forward(self, text: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = lengths_to_mask(lengths, text.shape[1])
        x = self.convs(self.embedding(text).transpose(1, 2), mask).transpose(1, 2)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=text.shape[1])
        return out


class Prenet(nn.Module):
    """Linear + ReLU + dropout layers; dropout is on at inference too (Tacotron 2, section 2.2)."""

    def __init__(self, *, in_dim: int, dim: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(in_dim if i == 0 else dim, dim) for i in range(layers))
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = F.dropout(torch.relu(layer(x)), self.dropout, training=True)
        return x


class Tacotron2(nn.Module):
    """Tacotron 2 acoustic model over normalised log-mel (n_mels, frames)."""

    # Trains in float32 whatever train.amp / amp_cpu say: under bf16 autocast (CPU, AVX512-BF16)
    # the tests' small model's attention never became diagonal and decoding did not stop, where
    # float32 learns both in the same steps (the attention's energies and the LSTM cells' state
    # need more than bf16's 8 significant bits).
    mixed_precision = False

    def __init__(self, config: Tacotron2Config) -> None:
        super().__init__()
        self.config = cfg = config
        r, n_mels = cfg.reduction_factor, cfg.n_mels
        self.encoder = Encoder(cfg)
        self.prenet = Prenet(in_dim=n_mels, dim=cfg.prenet_dim, layers=cfg.prenet_layers, dropout=cfg.prenet_dropout)
        self.attention_rnn = nn.LSTMCell(cfg.prenet_dim + cfg.encoder_dim, cfg.attention_rnn_dim)
        self.attention = LocationSensitiveAttention(
            query_dim=cfg.attention_rnn_dim, memory_dim=cfg.encoder_dim, attention_dim=cfg.attention_dim,
            location_filters=cfg.location_filters, location_kernel=cfg.location_kernel,
        )
        self.decoder_rnn = nn.LSTMCell(cfg.attention_rnn_dim + cfg.encoder_dim, cfg.decoder_rnn_dim)
        self.frame_proj = nn.Linear(cfg.decoder_rnn_dim + cfg.encoder_dim, n_mels * r)
        self.stop_proj = nn.Linear(cfg.decoder_rnn_dim + cfg.encoder_dim, 1)
        ch = [n_mels] + [cfg.postnet_channels] * (cfg.postnet_layers - 1) + [n_mels] if cfg.postnet_layers else [n_mels]
        acts = ["tanh"] * (cfg.postnet_layers - 1) + ["linear"] if cfg.postnet_layers else []
        self.postnet = ConvStack(channels=ch, kernel=cfg.postnet_kernel, activations=acts, dropout=cfg.dropout)

    @classmethod
    def from_config(cls, cfg: Tacotron2Config) -> "Tacotron2":
        return cls(cfg)

    # --- decoder ---------------------------------------------------------------

    def _init_state(self, memory: torch.Tensor) -> dict[str, torch.Tensor]:
        b, n, _ = memory.shape
        cfg = self.config
        z = memory.new_zeros
        return {
            "att_h": z(b, cfg.attention_rnn_dim), "att_c": z(b, cfg.attention_rnn_dim),
            "dec_h": z(b, cfg.decoder_rnn_dim), "dec_c": z(b, cfg.decoder_rnn_dim),
            "weights": z(b, n), "weights_cum": z(b, n), "context": z(b, cfg.encoder_dim),
        }

    def _step(
        self, x: torch.Tensor, s: dict[str, torch.Tensor], memory: torch.Tensor, processed: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoder step from prenet output x (B, prenet_dim); updates s in place.

        Returns frames (B, n_mels * r) and stop logit (B,).
        """
        cfg = self.config
        att_h, att_c = self.attention_rnn(torch.cat([x, s["context"]], -1), (s["att_h"], s["att_c"]))
        s["att_h"] = F.dropout(att_h, cfg.attention_dropout, self.training)
        s["att_c"] = att_c
        weights_cat = torch.stack([s["weights"], s["weights_cum"]], 1)
        s["context"], s["weights"] = self.attention(s["att_h"], memory, processed, weights_cat, mask)
        s["weights_cum"] = s["weights_cum"] + s["weights"]
        dec_h, dec_c = self.decoder_rnn(torch.cat([s["att_h"], s["context"]], -1), (s["dec_h"], s["dec_c"]))
        s["dec_h"] = F.dropout(dec_h, cfg.decoder_dropout, self.training)
        s["dec_c"] = dec_c
        out = torch.cat([s["dec_h"], s["context"]], -1)
        return self.frame_proj(out), self.stop_proj(out).squeeze(-1)

    def _postnet(self, mel: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """mel (B, n_mels, T) -> mel + postnet(mel), zero beyond each length."""
        return (mel + self.postnet(mel, frame_mask)) * frame_mask.unsqueeze(1).to(mel.dtype)

    def forward(
        self, text: torch.Tensor, text_lengths: torch.Tensor, mel: torch.Tensor, mel_lengths: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Teacher-forced pass.

        text (B, N) long ids (0 = pad), text_lengths (B,), mel (B, n_mels, T) normalised log-mel,
        mel_lengths (B,). Returns dict: "mel" and "mel_post" (B, n_mels, T_r) with T_r = T rounded
        up to a multiple of r, "stop" logits (B, T_r / r), "alignment" (B, T_r / r, N).
        """
        cfg = self.config
        r = cfg.reduction_factor
        dtype = next(self.parameters()).dtype
        mel = mel.to(dtype)
        b, n_mels, frames = mel.shape
        if n_mels != cfg.n_mels:
            raise ValueError(f"mel has {n_mels} bands, model expects {cfg.n_mels}")
        steps = -(-frames // r)
        mel = F.pad(mel, (0, steps * r - frames))
        memory = self.encoder(text, text_lengths)
        mask = lengths_to_mask(text_lengths, text.shape[1])
        processed = self.attention.process_memory(memory)
        # Input of step i is the last frame of group i-1 (a zero "go" frame for step 0).
        last_frames = mel[:, :, r - 1 :: r].transpose(1, 2)  # (B, steps, n_mels)
        inputs = torch.cat([mel.new_zeros(b, 1, n_mels), last_frames[:, :-1]], 1)
        prenet_out = self.prenet(inputs)
        state = self._init_state(memory)
        frames_out, stops, aligns = [], [], []
        for i in range(steps):
            f, st = self._step(prenet_out[:, i], state, memory, processed, mask)
            frames_out.append(f)
            stops.append(st)
            aligns.append(state["weights"])
        mel_out = torch.stack(frames_out, 1).reshape(b, steps * r, n_mels).transpose(1, 2)
        frame_mask = lengths_to_mask(mel_lengths, steps * r)
        return {
            "mel": mel_out,
            "mel_post": self._postnet(mel_out, frame_mask),
            "stop": torch.stack(stops, 1),
            "alignment": torch.stack(aligns, 1),
        }

    def loss_terms(
        self, text: torch.Tensor, text_lengths: torch.Tensor, mel: torch.Tensor, mel_lengths: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Each loss term (scalars): "mel", "mel_post", "stop", "guided", and their weighted sum "loss"."""
        cfg = self.config
        r = cfg.reduction_factor
        out = self(text, text_lengths, mel, mel_lengths)
        dtype = out["mel"].dtype
        t_r = out["mel"].shape[2]
        target = F.pad(mel.to(dtype), (0, t_r - mel.shape[2]))
        fmask = lengths_to_mask(mel_lengths, t_r).unsqueeze(1).to(dtype)
        denom = fmask.sum() * cfg.n_mels
        dist = F.mse_loss if cfg.mel_loss == "mse" else F.l1_loss
        mel_before = (dist(out["mel"], target, reduction="none") * fmask).sum() / denom
        mel_after = (dist(out["mel_post"], target, reduction="none") * fmask).sum() / denom
        step_lengths = -(-mel_lengths // r)
        n_steps = out["stop"].shape[1]
        smask = lengths_to_mask(step_lengths, n_steps).to(dtype)
        stop_target = (torch.arange(n_steps, device=mel.device)[None, :] == (step_lengths - 1)[:, None]).to(dtype)
        pos_weight = torch.tensor(cfg.stop_pos_weight, dtype=dtype, device=mel.device)
        stop = (F.binary_cross_entropy_with_logits(out["stop"], stop_target, reduction="none", pos_weight=pos_weight)
                * smask).sum() / smask.sum()
        w = guided_attention_weights(text_lengths, step_lengths, cfg.guided_attention_sigma,
                                     out["alignment"].shape[2], n_steps).to(dtype)
        # Attention mass off the diagonal per decoder step, averaged over steps (in [0, 1]).
        guided = (out["alignment"] * w).sum() / step_lengths.sum()
        total = mel_before + mel_after + stop + cfg.guided_attention_weight * guided
        return {"loss": total, "mel": mel_before, "mel_post": mel_after, "stop": stop, "guided": guided}

    def loss(
        self, text: torch.Tensor, text_lengths: torch.Tensor, mel: torch.Tensor, mel_lengths: torch.Tensor
    ) -> torch.Tensor:
        """Scalar training loss; see :meth:`loss_terms`."""
        return self.loss_terms(text, text_lengths, mel, mel_lengths)["loss"]

    # --- inference ---------------------------------------------------------------

    def infer_batch(
        self, sequences: Sequence[list[int] | torch.Tensor], max_frames: int | None = None
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Decode several symbol sequences at once; each stops at its own stop token.

        Returns, per sequence, mel (n_mels, frames) and alignment (steps, N_i). Sequences that
        reach ``max_frames`` (default ``config.max_frames``) without stopping are cut there,
        with a warning.
        """
        with torch.no_grad():
            return self._decode(sequences, cfg_max_frames=max_frames)

    def _decode(
        self, sequences: Sequence[list[int] | torch.Tensor], cfg_max_frames: int | None
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        cfg = self.config
        r = cfg.reduction_factor
        max_frames = cfg.max_frames if cfg_max_frames is None else cfg_max_frames
        if not sequences:
            return []
        param = next(self.parameters())
        seqs = [torch.as_tensor(s, dtype=torch.long).reshape(-1) for s in sequences]
        if any(len(s) == 0 for s in seqs):
            raise ValueError("every symbol sequence needs at least one symbol")
        lengths = torch.tensor([len(s) for s in seqs], device=param.device)
        text = nn.utils.rnn.pad_sequence(seqs, batch_first=True).to(param.device)
        if int(text.max()) >= cfg.n_symbols or int(text.min()) < 0:
            raise ValueError(f"symbol ids must be in [0, {cfg.n_symbols})")
        b = len(seqs)
        memory = self.encoder(text, lengths)
        mask = lengths_to_mask(lengths, text.shape[1])
        processed = self.attention.process_memory(memory)
        state = self._init_state(memory)
        frame = memory.new_zeros(b, cfg.n_mels)
        max_steps = max(1, -(-max_frames // r))
        stop_at = torch.full((b,), max_steps, dtype=torch.long, device=param.device)
        done = torch.zeros(b, dtype=torch.bool, device=param.device)
        frames_out, aligns = [], []
        for i in range(max_steps):
            f, st = self._step(self.prenet(frame), state, memory, processed, mask)
            frames_out.append(f)
            aligns.append(state["weights"])
            frame = f[:, -cfg.n_mels:]
            fired = (torch.sigmoid(st) > cfg.stop_threshold) & ~done
            stop_at[fired] = i + 1
            done |= fired
            if bool(done.all()):
                break
        if not bool(done.all()):
            warnings.warn(f"{int((~done).sum())} sequence(s) reached max_frames={max_frames} without a stop token",
                          stacklevel=4)
        steps = len(frames_out)
        mel = torch.stack(frames_out, 1).reshape(b, steps * r, cfg.n_mels).transpose(1, 2)
        n_frames = stop_at.clamp(max=steps) * r
        mel = self._postnet(mel, lengths_to_mask(n_frames, steps * r))
        align = torch.stack(aligns, 1)
        return [(mel[k, :, : int(n_frames[k])], align[k, : int(stop_at[k].clamp(max=steps)), : int(lengths[k])])
                for k in range(b)]

    def infer(self, symbols: list[int] | torch.Tensor, max_frames: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Symbol ids (N,) -> mel (n_mels, frames) normalised log-mel, alignment (steps, N)."""
        return self.infer_batch([symbols], max_frames=max_frames)[0]


register_model("tacotron2", Tacotron2Config, Tacotron2)
