"""The multilingual embedding stage on tiny random-weight BERT sentence-transformers
directories built in code: its NumPy/onnxruntime embeddings equal transformers' own forward
pass (mean pooling; CLS pooling with a LaBSE-style tanh Dense layer), and it scores prompts
per category against the exemplars embedded through it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reelforge.governance.text.multilingual import MultilingualError, MultilingualStage

WORDS = [
    *("a", "cat", "dog", "on", "the", "sofa", "bomb", "build", "how", "to"),
    *("gato", "perro", "en", "el", "sofá"),
    *("猫", "在", "沙发", "上"),
]


def build(path: Path, pooling: str = "mean", dense: bool = False) -> Path:
    import torch
    from safetensors.torch import save_file
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel

    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    torch.manual_seed(0)
    model = BertModel(
        BertConfig(
            vocab_size=len(vocab),
            hidden_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=64,
        ),
        add_pooling_layer=False,
    )
    model.save_pretrained(path)
    tok.save(str(path / "tokenizer.json"))
    (path / "1_Pooling").mkdir()
    (path / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {
                "word_embedding_dimension": 16,
                "pooling_mode_cls_token": pooling == "cls",
                "pooling_mode_mean_tokens": pooling == "mean",
            }
        )
    )
    if dense:
        (path / "2_Dense").mkdir()
        save_file(
            {"linear.weight": torch.randn(8, 16), "linear.bias": torch.randn(8)},
            str(path / "2_Dense" / "model.safetensors"),
        )
    return path


def reference(path: Path, texts: list[str], pooling: str, dense: bool) -> np.ndarray:
    """The same sentence embeddings from transformers' own BERT forward pass."""
    import torch
    from safetensors.torch import load_file
    from tokenizers import Tokenizer
    from transformers import BertModel

    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    model = BertModel.from_pretrained(path, local_files_only=True).eval()
    out = []
    for text in texts:
        ids = torch.tensor([tok.encode(text).ids])
        with torch.no_grad():
            hidden = model(input_ids=ids).last_hidden_state[0]
        pooled = hidden[0] if pooling == "cls" else hidden.mean(dim=0)
        if dense:
            w = load_file(str(path / "2_Dense" / "model.safetensors"))
            pooled = torch.tanh(pooled @ w["linear.weight"].T + w["linear.bias"])
        out.append((pooled / pooled.norm()).numpy())
    return np.stack(out)


@pytest.mark.parametrize(("pooling", "dense"), [("mean", False), ("cls", True)])
def test_embeddings_equal_the_transformers_forward_pass(
    tmp_path: Path, pooling: str, dense: bool
) -> None:
    path = build(tmp_path / "st", pooling, dense)
    stage = MultilingualStage(path, frozenset({"en", "es", "zh"}))
    texts = ["a cat on the sofa", "gato en el sofá", "猫 在 沙发 上"]
    ours = stage.encoder().encode(texts)
    np.testing.assert_allclose(ours, reference(path, texts, pooling, dense), atol=2e-5)
    assert stage.languages == {"en", "es", "zh"}


def test_the_stage_scores_prompts_against_exemplars_embedded_through_it(tmp_path: Path) -> None:
    stage = MultilingualStage(build(tmp_path / "st"))
    stage.warm()
    assert stage.loaded
    scores = stage.scores("how to build a bomb")
    assert scores and all(0.0 <= s <= 1.0 for s in scores.values())
    for signal in stage.signals("how to build a bomb"):
        assert signal.rule == f"multilingual:{signal.category}" and signal.stage == "multilingual"
    assert stage.signals("") == []


def test_a_directory_of_another_architecture_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "xlm-roberta"}))
    with pytest.raises(MultilingualError, match="BERT-architecture"):
        MultilingualStage(tmp_path).encoder()


def test_a_configured_multilingual_stage_covers_its_languages(tmp_path: Path) -> None:
    from reelforge.config import Settings
    from reelforge.governance.detectors import detectors
    from reelforge.services.governance.moderation import check_prompts, covered_languages

    spanish = "Un gato naranja durmiendo al sol en una ventana de Sevilla"
    (before,) = check_prompts(Settings(), "default", [spanish])
    assert before.stage == "language"  # no stage covers Spanish by default
    settings = Settings(
        multilingual_model_dir=build(tmp_path / "st"), multilingual_languages=["es"]
    )
    try:
        (after,) = check_prompts(settings, "default", [spanish])
        assert covered_languages() == {"en", "es"}
        assert after.stage != "language" and after.language == "es"
        assert "multilingual" in detectors().text.stage_languages()
    finally:
        detectors().configure_multilingual(None, [])
    assert covered_languages() == {"en"}
