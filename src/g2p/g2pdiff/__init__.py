"""G2PDiffusion reproduction: DNA barcode + coordinates → specimen image with latent diffusion.

Modules, by role (the same names as in :mod:`g2p.genepheno`):

* data: ``datasets`` (species choice, seen/unseen splits, ``SpecimenDataset``; the raw BOLD and
  BIOSCAN-5M readers are :mod:`g2p.data.bold`), ``simulator`` (traits of each specimen) and
  ``drawing`` (its render), ``training_data`` (training rows, environment augmentation, cached latents);
* model parts: ``conditioner`` (k-mer tokenizer, DNA encoder, environment fusion), ``latents`` (TAESD
  latents and their standardisation), ``alignment`` (noise-aware image encoder, InfoNCE, guidance);
* ``train`` (Accelerate training of every variant); ``pipeline`` (the diffusers pipeline users call,
  sampling a table of records, ``python -m g2p generate``);
* ``evaluators`` (independent scorer and classifier), ``baselines`` (the methods compared with),
  ``benchmark`` (runs every method and scores it), ``published`` (the paper's numbers), ``sweeps``
  (latitude and mutation sweeps);
* ``plots`` (every figure of chapters 05–06), ``widgets`` (the diffusion explorer).
"""
