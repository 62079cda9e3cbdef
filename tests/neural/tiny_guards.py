"""Tiny random-weight guard models of each family, built in code (transformers configs with
tiny dimensions) and saved with save_pretrained, so tests load them through reelforge's own
loader. The tokenizer is a word-level one whose vocabulary holds every word the families
answer with; the chat template is a one-line stand-in for the real ones (which carry each
family's policy text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reelforge.governance.guards.families import LLAMA_GUARD_CODES, QWEN3GUARD_CATEGORIES

SPECIALS = ["<pad>", "<unk>", "<s>", "</s>"]
WORDS = [
    "safe",
    "unsafe",
    *LLAMA_GUARD_CODES,
    "Safety:",
    "Safe",
    "Unsafe",
    "Controversial",
    "Categories:",
    *{w for name in QWEN3GUARD_CATEGORIES for w in name.split()},
    "None",
    "Yes",
    "No",
    ",",
    " ",
    "\n",
    "a",
    "cat",
    "on",
    "the",
    "sofa",
    "how",
    "to",
    "build",
    "bomb",
    "<|user|>",
    "<|assistant|>",
]
CHAT_TEMPLATE = "{% for m in messages %}<|user|> {{ m['content'] }} \n{% endfor %}<|assistant|> "


def tokenizer() -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(dict.fromkeys(SPECIALS + WORDS))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[ \t]+|\n|,"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_guard(family: str, path: Path, seed: int = 0) -> Path:
    """A random-weight model of ``family``'s architecture (Llama Guard: Llama; Qwen3Guard:
    Qwen3; ShieldGemma: Gemma 2) with its tokenizer, saved to ``path``."""
    import torch
    from transformers import (
        Gemma2Config,
        Gemma2ForCausalLM,
        LlamaConfig,
        LlamaForCausalLM,
        Qwen3Config,
        Qwen3ForCausalLM,
    )

    tok = tokenizer()
    torch.manual_seed(seed)
    dims: dict[str, Any] = {
        "vocab_size": len(tok),
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 256,
        "pad_token_id": tok.pad_token_id,
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
    }
    model: Any
    if family == "llama-guard":
        model = LlamaForCausalLM(LlamaConfig(**dims))
    elif family == "qwen3guard":
        model = Qwen3ForCausalLM(Qwen3Config(**dims, head_dim=8))
    elif family == "shieldgemma":
        model = Gemma2ForCausalLM(Gemma2Config(**dims, head_dim=8))
    else:
        raise ValueError(family)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def teach(path: Path, answers: dict[str, str], most_steps: int = 400) -> None:
    """Train the saved tiny model until its greedy continuation of each prompt (through the
    saved chat template) is its answer followed by end-of-text, checking every 20 steps;
    save it again. A real model's answer through the real loader, generation and parser,
    without real weights."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
    examples = []
    for prompt, answer in answers.items():
        text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False)
        ids = tok(text, return_tensors="pt")["input_ids"]
        target = tok(answer, return_tensors="pt", add_special_tokens=False)["input_ids"]
        full = torch.cat([ids, target, torch.tensor([[tok.eos_token_id]])], dim=1)
        labels = full.clone()
        labels[:, : ids.shape[1]] = -100
        examples.append((ids, full, labels))

    def learned() -> bool:
        model.eval()
        with torch.no_grad():
            for ids, full, _ in examples:
                out = model.generate(
                    input_ids=ids,
                    attention_mask=torch.ones_like(ids),  # as the guard runtime calls it
                    max_new_tokens=full.shape[1] - ids.shape[1],
                    do_sample=False,
                    pad_token_id=tok.pad_token_id,
                )
                if not torch.equal(out[0, : full.shape[1]], full[0]):
                    return False
        model.train()
        return True

    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    model.train()

    def train_step() -> None:
        loss = sum(model(input_ids=full, labels=labels).loss for _, full, labels in examples)
        optimiser.zero_grad()
        loss.backward()  # type: ignore[union-attr]
        optimiser.step()

    for step in range(most_steps):
        if step % 20 == 0 and step and learned():
            break
        train_step()
    else:
        raise AssertionError(f"the tiny guard did not learn {answers} in {most_steps} steps")
    # a margin: just-learned greedy answers can flip on another machine's float rounding
    # (thread counts change the order of sums), so train on past the first success
    model.train()
    for _ in range(40):
        train_step()
    assert learned(), f"the tiny guard forgot {answers} while training on"
    model.eval()
    model.save_pretrained(path)
