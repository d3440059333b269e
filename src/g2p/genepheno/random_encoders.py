"""Randomly initialised sequence encoders of the paper's model families, written with ``save_pretrained``
into a local folder that ``hf_model`` can name: for dry runs, tests and the GPU probe, never for results
(their embeddings carry no biology). Nothing is downloaded; the tokenizers are built here.

* :func:`save_esm` — an ESM-2 model (``transformers.EsmModel``, rotary positions, ESM-2's 33-token residue
  vocabulary), at any size: ``ESM2_SIZES["650M"]`` is the paper preset's ``facebook/esm2_t33_650M_UR50D``.
* :func:`save_dna_lm` — a genomic language model in GENERator's layout: a Llama decoder over
  non-overlapping 6-mers (a word-level tokenizer whose vocabulary is every 1- to 6-mer of ACGT, so the
  last, shorter piece of a sequence has a token too; a piece holding N or another ambiguity code is
  ``<unk>``).
"""

from __future__ import annotations

import itertools
from pathlib import Path

#: ESM-2's vocabulary, in its order (the special tokens' ids are ESM-2's: <cls> 0, <pad> 1, <eos> 2, <mask> 32).
ESM2_VOCAB = ("<cls>", "<pad>", "<eos>", "<unk>", *"LAGVSERTIDPKQNFYMHWCXBUZO.-", "<null_1>", "<mask>")
#: (layers, hidden, heads) of ESM-2 checkpoints; "tiny" is for tests.
ESM2_SIZES = {"tiny": (2, 32, 4), "8M": (6, 320, 20), "35M": (12, 480, 20), "150M": (30, 640, 20),
              "650M": (33, 1280, 20)}
DNA_SPECIALS = ("<pad>", "<unk>", "<s>", "</s>")
KMER = 6


def save_esm(folder: Path, size: str = "tiny", seed: int = 0) -> Path:
    """A random ESM-2 model of ``size`` (:data:`ESM2_SIZES`) with its tokenizer, saved in ``folder``."""
    import torch
    from transformers import EsmConfig, EsmModel, EsmTokenizer

    layers, hidden, heads = ESM2_SIZES[size]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(ESM2_VOCAB) + "\n", encoding="utf-8")
    tokenizer = EsmTokenizer(str(vocab_file))
    config = EsmConfig(vocab_size=len(ESM2_VOCAB), hidden_size=hidden, num_hidden_layers=layers,
                       num_attention_heads=heads, intermediate_size=4 * hidden, max_position_embeddings=1026,
                       position_embedding_type="rotary", pad_token_id=1, mask_token_id=32, token_dropout=True,
                       emb_layer_norm_before=False, layer_norm_eps=1e-5)
    torch.manual_seed(seed)
    EsmModel(config).save_pretrained(folder)  # with its pooler, as AutoModel builds it (no load report)
    tokenizer.save_pretrained(folder)
    return folder


def dna_tokenizer():
    """A ``PreTrainedTokenizerFast`` over non-overlapping 6-mers (see the module docstring)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(DNA_SPECIALS)}
    for k in range(1, KMER + 1):
        for letters in itertools.product("ACGT", repeat=k):
            vocab["".join(letters)] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(f".{{1,{KMER}}}"), behavior="isolated")
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>", model_input_names=["input_ids", "attention_mask"])


def save_dna_lm(folder: Path, hidden: int = 32, layers: int = 2, heads: int = 4, seed: int = 0) -> Path:
    """A random Llama decoder over 6-mers with its tokenizer, saved in ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaModel

    tokenizer = dna_tokenizer()
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=4096, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    folder = Path(folder)
    torch.manual_seed(seed)
    LlamaModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
