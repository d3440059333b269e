"""G2PDiffusion reproduction: DNA barcode + coordinates → specimen image with latent diffusion.

Modules: ``conditioner`` (k-mer tokenizer, DNA encoder, environment fusion), ``alignment``
(noise-aware image encoder, InfoNCE, guidance), ``pipeline`` (the diffusers pipeline users call),
``train`` (Accelerate training of every variant), ``baselines``, ``plots``; the data side lives in
``datasets``, ``simulator`` and ``evaluate``.
"""
