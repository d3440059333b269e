"""Wall time of curating MPO and HPO from the raw files on this machine (not a test).

    .venv/bin/python benchmarks/bench_curation.py [mpo hpo] [--max-genes N] [--keep-cache]

For each dataset, three measurements:

* ``cold``: ontology and annotation pickles deleted, ``force=True`` (parses every raw file);
* ``rebuild``: caches warm, ``force=True`` (what a parameter change costs);
* ``reuse``: nothing changed, ``force=False`` (hash the inputs, find the folder up to date).

Output goes to the usual ``data/processed/<name>/`` folders (the same result as ``python -m g2p
curate``); ``--keep-cache`` skips deleting the caches (the ``cold`` line then measures a rebuild).
"""

from __future__ import annotations

import argparse
import json
import time

from g2p.data import curate, curated, ontology, specs


def _timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", default=None, help="mpo and/or hpo (default: both)")
    parser.add_argument("--max-genes", type=int, default=None)
    parser.add_argument("--keep-cache", action="store_true")
    args = parser.parse_args()
    for dataset in args.datasets or specs.names():
        if not args.keep_cache:
            ontology.clear_cache()
            curate.clear_cache()
        cold, folder = _timed(curate.curate, dataset, max_genes=args.max_genes, force=True)
        rebuild, _ = _timed(curate.curate, dataset, max_genes=args.max_genes, force=True)
        reuse, _ = _timed(curate.curate, dataset, max_genes=args.max_genes)
        load, _ = _timed(curated.load, folder)
        summary = json.loads((folder / "datasheet.json").read_text())["summary"]
        print(
            f"{folder.name}: cold {cold:.1f} s, rebuild {rebuild:.1f} s, reuse {reuse:.2f} s, load {load:.2f} s "
            f"({summary['n_genes']} genes x {summary['n_terms']} terms)",
            flush=True,
        )


if __name__ == "__main__":
    main()
