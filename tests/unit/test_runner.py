"""The runner on tiny notebooks in tmp_path: parameters, skip hashes, failures, glue, CLI."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import nbformat
import pytest

from g2p import cli, paths, runner

KERNEL_SPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def write_notebook(path: Path, parameters: str, *code: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNEL_SPEC
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {path.stem}"),
        nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
        *(nbformat.v4.new_code_cell(c) for c in code),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A notebooks folder, a build folder and a 'smoke' preset that the runner reads (and validates
    against the notebooks of this folder)."""
    params = tmp_path / "params"
    params.mkdir()
    (params / "smoke.yaml").write_text("common:\n  seed: 0\n  alpha: 1.5\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setattr(paths, "params", params)
    monkeypatch.setattr(paths, "notebooks", tmp_path / "notebooks")
    return tmp_path


def run(project: Path, **kwargs):
    return runner.run(
        "smoke",
        notebooks_dir=project / "notebooks",
        executed_dir=project / "build" / "executed",
        write_provenance=False,
        **kwargs,
    )


def statuses(result) -> dict[str, str]:
    return {r.name: r.status for r in result.notebooks}


@pytest.mark.slow
def test_parameters_env_and_glue_round_trip(project) -> None:
    write_notebook(
        project / "notebooks" / "01_first.ipynb",
        "preset = 'quick'\nalpha = 0.0\nlabel = 'default'",
        "import os\nimport numpy as np\nfrom myst_nb import glue\n"
        "glue('alpha_x2', alpha * 2, display=False)\n"
        "glue('np_value', np.float64(0.125), display=False)\n"
        "glue('count', 7, display=False)\n"
        "glue('pair', [1, 'a'], display=False)\n"
        "glue('label', label, display=False)\n"
        "glue('preset', preset, display=False)\n"
        "glue('env', [os.environ['G2P_NOTEBOOK'], os.environ['G2P_PRESET'], os.environ['G2P_RUN_ID']],"
        " display=False)\n"
        "glue('cwd', os.getcwd(), display=False)",
    )
    smoke = project / "params" / "smoke.yaml"
    smoke.write_text(smoke.read_text() + "01_first:\n  alpha: 2.5\n")
    result = run(project, run_id="test-run-1")
    executed = project / "build" / "executed" / "01_first.ipynb"
    values = runner.read_glued(executed)
    # the notebook's own block overrides common; undeclared preset names (seed) are not passed
    assert values["alpha_x2"] == pytest.approx(5.0)
    assert values["np_value"] == pytest.approx(0.125) and isinstance(values["np_value"], float)
    assert values["count"] == 7
    assert values["pair"] == [1, "a"]
    assert values["label"] == "default"
    assert values["preset"] == "smoke"
    assert values["env"] == ["01_first", "smoke", "test-run-1"]
    assert Path(values["cwd"]) == paths.root
    nb = nbformat.read(executed, as_version=4)
    assert nb["metadata"]["papermill"]["parameters"] == {"preset": "smoke", "alpha": 2.5}
    assert nb["metadata"]["g2p"]["run_id"] == "test-run-1"
    # the provenance banner follows the title cell
    assert nb["cells"][0]["source"].startswith("# 01_first")
    assert "test-run-1" in nb["cells"][1]["source"]
    assert statuses(result) == {"01_first": "executed"}


@pytest.mark.slow
def test_skips_when_unchanged_and_reruns_downstream_of_a_change(project) -> None:
    nbs = project / "notebooks"
    write_notebook(nbs / "01_first.ipynb", "alpha = 0.0", "x = alpha")
    write_notebook(nbs / "02_second.ipynb", "alpha = 0.0", "y = alpha")
    assert statuses(run(project)) == {"01_first": "executed", "02_second": "executed"}
    assert statuses(run(project)) == {"01_first": "reused", "02_second": "reused"}

    # a parameter change reruns that notebook only (the one before it is unaffected)
    smoke = project / "params" / "smoke.yaml"
    smoke.write_text(smoke.read_text() + "02_second:\n  alpha: 3\n")
    assert statuses(run(project)) == {"01_first": "reused", "02_second": "executed"}

    # editing the first notebook reruns it and everything after it
    write_notebook(nbs / "01_first.ipynb", "alpha = 0.0", "x = alpha + 1")
    assert statuses(run(project)) == {"01_first": "executed", "02_second": "executed"}

    # --only and --force
    assert statuses(run(project, only=["02"], force=True)) == {"02_second": "executed"}

    # an executed copy without its stamp is not trusted
    runner.stamp_path(project / "build" / "executed" / "01_first.ipynb").unlink()
    assert statuses(run(project, only=["01_first"])) == {"01_first": "executed"}


@pytest.mark.slow
def test_failure_names_notebook_and_cell_and_keeps_failed_copy(project) -> None:
    write_notebook(
        project / "notebooks" / "01_broken.ipynb",
        "alpha = 0.0",
        "ok = 1",
        "# divide by zero on purpose\nratio = 1 / 0",
    )
    executed = project / "build" / "executed"
    stale = write_notebook(executed / "01_broken.ipynb", "alpha = 0.0")  # left by an earlier run
    runner.stamp_path(stale).write_text("not the current hash\n")
    with pytest.raises(runner.NotebookExecutionError) as info:
        run(project)
    message = str(info.value)
    assert "01_broken.ipynb" in message
    assert "ZeroDivisionError" in message
    assert "# divide by zero on purpose" in message
    # title, parameters, injected parameters, ok = 1, the failing cell
    assert info.value.cell_index == 4 and "cell 4" in message
    assert (executed / "failed" / "01_broken.ipynb").is_file()
    assert not (executed / "01_broken.ipynb").exists(), "a stale executed copy survived a failed rerun"
    assert not runner.stamp_path(executed / "01_broken.ipynb").exists()


def test_discover_orders_and_selects(tmp_path) -> None:
    for name in ("02_b", "01_a", "10_c", "scratch", "x1_bad"):
        write_notebook(tmp_path / f"{name}.ipynb", "a = 1")
    assert [p.stem for p in runner.discover(tmp_path)] == ["01_a", "02_b", "10_c"]
    assert [p.stem for p in runner.discover(tmp_path, ["10_c", "01"])] == ["01_a", "10_c"]
    with pytest.raises(ValueError, match="no notebook 'nope'.*01_a, 02_b, 10_c"):
        runner.discover(tmp_path, ["nope"])


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.5", 0.5), ("np.float64(0.25)", 0.25), ("np.int64(3)", 3), ("'x'", "x"),
     ("{'a': 1}", {"a": 1}), ("<Figure size 640x480>", "<Figure size 640x480>")],
)
def test_glued_reprs_parse_back(text, value) -> None:
    assert runner._parse_repr(text) == value


def test_book_refuses_to_build_naming_missing_pages(tmp_path) -> None:
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: build/executed/01_a\n  - file: build/provenance\n"
    )
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    write_notebook(tmp_path / "notebooks" / "01_a.ipynb", "alpha = 0.0")
    build = tmp_path / "build" / "smoke"
    build.mkdir(parents=True)
    (build / "provenance.md").write_text("# Provenance\n")
    with pytest.raises(runner.BookInputsMissing, match="build/smoke/executed/01_a: not executed yet") as info:
        runner.build_book("smoke", source_root=tmp_path, build_dir=build)
    assert "python -m g2p run --preset smoke" in str(info.value)


def test_preset_with_an_undeclared_key_stops_the_run_before_any_notebook(project) -> None:
    write_notebook(project / "notebooks" / "01_first.ipynb", "alpha = 0.0", "x = alpha")
    smoke = project / "params" / "smoke.yaml"
    smoke.write_text(smoke.read_text() + "01_first:\n  alpah: 2.5\n")
    with pytest.raises(runner.presets.ConfigError, match="01_first.alpah.*did you mean 'alpha'"):
        run(project)
    assert not (project / "build").exists()


def test_cli_reports_unavailable_command_clearly(monkeypatch, capsys) -> None:
    monkeypatch.setitem(cli.COMMANDS, "ghost", cli.Command("g2p.no_such_module", "missing"))
    assert cli.main(["ghost"]) == 2
    err = capsys.readouterr().err
    assert "command 'ghost' is not available" in err and "g2p.no_such_module" in err
    assert "Traceback" not in err


def test_cli_help_lists_every_command(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_cli_run_parses_its_options() -> None:
    parser = cli.build_parser("run")
    args = parser.parse_args(["run", "--preset", "smoke", "--only", "01", "02", "--force"])
    assert (args.preset, args.only, args.force) == ("smoke", ["01", "02"], True)
    assert args.handler is runner.main


def test_provenance_records_run_inputs_and_notebooks(tmp_path) -> None:
    from g2p import provenance

    record = provenance.NotebookRecord("01_a", "executed", "rid-1", 1.5, "f" * 64)
    prov = provenance.collect("smoke", "rid-1", seed=3, notebooks=[record])
    json_path, md_path = provenance.write(prov, tmp_path)
    data = json.loads(json_path.read_text())
    assert (data["preset"], data["run_id"], data["seed"]) == ("smoke", "rid-1", 3)
    assert data["packages"]["papermill"] == metadata.version("papermill")
    assert len(data["git"]["commit"]) == 40 or data["git"]["commit"] == "unknown"
    assert data["notebooks"][0]["name"] == "01_a"
    raw = {r["name"]: r for r in data["raw_inputs"]}
    # the mirror beside the repository holds the MP ontology, with the pinned hash
    assert raw["mp_obo"]["status"] == "ok" and len(raw["mp_obo"]["pinned_sha256"]) == 64
    page = md_path.read_text()
    assert page.startswith("# Provenance") and "`rid-1`" in page and "| mp_obo |" in page
    banner = provenance.banner("smoke", "cpu", provenance.GitState("a" * 40, True), "rid-1")
    assert "smoke" in banner and "aaaaaaaa-dirty" in banner and "rid-1" in banner


def test_given_parameters_go_on_top_of_the_preset_and_into_the_hash(project) -> None:
    """``run(parameters=…)`` (the CLI's --hf-model, --sequences, --alphabet): a notebook declaring the
    name gets the value over the preset's, its input hash changes with it (so it is re-executed, not
    reused), a notebook not declaring it gets nothing, and a name no notebook declares is one line."""
    first = write_notebook(project / "notebooks" / "01_first.ipynb", "preset = 'quick'\nalpha = 0.0\nhf_model = None")
    second = write_notebook(project / "notebooks" / "02_second.ipynb", "preset = 'quick'\nalpha = 0.0")
    assert runner.parameters_for(first, "smoke", {"hf_model": "/models/esm"}) == \
        {"preset": "smoke", "alpha": 1.5, "hf_model": "/models/esm"}
    assert runner.parameters_for(second, "smoke", {"hf_model": "/models/esm"}) == {"preset": "smoke", "alpha": 1.5}
    plain = runner.notebook_digests("smoke", [first, second])
    given = runner.notebook_digests("smoke", [first, second], {"hf_model": "/models/esm"})
    assert plain["01_first"] != given["01_first"]
    assert runner.check_given({"hf_model": "/m", "alphabet": None}, [first, second]) == {"hf_model": "/m"}
    with pytest.raises(runner.InputError, match="no notebook has a parameter 'sequences_fasta'"):
        runner.check_given({"sequences_fasta": "/x.fa"}, [first, second])
    parser = cli.build_parser("run")
    args = parser.parse_args(["run", "--preset", "smoke", "--hf-model", "/m", "--sequences", "genes.fa",
                              "--alphabet", "dna"])
    assert runner.given_parameters(args) == {"hf_model": "/m", "alphabet": "dna",
                                             "sequences_fasta": str((Path.cwd() / "genes.fa").resolve())}
