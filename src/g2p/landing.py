"""The book's landing section, "Did it reproduce?", written from the run's own results.

:func:`write` reads ``runs/<preset>/genepheno/results.csv`` and ``runs/<preset>/g2pdiffusion/metrics.csv``
(what notebooks 03 and 06 wrote), the papers' published numbers (:mod:`g2p.genepheno.published`,
:func:`g2p.g2pdiff.published.published_metrics`) and ``build/<preset>/provenance.json``, and writes
``build/<preset>/landing.md``, which the introduction includes. Nothing in it is typed by hand: the runner
rewrites it at the end of every run and the book's stager before every build, so it is never stale.
A missing results file gives a line saying which notebook has not run, not an error.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from g2p import atomic, bookpages, paths, provenance

LANDING_MD = "landing.md"
#: One representative figure per paper (figures/<preset>/<file>), shown when the run made it.
FIGURES = {
    "genepheno": ("03_ours_vs_paper.png", "Ours against the paper: GenePheno's Fmax and AUC on each dataset."),
    "g2pdiffusion": ("g2pdiff_grid_test_seen.png",
                     "Held-out specimens of seen species: the simulator's truth (left) and what each method "
                     "generated from the same barcode."),
}
# One line on what each chapter holds, beside its title (pages not listed get none).
BLURBS = {
    "01_data_curation": "what was kept and dropped, frequency bins, exclusive pairs",
    "02_train_genepheno": "every seed, training curves, validation Fmax",
    "03_evaluate": "Fmax and AUC with intervals, ablations, the paper's numbers",
    "04_interpretability": "concept weights, case studies, interventions, attention",
    "05_train_g2pdiffusion": "the conditioner, the denoiser and the alignment model; losses",
    "06_generate_phenotypes": "every method on seen and unseen species; latitude and mutation sweeps",
    "provenance": "the run behind every number",
}


def _title(page: str) -> str:
    """A page's title from its source: the notebook's ``# Title`` cell or the Markdown file's first heading."""
    name = Path(page).name
    if page.startswith("build/executed/"):
        source = paths.notebooks / f"{name}.ipynb"
        cells = json.loads(source.read_text()).get("cells", []) if source.is_file() else []
        text = "".join(cells[0]["source"]) if cells else ""
    else:
        source = paths.root / f"{page}.md"
        text = source.read_text() if source.is_file() else ""
    heading = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), "")
    return heading or name.replace("_", " ").capitalize()


def chapters() -> list[str]:
    """The landing page's list of every page after it in ``_toc.yml``, as MyST lines."""
    lines = []
    for i, page in enumerate(bookpages.toc_files()[1:], 1):
        blurb = BLURBS.get(Path(page).name)
        lines.append(f"{i}. {{doc}}`{_title(page)} </{page}>`" + (f" — {blurb}" if blurb else ""))
    return lines


def _pct(value: float) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _ours(row: pd.Series, metric: str) -> str:
    if int(row.get("n_seeds", 1) or 1) > 1:
        return f"{row[metric]:.3f} ± {row[f'{metric}_sd']:.3f}"
    lo, hi = row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    if lo is not None and hi is not None and not (math.isnan(lo) or math.isnan(hi)):
        return f"{row[metric]:.3f} [{lo:.3f}, {hi:.3f}]"
    return _pct(float(row[metric]))


def genepheno_section(results_csv: Path) -> list[str]:
    """GenePheno's headline numbers per dataset (All terms, test genes): the complete model and our
    strongest baseline, each as *ours / paper*."""
    from g2p.genepheno import published, summary as seeds

    if not results_csv.is_file():
        return ["*No GenePheno results yet: notebook 03 has not run with this preset.*"]
    summary = seeds.summarise(pd.read_csv(results_csv))
    summary = summary[summary["bin"] == "All"]
    lines = ["| dataset | GenePheno Fmax | GenePheno AUC | best baseline | its Fmax | its AUC | GenePheno − best baseline |",
             "|---|---|---|---|---|---|---|"]
    for dataset in summary["dataset"].unique():
        rows = summary[summary["dataset"] == dataset]
        complete = rows[rows["name"] == "complete"]
        if complete.empty:
            continue
        ours, best = complete.iloc[0], seeds.best_baseline(summary, dataset, "fmax")
        paper_ours = published.lookup(dataset, "GenePheno")
        label = best.get("paper_label")
        paper_best = published.lookup(dataset, label if isinstance(label, str) else None)

        def cell(row: pd.Series, metric: str, paper: tuple[float, float] | None) -> str:
            return f"{_ours(row, metric)} / {_pct(paper[metric == 'auc']) if paper else '–'}"

        margins = {m: float(ours[m]) - float(seeds.best_baseline(summary, dataset, m)[m]) for m in ("fmax", "auc")}
        verdict = ", ".join(f"{'Fmax' if m == 'fmax' else 'AUC'} {d:+.3f}" for m, d in margins.items())
        lines.append(f"| {dataset.upper()} | {cell(ours, 'fmax', paper_ours)} | {cell(ours, 'auc', paper_ours)} | "
                     f"{best['method']} | {cell(best, 'fmax', paper_best)} | {cell(best, 'auc', paper_best)} | "
                     f"{verdict} |")
    n = int(summary["n_seeds"].max()) if len(summary) else 0
    lines += ["", f"Each cell: *ours / the paper's*. Ours: test genes of our curation, all terms, mean ± sd over "
              f"{n} seeds; the paper's Table 1 used its own curation of other data versions and pretrained encoders. "
              "The last column: GenePheno's margin over the strongest of our baselines on each metric (negative: a "
              "baseline is ahead)."]
    return lines


# (our metric, level, column title, the paper's metric or None), in table order.
_G2P_COLUMNS = (("success_score", "specimen", "success rate", "success_rate"),
                ("clibd_score", "specimen", "DNA–image score", "clibd_score"),
                ("pes", "specimen", "PES", "pes"), ("success_taxon", "genus", "genus hit", None))
# (our method, the paper's method, row label)
_G2P_ROWS = (("g2pdiffusion", "G2PDiffusion", "**G2PDiffusion**"), ("unconditional", None, "unconditional model"),
             ("retrieval", None, "nearest-barcode retrieval"), ("random", "random", "random image"),
             (None, "ControlNet", "ControlNet (paper's best baseline)"))


def g2pdiffusion_section(metrics_csv: Path) -> list[str]:
    """G2PDiffusion's headline numbers at top-1 on held-out specimens of seen species, *ours / paper*."""
    from g2p.g2pdiff.published import published_metrics

    if not metrics_csv.is_file():
        return ["*No G2PDiffusion results yet: notebook 06 has not run with this preset.*"]
    metrics = pd.read_csv(metrics_csv)
    ours = metrics[(metrics["split"] == "test_seen") & (metrics["k"] == 1)]
    paper = published_metrics()
    paper = paper[paper["k"] == 1]
    lines = ["| method | " + " | ".join(title for _, _, title, _ in _G2P_COLUMNS) + " |",
             "|---" * (len(_G2P_COLUMNS) + 1) + "|"]
    for method, paper_method, label in _G2P_ROWS:
        if method is not None and method not in set(ours["method"]):
            continue
        cells = []
        for metric, level, _, paper_metric in _G2P_COLUMNS:
            hit = ours[(ours["method"] == method) & (ours["metric"] == metric) & (ours["level"] == level)]
            mine = _pct(float(hit["value"].iloc[0])) if len(hit) else "–"
            if paper_metric is None:
                cells.append(mine)
                continue
            theirs = paper[(paper["method"] == paper_method) & (paper["metric"] == paper_metric)]
            cells.append(f"{mine} / {_pct(float(theirs['value'].iloc[0])) if len(theirs) else '–'}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    n = ours[ours["method"] == "g2pdiffusion"]["n"]
    lines += ["", f"Each cell: *ours / the paper's*, top-1. Ours: {int(n.iloc[0]) if len(n) else 0} held-out "
              "specimens of seen species drawn by the phenotype simulator, scored by independent evaluators "
              "(success rate: DNA–image score ≥ τ, the paper's definition; genus hit: a taxon classifier, ours "
              "only; 95 % intervals in the chapter *Generating phenotypes*); the paper's: BIOSCAN-5M photographs, "
              "CLIBD scorer."]
    return lines


def _figure(preset: str, key: str) -> list[str]:
    name, caption = FIGURES[key]
    folder = paths.figures_dir(preset)
    if not (folder / name).is_file():
        return [":::{grid-item}", f"*No figure yet: {name} has not been made with this preset.*", ":::"]
    manifest = json.loads((folder / "manifest.json").read_text()) if (folder / "manifest.json").is_file() else {}
    made = manifest.get(name, {})
    source = f" Made by notebook {made['notebook']}, preset {made['preset']}." if made else ""
    # no :name: -> not numbered, so the chapters number their own figures from 1
    return [":::{grid-item}", f"```{{figure}} /figures/{name}", ":width: 100%", "",
            f"{caption}{source}", "```", ":::"]


def _made_by(preset: str, notebook: str) -> str:
    """``notebook 03_evaluate, run `…``` from the executed notebook's metadata: the run that wrote the results
    file (a later run may have reused that notebook)."""
    executed = paths.executed_dir(preset) / f"{notebook}.ipynb"
    try:
        run_id = json.loads(executed.read_text())["metadata"]["g2p"]["run_id"]
    except (OSError, ValueError, KeyError):
        return f"notebook {notebook}"
    return f"notebook {notebook}, run `{run_id}`"


def markdown(preset: str) -> str:
    """The landing section of ``preset``'s book (Markdown with MyST directives)."""
    run_dir = paths.runs / preset
    prov_file = paths.build_dir(preset) / provenance.PROVENANCE_JSON
    prov = json.loads(prov_file.read_text()) if prov_file.is_file() else {}
    commit = prov.get("git", {}).get("short", "unknown")
    line = (f"Preset **{preset}**, run `{prov.get('run_id', 'unknown')}`, commit `{commit}`, "
            f"device {prov.get('device', 'unknown')}, {prov.get('date', 'date unknown')[:16].replace('T', ' ')} UTC "
            "(the last run of this preset) — every number below is read from the results files the chapters wrote, "
            "and the papers' published numbers; see {doc}`/build/provenance`.")
    parts = ["## Did it reproduce?", "", line, "",
             "### GenePheno (AAAI-26): phenotypes of gene knockouts", "",
             *genepheno_section(run_dir / "genepheno" / "results.csv"),
             f"Read from `runs/{preset}/genepheno/results.csv`, written by {_made_by(preset, '03_evaluate')}.", "",
             "### G2PDiffusion (ICCV-25): specimen images from DNA", "",
             *g2pdiffusion_section(run_dir / "g2pdiffusion" / "metrics.csv"),
             f"Read from `runs/{preset}/g2pdiffusion/metrics.csv`, written by "
             f"{_made_by(preset, '06_generate_phenotypes')}.", "",
             "::::{grid} 1 1 2 2", *_figure(preset, "genepheno"), *_figure(preset, "g2pdiffusion"), "::::", "",
             "### Chapters", ""]
    parts += [*chapters(), ""]
    return "\n".join(parts)


def write(preset: str, folder: Path | None = None) -> Path:
    """Write ``build/<preset>/landing.md`` (only when its text changed, so Sphinx rebuilds only then)."""
    target = (folder or paths.build_dir(preset)) / LANDING_MD
    text = markdown(preset)
    if not target.is_file() or target.read_text() != text:
        atomic.write_text(target, text)
    return target
