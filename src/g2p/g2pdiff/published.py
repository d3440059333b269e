"""The G2PDiffusion paper's reported numbers, as data (pandas only, cheap to import).

:mod:`g2p.g2pdiff.benchmark` puts them beside ours; the landing page reads them too.
"""

from __future__ import annotations

import pandas as pd

PAPER_LABEL = "paper (BIOSCAN-5M, different dataset)"


def published_metrics() -> pd.DataFrame:
    """The paper's seen-set numbers (``/work/shared/papers/g2pdiffusion.md``), as fractions.

    The paper's success rate thresholds a DNA–image score, as our ``success_rate`` column does (with
    our CLIBD-like scorer and τ); the rows are for orientation only (different dataset, different
    scorer, top-100 and unseen-species numbers not reproduced).
    """
    rows = [
        ("random", "clibd_score", 1, 0.005), ("random", "success_rate", 1, 0.044),
        ("DF-GAN", "clibd_score", 1, 0.054), ("DF-GAN", "clibd_score", 5, 0.154),
        ("DF-GAN", "success_rate", 1, 0.056), ("DF-GAN", "success_rate", 5, 0.187),
        ("DF-GAN", "pes", 1, 0.021), ("DF-GAN", "pes", 5, 0.134),
        ("Stable Diffusion", "clibd_score", 1, 0.100), ("Stable Diffusion", "clibd_score", 5, 0.219),
        ("Stable Diffusion", "success_rate", 1, 0.115), ("Stable Diffusion", "success_rate", 5, 0.366),
        ("Stable Diffusion", "pes", 1, 0.062), ("Stable Diffusion", "pes", 5, 0.207),
        ("ControlNet", "clibd_score", 1, 0.107), ("ControlNet", "clibd_score", 5, 0.228),
        ("ControlNet", "success_rate", 1, 0.124), ("ControlNet", "success_rate", 5, 0.391),
        ("ControlNet", "pes", 1, 0.061), ("ControlNet", "pes", 5, 0.212),
        ("G2PDiffusion", "clibd_score", 1, 0.182), ("G2PDiffusion", "clibd_score", 5, 0.302),
        ("G2PDiffusion", "success_rate", 1, 0.317), ("G2PDiffusion", "success_rate", 5, 0.658),
        ("G2PDiffusion", "pes", 1, 0.152), ("G2PDiffusion", "pes", 5, 0.291),
    ]
    return pd.DataFrame(rows, columns=["method", "metric", "k", "value"]).assign(split="seen", source=PAPER_LABEL)
