"""Shared base of the image models: likelihood, bits/dim, and ONE sampling loop.

A model maps an integer image x (B, C, H, W) in 0..levels-1 to distribution
parameters (B, P, H, W) (:meth:`ImageModel.dist_params`); position (i, j)
parameterises the pixel given every earlier pixel in raster order (and, for
models with colour masks, the earlier channels of the same pixel).
:meth:`ImageModel.sub_pixel_log_probs` turns the parameters of one pixel into
log p over all ``levels`` of sub-pixel c given its earlier channels, so
sampling and completion are one loop for every model: raster order, then
R, G, B, each sub-pixel drawn from a categorical with
:func:`wavekit.core.sampling.sample_logits`.

The loop reads parameters from a *stepper*: the naive one runs the whole
network for every sub-pixel; models with a row cache (:mod:`wavekit.image.cache`)
provide a faster stepper that returns the same numbers.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from wavekit.core.sampling import Generators, check_temperature, sample_logits


class Stepper(Protocol):
    def start_row(self, x: Tensor, i: int) -> None: ...

    def params_at(self, x: Tensor, i: int, j: int) -> Tensor: ...


class NaiveStepper:
    """Runs the full network for every request: the reference for the caches."""

    def __init__(self, model: "ImageModel", y: Tensor | None) -> None:
        self.model, self.y = model, y

    def start_row(self, x: Tensor, i: int) -> None:
        pass

    def params_at(self, x: Tensor, i: int, j: int) -> Tensor:
        return self.model.dist_params(x, self.y)[:, :, i, j]


class ImageModel(nn.Module):
    """Base class. Subclasses set ``image_channels``, ``levels``, ``num_classes`` and
    implement :meth:`dist_params`; categorical models keep the default
    (P = levels * C, channel ``l * C + c`` is the logit of level l for sub-pixel c)."""

    image_channels: int
    levels: int
    num_classes: int = 0
    #: True when the parameters at a pixel do not depend on that pixel at all
    #: (whole-pixel models: one network evaluation per pixel while sampling).
    whole_pixel: bool = False

    # --- to implement -------------------------------------------------------
    def dist_params(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """(B, C, H, W) long -> (B, P, H, W) distribution parameters."""
        raise NotImplementedError

    def sub_pixel_log_probs(self, params: Tensor, x: Tensor, c: int) -> Tensor:
        """params (B, P, *S) and x (B, C, *S) long -> log p(x_c = v | earlier) for all v: (B, levels, *S)."""
        logits = params.unflatten(1, (self.levels, self.image_channels))[:, :, c]
        return F.log_softmax(logits, dim=1)

    def make_stepper(self, y: Tensor | None) -> Stepper:
        """Stepper for cached sampling; the naive one unless a subclass has a cache."""
        return NaiveStepper(self, y)

    # --- shared -------------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def scale_input(self, x: Tensor) -> Tensor:
        """Integer levels -> floats in [-1, 1] in the parameters' dtype."""
        return x.to(self.dtype) * (2.0 / (self.levels - 1)) - 1.0

    def check_input(self, x: Tensor, y: Tensor | None = None) -> None:
        if x.dim() != 4 or x.shape[1] != self.image_channels:
            raise ValueError(f"x must be (B, {self.image_channels}, H, W), got {tuple(x.shape)}")
        if x.is_floating_point():
            raise ValueError("x must be an integer tensor of levels 0..levels-1")
        if y is not None and self.num_classes == 0:
            raise ValueError(f"{type(self).__name__} was built without class conditioning (num_classes=0); pass y=None")

    def log_prob(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """(B, C, H, W) log p of each sub-pixel given all earlier ones (raster, then R, G, B)."""
        self.check_input(x, y)
        params = self.dist_params(x, y)
        B, C, H, W = x.shape
        logits = params.view(B, self.levels, C, H, W)
        return F.log_softmax(logits, dim=1).gather(1, x.unsqueeze(1)).squeeze(1)

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Mean negative log-likelihood in nats per dimension (scalar)."""
        return -self.log_prob(x, y).mean()

    def bits_per_dim(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.loss(x, y) / math.log(2.0)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        height: int,
        width: int,
        temperature: float = 1.0,
        *,
        seed: int | None = None,
        generator: Generators = None,
        y: Tensor | None = None,
        cached: bool = True,
        progress: bool = False,
    ) -> Tensor:
        """``n`` images (n, C, height, width) long, drawn sub-pixel by sub-pixel."""
        x = torch.zeros(n, self.image_channels, height, width, dtype=torch.long, device=self.device)
        known = torch.zeros_like(x, dtype=torch.bool)
        return self.complete(x, known, temperature, seed=seed, generator=generator, y=y, cached=cached, progress=progress)

    @torch.no_grad()
    def complete(
        self,
        x: Tensor,
        known: Tensor,
        temperature: float = 1.0,
        *,
        seed: int | None = None,
        generator: Generators = None,
        y: Tensor | None = None,
        cached: bool = True,
        progress: bool = False,
    ) -> Tensor:
        """Keep ``x`` where ``known`` (bool, same shape, or (B, 1, H, W) for whole pixels)
        and sample every other sub-pixel conditioned on all earlier ones."""
        self.check_input(x, y)
        check_temperature(temperature)
        known = known.to(x.device).expand_as(x)
        if seed is not None:
            generator = torch.Generator(device=x.device).manual_seed(seed)
        x = x.clone().to(self.device)
        known = known.to(self.device)
        stepper = self.make_stepper(y) if cached else NaiveStepper(self, y)
        B, C, H, W = x.shape
        was_training = self.training
        self.eval()
        for i in tqdm(range(H), desc="rows", disable=not progress, leave=False):
            stepper.start_row(x, i)
            for j in range(W):
                if bool(known[:, :, i, j].all()):
                    continue
                params = None
                for c in range(C):
                    if params is None or not self.whole_pixel:
                        params = stepper.params_at(x, i, j)
                    logp = self.sub_pixel_log_probs(params, x[:, :, i, j], c)
                    v = sample_logits(logp, temperature, generator, dim=1)
                    x[:, c, i, j] = torch.where(known[:, c, i, j], x[:, c, i, j], v)
        self.train(was_training)
        return x
