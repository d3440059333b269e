"""Gene–phenotype alignment: a noise-aware latent encoder g(x_t, t), InfoNCE, and its guidance.

g sees the *noisy* latent at timestep t (so it can be asked for a gradient during sampling) and maps it
into the DNA embedding space. It is trained with InfoNCE against the detached pooled DNA embedding C
(the other barcodes in the batch are the negatives). At sampling its gradient steers the noise estimate,
classifier-guidance style:  ε̂ = ε − w·√(1−ᾱ_t)·∇_{x_t} cos(g(x_t, t), C).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from torch import nn


def info_nce(image_emb: torch.Tensor, dna_emb: torch.Tensor, temperature: float,
             exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP loss) with in-batch negatives; row i of both inputs is a positive pair.

    loss = ½ [CE(S, I) + CE(Sᵀ, I)], S_ij = cos(image_i, dna_j) / τ.  ``exclude`` (``[B, B]`` bool, the
    diagonal ignored) drops pairs from the negatives, e.g. specimens whose barcodes are near-identical.
    """
    if image_emb.shape != dna_emb.shape:
        raise ValueError(f"embedding shapes differ: {tuple(image_emb.shape)} vs {tuple(dna_emb.shape)}")
    logits = F.normalize(image_emb, dim=-1) @ F.normalize(dna_emb, dim=-1).T / temperature
    if exclude is not None:
        eye = torch.eye(len(logits), dtype=torch.bool, device=logits.device)
        logits = logits.masked_fill(exclude.to(logits.device) & ~eye, float("-inf"))
    target = torch.arange(len(logits), device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


class NoisyLatentEncoder(ModelMixin, ConfigMixin):
    """g(x_t, t): a small CNN over noisy latents, modulated by a timestep embedding, → ``[B, embed_dim]``."""

    @register_to_config
    def __init__(
        self,
        latent_channels: int = 4,
        hidden: int = 64,
        embed_dim: int = 64,
        temperature: float = 0.07,
    ) -> None:
        super().__init__()
        self.time_proj = Timesteps(hidden, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(hidden, hidden)
        self.conv_in = nn.Conv2d(latent_channels, hidden, 3, padding=1)
        self.block1 = nn.Sequential(nn.GroupNorm(8, hidden), nn.SiLU(), nn.Conv2d(hidden, hidden, 3, padding=1))
        self.block2 = nn.Sequential(
            nn.GroupNorm(8, hidden), nn.SiLU(), nn.Conv2d(hidden, hidden, 3, stride=2, padding=1)
        )
        self.head = nn.Sequential(nn.GroupNorm(8, hidden), nn.SiLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(hidden, embed_dim))

    def forward(self, latents: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        if timesteps.ndim == 0:
            timesteps = timesteps.expand(latents.shape[0])
        temb = self.time_embed(self.time_proj(timesteps.to(latents.device)).to(latents.dtype))
        h = self.conv_in(latents) + temb[:, :, None, None]
        h = h + self.block1(h)
        h = self.block2(h)
        return self.head(h)

    def loss(self, latents: torch.Tensor, timesteps: torch.Tensor, dna_emb: torch.Tensor,
             detach: bool = True, negative_cos: float | None = None) -> torch.Tensor:
        """InfoNCE of g(x_t, t) against the DNA embedding; ``detach`` (default) keeps the loss from
        training the DNA side.  ``negative_cos``: pairs whose DNA embeddings have a cosine at least this
        are not negatives of each other (near-identical barcodes, most often the same species: pushing
        their images apart teaches nothing)."""
        exclude = None
        if negative_cos is not None:
            unit = F.normalize(dna_emb.detach(), dim=-1)
            exclude = unit @ unit.T >= negative_cos
        return info_nce(self(latents, timesteps), dna_emb.detach() if detach else dna_emb, self.config.temperature,
                        exclude)

    def guidance_gradient(self, latents: torch.Tensor, timesteps: torch.Tensor, dna_emb: torch.Tensor) -> torch.Tensor:
        """∇_{x_t} Σ_i cos(g(x_t,i, t), C_i) — each sample's own alignment gradient."""
        with torch.enable_grad():
            x = latents.detach().requires_grad_(True)
            score = F.cosine_similarity(self(x, timesteps), dna_emb.detach().to(x.dtype), dim=-1).sum()
            (grad,) = torch.autograd.grad(score, x)
        return grad


def guided_noise(
    noise_pred: torch.Tensor, gradient: torch.Tensor, alpha_bar_t: torch.Tensor | float, scale: float
) -> torch.Tensor:
    """ε̂ = ε − w·√(1−ᾱ_t)·∇ (moving x_t up the alignment score; ``scale`` = w, 0 switches it off)."""
    alpha_bar_t = torch.as_tensor(alpha_bar_t, dtype=noise_pred.dtype, device=noise_pred.device)
    return noise_pred - scale * torch.sqrt(1.0 - alpha_bar_t) * gradient
