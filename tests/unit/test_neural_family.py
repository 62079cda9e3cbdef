"""Family rules (pure Python): what each model family accepts, and what it fills in."""

from __future__ import annotations

import pytest

from reelforge.backends.families import FAMILIES
from reelforge.domain.spec import JobSpec, Mode
from reelforge.errors import CapabilityMissing, InvalidRequest

WAN, LTX, COG = FAMILIES["wan"], FAMILIES["ltx"], FAMILIES["cogvideox"]


def spec(**kw: object) -> JobSpec:
    values: dict[str, object] = {"mode": Mode.TEXT2VIDEO, "prompt": "a cat", "model": "m"}
    values.update(kw)
    return JobSpec(**values)  # type: ignore[arg-type]


def test_defaults_follow_each_family_rules() -> None:
    p = WAN.plan(spec(fps=16), "t2v")  # 5 s at 16 fps = 80 frames → nearest 4k+1
    assert (p.width, p.height, p.frames, p.steps, p.guidance) == (1280, 720, 81, 50, 5.0)
    p = LTX.plan(spec(fps=24, resolution="480p"), "t2v")
    assert (p.width % 32, p.height % 32, (p.frames - 1) % 8) == (0, 0, 0)
    assert (p.width, p.height, p.frames) == (864, 480, 121)
    p = COG.plan(spec(fps=8, duration=6.0), "t2v")
    assert p.frames == 49 and (p.width % 16, p.height % 16) == (0, 0)


@pytest.mark.parametrize(
    ("family", "frames", "hint"),
    [(WAN, 80, "try 77 or 81"), (LTX, 20, "try 17 or 25"), (COG, 13, "try 9 or 17")],
)
def test_a_frame_count_the_model_cannot_make_names_allowed_values(family, frames, hint) -> None:
    with pytest.raises(InvalidRequest) as err:
        family.plan(spec(frames=frames), "t2v")
    assert err.value.code == "unsupported_frames" and hint in err.value.message


def test_a_size_the_model_cannot_make_names_the_nearest_allowed() -> None:
    with pytest.raises(InvalidRequest) as err:
        WAN.plan(spec(width=850, height=480), "t2v")
    assert err.value.code == "unsupported_size"
    assert "multiples of 16" in err.value.message and "848x480" in err.value.message
    with pytest.raises(InvalidRequest):
        LTX.plan(spec(width=848, height=480), "t2v")  # 848 is not a multiple of 32
    assert LTX.plan(spec(width=832, height=480), "t2v").width == 832


def test_draft_is_cheaper_and_keeps_seed_and_frames() -> None:
    final = WAN.plan(spec(fps=16, preset="final", seed=5), "t2v")
    draft = WAN.plan(spec(fps=16, preset="draft", seed=5), "t2v")
    assert draft.steps < final.steps and draft.frames == final.frames
    assert draft.width * draft.height < final.width * final.height  # one resolution down
    assert draft.step_cache == "first_block" and final.step_cache is None
    assert LTX.plan(spec(fps=24, preset="draft"), "t2v").step_cache == "taylorseer"
    # the operator's configured cache wins, and explicit steps win over the preset
    assert (
        WAN.plan(spec(fps=16, preset="draft", steps=3), "t2v", step_cache="pab").to_dict()["steps"]
        == 3
    )


def test_models_serve_the_modes_of_their_task() -> None:
    i2v = spec(mode=Mode.IMAGE2VIDEO, images=("a" * 64,))
    flf = spec(mode=Mode.FIRST_LAST_FRAME, images=("a" * 64, "b" * 64))
    with pytest.raises(CapabilityMissing) as err:
        WAN.plan(i2v, "t2v")
    assert err.value.code == "unsupported_mode"
    WAN.plan(i2v, "i2v")
    with pytest.raises(CapabilityMissing):
        WAN.plan(flf, "i2v")  # a Wan i2v checkpoint cannot take a last frame
    WAN.plan(flf, "flf2v")
    LTX.plan(spec(), "flf2v")  # the LTX condition pipeline also does plain text-to-video
    assert Mode.EXTEND in WAN.modes("i2v") and Mode.EXTEND not in WAN.modes("t2v")
