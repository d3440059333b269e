"""A user's FASTA as GenePheno's sequences: records matched to genes by id, accession or symbol; DNA read
by a (tiny, random, local) genomic language model through the hf encoder, end to end; bad files and
unmatched genes are one line naming the file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from test_genepheno_train import small_config, toy_dataset  # same folder (pytest puts it on sys.path)

from g2p import cli, paths
from g2p.data.errors import DataFormatError
from g2p.errors import InputError
from g2p.genepheno import predict, random_encoders, sequences


def _dna(i: int, rng: np.random.Generator) -> str:
    return "".join(rng.choice(list("ACGT"), size=30 + i % 7))


def _write_fasta(path, dataset, keyed=("gene_id", "accession", "symbol"), skip=()):
    """One DNA record per gene, keyed in turn by gene id, UniProt-style header (accession, GN=symbol)
    and bare symbol."""
    rng = np.random.default_rng(0)
    lines, truth = [], {}
    for i, gene in dataset.genes.iterrows():
        if gene["gene_id"] in skip:
            continue
        how = keyed[i % len(keyed)]
        header = (f"sp|{gene['accession']}|X_MOUSE Some protein OS=Mus musculus OX=10090 GN=g_other"
                  if how == "accession" else f"{gene[how]} some description")
        truth[gene["gene_id"]] = seq = _dna(i, rng)
        lines += [f">{header}", seq[:20], seq[20:]]
    path.write_text("\n".join(lines) + "\n")
    return truth


def test_records_are_matched_by_gene_id_accession_or_symbol(tmp_path):
    dataset = toy_dataset(n=12)
    truth = _write_fasta(tmp_path / "genes.fa", dataset)
    got = sequences.dataset_sequences(dataset, str(tmp_path / "genes.fa"), "dna")
    assert got == [truth[g] for g in dataset.genes["gene_id"]]
    assert sequences.dataset_sequences(dataset, str(tmp_path / "genes.fa"), "dna", rows=[3, 1]) == \
        [truth["G3"], truth["G1"]]
    assert sequences.dataset_sequences(dataset, None) == list(dataset.genes["sequence"])  # the proteins


def test_bad_fasta_and_unmatched_genes_are_one_line(tmp_path):
    dataset = toy_dataset(n=12)
    fasta = tmp_path / "genes.fa"
    _write_fasta(fasta, dataset, keyed=("gene_id",), skip={"G4", "G7"})
    with pytest.raises(InputError) as info:
        sequences.dataset_sequences(dataset, str(fasta), "dna")
    line, _ = cli.describe(info.value)
    assert "\n" not in line and str(fasta) in line and "field 'sequences_fasta'" in line
    assert "no record for 2 of the 12 genes of toy (first: G4, G7)" in line

    fasta.write_text(">G0\nACGTACGTQQ\n")
    with pytest.raises(DataFormatError, match=r"genes.fa, line 2, field 'sequence': record 'G0' has letters "
                                              r"outside the dna alphabet: 'Q'"):
        sequences.dataset_sequences(dataset, str(fasta), "dna")
    fasta.write_text(">G0\nACGT\n>G1\nACGT\n>G0 again\nACGA\n")
    with pytest.raises(DataFormatError, match=r"genes.fa, line 5, field 'header': record 'G0' appears twice"):
        sequences.dataset_sequences(dataset, str(fasta), "dna")
    fasta.write_text(">G0\n" + "ACGT" * 10 + "\n")  # DNA given to a protein model
    with pytest.raises(DataFormatError, match="looks like a nucleotide sequence"):
        sequences.dataset_sequences(dataset, str(fasta), "protein")
    with pytest.raises(InputError, match="sequence FASTA not found"):
        sequences.dataset_sequences(dataset, str(tmp_path / "absent.fa"), "dna")


def test_dna_through_a_local_genomic_language_model_end_to_end(tmp_path, monkeypatch):
    """encoder hf + alphabet dna + sequences_fasta: the random 6-mer Llama reads every gene's DNA (its
    embeddings cached per sequence), the run trains, its model folder remembers the FASTA, and
    predict scores the dataset's genes from the same DNA; a changed FASTA is a new run."""
    monkeypatch.setattr(paths, "cache", tmp_path / "cache")
    dataset = toy_dataset(n=48)
    truth = _write_fasta(tmp_path / "genes.fa", dataset)
    model = random_encoders.save_dna_lm(tmp_path / "tiny-dna")
    config = small_config(encoder="hf", hf_model=str(model), alphabet="dna", sequences_fasta=str(tmp_path / "genes.fa"),
                          hf_max_length=64, epochs=2, go_min_count=1)
    from g2p.genepheno.train import run_key, train

    result = train(dataset, config, tmp_path / "run")
    assert result.finished and len(result.history) == 2
    cached = list((tmp_path / "cache" / "hf_embeddings").rglob("*.npy"))
    assert len(cached) == len(set(truth.values()))  # one embedding per distinct DNA sequence
    spec = json.loads((result.best_dir / "inputs.json").read_text())
    assert (spec["encoder"], spec["alphabet"], spec["sequences_fasta"]) == ("hf", "dna", str(tmp_path / "genes.fa"))
    assert np.load(result.best_dir / "seq_projection.npz")["components"].shape[1] == 32  # the LM's hidden width
    scores = predict.predict_scores(result.best_dir, dataset, "test")
    assert scores.shape == (len(dataset.split_index("test")), len(dataset.terms)) and np.isfinite(scores).all()
    before = run_key(dataset, config)
    (tmp_path / "genes.fa").write_text((tmp_path / "genes.fa").read_text().replace("A", "C", 1))
    assert run_key(dataset, config) != before


def test_a_model_that_ships_its_own_code_needs_trust_remote_code(tmp_path):
    """GENERator's tokenizer is code in its repository: without hf_trust_remote_code the load is one line
    saying how to allow it; with it, the shipped class is used."""
    from g2p.genepheno import encoders

    folder = random_encoders.save_dna_lm(tmp_path / "dna-lm")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.update(tokenizer_class="DNATokenizer", auto_map={"AutoTokenizer": ["tokenization_dna.DNATokenizer", None]})
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "tokenization_dna.py").write_text(
        "from transformers import PreTrainedTokenizerFast\n\n\nclass DNATokenizer(PreTrainedTokenizerFast):\n    pass\n")
    with pytest.raises(InputError) as info:
        encoders.embed_sequences(["ACGTACGTAA"], str(folder), alphabet="dna", cache_root=tmp_path / "c", device="cpu")
    line, _ = cli.describe(info.value)
    assert "ships its own code" in line and "hf_trust_remote_code: true" in line and "\n" not in line
    vectors = encoders.embed_sequences(["ACGTACGTAA"], str(folder), alphabet="dna", cache_root=tmp_path / "c",
                                       device="cpu", trust_remote_code=True)
    assert vectors.shape == (1, 32) and np.isfinite(vectors).all()
