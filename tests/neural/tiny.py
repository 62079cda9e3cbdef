"""Tiny random-weight diffusers video pipelines, built in code (no model hub, no files read).

``build_tiny_pipeline(family, task, dest)`` builds a pipeline whose components have the real
architecture classes but a few thousand parameters, saves it with ``save_pretrained(dest)`` and
returns ``dest``; load it back with ``DiffusionPipeline.from_pretrained(dest)`` (offline-safe: a
local directory never touches the network). Weights are a pure function of ``seed`` and the
caller's global torch RNG state is left untouched.

Checked with torch 2.13.0 (CPU), diffusers 0.42.1, transformers 5.23.0. Heavy imports happen
inside the builders so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

SUPPORTED: dict[str, tuple[str, ...]] = {
    "wan": ("t2v", "i2v", "flf2v"),
    "ltx": ("t2v", "i2v", "flf2v"),
    "cogvideox": ("t2v", "i2v"),
}

# For these tiny configs (checked on diffusers 0.42.1). "size_multiple": height and width must
# both be multiples of it. "frames": num_frames values that come back unchanged. "example":
# (width, height, frames) that runs in well under 0.2 s for 2 steps on one CPU thread.
# "on_bad_size" / "on_bad_frames": what the pipeline does otherwise.
TINY_CONSTRAINTS: dict[str, dict[str, Any]] = {
    "wan": {
        "size_multiple": 16,  # VAE /8 x transformer patch 2
        "frame_step": 4,
        "frames": "4k+1",
        "example": (32, 32, 9),
        "on_bad_size": "ValueError from check_inputs (`height` and `width` divisible by 16)",
        "on_bad_frames": "logger warning, then n -> n // 4 * 4 + 1 (8 -> 9, 10 -> 9, 12 -> 13)",
        "pipeline_classes": {
            "t2v": "WanPipeline",
            "i2v": "WanImageToVideoPipeline",
            "flf2v": "WanImageToVideoPipeline",  # own transformer config; call with last_image=
        },
    },
    "ltx": {
        "size_multiple": 32,  # VAE patch 4 x 2**3, as the real LTX-Video VAE
        "frame_step": 8,
        "frames": "8k+1",
        "example": (64, 64, 9),
        "on_bad_size": "ValueError from check_inputs (`height` and `width` divisible by 32)",
        "on_bad_frames": "silent: output has (n - 1) // 8 * 8 + 1 frames (5 -> 1, 12 -> 9)",
        "pipeline_classes": {
            "t2v": "LTXPipeline",
            "i2v": "LTXImageToVideoPipeline",
            "flf2v": "LTXConditionPipeline",  # conditions=[LTXVideoCondition(...) x 2]
        },
    },
    "cogvideox": {
        "size_multiple": 16,  # VAE /8 x transformer patch 2 (the pipeline itself checks only /8)
        "frame_step": 8,
        "frames": "8k+1 (8k also comes back unchanged)",
        "example": (32, 32, 9),
        "on_bad_size": "multiple of 8 but not of 16: RuntimeError (tensor size mismatch) in the "
        "transformer; not a multiple of 8: ValueError from check_inputs",
        "on_bad_frames": "silent: L = (n - 1) // 4 + 1 latent frames decode to 4L frames if L is "
        "even, 4L - 3 if odd (5 -> 8, 13 -> 16, 21 -> 24)",
        "pipeline_classes": {
            "t2v": "CogVideoXPipeline",
            "i2v": "CogVideoXImageToVideoPipeline",
        },
    },
}

_WORDS = tuple(
    " ".join(
        (
            "a an the of in on at and with to is are cat dog car city sea sky sun night day red",
            "blue green white black man woman child walks runs flies over under slowly fast",
            "camera pan zoom product shot cup coffee table light dark video frame cinematic",
        )
    ).split(" ")
)


def _tokenizer() -> Any:
    """A T5 (Unigram) tokenizer from an in-memory vocabulary: no files, no hub."""
    from transformers import T5Tokenizer

    vocab: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(f"▁{w}", -3.0) for w in _WORDS]
    vocab += [(c, -5.0) for c in "abcdefghijklmnopqrstuvwxyz0123456789.,!?'-"]
    vocab += [(f"▁{c}", -5.5) for c in "bcdefghijklmnopqrstuvwxyz0123456789"]  # "▁a" is a word
    assert len({piece for piece, _ in vocab}) == len(vocab)
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def _t5_kwargs(vocab_size: int) -> dict[str, Any]:
    return {
        "vocab_size": vocab_size,
        "d_model": 32,
        "d_kv": 8,
        "d_ff": 37,
        "num_layers": 2,
        "num_heads": 4,
        "relative_attention_num_buckets": 8,
        "pad_token_id": 0,
        "eos_token_id": 1,
        "decoder_start_token_id": 0,
    }


# --------------------------------------------------------------------------------------- Wan


def _build_wan(task: str, seed: int) -> Any:
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanImageToVideoPipeline,
        WanPipeline,
        WanTransformer3DModel,
    )
    from transformers import (
        CLIPVisionConfig,
        CLIPVisionModel,
        UMT5Config,
        UMT5EncoderModel,
    )

    tokenizer = _tokenizer()
    torch.manual_seed(seed)
    text_encoder = UMT5EncoderModel(UMT5Config(**_t5_kwargs(len(tokenizer))))
    torch.manual_seed(seed)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction",
        use_flow_sigmas=True,
        num_train_timesteps=1000,
        flow_shift=3.0,
    )
    transformer_kwargs: dict[str, Any] = {
        "patch_size": (1, 2, 2),
        "num_attention_heads": 2,
        "attention_head_dim": 12,
        "in_channels": 16,
        "out_channels": 16,
        "text_dim": 32,
        "freq_dim": 256,
        "ffn_dim": 32,
        "num_layers": 2,
        "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads",
        "rope_max_seq_len": 32,
    }
    if task == "t2v":
        torch.manual_seed(seed)
        transformer = WanTransformer3DModel(**transformer_kwargs)
        return WanPipeline(
            tokenizer=tokenizer,
            text_encoder=text_encoder,
            vae=vae,
            scheduler=scheduler,
            transformer=transformer,
        )

    # I2V / FLF2V (Wan 2.1 style): CLIP image tokens + 16 noise + 4 mask + 16 condition channels.
    clip_image_size, clip_patch = 32, 4
    clip_tokens = (clip_image_size // clip_patch) ** 2 + 1  # + class token
    torch.manual_seed(seed)
    image_encoder = CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=4,
            projection_dim=4,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=clip_image_size,
            intermediate_size=16,
            patch_size=clip_patch,
        )
    )
    try:  # transformers 5 without torchvision falls back to this class anyway, with a warning
        from transformers import CLIPImageProcessorPil as _ImageProcessor
    except ImportError:  # pragma: no cover - older transformers
        from transformers import CLIPImageProcessor as _ImageProcessor
    image_processor = _ImageProcessor(crop_size=clip_image_size, size=clip_image_size)
    transformer_kwargs.update(in_channels=36, image_dim=4)
    if task == "flf2v":
        # Wan2.1-FLF2V: the image embedder folds the two CLIP sequences (first, last) into one
        # with a learned position embedding of 2 * clip_tokens; without it the two image
        # embeddings would be treated as a batch of 2.
        transformer_kwargs.update(pos_embed_seq_len=2 * clip_tokens)
    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(**transformer_kwargs)
    return WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=scheduler,
        image_processor=image_processor,
        image_encoder=image_encoder,
        transformer=transformer,
    )


# --------------------------------------------------------------------------------------- LTX


def _build_ltx(task: str, seed: int) -> Any:
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXImageToVideoPipeline,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    tokenizer = _tokenizer()
    torch.manual_seed(seed)
    text_encoder = T5EncoderModel(T5Config(**_t5_kwargs(len(tokenizer))))
    torch.manual_seed(seed)
    # Same compression as the real LTX-Video VAE (patch 4 x 2**3 = 32 spatial, 8 temporal).
    # Every decoder_* size must be given: they default to the full-size decoder (~905 MB).
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False,
        patch_size=4,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    torch.manual_seed(seed)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=1,
        caption_channels=32,
    )
    scheduler = FlowMatchEulerDiscreteScheduler()
    cls = {"t2v": LTXPipeline, "i2v": LTXImageToVideoPipeline, "flf2v": LTXConditionPipeline}[task]
    return cls(
        scheduler=scheduler,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
    )


# --------------------------------------------------------------------------------- CogVideoX


def _build_cogvideox(task: str, seed: int) -> Any:
    import torch
    from diffusers import (
        AutoencoderKLCogVideoX,
        CogVideoXDDIMScheduler,
        CogVideoXImageToVideoPipeline,
        CogVideoXPipeline,
        CogVideoXTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    tokenizer = _tokenizer()
    torch.manual_seed(seed)
    text_encoder = T5EncoderModel(T5Config(**_t5_kwargs(len(tokenizer))))
    torch.manual_seed(seed)
    vae = AutoencoderKLCogVideoX(
        in_channels=3,
        out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=2,
        temporal_compression_ratio=4,
    )
    # 3D RoPE (as CogVideoX-5b) and no absolute position table, so any size that is a multiple
    # of 16 and any prompt length work (CogVideoX-2b's sincos table and 5b-I2V's learned table
    # pin the text length to max_text_seq_length and, for I2V, the resolution).
    torch.manual_seed(seed)
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=2,
        attention_head_dim=16,  # RoPE needs a multiple of 16
        in_channels=4 if task == "t2v" else 8,  # I2V concatenates the image latents
        out_channels=4,
        time_embed_dim=2,
        text_embed_dim=32,
        num_layers=1,
        sample_width=4,  # latent 4 x 4 -> 32 x 32 px (the RoPE base grid)
        sample_height=4,
        sample_frames=9,
        patch_size=2,
        temporal_compression_ratio=4,
        max_text_seq_length=226,
        use_rotary_positional_embeddings=True,
        use_learned_positional_embeddings=False,
    )
    scheduler = CogVideoXDDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        prediction_type="v_prediction",
        rescale_betas_zero_snr=True,
        set_alpha_to_one=True,
        timestep_spacing="trailing",
    )
    cls = CogVideoXPipeline if task == "t2v" else CogVideoXImageToVideoPipeline
    return cls(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=scheduler,
    )


_BUILDERS: dict[str, Callable[[str, int], Any]] = {
    "wan": _build_wan,
    "ltx": _build_ltx,
    "cogvideox": _build_cogvideox,
}


def build_tiny_pipeline(family: str, task: str, dest: Path, *, seed: int = 0) -> Path:
    """Build a tiny random-weight diffusers pipeline in code (no hub, no files read), save it
    with save_pretrained(dest) and return dest. Deterministic for a seed."""
    if family not in SUPPORTED:
        raise ValueError(f"unknown family {family!r}; expected one of {sorted(SUPPORTED)}")
    if task not in SUPPORTED[family]:
        raise ValueError(
            f"task {task!r} is not supported for {family!r}; supported: {SUPPORTED[family]}"
        )
    import torch

    dest = Path(dest)
    with torch.random.fork_rng(devices=[]):
        pipe = _BUILDERS[family](task, seed)
    pipe.save_pretrained(dest)
    return dest
