"""Training stage: exports for the anchors' trainers, and cpu/gpu validation runs that consume the assets.

Pure steps (no Dagster): ``config`` (profiles), ``exports`` (veRL / SFT / text Parquet), ``rewards``
(Countdown project + TinyZero-compatible, Big-Math verifier), ``model`` (tiny Llama or a local
model), ``runs`` (stages with resumable checkpoints, evaluation). torch, transformers and TRL
(the ``train`` extra) are imported only by ``model`` and ``runs``.
"""
