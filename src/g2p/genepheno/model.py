"""The GenePheno network: sequence stream × GO stream → fusion MLP → GO-concept bottleneck → phenotype head.

```
sequence ─ projection ─ tokens (whole + segments) ─┐  bidirectional cross-attention ┌ attention pool ┐
GO terms ─ GoEncoder ─ tokens (rarest first, cut) ──┘  (seq→GO and GO→seq, residual)└ attention pool ┤
GO terms ─ GoBag (all terms, Σ embeddings/√n, log(1+n)) ─────────────────────────────────────────────┴ concat → MLP
   → concept logits (one unit per depth-2 GO term, supervised by L_GO)
   → σ(concept logits) → linear phenotype head (n_terms × n_concepts: the concept→phenotype map) → logits
```

The sequence stream is either residue tokens from ``ConvSequenceEncoder`` (``seq_input="residues"``) or
feature tokens (``seq_input="features"``): the whitened projection of the whole sequence's k-mer
composition (or a mean-pooled Hugging Face embedding) plus the same projection of each consecutive
segment of the sequence, so cross-attention has real per-position tokens to attend over. The GO token
stream keeps the paper's transformer; the GO bag beside it makes sure no GO term is lost to
truncation and that how many terms a gene carries reaches the MLP.

Ablations: ``use_sequence=False`` / ``use_go=False`` drop a stream (then no cross-attention);
``lambda_go=0`` removes the concept supervision; ``loss`` picks the label loss (see
:mod:`g2p.genepheno.losses`); ``lambda_ex=0`` drops the exclusive term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from transformers import PreTrainedConfig, PreTrainedModel
from transformers.utils import ModelOutput

from g2p.genepheno.encoders import ConvSequenceEncoder, FeatureTokens
from g2p.genepheno.go_terms import GoBag, GoEncoder
from g2p.genepheno.config import CONCEPT_ACTIVATIONS, LABEL_LOSSES, REDUCTIONS


# What the phenotype head reads from each bottleneck unit: its probability σ(s) or its score s itself
# (the concept's log-odds; the head is then linear in the concept scores the concept loss trains).


class GenePhenoConfig(PreTrainedConfig):
    model_type = "genepheno"

    def __init__(
        self,
        n_terms: int = 1,
        n_concepts: int = 1,
        free_units: int = 0,
        concept_activation: str = "sigmoid",
        concept_bottleneck: bool = True,
        seq_input: str = "features",
        n_seq_features: int = 128,
        seq_tokens: int = 1,
        residue_vocab_size: int = 27,
        conv_layers: int = 2,
        go_vocab_size: int = 3,
        max_go_tokens: int = 128,
        go_bag: bool = True,
        fusion_norm: bool = True,
        d_model: int = 64,
        n_heads: int = 4,
        go_layers: int = 1,
        mlp_hidden: int = 256,
        mlp_layers: int = 2,
        dropout: float = 0.1,
        use_sequence: bool = True,
        use_go: bool = True,
        loss: str = "contrastive",
        loss_reduction: str = "mean",
        lambda_ex: float = 0.1,
        lambda_go: float = 0.1,
        tau: float = 1.0,
        **kwargs,
    ):
        if seq_input not in ("features", "residues"):
            raise ValueError(f"seq_input must be 'features' or 'residues', got {seq_input!r}")
        if not (use_sequence or use_go):
            raise ValueError("at least one of use_sequence / use_go must be True")
        if loss not in LABEL_LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LABEL_LOSSES)}, got {loss!r}")
        if loss_reduction not in REDUCTIONS:
            raise ValueError(f"loss_reduction must be one of {', '.join(REDUCTIONS)}, got {loss_reduction!r}")
        if concept_activation not in CONCEPT_ACTIVATIONS:
            raise ValueError(f"concept_activation must be one of {', '.join(CONCEPT_ACTIVATIONS)}, got {concept_activation!r}")
        self.n_terms, self.n_concepts, self.free_units = n_terms, n_concepts, free_units
        self.concept_activation = concept_activation
        self.concept_bottleneck = concept_bottleneck
        self.seq_input, self.n_seq_features, self.seq_tokens = seq_input, n_seq_features, seq_tokens
        self.residue_vocab_size, self.conv_layers = residue_vocab_size, conv_layers
        self.go_vocab_size, self.max_go_tokens, self.go_bag = go_vocab_size, max_go_tokens, go_bag
        self.fusion_norm = fusion_norm
        self.d_model, self.n_heads, self.go_layers = d_model, n_heads, go_layers
        self.mlp_hidden, self.mlp_layers, self.dropout = mlp_hidden, mlp_layers, dropout
        self.use_sequence, self.use_go = use_sequence, use_go
        self.loss, self.loss_reduction = loss, loss_reduction
        self.lambda_ex, self.lambda_go, self.tau = lambda_ex, lambda_go, tau
        super().__init__(**kwargs)


@dataclass
class GenePhenoOutput(ModelOutput):
    logits: torch.Tensor | None = None
    concept_logits: torch.Tensor | None = None
    free_logits: torch.Tensor | None = None  # the unsupervised bottleneck units (config.free_units)
    seq_to_go_attention: torch.Tensor | None = None  # (B, seq tokens, GO tokens), with output_attentions


class AttentionPool(nn.Module):
    """Softmax-weighted mean of tokens with a learned scoring vector (padding masked out)."""

    def __init__(self, d_model: int):
        super().__init__()
        self.score = nn.Linear(d_model, 1)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.score(tokens).squeeze(-1).masked_fill(~mask, torch.finfo(tokens.dtype).min)
        weights = torch.softmax(scores, dim=-1).unsqueeze(-1)
        return (weights * tokens).sum(1)


class CrossAttentionBlock(nn.Module):
    """``query`` tokens attend to ``context`` tokens (pre-norm, residual, then a feed-forward). No
    dropout on tokens or attention weights: on a CPU those masks cost more than the attention."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.norm_q, self.norm_c = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.ff = nn.Sequential(
            nn.LayerNorm(d_model), nn.Linear(d_model, 2 * d_model), nn.GELU(), nn.Linear(2 * d_model, d_model),
        )

    def forward(self, query: torch.Tensor, context: torch.Tensor, context_mask: torch.Tensor,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        attended, weights = self.attn(
            self.norm_q(query), self.norm_c(context), self.norm_c(context),
            key_padding_mask=~context_mask, need_weights=need_weights,
        )
        x = query + attended
        return x + self.ff(x), weights


class GenePhenoModel(PreTrainedModel):
    config_class = GenePhenoConfig
    base_model_prefix = "genepheno"
    main_input_name = "seq_features"

    def __init__(self, config: GenePhenoConfig):
        super().__init__(config)
        d = config.d_model
        width = 0
        if config.use_sequence:
            if config.seq_input == "features":
                self.seq_encoder = FeatureTokens(config.n_seq_features, d, config.seq_tokens, config.dropout)
            else:
                self.seq_encoder = ConvSequenceEncoder(config.residue_vocab_size, d, config.conv_layers)
            self.seq_pool = AttentionPool(d)
            width += d
        if config.use_go:
            self.go_encoder = GoEncoder(config.go_vocab_size, d, config.n_heads, config.go_layers, config.dropout)
            self.go_pool = AttentionPool(d)
            width += d
            if config.go_bag:
                self.go_bag_encoder = GoBag(config.go_vocab_size, config.mlp_hidden)
                width += self.go_bag_encoder.out_dim
        if config.use_sequence and config.use_go:
            self.seq_to_go = CrossAttentionBlock(d, config.n_heads)
            self.go_to_seq = CrossAttentionBlock(d, config.n_heads)
        layers: list[nn.Module] = [nn.LayerNorm(width) if config.fusion_norm else nn.Identity()]
        for i in range(config.mlp_layers):
            layers += [nn.Linear(width if i == 0 else config.mlp_hidden, config.mlp_hidden), nn.GELU(),
                       nn.Dropout(config.dropout)]
        self.mlp = nn.Sequential(*layers)
        # Bottleneck units: one per GO concept (supervised by L_GO), then ``free_units`` unsupervised
        # ones (0 by default: the paper's pure concept bottleneck).
        self.concept_head = nn.Linear(config.mlp_hidden, config.n_concepts + config.free_units)
        # The interpretable map: phenotype logits are a linear function of the bottleneck units only. Without
        # the bottleneck (the gap decomposition's "direct head") they read the MLP's hidden layer instead,
        # and the concept units stay as a side task trained by L_GO.
        head_input = config.n_concepts + config.free_units if config.concept_bottleneck else config.mlp_hidden
        self.phenotype_head = nn.Linear(head_input, config.n_terms)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        # torch's defaults are fine for this small network; nothing extra to initialise.
        pass

    def forward(
        self,
        seq_features: torch.Tensor | None = None,
        seq_mask: torch.Tensor | None = None,
        residue_ids: torch.Tensor | None = None,
        go_ids: torch.Tensor | None = None,
        go_bag_ids: torch.Tensor | None = None,
        go_bag_offsets: torch.Tensor | None = None,
        go_counts: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> GenePhenoOutput:
        cfg = self.config
        pooled = []
        attention = None
        if cfg.use_sequence:
            if cfg.seq_input == "features":
                if seq_features is None:
                    raise ValueError("this model needs seq_features")
                seq_tokens, seq_mask = self.seq_encoder(seq_features, seq_mask)
            else:
                if residue_ids is None:
                    raise ValueError("this model needs residue_ids")
                seq_tokens, seq_mask = self.seq_encoder(residue_ids)
        if cfg.use_go:
            if go_ids is None:
                raise ValueError("this model needs go_ids (use_go=True)")
            go_tokens, go_mask = self.go_encoder(go_ids)
        if cfg.use_sequence and cfg.use_go:
            # Both directions read the other stream's tokens from *before* this block.
            (new_seq, attention), (new_go, _) = (
                self.seq_to_go(seq_tokens, go_tokens, go_mask, need_weights=output_attentions),
                self.go_to_seq(go_tokens, seq_tokens, seq_mask),
            )
            seq_tokens, go_tokens = new_seq, new_go
        if cfg.use_sequence:
            pooled.append(self.seq_pool(seq_tokens, seq_mask))
        if cfg.use_go:
            pooled.append(self.go_pool(go_tokens, go_mask))
            if cfg.go_bag:
                if go_bag_ids is None or go_bag_offsets is None or go_counts is None:
                    raise ValueError("this model needs go_bag_ids, go_bag_offsets and go_counts (go_bag=True)")
                pooled.append(self.go_bag_encoder(go_bag_ids, go_bag_offsets, go_counts))
        hidden = self.mlp(torch.cat(pooled, dim=-1))
        units = self.concept_head(hidden)
        if not cfg.concept_bottleneck:
            logits = self.phenotype_head(hidden)
        else:
            logits = self.phenotype_head(torch.sigmoid(units) if cfg.concept_activation == "sigmoid" else units)
        return GenePhenoOutput(logits=logits, concept_logits=units[:, : cfg.n_concepts], free_logits=units[:, cfg.n_concepts :],
                               seq_to_go_attention=attention)

    @torch.no_grad()
    def set_prior_biases(self, term_prior, concept_prior=None, eps: float = 1e-3, concept_floor: float = -2.0) -> None:
        """Start the output biases at the log-odds of each term's training frequency, so the untrained
        model already predicts the label-frequency baseline and training only has to add gene-specific
        evidence. Concept biases start at the log-odds of the concept's frequency but no lower than
        ``concept_floor``: at logit(prevalence) two thirds of the MPO concepts would start below −4.6,
        where σ' < 0.01 and almost no gradient reaches the phenotype head through them. The phenotype
        bias is corrected for the initial mean concept activation flowing through the head."""
        def logit(p):
            p = torch.as_tensor(p, dtype=torch.float32).clamp(eps, 1 - eps)
            return torch.log(p) - torch.log1p(-p)

        if concept_prior is not None:
            self.concept_head.bias[: self.config.n_concepts] = logit(concept_prior).clamp(min=concept_floor)
        if not self.config.concept_bottleneck:  # the head reads the hidden layer: no activation to correct for
            self.phenotype_head.bias.copy_(logit(term_prior))
            return
        activation = self.concept_head.bias.clone()
        if self.config.concept_activation == "sigmoid":
            activation = torch.sigmoid(activation)
        self.phenotype_head.bias.copy_(logit(term_prior) - self.phenotype_head.weight @ activation)

    def concept_to_phenotype(self, term_ids: list[str] | None = None, concept_ids: list[str] | None = None) -> pd.DataFrame:
        """The phenotype head's weights as a DataFrame: rows = phenotype terms, columns = GO concepts
        (then the free units, named ``free_<k>``, if the model has any)."""
        if not self.config.concept_bottleneck:
            raise ValueError("this model has no concept bottleneck: its phenotype head reads the hidden layer")
        weight = self.phenotype_head.weight.detach().float().cpu().numpy()
        if concept_ids is not None:
            concept_ids = list(concept_ids) + [f"free_{k}" for k in range(self.config.free_units)]
        return pd.DataFrame(weight, index=term_ids, columns=concept_ids)


# Files saved beside the weights so that a model folder is all ``predict`` needs.
TERMS_FILE = "terms.tsv"  # term_id, name (column order = phenotype head rows)
CONCEPTS_FILE = "concepts.tsv"  # go_id, name, namespace (column order = concept units)
GO_VOCAB_FILE = "go_vocab.json"
INPUTS_FILE = "inputs.json"  # inputs.InputSpec
TRAIN_CONFIG_FILE = "train_config.json"
PROJECTION_FILE = "seq_projection.npz"  # encoders.SequenceProjection (kmer / hf encoders)


@torch.no_grad()
def score_genes(model: GenePhenoModel, inputs, rows=None, batch_size: int = 256, device=None):
    """Phenotype probabilities σ(logits) as a float32 numpy array (len(rows) × n_terms)."""
    rows = np.arange(len(inputs)) if rows is None else np.asarray(rows)
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(rows), batch_size):
        batch = inputs.batch(rows[start : start + batch_size], device)
        out.append(torch.sigmoid(model(**batch).logits.float()).cpu().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, model.config.n_terms), dtype=np.float32)
