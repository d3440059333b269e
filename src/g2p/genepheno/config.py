"""The GenePheno half's configuration: ``TrainConfig`` (a training run), ``GoPretrainConfig`` (the GO
encoder's masked GO-term pretraining, nested in it) and ``BaselineConfig`` (the trained baselines), plain
dataclasses with their range checks and no heavy imports.

A preset's ``genepheno`` block and ``03_evaluate.baselines`` entry are these fields, one name per knob
(:mod:`g2p.config` builds them once from the YAML); the library takes the objects, never a preset name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from g2p import ranges

#: The label losses (:func:`g2p.genepheno.losses.label_loss`): "contrastive" is the paper's L_MLC.
LABEL_LOSSES = ("contrastive", "anchored", "zlpr", "bce", "anchored+bce")
#: "sum": the paper's sums over terms; "mean": per term set, so that λ1 and λ2 weigh comparable terms.
REDUCTIONS = ("mean", "sum")
#: Sequence encoders: k-mer composition, a CNN from scratch, a Hugging Face protein model.
ENCODERS = ("kmer", "cnn", "hf")
#: DIAMOND's sensitivity modes ("": its default, fast).
DIAMOND_SENSITIVITIES = ("", "faster", "fast", "mid-sensitive", "sensitive", "more-sensitive", "very-sensitive",
                         "ultra-sensitive")
#: What the phenotype head reads of each bottleneck unit.
CONCEPT_ACTIVATIONS = ("sigmoid", "identity")
ALPHABETS = ("protein", "dna")
#: Letters of each alphabet's k-mer vocabulary (g2p.genepheno.encoders.STANDARD), for the feature bound.
_KMER_LETTERS = {"protein": 20, "dna": 4}
#: Most k-mer composition features (summed over kmer_ks) whose projection is fitted in memory.
MAX_KMER_FEATURES = 200_000
#: Seeds seed NumPy's legacy generator too, which takes 32 bits.
MAX_SEED = 2**32 - 1
#: Longest sequence (residues or tokens) an encoder is asked to read.
MAX_LENGTH = 100_000


@dataclass
class GoPretrainConfig:
    """Masked GO-term modelling of the GO encoder before fine-tuning (:mod:`g2p.genepheno.pretrain`), the
    ``go_pretraining`` mapping of a preset's ``genepheno`` block (``null``: no pretraining). The encoder's
    sizes are the training run's (``d_model``, ``n_heads``, ``go_layers``, ``max_go_tokens``)."""

    steps: int = 200  # optimisation steps over the corpus (batches drawn without replacement, epoch after epoch)
    batch_size: int = 256
    lr: float = 0.002
    weight_decay: float = 0.01
    mask_frac: float = 0.15  # share of a protein's known terms hidden and predicted (at least one)
    max_proteins: int | None = None  # a random sample of the corpus of this size (None: every protein)
    bag: bool = False  # also pretrain the GO bag's embeddings on the same targets (mlp_hidden wide: costly)
    finetune_lr_scale: float = 1.0  # learning-rate factor of the pretrained parameters while fine-tuning
    seed: int = 0  # the pretraining's own seed: every training seed shares one pretraining

    def __post_init__(self) -> None:
        ranges.integer("steps", self.steps, minimum=1, maximum=10_000_000)
        ranges.integer("batch_size", self.batch_size, minimum=1, maximum=1_000_000)
        ranges.number("lr", self.lr, above=0.0, maximum=10.0)
        ranges.number("weight_decay", self.weight_decay, minimum=0.0)
        ranges.number("mask_frac", self.mask_frac, above=0.0, below=1.0)
        ranges.integer("max_proteins", self.max_proteins, minimum=1, optional=True)
        ranges.number("finetune_lr_scale", self.finetune_lr_scale, minimum=0.0, maximum=100.0)
        ranges.integer("seed", self.seed, minimum=0, maximum=MAX_SEED)
        if not isinstance(self.bag, bool):
            raise ranges.RangeError("bag", f"must be true or false, got {self.bag!r}")

    @classmethod
    def from_value(cls, value: GoPretrainConfig | dict[str, Any] | None) -> GoPretrainConfig | None:
        """A preset's mapping (or None, or an instance) as a ``GoPretrainConfig``; an unknown key is a
        :class:`~g2p.ranges.RangeError` naming ``go_pretraining.<key>``."""
        if value is None or isinstance(value, cls):
            return value
        if not isinstance(value, dict):
            raise ranges.RangeError("go_pretraining", f"must be a mapping of settings or null, got {value!r}")
        unknown = sorted(set(value) - set(cls.__dataclass_fields__))
        if unknown:
            raise ranges.RangeError(f"go_pretraining.{unknown[0]}", f"is not a setting of GoPretrainConfig "
                                                                    f"(known: {', '.join(cls.__dataclass_fields__)})")
        try:
            return cls(**value)
        except ranges.RangeError as exc:
            raise ranges.RangeError(f"go_pretraining.{exc.field}", str(exc).removeprefix(exc.field + " ")) from exc


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
    hf_trust_remote_code: bool = False  # run the code a hub model ships (GENERator's tokenizer needs it)
    sequences_fasta: str | None = None  # a FASTA of one sequence per gene instead of the dataset's proteins
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
    concept_bottleneck: bool = True  # False: the phenotype head reads the MLP directly (concepts: a side task)
    seed: int = 0
    patience: int = 3
    eval_batch_size: int = 256
    max_epochs_this_call: int | None = None
    progress: bool = True
    cpu_threads: int | None = None  # torch intra-op threads on CPU (None: torch's default)
    go_pretraining: GoPretrainConfig | None = None  # masked GO-term pretraining of the GO encoder (None: none)

    RUNTIME_ONLY = ("max_epochs_this_call", "progress", "cpu_threads")
    #: Fields added after runs were keyed, with the value every earlier run had: left out of the identity
    #: at that value, so those runs keep their keys.
    ADDED_LATER = {"go_pretraining": None, "concept_bottleneck": True, "sequences_fasta": None, "hf_trust_remote_code": False}

    def __post_init__(self) -> None:
        """Every field range-checked (:class:`g2p.ranges.RangeError` names the field)."""
        self.go_pretraining = GoPretrainConfig.from_value(self.go_pretraining)
        ranges.integers("kmer_ks", self.kmer_ks, minimum=1, maximum=8)
        self.kmer_ks = tuple(self.kmer_ks)
        ranges.choice("loss", self.loss, LABEL_LOSSES)
        ranges.choice("loss_reduction", self.loss_reduction, REDUCTIONS)
        ranges.choice("encoder", self.encoder, ENCODERS)
        ranges.choice("alphabet", self.alphabet, ALPHABETS)
        ranges.choice("concept_activation", self.concept_activation, CONCEPT_ACTIVATIONS)
        if self.encoder == "hf" and not self.hf_model:
            raise ranges.RangeError("hf_model", "is needed by encoder 'hf' (a hub name or a local folder)")
        if self.sequences_fasta is not None and not (isinstance(self.sequences_fasta, str) and self.sequences_fasta.strip()):
            raise ranges.RangeError("sequences_fasta", f"must be the path of a FASTA file, got {self.sequences_fasta!r}")
        if self.hf_model is not None and not (isinstance(self.hf_model, str) and self.hf_model.strip()):
            raise ranges.RangeError("hf_model", f"must be a hub name or a local folder, got {self.hf_model!r}")
        n_kmers = sum(_KMER_LETTERS[self.alphabet] ** k for k in self.kmer_ks)
        if self.encoder == "kmer" and n_kmers > MAX_KMER_FEATURES:
            raise ranges.RangeError("kmer_ks", f"{list(self.kmer_ks)} gives {n_kmers:,} {self.alphabet} k-mer features; "
                                               f"at most {MAX_KMER_FEATURES:,} fit in memory")
        for name in ("max_residues", "hf_max_length", "max_go_tokens"):
            ranges.integer(name, getattr(self, name), minimum=1, maximum=MAX_LENGTH)
        ranges.integer("go_min_count", self.go_min_count, minimum=1)
        for name in ("seq_dim", "d_model", "mlp_hidden", "n_heads"):
            ranges.width(name, getattr(self, name))
        ranges.divides("d_model", self.d_model, "n_heads", self.n_heads)
        ranges.integer("seq_segments", self.seq_segments, minimum=0, maximum=1024)
        ranges.width("free_units", self.free_units, minimum=0)
        for name in ("go_layers", "conv_layers", "mlp_layers"):
            ranges.depth(name, getattr(self, name))
        ranges.fraction("dropout", self.dropout, open_top=True)
        ranges.fraction("warmup_frac", self.warmup_frac)
        ranges.integer("epochs", self.epochs, minimum=1, maximum=1_000_000)
        ranges.integer("patience", self.patience, minimum=1)
        ranges.integer("max_epochs_this_call", self.max_epochs_this_call, minimum=1, optional=True)
        ranges.integer("batch_size", self.batch_size, minimum=1, maximum=1_000_000)
        ranges.integer("eval_batch_size", self.eval_batch_size, minimum=1, maximum=1_000_000)
        ranges.number("lr", self.lr, above=0.0, maximum=10.0)
        ranges.number("weight_decay", self.weight_decay, minimum=0.0)
        ranges.number("lambda_ex", self.lambda_ex, minimum=0.0)
        ranges.number("lambda_go", self.lambda_go, minimum=0.0)
        ranges.number("tau", self.tau, above=0.0)
        ranges.number("concept_floor", self.concept_floor)
        ranges.integer("seed", self.seed, minimum=0, maximum=MAX_SEED)
        ranges.integer("cpu_threads", self.cpu_threads, minimum=1, maximum=4096, optional=True)
        for name in ("go_bag", "fusion_norm", "use_sequence", "use_go", "progress", "concept_bottleneck",
                     "hf_trust_remote_code"):
            if not isinstance(getattr(self, name), bool):
                raise ranges.RangeError(name, f"must be true or false, got {getattr(self, name)!r}")
        if not (self.use_sequence or self.use_go):
            raise ranges.RangeError("use_sequence", "and use_go are both false: the model would read no input")

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a preset block, ignoring keys that are not TrainConfig fields."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def identity(self) -> dict:
        """The settings that define the run (an :data:`ADDED_LATER` field at its old value left out)."""
        return {k: v for k, v in dataclasses.asdict(self).items()
                if k not in self.RUNTIME_ONLY and not (k in self.ADDED_LATER and v == self.ADDED_LATER[k])}


@dataclass
class BaselineConfig:
    """Settings shared by the baselines (the ``baselines`` entries of the ``03_evaluate`` preset block)."""

    kmer_k: int = 3
    # k when the sequences are DNA (GenePheno given a nucleotide FASTA): 4**6 = 4,096 k-mers, the order of
    # the 8,000 protein 3-mers (and GENERator's 6-mer tokens); DNA 3-mers would be 64 features
    dna_kmer_k: int = 6
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

    def __post_init__(self) -> None:
        ranges.integer("kmer_k", self.kmer_k, minimum=1, maximum=8)
        ranges.integer("dna_kmer_k", self.dna_kmer_k, minimum=1, maximum=12)
        ranges.integer("kmer_dim", self.kmer_dim, minimum=0, maximum=ranges.MAX_WIDTH)
        ranges.integer("max_hits", self.max_hits, minimum=1)
        ranges.number("evalue", self.evalue, above=0.0)
        ranges.choice("diamond_sensitivity", self.diamond_sensitivity, DIAMOND_SENSITIVITIES)
        ranges.integer("threads", self.threads, minimum=1, maximum=4096)
        ranges.integer("epochs", self.epochs, minimum=1, maximum=1_000_000)
        ranges.integer("patience", self.patience, minimum=1)
        ranges.integer("batch_size", self.batch_size, minimum=1, maximum=1_000_000)
        ranges.number("lr", self.lr, above=0.0, maximum=10.0)
        ranges.number("weight_decay", self.weight_decay, minimum=0.0)
        ranges.width("hidden", self.hidden)
        ranges.fraction("dropout", self.dropout, open_top=True)
        ranges.integer("min_go_count", self.min_go_count, minimum=1)
        ranges.integer("seed", self.seed, minimum=0, maximum=MAX_SEED)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> BaselineConfig:
        values = dict(values or {})
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown baseline setting(s): {', '.join(sorted(unknown))}")
        return cls(**values)
