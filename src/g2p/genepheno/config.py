"""The GenePheno half's configuration: ``TrainConfig`` (a training run) and ``BaselineConfig`` (the
trained baselines), plain dataclasses with their range checks and no heavy imports.

A preset's ``genepheno`` block and ``03_evaluate.baselines`` entry are these fields, one name per knob
(:mod:`g2p.config` builds them once from the YAML); the library takes the objects, never a preset name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: The label losses (:func:`g2p.genepheno.losses.label_loss`): "contrastive" is the paper's L_MLC.
LABEL_LOSSES = ("contrastive", "anchored", "zlpr", "bce", "anchored+bce")
#: "sum": the paper's sums over terms; "mean": per term set, so that λ1 and λ2 weigh comparable terms.
REDUCTIONS = ("mean", "sum")
#: Sequence encoders: k-mer composition, a CNN from scratch, a Hugging Face protein model.
ENCODERS = ("kmer", "cnn", "hf")


@dataclass
class TrainConfig:
    """Everything that defines a training run. ``max_epochs_this_call`` and ``progress`` only control
    this call (they are not part of the run's identity)."""

    encoder: str = "kmer"  # "kmer" | "cnn" | "hf"
    hf_model: str | None = None
    kmer_ks: tuple[int, ...] = (1, 2, 3)
    alphabet: str = "protein"
    max_residues: int = 1000
    hf_max_length: int = 1024
    go_min_count: int = 2
    max_go_tokens: int = 128
    go_bag: bool = True  # every GO input term through an EmbeddingBag beside the truncated tokens
    fusion_norm: bool = True  # LayerNorm over the concatenated streams before the MLP
    seq_dim: int = 128  # whitened PCA components of the sequence features (kmer / hf encoders)
    seq_segments: int = 8  # segment tokens after the whole-sequence token (kmer encoder)
    d_model: int = 64
    n_heads: int = 4
    go_layers: int = 1
    conv_layers: int = 2
    mlp_hidden: int = 256
    mlp_layers: int = 2
    dropout: float = 0.1
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_frac: float = 0.05
    lambda_ex: float = 0.1
    lambda_go: float = 0.1
    tau: float = 1.0
    use_sequence: bool = True
    use_go: bool = True
    loss: str = "contrastive"  # LABEL_LOSSES: the paper's L_MLC; "anchored" adds a zero-logit anchor
    loss_reduction: str = "mean"  # "sum": the paper's sums over terms; "mean": per term set (λ comparable)
    concept_floor: float = -2.0  # lowest initial concept logit (σ' ≥ 0.1 at start)
    free_units: int = 0  # unsupervised bottleneck units beside the GO concepts (0: the paper's bottleneck)
    concept_activation: str = "sigmoid"  # the head reads σ(concept score) or the score itself ("identity")
    seed: int = 0
    patience: int = 3
    eval_batch_size: int = 256
    max_epochs_this_call: int | None = None
    progress: bool = True
    cpu_threads: int | None = None  # torch intra-op threads on CPU (None: torch's default)

    RUNTIME_ONLY = ("max_epochs_this_call", "progress", "cpu_threads")

    def __post_init__(self) -> None:
        self.kmer_ks = tuple(int(k) for k in self.kmer_ks)
        if self.loss not in LABEL_LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LABEL_LOSSES)}, got {self.loss!r}")
        if self.loss_reduction not in REDUCTIONS:
            raise ValueError(f"loss_reduction must be one of {', '.join(REDUCTIONS)}, got {self.loss_reduction!r}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be at least 1")
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown sequence encoder {self.encoder!r}; choose {', '.join(map(repr, ENCODERS))}")
        if self.encoder == "hf" and not self.hf_model:
            raise ValueError("encoder='hf' needs hf_model (a hub name or a local folder)")

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a preset block, ignoring keys that are not TrainConfig fields."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def identity(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in self.RUNTIME_ONLY}


@dataclass
class BaselineConfig:
    """Settings shared by the baselines (the ``baselines`` entries of the ``03_evaluate`` preset block)."""

    kmer_k: int = 3
    kmer_dim: int = 256  # SVD components of the k-mer TF-IDF for k-mer + LR (0: use TF-IDF as is)
    max_hits: int = 25  # DIAMOND --max-target-seqs / fallback neighbours per query
    evalue: float = 1e-3
    diamond_sensitivity: str = "sensitive"  # "" (default fast), "sensitive", "more-sensitive", …
    threads: int = 2
    epochs: int = 60
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-5
    hidden: int = 512
    dropout: float = 0.3
    patience: int = 8
    min_go_count: int = 2
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> BaselineConfig:
        values = dict(values or {})
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown baseline setting(s): {', '.join(sorted(unknown))}")
        return cls(**values)
