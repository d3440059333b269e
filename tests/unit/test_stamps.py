"""g2p.stamps: a notebook's input hash, and the modules that decide it (read with ast, nothing imported)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from g2p import paths, stamps


def write_notebook(path: Path, *code: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), *(nbformat.v4.new_code_cell(c) for c in code)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def fake_package(root: Path) -> Path:
    """A tiny ``g2p`` package: a → b (inside a function), b → c, d stands alone, e is named in a string."""
    src = root / "g2p"
    (src / "sub").mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "sub" / "__init__.py").write_text("")
    (src / "sub" / "a.py").write_text("def f():\n    from g2p.sub import b\n    return b\n")
    (src / "sub" / "b.py").write_text("from g2p import c\nSCHEMA = 'g2p.e'\n")
    (src / "c.py").write_text("X = 1\n")
    (src / "d.py").write_text("Y = 2\n")
    (src / "e.py").write_text("Z = 3\n")
    (src / "sources.yaml").write_text("a: 1\n")
    return src


def test_input_hash_depends_on_every_input(tmp_path) -> None:
    nb = write_notebook(tmp_path / "01_a.ipynb", "a = 1")
    base = dict(code="c", manifest={"x": "1"}, upstream="u")
    h = stamps.input_hash(nb, {"a": 1}, **base)
    assert h == stamps.input_hash(nb, {"a": 1}, **base)
    assert h != stamps.input_hash(nb, {"a": 2}, **base)
    assert h != stamps.input_hash(nb, {"a": 1}, **{**base, "code": "d"})
    assert h != stamps.input_hash(nb, {"a": 1}, **{**base, "manifest": {"x": "2"}})
    assert h != stamps.input_hash(nb, {"a": 1}, **{**base, "upstream": "v"})
    write_notebook(nb, "a = 2")
    assert h != stamps.input_hash(nb, {"a": 1}, **base)


def test_notebook_modules_follow_imports_transitively(tmp_path) -> None:
    src = fake_package(tmp_path)
    nb = write_notebook(tmp_path / "01_a.ipynb", "%matplotlib inline\nfrom g2p.sub import a\nimport numpy")
    assert stamps.notebook_modules(nb, src) == {"g2p", "g2p.sub", "g2p.sub.a", "g2p.sub.b", "g2p.c", "g2p.e"}
    other = write_notebook(tmp_path / "02_b.ipynb", "from g2p import d")
    assert stamps.notebook_modules(other, src) == {"g2p", "g2p.d"}


def test_code_digest_changes_only_with_the_modules_a_notebook_runs(tmp_path) -> None:
    src = fake_package(tmp_path)
    uses_a = write_notebook(tmp_path / "01_a.ipynb", "from g2p.sub import a")
    uses_d = write_notebook(tmp_path / "02_d.ipynb", "from g2p import d")
    before_a, before_d = stamps.notebook_code_digest(uses_a, src), stamps.notebook_code_digest(uses_d, src)
    (src / "c.py").write_text("X = 2\n")  # reached from a through b
    assert stamps.notebook_code_digest(uses_a, src) != before_a
    assert stamps.notebook_code_digest(uses_d, src) == before_d
    (src / "sources.yaml").write_text("a: 2\n")  # package data counts for every notebook
    assert stamps.notebook_code_digest(uses_d, src) != before_d


def test_source_digest_sees_code_and_package_data(tmp_path) -> None:
    (tmp_path / "m.py").write_text("x = 1\n")
    (tmp_path / "sources.yaml").write_text("a: 1\n")
    before = stamps.source_digest(tmp_path)
    (tmp_path / "sources.yaml").write_text("a: 2\n")
    assert stamps.source_digest(tmp_path) != before


def test_the_real_chapters_depend_on_their_own_half_only() -> None:
    """No diffusion module is among GenePheno's inputs, and the other way round, so editing one half does
    not rerun the other half's chapters. The one crossing is each half's ``config`` (plain dataclasses):
    a preset is checked against both halves' blocks when it is read."""
    shared = {"g2p.genepheno", "g2p.genepheno.config", "g2p.g2pdiff", "g2p.g2pdiff.config"}
    genepheno = stamps.notebook_modules(paths.notebooks / "02_train_genepheno.ipynb")
    diffusion = stamps.notebook_modules(paths.notebooks / "05_train_g2pdiffusion.ipynb")
    assert "g2p.genepheno.model" in genepheno and "g2p.g2pdiff.train" in diffusion
    assert {m for m in genepheno - shared if m.startswith("g2p.g2pdiff")} == set()
    assert {m for m in diffusion - shared if m.startswith("g2p.genepheno")} == set()
    assert not {"g2p.runner", "g2p.cli", "g2p.course"} & (genepheno | diffusion)  # the top floor stays out
    assert set(stamps.READS) == {p.stem for p in paths.notebooks.glob("[0-9][0-9]_*.ipynb")}


def test_the_data_manifest_is_not_package_data(tmp_path) -> None:
    """The pins of the raw files enter each stamp through raw_sources, only for the files a chapter reads;
    the manifest file itself (a citation fixed, a source added) changes no chapter's code digest."""
    (tmp_path / "data").mkdir()
    (tmp_path / "m.py").write_text("x = 1\n")
    (tmp_path / stamps.DATA_MANIFEST).write_text("sources: []\n")
    (tmp_path / "data" / "other.yaml").write_text("a: 1\n")
    before = stamps.source_digest(tmp_path)
    (tmp_path / stamps.DATA_MANIFEST).write_text("sources: [{name: new}]\n")
    assert stamps.source_digest(tmp_path) == before
    (tmp_path / "data" / "other.yaml").write_text("a: 2\n")
    assert stamps.source_digest(tmp_path) != before


def test_adding_a_source_leaves_the_chapters_that_do_not_read_it_alone(tmp_path, monkeypatch) -> None:
    """A new dataset's file in the manifest, and the dataset in the curation chapter's list: the chapters
    that read it (01) go stale, the diffusion chapters (05, 06) keep their stamps."""
    import hashlib

    import yaml

    from g2p import runner
    from g2p.data import sources, specs

    notebooks = runner.discover()
    before = runner.notebook_digests("smoke", notebooks)
    data = tmp_path / "mirror" / "own" / "labels.tsv"
    data.parent.mkdir(parents=True)
    data.write_text("gene_id\tsymbol\tterm\n")
    manifest = tmp_path / "own.yaml"
    manifest.write_text(yaml.safe_dump({"sources": [{
        "name": "own_labels", "path": "own/labels.tsv", "url": None, "upstream": "test", "version": "1",
        "licence": "CC0", "citation": "none", "sha256": hashlib.sha256(data.read_bytes()).hexdigest()}]}))
    monkeypatch.setenv(sources.EXTRA_ENV, str(manifest))
    assert "own_labels" in sources.checksums()
    assert runner.notebook_digests("smoke", notebooks) == before  # a source nobody reads changes nothing

    own = specs.DatasetSpec(**{**specs.SPECS["gwas"].__dict__, "name": "own", "inputs": ("own_labels", "human_fasta")})
    monkeypatch.setitem(specs.SPECS, "own", own)
    params = runner.parameters_for(paths.notebooks / "01_data_curation.ipynb", "smoke")
    with_own = {**params, "datasets": [*params["datasets"], "own"]}
    assert "own_labels" in stamps.raw_sources("01_data_curation", with_own)
    assert "own_labels" not in stamps.raw_sources("01_data_curation", params)
    for chapter in ("05_train_g2pdiffusion", "06_generate_phenotypes"):
        assert set(stamps.raw_sources(chapter, with_own)) == {"bold_coi", "taesd_config", "taesd_weights"}
    for chapter in ("02_train_genepheno", "03_evaluate", "04_interpretability"):  # they read what 01 curated
        assert set(stamps.raw_sources(chapter, params)) == set(specs.sources_for(params["datasets"]))
