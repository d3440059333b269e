"""GenePheno: gene-knockout phenotype prediction from sequences and GO terms (AAAI-26 reproduction).

The same roles as the diffusion half (:mod:`g2p.g2pdiff`):

* model parts — ``encoders`` (k-mer / CNN / Hugging Face sequence encoders, the sequence projection),
  ``go_terms`` (GO vocabulary and encoders), ``inputs`` (a model's inputs: ``InputSpec``,
  ``encode_genes``), ``model`` (``GenePhenoConfig``, ``GenePhenoModel``), ``losses``;
* ``train`` (``TrainConfig``, ``train``: one run) and ``runs`` (many runs: datasets × seeds, in processes);
* ``predict`` (``predict_scores``, ``predict``);
* ``benchmark`` (every method on the test split: ``python -m g2p evaluate``), ``baselines`` (the
  baseline models only), ``metrics``, ``summary`` (seed summaries, cheap to import), ``published``
  (the paper's numbers);
* interpretation — ``bottleneck``, ``readout``, ``concept_weights``, ``interventions``,
  ``cross_attention``, ``exclusive_pairs``, and the live explorer in ``widgets``;
* ``plots`` — every figure and results table of the half.

Submodules are imported on demand so that ``import g2p.genepheno`` stays cheap.
"""
