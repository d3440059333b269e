"""GenePheno losses: contrastive multi-label (L_MLC), exclusive-pair regulariser (L_ex), concept loss (L_GO).

With logits s, positives Ω+, negatives Ω− and temperature τ (the paper's sign-consistent form):

    L+ = Σ_{i∈Ω+} log(1 + Σ_{j∈Ω−} exp((s_j − s_i)/τ))
    L− = Σ_{j∈Ω−} log(1 + Σ_{i∈Ω+} exp((s_j − s_i)/τ))
    L_MLC = L+ + L−

Vectorised without the B×P×N pair tensor: Σ_{j∈Ω−} exp((s_j − s_i)/τ) = exp(LSE_{j∈Ω−}(s_j/τ) − s_i/τ), so
each positive's term is ``softplus(LSE_neg − s_i/τ)`` and each negative's is ``softplus(s_j/τ + LSE_pos(−s/τ))``:
O(B·T) time and memory. A gene with no positives (or no negatives) has an empty inner sum; its L+
and L− are then exactly 0 (log 1), computed with a finite fill value so no NaN reaches the gradient.
Losses are summed over a gene's terms (as in the paper) and averaged over the genes of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def _masked_logsumexp(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Row-wise log Σ exp(x) over ``mask``; a very negative finite number for empty rows."""
    fill = torch.finfo(x.dtype).min / 4  # finite: keeps the gradient of an empty row at 0, not NaN
    return torch.logsumexp(x.masked_fill(~mask, fill), dim=-1)


def contrastive_multilabel_terms(
    logits: torch.Tensor, targets: torch.Tensor, tau: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-gene (L+, L−), each of shape (B,). ``targets`` is 0/1 (any dtype) of the same shape as logits."""
    if logits.shape != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} differ in shape")
    if tau <= 0:
        raise ValueError(f"tau must be positive, got {tau}")
    s = logits.float() / tau
    pos = targets > 0.5
    neg = ~pos
    lse_neg = _masked_logsumexp(s, neg)  # (B,)  log Σ_{j∈Ω−} exp(s_j/τ)
    lse_neg_pos = _masked_logsumexp(-s, pos)  # (B,)  log Σ_{i∈Ω+} exp(−s_i/τ)
    l_pos = (F.softplus(lse_neg.unsqueeze(-1) - s) * pos).sum(-1)
    l_neg = (F.softplus(s + lse_neg_pos.unsqueeze(-1)) * neg).sum(-1)
    has_both = pos.any(-1) & neg.any(-1)
    zero = torch.zeros_like(l_pos)
    return torch.where(has_both, l_pos, zero), torch.where(has_both, l_neg, zero)


def contrastive_multilabel_loss(logits: torch.Tensor, targets: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """L_MLC = L+ + L−, averaged over the genes of the batch."""
    l_pos, l_neg = contrastive_multilabel_terms(logits, targets, tau)
    return (l_pos + l_neg).mean()


def zlpr_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """ZLPR (Su et al. 2022): log(1 + Σ_neg e^{s}) + log(1 + Σ_pos e^{−s}), mean over the batch. L_MLC
    reduces to it with τ = 1 and the anchor logit replaced by 0 (see the tests)."""
    s = logits.float()
    pos = targets > 0.5
    return (
        F.softplus(_masked_logsumexp(s, ~pos)) * (~pos).any(-1)
        + F.softplus(_masked_logsumexp(-s, pos)) * pos.any(-1)
    ).mean()


def exclusive_loss(logits: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """L_ex = (1/N) Σ_n Σ_{(i,j)∈E} softplus(s_i + s_j): penalises predicting both terms of an exclusive
    pair. ``pairs`` is an (E, 2) long tensor of column indices; no pairs gives 0."""
    if pairs.numel() == 0:
        return logits.new_zeros((), dtype=torch.float32)
    s = logits.float()
    return F.softplus(s[:, pairs[:, 0]] + s[:, pairs[:, 1]]).sum(-1).mean()


def bce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy summed over terms, mean over genes (the "w/o contrastive loss" ablation;
    summed like L_MLC so λ1, λ2 keep their meaning)."""
    return F.binary_cross_entropy_with_logits(logits.float(), targets.float(), reduction="none").sum(-1).mean()


@dataclass
class LossParts:
    total: torch.Tensor
    mlc: torch.Tensor
    ex: torch.Tensor
    go: torch.Tensor

    def detached(self) -> dict[str, float]:
        return {k: float(getattr(self, k).detach()) for k in ("total", "mlc", "ex", "go")}


def genepheno_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    concept_logits: torch.Tensor | None,
    concept_targets: torch.Tensor | None,
    exclusive_pairs: torch.Tensor,
    *,
    loss: str = "contrastive",
    tau: float = 1.0,
    lambda_ex: float = 0.1,
    lambda_go: float = 0.1,
) -> LossParts:
    """L = L_MLC + λ1·L_ex + λ2·L_GO (``loss="bce"`` swaps both multi-label terms for BCE)."""
    if loss == "contrastive":
        label_loss = lambda s, y: contrastive_multilabel_loss(s, y, tau)  # noqa: E731
    elif loss == "bce":
        label_loss = bce_loss
    else:
        raise ValueError(f"unknown loss {loss!r}; choose 'contrastive' or 'bce'")
    mlc = label_loss(logits, targets)
    ex = exclusive_loss(logits, exclusive_pairs) if lambda_ex else mlc.new_zeros(())
    if lambda_go and concept_logits is not None and concept_targets is not None:
        go = label_loss(concept_logits, concept_targets)
    else:
        go = mlc.new_zeros(())
    return LossParts(total=mlc + lambda_ex * ex + lambda_go * go, mlc=mlc, ex=ex, go=go)
