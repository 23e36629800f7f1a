"""The model and tokenizer of a run: built in code (cpu) or loaded from a local directory (gpu).

The cpu tokenizer is a byte-level BPE trained on the run's own corpora (the texts it will see),
with ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` as single ordinary tokens: a tiny model
then learns the answer format in a few steps, and decoding with ``skip_special_tokens`` (as TRL
does) keeps them. A tokenizer JSON path (e.g. ``data/tokenizers/gpt2.json``) can be used instead.
Nothing is downloaded; torch and transformers are imported only here and in ``runs``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable

from pipelines.training.config import TrainingConfig

PAD, EOS = "<pad>", "<eos>"
TAG_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A deterministic byte-level BPE (``tokenizers``) trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts), trainer=trainer)
    tok.add_tokens(list(TAG_TOKENS))
    return tok


def wrap_tokenizer(tok):
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS)
    fast.padding_side = "left"  # generation pads on the left
    return fast


def load_tokenizer(cfg: TrainingConfig, texts: Iterable[str] = ()):
    """The run's tokenizer: trained on ``texts`` (cpu), a tokenizer JSON, or the model directory's."""
    if cfg.tokenizer == "trained":
        return wrap_tokenizer(train_tokenizer(texts, cfg.model.vocab_size))
    path = Path(cfg.tokenizer)
    if path.suffix == ".json":
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(path))
        tok.add_special_tokens([PAD])
        tok.add_tokens(list(TAG_TOKENS))
        fast = wrap_tokenizer(tok)
        return fast
    from transformers import AutoTokenizer

    fast = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if fast.pad_token is None:
        fast.pad_token = fast.eos_token
    fast.padding_side = "left"
    return fast


def tokenizer_hash(tokenizer) -> str:
    return hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode()).hexdigest()[:16]


def build_model(cfg: TrainingConfig, tokenizer):
    """cpu: a randomly initialized Llama seeded from the config; gpu: the local model directory."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    dtype = getattr(torch, cfg.model.dtype)
    if cfg.model.path:
        return AutoModelForCausalLM.from_pretrained(cfg.model.path, dtype=dtype, local_files_only=True)
    m = cfg.model
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=m.hidden_size, intermediate_size=m.intermediate_size,
                         num_hidden_layers=m.num_layers, num_attention_heads=m.num_heads,
                         num_key_value_heads=m.num_heads, max_position_embeddings=m.max_positions,
                         tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(cfg.seed)
    model = LlamaForCausalLM(config).to(dtype)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def load_checkpoint(path: str | Path, dtype: str = "float32"):
    """Model and tokenizer saved by a stage (``save_pretrained``) in ``path``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=getattr(torch, dtype), local_files_only=True)
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    tok.padding_side = "left"
    return model, tok


def model_summary(model) -> dict:
    return {"parameters": int(sum(p.numel() for p in model.parameters())),
            "config": json.loads(model.config.to_json_string(use_diff=True))}
