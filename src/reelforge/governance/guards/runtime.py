"""A guard model in transformers: the only governance module that imports torch and
transformers (import-linter allows exactly this one), and only when a guard is loaded.

The directory is loaded with ``local_files_only=True`` and no remote code: a checkpoint that
would need the hub or code of its own fails to load instead of fetching anything. Generation
is greedy; one prompt at a time per loaded model (a lock), since a model object keeps
per-call state.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from reelforge.governance.guards.families import Family

DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
MAX_PROMPT_TOKENS = 2048  # a prompt longer than this is cut (the policy text comes first)


class GuardLoadError(RuntimeError):
    """The directory does not hold a loadable model of the family."""


class GuardRuntime:
    """Tokenizer and causal LM of one guard directory, loaded on first use."""

    def __init__(self, family: Family, path: Path, device: str = "cpu", dtype: str = "fp32"):
        self.family, self.path, self.device, self.dtype = family, Path(path), device, dtype
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._model: Any = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(
                self.path, local_files_only=True, trust_remote_code=False
            )
            model: Any = AutoModelForCausalLM.from_pretrained(
                self.path,
                local_files_only=True,
                trust_remote_code=False,
                dtype=getattr(torch, DTYPES[self.dtype]),
            )
        except (OSError, ValueError, KeyError) as exc:
            raise GuardLoadError(f"{self.path}: {exc}") from exc
        self._tokenizer, self._model = tokenizer, model.to(self.device).eval()

    def chat_prompt(self, text: str) -> str:
        """The family's chat template applied to a one-turn user message, as the model cards
        do it (Llama Guard 3, Qwen3Guard-Gen: no generation prompt added — their templates
        end with the assistant turn themselves)."""
        self.load()
        if not getattr(self._tokenizer, "chat_template", None):
            raise GuardLoadError(f"{self.path} has no chat template (it carries the policy)")
        messages = [{"role": "user", "content": text}]
        prompt: str = self._tokenizer.apply_chat_template(messages, tokenize=False)
        return prompt

    def _encode(self, prompt: str) -> Any:
        encoded = self._tokenizer(
            prompt, return_tensors="pt", truncation=True, max_length=MAX_PROMPT_TOKENS
        )
        return {k: v.to(self.device) for k, v in encoded.items()}

    def generate(self, prompt: str) -> str:
        """The greedy continuation of ``prompt`` (new tokens only), decoded."""
        import torch

        self.load()
        with self._lock, torch.inference_mode():
            inputs = self._encode(prompt)
            pad = self._tokenizer.pad_token_id
            if pad is None:
                pad = self._tokenizer.eos_token_id
            out = self._model.generate(
                **inputs,
                max_new_tokens=self.family.max_new_tokens,
                do_sample=False,
                pad_token_id=pad,
            )
            new = out[0, inputs["input_ids"].shape[1] :]
            text: str = self._tokenizer.decode(new, skip_special_tokens=True)
        return text

    def yes_no(self, prompt: str) -> tuple[str, float]:
        """(the most likely next token, P(Yes) of the softmax over the Yes and No logits)."""
        import torch

        self.load()
        vocab = self._tokenizer.get_vocab()
        if "Yes" not in vocab or "No" not in vocab:
            raise GuardLoadError(f"{self.path}: the vocabulary has no Yes/No tokens")
        with self._lock, torch.inference_mode():
            logits = self._model(**self._encode(prompt)).logits[0, -1].float()
            top = self._tokenizer.convert_ids_to_tokens(int(logits.argmax()))
            pair = torch.stack([logits[vocab["Yes"]], logits[vocab["No"]]])
            p_yes = float(torch.softmax(pair, dim=0)[0])
        return str(top), p_yes
