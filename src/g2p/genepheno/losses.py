"""GenePheno losses: multi-label label loss (L_MLC and anchored variants), exclusive-pair regulariser
(L_ex), concept loss (L_GO).

With logits s, positives Ω+, negatives Ω− and temperature τ, the paper's sign-consistent form is

    L+ = Σ_{i∈Ω+} log(1 + Σ_{j∈Ω−} exp((s_j − s_i)/τ))
    L− = Σ_{j∈Ω−} log(1 + Σ_{i∈Ω+} exp((s_j − s_i)/τ))
    L_MLC = L+ + L−                                                       (loss="contrastive")

It depends only on differences s_j − s_i within a gene: adding a constant to all of a gene's logits
changes nothing, so it cannot teach the model how many phenotypes a gene has, and a probability
threshold (Fmax) or a comparison across genes (per-term AUC) sees uncalibrated scores. The
**anchored** variant adds a virtual term with logit 0 that counts as a negative for every positive
and as a positive for every negative — positives must rise above 0 and negatives fall below it:

    L+_a = Σ_{i∈Ω+} log(1 + e^{−s_i/τ} + Σ_{j∈Ω−} exp((s_j − s_i)/τ))
    L−_a = Σ_{j∈Ω−} log(1 + e^{s_j/τ} + Σ_{i∈Ω+} exp((s_j − s_i)/τ))       (loss="anchored")

(the zero threshold of ZLPR, Su et al. 2022, kept inside the paper's pairwise form). ``"zlpr"`` is
ZLPR itself, ``"bce"`` binary cross-entropy (the "w/o contrastive loss" ablation), and
``"anchored+bce"`` the sum of the anchored loss and BCE.

**Reduction.** ``reduction="sum"`` sums over a gene's terms as the paper writes it; then L_MLC is
~10⁴ per gene while λ2·L_GO ≈ 50 and λ1·L_ex ≈ 0.03, and λ means nothing. ``reduction="mean"``
(the default) averages L+ over Ω+, L− over Ω−, BCE over terms, L_ex over the pairs E, so every part is
O(1) per gene and λ1, λ2 weigh comparable quantities. Both average over the genes of the batch.

Vectorised without the B×P×N pair tensor: Σ_{j∈Ω−} exp((s_j − s_i)/τ) = exp(LSE_{j∈Ω−}(s_j/τ) − s_i/τ),
so each positive's term is ``softplus(LSE_neg − s_i/τ)`` (with the anchor: LSE over Ω− ∪ {0}): O(B·T)
time and memory. A gene with no positives (or no negatives) contributes an empty sum: 0 for the
pairwise part (the anchor terms remain for the anchored form); a finite fill value keeps NaN out of the
gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from g2p.genepheno.config import LABEL_LOSSES, REDUCTIONS


def _masked_logsumexp(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Row-wise log Σ exp(x) over ``mask`` (a 0/1 float tensor); for an empty row a very negative
    finite number (−1e30), whose gradient is exactly 0. Written out (max, exp, sum, log) instead of
    ``torch.logsumexp`` of a copy filled with a huge negative number: exp() of such fill values
    yields denormal floats, which x86 CPUs process ~20x slower (48 ms instead of 3 for 4,000 terms)."""
    peak = (x.detach() - (1 - mask) * 1e30).amax(-1, keepdim=True)
    empty = peak < -1e29
    peak = peak.masked_fill(empty, 0.0)
    # Entries outside the mask may lie far above the peak: clamp their exponent (they are multiplied
    # by 0, and exp overflowing to inf would make 0 · inf = NaN).
    total = (torch.exp((x - peak).clamp(max=0.0)) * mask).sum(-1, keepdim=True)
    lse = peak + torch.log(total.clamp(min=torch.finfo(x.dtype).tiny))
    return lse.masked_fill(empty, -1e30).squeeze(-1)


def _check(logits: torch.Tensor, targets: torch.Tensor, tau: float) -> None:
    if logits.shape != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} differ in shape")
    if tau <= 0:
        raise ValueError(f"tau must be positive, got {tau}")


def _pairwise_terms(
    logits: torch.Tensor, targets: torch.Tensor, tau: float, anchored: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each term's share of L+ (if positive) or L− (if negative), shape (B, T), and the 0/1 float
    positive mask. Masks are float once (bool masks multiplied in are converted on every use)."""
    s = logits.float() / tau
    pos = (targets > 0.5).float()
    neg = 1 - pos
    lse_neg = _masked_logsumexp(s, neg)  # (B,)  log Σ_{j∈Ω−} exp(s_j/τ)
    lse_neg_pos = _masked_logsumexp(-s, pos)  # (B,)  log Σ_{i∈Ω+} exp(−s_i/τ)
    if anchored:  # the zero-logit anchor joins both sums: log(e^0 + Σ …)
        zero = torch.zeros_like(lse_neg)
        lse_neg, lse_neg_pos = torch.logaddexp(lse_neg, zero), torch.logaddexp(lse_neg_pos, zero)
    # One softplus over the whole matrix: each entry is either a positive's or a negative's term.
    terms = F.softplus(torch.where(pos > 0, lse_neg.unsqueeze(-1) - s, s + lse_neg_pos.unsqueeze(-1)))
    if not anchored:  # an empty opposite set leaves log(1 + 0) = 0; make that exact
        n_pos = pos.sum(-1, keepdim=True)
        terms = terms * ((n_pos > 0) & (n_pos < pos.shape[-1]))
    return terms, pos


def _reduce(terms: torch.Tensor, pos: torch.Tensor, reduction: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(L+, L−) per gene: sums over Ω+ and Ω−, or means (``reduction="mean"``)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    l_pos = (terms * pos).sum(-1)
    l_neg = terms.sum(-1) - l_pos
    if reduction == "mean":
        n_pos = pos.sum(-1)
        l_pos, l_neg = l_pos / n_pos.clamp(min=1), l_neg / (pos.shape[-1] - n_pos).clamp(min=1)
    return l_pos, l_neg


def contrastive_multilabel_terms(
    logits: torch.Tensor, targets: torch.Tensor, tau: float = 1.0, *, anchored: bool = False,
    reduction: str = "sum",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-gene (L+, L−), each of shape (B,). ``targets`` is 0/1 (any dtype) of the same shape as logits.
    Defaults are the paper's form (no anchor, summed over terms)."""
    _check(logits, targets, tau)
    return _reduce(*_pairwise_terms(logits, targets, tau, anchored), reduction)


class _PairwiseLoss(torch.autograd.Function):
    """Per-gene L+ + L− (the sum of :func:`_reduce`'s two parts) with its gradient written out.

    Same value as ``contrastive_multilabel_terms``; autograd through that graph replays ~30 passes over
    the B×T matrix in the backward pass, this one 4 (measured: ~20 % less time for the loss and ~10 % per
    MPO training step on a CPU). With z the softplus arguments, w each term's weight (1, or 1/|Ω±| for the mean) and
    e = exp(s_j − LSE_neg) for negatives, exp(−s_i − LSE_pos) for positives (both ≤ 1):

        ∂/∂s_i (i ∈ Ω+) = −w σ(z_i) − e_i Σ_{j∈Ω−} w σ(z_j)
        ∂/∂s_j (j ∈ Ω−) =  w σ(z_j) + e_j Σ_{i∈Ω+} w σ(z_i)      (then divided by τ)

    ``tests/unit/test_genepheno_losses.py`` checks value and gradient against the autograd graph."""

    @staticmethod
    def forward(ctx, logits, targets, tau: float, anchored: bool, mean: bool):
        s = logits.float() / tau
        pos = targets > 0.5
        pos_f = pos.float()
        n_pos = pos_f.sum(-1, keepdim=True)
        n_neg = pos.shape[-1] - n_pos
        lse_neg = _masked_logsumexp(s, 1 - pos_f).unsqueeze(-1)
        lse_pos = _masked_logsumexp(-s, pos_f).unsqueeze(-1)
        if anchored:  # log(e^0 + Σ …) = softplus(LSE)
            lse_neg, lse_pos = F.softplus(lse_neg), F.softplus(lse_pos)
        z = torch.where(pos, lse_neg - s, s + lse_pos)
        w_pos = 1 / n_pos.clamp(min=1) if mean else torch.ones_like(n_pos)
        w_neg = 1 / n_neg.clamp(min=1) if mean else torch.ones_like(n_neg)
        if not anchored:  # an empty opposite set leaves log(1 + 0) = 0; make that exact
            valid = ((n_pos > 0) & (n_neg > 0)).float()
            w_pos, w_neg = w_pos * valid, w_neg * valid
        w = torch.where(pos, w_pos, w_neg)
        per_gene = (F.softplus(z) * w).sum(-1)
        e = torch.exp(torch.where(pos, -s - lse_pos, s - lse_neg))
        ctx.save_for_backward(torch.sigmoid(z).mul_(w), e, pos)
        ctx.tau, ctx.logits_dtype = tau, logits.dtype
        return per_gene

    @staticmethod
    def backward(ctx, grad):
        weighted_sigmoid, e, pos = ctx.saved_tensors
        u = weighted_sigmoid * grad.unsqueeze(-1)
        to_lse_neg = (u * pos).sum(-1, keepdim=True)  # ∂loss/∂LSE_neg: the positives' σ(z), weighted
        to_lse_pos = u.sum(-1, keepdim=True) - to_lse_neg  # ∂loss/∂LSE_pos: the negatives'
        grad_s = torch.where(pos, -u - to_lse_pos * e, u + to_lse_neg * e)
        return (grad_s / ctx.tau).to(ctx.logits_dtype), None, None, None, None


def contrastive_multilabel_loss(
    logits: torch.Tensor, targets: torch.Tensor, tau: float = 1.0, *, anchored: bool = False,
    reduction: str = "sum",
) -> torch.Tensor:
    """L_MLC = L+ + L− (or the anchored form), averaged over the genes of the batch."""
    _check(logits, targets, tau)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    return _PairwiseLoss.apply(logits, targets, tau, anchored, reduction == "mean").mean()


def zlpr_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """ZLPR (Su et al. 2022): log(1 + Σ_neg e^{s}) + log(1 + Σ_pos e^{−s}), mean over the batch. L_MLC
    reduces to it with τ = 1 and the anchor logit replaced by 0 (see the tests)."""
    s = logits.float()
    pos = (targets > 0.5).float()
    n_pos = pos.sum(-1)
    return (
        F.softplus(_masked_logsumexp(s, 1 - pos)) * (n_pos < pos.shape[-1])
        + F.softplus(_masked_logsumexp(-s, pos)) * (n_pos > 0)
    ).mean()


def exclusive_loss(logits: torch.Tensor, pairs: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """L_ex = (1/N) Σ_n Σ_{(i,j)∈E} softplus(s_i + s_j): penalises predicting both terms of an exclusive
    pair (``reduction="mean"``: averaged over the pairs instead of summed). ``pairs`` is an (E, 2) long
    tensor of column indices; no pairs gives 0."""
    if pairs.numel() == 0:
        return logits.new_zeros((), dtype=torch.float32)
    s = logits.float()
    per_pair = F.softplus(s[:, pairs[:, 0]] + s[:, pairs[:, 1]])
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    return (per_pair.sum(-1) if reduction == "sum" else per_pair.mean(-1)).mean()


def bce_loss(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """Binary cross-entropy summed (or averaged, ``reduction="mean"``) over terms, mean over genes."""
    per_term = F.binary_cross_entropy_with_logits(logits.float(), targets.float(), reduction="none")
    return (per_term.sum(-1) if reduction == "sum" else per_term.mean(-1)).mean()


def label_loss(logits: torch.Tensor, targets: torch.Tensor, kind: str = "anchored", tau: float = 1.0,
               reduction: str = "mean") -> torch.Tensor:
    """The multi-label loss named ``kind`` (one of ``LABEL_LOSSES``); see the module docstring."""
    if kind == "contrastive":
        return contrastive_multilabel_loss(logits, targets, tau, reduction=reduction)
    if kind == "anchored":
        return contrastive_multilabel_loss(logits, targets, tau, anchored=True, reduction=reduction)
    if kind == "zlpr":
        return zlpr_loss(logits, targets)
    if kind == "bce":
        return bce_loss(logits, targets, reduction)
    if kind == "anchored+bce":
        return (contrastive_multilabel_loss(logits, targets, tau, anchored=True, reduction=reduction)
                + bce_loss(logits, targets, reduction))
    raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LABEL_LOSSES)}")


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
    reduction: str = "mean",
    tau: float = 1.0,
    lambda_ex: float = 0.1,
    lambda_go: float = 0.1,
) -> LossParts:
    """L = L_label + λ1·L_ex + λ2·L_GO; the concept loss is the same kind of loss over the concepts."""
    mlc = label_loss(logits, targets, loss, tau, reduction)
    ex = exclusive_loss(logits, exclusive_pairs, reduction) if lambda_ex else mlc.new_zeros(())
    if lambda_go and concept_logits is not None and concept_targets is not None:
        go = label_loss(concept_logits, concept_targets, loss, tau, reduction)
    else:
        go = mlc.new_zeros(())
    return LossParts(total=mlc + lambda_ex * ex + lambda_go * go, mlc=mlc, ex=ex, go=go)
