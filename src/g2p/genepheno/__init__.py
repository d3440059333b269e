"""GenePheno: gene-knockout phenotype prediction from sequences and GO terms (AAAI-26 reproduction).

Modules: ``encoders`` (k-mer / CNN / Hugging Face sequence encoders, GO vocabulary and encoder),
``model`` (``GenePhenoConfig``, ``GenePhenoModel``), ``losses`` (contrastive multi-label, exclusive,
concept), ``train`` (``TrainConfig``, ``train``), ``predict`` (``predict_scores``, ``predict``),
``curves`` (training-curve figure); evaluation lives in ``metrics``/``evaluate``/``baselines``.
Submodules are imported on demand so that ``import g2p.genepheno`` stays cheap.
"""
