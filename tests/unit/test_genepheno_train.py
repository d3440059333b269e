"""GenePheno training on a tiny synthetic CuratedDataset: learning, reuse, resume, 2 processes, predict."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from safetensors.torch import load_file

from g2p.genepheno import predict as predict_mod
from g2p.genepheno.train import TrainConfig, train

MOTIFS = ["WWWW", "CCCC", "HHHH", "MMMM"]


def toy_dataset(n: int = 96, seed: int = 0) -> SimpleNamespace:
    """A CuratedDataset-shaped object with planted signal: term j (j<4) ⇔ motif j in the sequence and
    GO:100j among the GO inputs; term 4 = term 0 or 1 (a parent); term 5 is on for every gene.
    Concepts 0-3 mirror terms 0-3 and concept 4 term 4, so the bottleneck can carry the signal."""
    rng = np.random.default_rng(seed)
    letters = list("ACDEFGKLNPQRSTVY")  # no W, C, H, M outside motifs
    seqs, labels, concept_rows, go_inputs = [], [], [], []
    for _ in range(n):
        seq = list(rng.choice(letters, size=int(rng.integers(40, 80))))
        has = rng.random(4) < 0.4
        for motif, present in zip(MOTIFS, has):
            if present:
                at = int(rng.integers(0, len(seq) - 4))
                seq[at : at + 4] = list(motif)
        seqs.append("".join(seq))
        labels.append([*has, has[0] or has[1], True])
        concept_rows.append([*has, has[0] or has[1]])
        go_inputs.append(sorted([f"GO:{1000 + j:07d}" for j in range(4) if has[j]] + [f"GO:{2000 + int(rng.integers(5)):07d}"]))
    split = np.array(["train"] * (n // 2) + ["val"] * (n // 4) + ["test"] * (n - n // 2 - n // 4))
    genes = pd.DataFrame({"gene_id": [f"G{i}" for i in range(n)], "symbol": [f"g{i}" for i in range(n)],
                          "accession": [f"P{i:05d}" for i in range(n)], "split": split, "sequence": seqs})
    y = np.array(labels, dtype=np.float32)
    terms = pd.DataFrame({"term_id": [f"MP:{j:07d}" for j in range(6)], "name": [f"term {j}" for j in range(6)],
                          "n_genes": y.sum(0).astype(int), "bin": "11-30", "depth": [2, 2, 2, 2, 1, 0]})
    concepts = pd.DataFrame({"go_id": [f"GO:000000{k}" for k in range(1, 6)], "name": [f"c{k}" for k in range(1, 6)],
                             "namespace": "biological_process"})
    ds = SimpleNamespace(
        name="toy", genes=genes, terms=terms, labels=sp.csr_matrix(y), concepts=concepts,
        concept_labels=sp.csr_matrix(np.array(concept_rows, dtype=np.float32)), go_inputs=go_inputs,
        exclusive_pairs=pd.DataFrame({"term_a": ["MP:0000002"], "term_b": ["MP:0000003"]}), datasheet={},
    )
    ds.split_index = lambda s: np.flatnonzero(genes["split"].to_numpy() == s)
    ds.exclusive_index = lambda: np.array([[2, 3]])
    return ds


def small_config(**overrides) -> TrainConfig:
    base = dict(epochs=4, batch_size=16, d_model=16, n_heads=2, mlp_hidden=32, seq_dim=8, seq_segments=2, lr=1e-2,
                go_min_count=1, patience=10, progress=False, cpu_threads=1, kmer_ks=(1, 2))
    return TrainConfig(**{**base, **overrides})


@pytest.fixture(scope="module")
def dataset():
    return toy_dataset()


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return train(dataset, small_config(epochs=6), out), out


def test_training_learns_and_writes_a_model_folder(trained, dataset):
    result, out = trained
    assert result.finished and list(result.history["epoch"]) == list(range(1, 7))
    assert 0 < result.best_val_fmax <= 1
    assert result.best_val_fmax == pytest.approx(result.history["val_fmax"].max())
    assert result.history["train_total"].iloc[-1] < result.history["train_total"].iloc[0]
    assert (result.history["train_genes_per_s"] > 0).all()
    for name in ("config.json", "model.safetensors", "terms.tsv", "concepts.tsv", "go_vocab.json", "inputs.json"):
        assert (result.best_dir / name).exists(), name
    # test-split scores beat a label-frequency baseline on the planted signal
    from g2p.genepheno.metrics import fmax

    scores = predict_mod.predict_scores(result.best_dir, dataset, "test")
    rows = dataset.split_index("test")
    y_test = dataset.labels[rows].toarray()
    assert scores.shape == y_test.shape and ((scores >= 0) & (scores <= 1)).all()
    prior = np.tile(dataset.labels[dataset.split_index("train")].toarray().mean(0), (len(rows), 1))
    assert fmax(y_test, scores)[0] > fmax(y_test, prior)[0]


def test_finished_run_is_returned_without_training(trained, dataset, monkeypatch):
    result, out = trained
    import g2p.genepheno.train as train_mod

    monkeypatch.setattr(train_mod, "prepare_inputs", lambda *a, **k: pytest.fail("should not retrain"))
    again = train(dataset, small_config(epochs=6, progress=True), out)  # runtime-only fields may differ
    assert again.best_val_fmax == result.best_val_fmax
    pd.testing.assert_frame_equal(again.history, result.history, check_dtype=False)


def test_interrupted_run_resumes_to_the_same_weights(dataset, tmp_path):
    full = train(dataset, small_config(), tmp_path / "full")
    part = train(dataset, small_config(max_epochs_this_call=2), tmp_path / "resumed")
    assert not part.finished and len(part.history) == 2
    assert not (tmp_path / "resumed" / "result.json").exists()
    resumed = train(dataset, small_config(), tmp_path / "resumed")
    assert resumed.finished and len(resumed.history) == 4
    cols = ["epoch", "train_total", "train_mlc", "train_ex", "train_go", "val_fmax"]
    pd.testing.assert_frame_equal(full.history[cols], resumed.history[cols])
    a = load_file(tmp_path / "full" / "best" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "best" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k]) for k in a)
    # a finished run keeps its model, not its resume state
    assert not (tmp_path / "full" / "checkpoint").exists() and not (tmp_path / "resumed" / "checkpoint").exists()


def test_changed_config_starts_over(dataset, tmp_path):
    train(dataset, small_config(epochs=1), tmp_path)
    second = train(dataset, small_config(epochs=2, lambda_ex=0.5), tmp_path)
    assert list(second.history["epoch"]) == [1, 2]


@pytest.mark.parametrize("overrides", [
    {"use_go": False}, {"use_sequence": False}, {"loss": "bce"}, {"lambda_ex": 0.0, "lambda_go": 0.0},
    {"encoder": "cnn", "max_residues": 96}, {"concept_bottleneck": False},
])
def test_ablation_variants_train(dataset, tmp_path, overrides):
    result = train(dataset, small_config(epochs=1, **overrides), tmp_path)
    assert np.isfinite(result.history["train_total"]).all() and 0 < result.best_val_fmax <= 1
    scores = predict_mod.predict_scores(result.best_dir, dataset, "val")
    assert scores.shape == (len(dataset.split_index("val")), 6)


def test_two_cpu_processes(tmp_path):
    """Two CPU processes (torchrun + Accelerate, gloo) train one model and agree on every decision."""
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(f"""
        import json, os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_genepheno_train import toy_dataset, small_config
        from g2p.genepheno.train import train
        r = train(toy_dataset(), small_config(epochs=2), {str(tmp_path / "run")!r})
        # one file per rank: two processes printing to one pipe can interleave their lines
        out = {str(tmp_path)!r} + "/result_" + os.environ["RANK"] + ".json"
        open(out, "w").write(json.dumps({{"n": r.extra["num_processes"], "fmax": r.best_val_fmax}}))
    """))
    # torchrun sets WORLD_SIZE/RANK; Accelerator sees no GPU and runs MULTI_CPU over gloo.
    import socket

    with socket.socket() as sock:  # a free port for the rendezvous (port 0 does not propagate)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(port), str(script)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("result_*.json"))]
    assert len(results) == 2 and all(r["n"] == 2 for r in results)
    assert results[0]["fmax"] == results[1]["fmax"] and 0 < results[0]["fmax"] <= 1
    saved = json.loads((tmp_path / "run" / "result.json").read_text())
    assert saved["num_processes"] == 2 and saved["epochs_run"] == 2


def test_predict_from_fasta_and_cli(trained, dataset, tmp_path):
    result, _ = trained
    fasta = tmp_path / "x.fa"
    fasta.write_text(
        ">sp|Q00001|AAA_MOUSE Test OS=Mus musculus OX=10090 GN=Aaa PE=1 SV=1\n"
        f"{'ACDEFGKL' * 5}WWWW{'ACDEFGKL' * 3}\n"
        ">sp|Q00002|BBB_MOUSE Test OS=Mus musculus OX=10090 GN=Bbb PE=1 SV=1\n"
        f"{'ACDEFGKL' * 8}\n"
    )
    table = predict_mod.predict(fasta, result.best_dir, top_k=3)
    assert list(table.columns) == ["gene", "rank", "term_id", "term_name", "score"]
    assert list(table["gene"].unique()) == ["Q00001", "Q00002"] and list(table["rank"][:3]) == [1, 2, 3]
    assert (table.groupby("gene")["score"].apply(lambda s: s.is_monotonic_decreasing)).all()
    from g2p.genepheno.predict import add_arguments, main

    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tmp_path / "pred.tsv"
    assert main(parser.parse_args(["--fasta", str(fasta), "--model", str(result.best_dir), "--out", str(out), "--top-k", "2"])) == 0
    written = pd.read_csv(out, sep="\t")
    assert len(written) == 4 and set(written["term_id"]) <= set(dataset.terms["term_id"])


def test_predict_consistent_scores_no_term_below_a_descendant(trained, tmp_path, monkeypatch):
    """``--consistent``: each term scores the max over itself and its descendants (CAFA's propagation),
    over the hierarchy :func:`hierarchy.model_descendants` finds; the toy's term 4 is the parent of terms
    0 and 1, and term 5 lies above all."""
    result, _ = trained
    descendants = sp.csr_matrix(np.array([[0] * 6] * 4 + [[1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0]], dtype=bool))
    seen = {}

    def fake_descendants(term_ids, where=None):
        seen["terms"] = list(term_ids)
        return descendants, "toy_obo"

    monkeypatch.setattr(predict_mod.hierarchy, "model_descendants", fake_descendants)
    fasta = tmp_path / "x.fa"
    fasta.write_text(">sp|Q00001|AAA_MOUSE Test OS=Mus musculus OX=10090 GN=Aaa PE=1 SV=1\n"
                     f"{'ACDEFGKL' * 5}WWWW{'ACDEFGKL' * 3}\n")
    notes = []
    raw = predict_mod.predict(fasta, result.best_dir, top_k=6).set_index("term_id")["score"]
    table = predict_mod.predict(fasta, result.best_dir, top_k=6, consistent=True, report=notes.append)
    score = table.set_index("term_id")["score"]
    assert seen["terms"] == [f"MP:{j:07d}" for j in range(6)]
    assert score["MP:0000004"] == pytest.approx(max(raw[f"MP:{j:07d}"] for j in (0, 1, 4)))
    assert score["MP:0000005"] == pytest.approx(raw.max())
    for j in range(4):  # leaves keep their own score
        assert score[f"MP:{j:07d}"] == pytest.approx(raw[f"MP:{j:07d}"])
    assert any("hierarchy-consistent" in n and "toy_obo" in n for n in notes)


def test_predict_errors(trained, tmp_path):
    result, _ = trained
    bad = tmp_path / "bad.fa"
    bad.write_text(">sp|Q1|X_MOUSE t\nMKV1LA\n")
    from g2p.data.errors import DataFormatError

    with pytest.raises(DataFormatError, match="bad.fa"):
        predict_mod.predict(bad, result.best_dir)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        predict_mod.predict_scores(tmp_path / "nope", None, "test")
    with pytest.raises(FileNotFoundError, match="not a GenePheno model folder"):
        predict_mod.load_model(tmp_path)


def test_concept_to_phenotype_map(trained):
    result, _ = trained
    loaded = predict_mod.load_model(result.best_dir, device="cpu")
    table = loaded.concept_to_phenotype()
    assert table.shape == (6, 5) and list(table.columns)[:2] == ["GO:0000001", "GO:0000002"]
    assert table.index[0] == "MP:0000000"
    np.testing.assert_allclose(table.to_numpy(), loaded.model.phenotype_head.weight.detach().numpy())


def test_prepared_inputs_are_cached_on_disk_by_content(tmp_path, monkeypatch):
    """A second process (here: a cleared memory cache) reads the encoding back instead of rebuilding
    it, equal to the built one; a dataset whose sequences differ is built anew."""
    import copy

    import g2p.genepheno.train as train_mod

    monkeypatch.setattr(train_mod.paths, "cache", tmp_path / "cache")
    built_count = []
    real_build = train_mod._build_inputs
    monkeypatch.setattr(train_mod, "_build_inputs", lambda *a: built_count.append(1) or real_build(*a))
    ds, config = toy_dataset(n=48, seed=5), small_config()
    train_mod._PREPARED.clear()
    built = train_mod.prepare_inputs(ds, config)
    train_mod._PREPARED.clear()
    cached = train_mod.prepare_inputs(ds, config)
    assert len(built_count) == 1 and len(list((tmp_path / "cache").glob("genepheno_inputs_*.pickle"))) == 1
    np.testing.assert_array_equal(cached.encoded.seq, built.encoded.seq)
    np.testing.assert_array_equal(cached.encoded.go_ids, built.encoded.go_ids)
    assert cached.vocab.terms == built.vocab.terms
    changed = copy.copy(ds)
    changed.genes = ds.genes.assign(sequence=ds.genes["sequence"].str.replace("A", "G", n=1))
    train_mod.prepare_inputs(changed, config)
    assert len(built_count) == 2
    train_mod._PREPARED.clear()
