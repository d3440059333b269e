"""The sequence → GO cross-attention of a model with both input streams, per gene and over a split."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from g2p.genepheno.bottleneck import Bottleneck, short_label

def attention_table(bottleneck: Bottleneck, gene: int, go_names: dict[str, str] | None = None, *,
                    max_terms: int = 12) -> pd.DataFrame:
    """Sequence tokens (rows: whole sequence, segment 1..S) × the gene's GO tokens with the most
    attention from the whole-sequence token (``[CLS]`` always kept), as attention weights."""
    if bottleneck.attention is None:
        raise ValueError("this model has no sequence → GO cross-attention (it uses one stream only)")
    tokens = bottleneck.go_tokens[gene]
    att = bottleneck.attention[gene][:, : len(tokens)]
    keep = [0] + [int(i) for i in np.argsort(-att[0, 1:], kind="stable")[: max_terms - 1] + 1]
    names = go_names or {}
    columns = [t if t.startswith("[") else f"{short_label(names.get(t, t), 38)} ({t})" for t in (tokens[i] for i in keep)]
    index = ["whole sequence"] + [f"segment {s}" for s in range(1, att.shape[0])]
    return pd.DataFrame(att[:, keep], index=index[: att.shape[0]], columns=columns)


def attention_summary(bottleneck: Bottleneck, term_counts: dict[str, int]) -> dict[str, float]:
    """Over the split: attention share on ``[CLS]`` from the whole-sequence token, its normalised
    entropy over the gene's GO tokens (1 = uniform), and the mean Spearman correlation between a GO
    term's training frequency and the attention it gets (negative: rarer terms get more)."""
    if bottleneck.attention is None:
        raise ValueError("this model has no sequence → GO cross-attention")
    cls_share, entropy, corr = [], [], []
    for g, tokens in enumerate(bottleneck.go_tokens):
        att = bottleneck.attention[g, 0, : len(tokens)]
        cls_share.append(float(att[0]))
        if len(tokens) > 1:
            p = att / att.sum()
            entropy.append(float(-(p * np.log(np.clip(p, 1e-12, None))).sum() / np.log(len(tokens))))
        known = [(term_counts[t], a) for t, a in zip(tokens[1:], att[1:]) if t in term_counts]
        if len(known) >= 3 and len({c for c, _ in known}) > 1:
            r = spearmanr(*zip(*known)).statistic
            if np.isfinite(r):
                corr.append(float(r))
    return {"cls_share": float(np.mean(cls_share)), "entropy": float(np.mean(entropy)) if entropy else float("nan"),
            "frequency_corr": float(np.mean(corr)) if corr else float("nan"), "n_genes": len(cls_share)}
