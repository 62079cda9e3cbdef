"""Invisible, compression-robust video watermark carrying a 32-bit payload.

Scheme (vectorised NumPy/OpenCV, no per-block Python loops):

* **Payload and ECC.** The 32-bit payload gets a CRC-16 (CCITT) appended; the 48 bits plus 6
  zero tail bits go through a rate-1/2, constraint-length-7 convolutional code (generators
  133/171 octal), giving a 108-bit codeword decoded by a soft-decision Viterbi decoder.
* **Geometry relative to the frame.** The pattern is a tile of ``TILE_CELLS`` x ``TILE_CELLS``
  cells repeated over the frame with a period of ``1/TILES_PER_SHORT_SIDE`` of the frame's
  shorter side (360 px at 720p, 180 px in a copy kept at 0.5x), cells interpolated
  bilinearly. A keyed PRNG (seeded from ``key`` only) gives each cell a pseudo-random sign and
  either a codeword bit (each bit on ~28 cells per tile) or the pilot (``PILOT_SHARE`` of the
  cells, payload-independent, for synchronisation). The whole luma pattern is precomputed per
  frame size; adding the same value to R, G and B changes luma only, so ``mark`` is a few
  saturating uint8 adds.
* **Texture adaptivity.** 8x8 blocks whose local luma standard deviation is high get a
  stronger pattern (masked saturating add); flat blocks, where the eye notices most, get the
  base one.
* **Detection at any size.** Each frame's luma is resized to a canonical grid (the shorter
  side = ``TILES_PER_SHORT_SIDE`` canonical tiles of ``_TC`` px), so a copy kept at 0.5x or
  0.75x lands on the same grid as the original. It is high-passed, clipped near its sign (the
  picture's residual is heavy-tailed, the pattern's is not) and folded modulo the tile into
  one tile. The pilot's cyclic FFT correlation gives the offset (a crop shifts the grid).
  Frames are weighted by their own pilot z-score at the best offset (an H.264 keyframe keeps
  the pattern; predicted frames at CRF 28 keep little of it). The aligned tile is matched
  per cell, summed per codeword bit, Viterbi-decoded and the CRC checked. ``found`` needs a
  matching CRC *and* codeword bit accuracy >= ``MIN_BIT_ACCURACY``.
* **Crops.** If the whole frame does not decode, the share of the shorter side that was kept
  is searched over ``CROP_RANGE`` (ranked by the pilot's peak on the first frames), and the
  ``CANDIDATES`` best are decoded; the offset comes from the pilot as above.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

PAYLOAD_BITS = 32
CRC_BITS = 16
DEFAULT_KEY = b"reelforge-watermark-v1"
BLOCK = 8  # texture-mask block (pixels)
TILE_CELLS = 64  # the tile is TILE_CELLS x TILE_CELLS cells
TILES_PER_SHORT_SIDE = 2  # tile period = shorter side / this, whatever the file's size
PILOT_SHARE = 0.25  # of the cells carry the keyed pilot (synchronisation); the rest the codeword
MIN_SIDE = 128
STRENGTH = 3.0  # pattern amplitude (luma levels per unit cell) in flat blocks
STRENGTH_TEXTURED = 6.0  # ... in textured blocks
TEXTURE_STD = 6.0  # luma std (0..255) above which a block counts as textured
CANON_CELL = 2  # detection: canonical pixels per cell
CROP_RANGE = (0.66, 1.02)  # detection searches crops keeping this share of the shorter side
CROP_STEP = 0.006  # relative step of that search
HIGHPASS_SIGMA = 1.2  # canonical pixels
CLIP = 0.1  # detection clips the high-passed picture at CLIP x its mean magnitude (near
#             sign: the picture's residual is heavy-tailed, the pattern's is not)
_TC = TILE_CELLS * CANON_CELL  # canonical tile period (pixels)
CANDIDATES = 3  # best-synchronised crop shares decoded
SEARCH_FRAMES = 3  # frames that rank the crop shares (the first: usually the keyframe)
FRAME_Z = 1.5  # a frame counts with weight (its pilot z-score at the best shift) - FRAME_Z
MIN_BIT_ACCURACY = 0.85
_POLYS = (0o133, 0o171)
_K = 7
_INFO_BITS = PAYLOAD_BITS + CRC_BITS
CODE_BITS = (_INFO_BITS + _K - 1) * len(_POLYS)


@dataclass(frozen=True)
class WatermarkResult:
    """Outcome of :func:`detect`.

    ``bit_accuracy`` is the fraction of the 108 *codeword* bits (after the soft vote across
    frames, before ECC decoding) whose hard decision matches the re-encoded decoded codeword.
    It is reported even when ``found`` is False (unmarked video scores about 0.65-0.8).
    """

    found: bool
    payload: int | None
    bit_accuracy: float | None
    frames_used: int


def payload_from_id(produce_id: str) -> int:
    """The 32-bit payload for a ProduceID: the first 4 bytes of its SHA-256, big-endian."""
    return int.from_bytes(hashlib.sha256(produce_id.encode("utf-8")).digest()[:4], "big")


def _crc16(value: int) -> int:
    """CRC-16/CCITT-FALSE of the payload's 4 big-endian bytes."""
    crc = 0xFFFF
    for byte in value.to_bytes(4, "big"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def _int_to_bits(value: int, n: int) -> list[int]:
    return [(value >> (n - 1 - i)) & 1 for i in range(n)]


def _bits_to_int(bits: Iterable[int]) -> int:
    out = 0
    for b in bits:
        out = (out << 1) | int(b)
    return out


def _conv_tables() -> tuple[np.ndarray, np.ndarray]:
    """Predecessor states (64, 2) and their output bits (64, 2, n_out) per next state."""
    ns = np.arange(64)
    preds = np.stack([ns >> 1, (ns >> 1) | 32], axis=1)
    regs = ((preds << 1) | (ns[:, None] & 1)) & 0x7F
    outs = np.stack(
        [
            np.array([bin(int(r) & g).count("1") & 1 for r in regs.ravel()]).reshape(regs.shape)
            for g in _POLYS
        ],
        axis=-1,
    )
    return preds, outs


_PREDS, _OUTS = _conv_tables()


def encode_payload(payload: int) -> np.ndarray:
    """The 108-bit codeword (uint8 0/1) for a 32-bit payload: CRC-16, then the conv code."""
    if not 0 <= payload < 1 << PAYLOAD_BITS:
        raise ValueError(f"payload must fit in {PAYLOAD_BITS} bits")
    bits = _int_to_bits(payload, PAYLOAD_BITS) + _int_to_bits(_crc16(payload), CRC_BITS)
    state = 0
    out: list[int] = []
    for b in [*bits, *([0] * (_K - 1))]:
        reg = ((state << 1) | b) & 0x7F
        out.extend(bin(reg & g).count("1") & 1 for g in _POLYS)
        state = reg & 0x3F
    return np.array(out, dtype=np.uint8)


def _viterbi(soft: np.ndarray) -> list[int]:
    """Soft-decision Viterbi decoding; ``soft`` > 0 means bit 1. Returns the 48 info bits."""
    n_out = len(_POLYS)
    steps = soft.reshape(-1, n_out)
    signs = 2.0 * _OUTS - 1.0  # (64, 2, n_out)
    metric = np.full(64, -np.inf)
    metric[0] = 0.0
    choices = np.empty((len(steps), 64), dtype=np.uint8)
    for t, obs in enumerate(steps):
        cand = metric[_PREDS] + signs @ obs  # (64, 2)
        choices[t] = np.argmax(cand, axis=1)
        metric = cand[np.arange(64), choices[t]]
    state, bits = 0, []
    for t in range(len(steps) - 1, -1, -1):
        bits.append(state & 1)
        state = int(_PREDS[state, choices[t, state]])
    bits.reverse()
    return bits[:_INFO_BITS]


@dataclass(frozen=True)
class _Layout:
    """Keyed, size-independent assignment of the tile's cells: codeword bit (-1: pilot) and sign."""

    bit_of_cell: np.ndarray  # (TILE_CELLS, TILE_CELLS) int, -1 for pilot cells
    sign_of_cell: np.ndarray  # (TILE_CELLS, TILE_CELLS) float32 +-1
    cells_per_bit: np.ndarray  # (CODE_BITS,)


def fits(width: int, height: int) -> bool:
    """Whether frames of this size have room for the watermark (shorter side >= 128 px)."""
    return min(width, height) >= MIN_SIDE


@lru_cache(maxsize=8)
def _layout(key: bytes) -> _Layout:
    n_cells = TILE_CELLS * TILE_CELLS
    seed = hashlib.sha256(key + b"|tile-v2").digest()
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(seed[:16], "big")))
    order = rng.permutation(n_cells)
    bits = np.full(n_cells, -1, dtype=np.int64)
    payload_cells = int(n_cells * (1 - PILOT_SHARE)) // CODE_BITS * CODE_BITS
    bits[order[:payload_cells]] = np.arange(payload_cells) % CODE_BITS
    signs = rng.integers(0, 2, n_cells).astype(np.float32) * 2 - 1
    shape = (TILE_CELLS, TILE_CELLS)
    return _Layout(
        bits.reshape(shape), signs.reshape(shape), np.bincount(bits[bits >= 0], minlength=CODE_BITS)
    )


def _tile(layout: _Layout, codeword: np.ndarray | None) -> np.ndarray:
    """Cell amplitudes (+-1) of one tile; payload cells are 0 when ``codeword`` is None."""
    if codeword is None:
        return np.where(layout.bit_of_cell < 0, layout.sign_of_cell, 0.0).astype(np.float32)
    bits = np.where(layout.bit_of_cell < 0, 1.0, 2.0 * codeword[layout.bit_of_cell] - 1.0)
    return (layout.sign_of_cell * bits).astype(np.float32)


def _interp(n: int, period: float) -> np.ndarray:
    """(n, TILE_CELLS) matrix: bilinear, wrapping interpolation of cell values at n pixels whose
    tile period is ``period`` pixels (cell centres at half-cell offsets from pixel 0)."""
    pos = (np.arange(n) + 0.5) * (TILE_CELLS / period) - 0.5
    lo = np.floor(pos).astype(np.int64)
    frac = (pos - lo).astype(np.float32)
    out = np.zeros((n, TILE_CELLS), dtype=np.float32)
    rows = np.arange(n)
    np.add.at(out, (rows, lo % TILE_CELLS), 1.0 - frac)
    np.add.at(out, (rows, (lo + 1) % TILE_CELLS), frac)
    return out


def period_of(width: int, height: int) -> float:
    """The tile period in pixels of a frame: a fixed share of its shorter side."""
    return min(width, height) / TILES_PER_SHORT_SIDE


def _pattern(tile: np.ndarray, width: int, height: int) -> np.ndarray:
    """Spatial luma pattern (H, W) float32 of the tiled cell amplitudes, frame-relative."""
    period = period_of(width, height)
    pattern: np.ndarray = _interp(height, period) @ tile @ _interp(width, period).T
    return pattern


def _split(pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rounded positive and negative parts as 3-channel uint8 images (for saturating adds)."""
    q = np.rint(pattern)
    pos = np.clip(q, 0, 255).astype(np.uint8)
    neg = np.clip(-q, 0, 255).astype(np.uint8)
    return cv2.merge([pos, pos, pos]), cv2.merge([neg, neg, neg])


class WatermarkEmbedder:
    """Marks RGB uint8 frames of one size with one payload; everything is precomputed."""

    def __init__(
        self,
        payload: int,
        width: int,
        height: int,
        *,
        key: bytes = DEFAULT_KEY,
        adaptive: bool = True,
    ) -> None:
        self.payload, self.width, self.height, self.adaptive = payload, width, height, adaptive
        if not fits(width, height):
            raise ValueError(f"frame {width}x{height} is too small to carry the watermark")
        unit = _pattern(_tile(_layout(key), encode_payload(payload)), width, height)
        base = STRENGTH if adaptive else (STRENGTH + STRENGTH_TEXTURED) / 2
        self._pos, self._neg = _split(unit * base)
        extra = np.rint(unit * STRENGTH_TEXTURED) - np.rint(unit * base)
        self._xpos, self._xneg = _split(extra)
        self._blocks = (width // BLOCK, height // BLOCK)

    def _texture_mask(self, frame: np.ndarray) -> np.ndarray:
        """3-channel uint8 mask (H, W, 3): 255 in blocks whose luma std exceeds TEXTURE_STD."""
        bx, by = self._blocks
        half = cv2.resize(
            frame[: by * BLOCK, : bx * BLOCK],
            (bx * BLOCK // 2, by * BLOCK // 2),
            interpolation=cv2.INTER_AREA,
        )
        gray = cv2.cvtColor(half, cv2.COLOR_RGB2GRAY).astype(np.float32)
        mean = cv2.resize(gray, (bx, by), interpolation=cv2.INTER_AREA)
        sq = cv2.resize(gray * gray, (bx, by), interpolation=cv2.INTER_AREA)
        small = ((sq - mean * mean) > TEXTURE_STD**2).astype(np.uint8) * 255
        # One spare block row/column covers a frame edge that is not a multiple of 8 (the
        # pattern is zero there, so the mask value does not matter).
        full = cv2.resize(
            np.pad(small, ((0, 1), (0, 1))),
            ((bx + 1) * BLOCK, (by + 1) * BLOCK),
            interpolation=cv2.INTER_NEAREST,
        )[: self.height, : self.width]
        return cv2.merge([full, full, full])

    def mark(self, frame: np.ndarray) -> np.ndarray:
        """Return a marked copy of an RGB uint8 frame of shape (height, width, 3)."""
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"expected a ({self.height}, {self.width}, 3) uint8 frame, "
                f"got {frame.shape} {frame.dtype}"
            )
        out = cv2.subtract(cv2.add(frame, self._pos), self._neg)
        if self.adaptive:
            mask = self._texture_mask(frame)
            cv2.add(out, cv2.bitwise_and(self._xpos, mask), dst=out)
            cv2.subtract(out, cv2.bitwise_and(self._xneg, mask), dst=out)
        return out


def _highpass(image: np.ndarray) -> np.ndarray:
    """Image minus its local mean (suppresses the picture, keeps the cell-scale pattern)."""
    return image - cv2.GaussianBlur(image, (0, 0), HIGHPASS_SIGMA)


def _cyclic_highpass_fft(tile_fft: np.ndarray) -> np.ndarray:
    """The same high-pass as a cyclic filter on a canonical tile's 2-D FFT."""
    f = np.fft.fftfreq(_TC)
    gauss = np.exp(-2 * (np.pi * HIGHPASS_SIGMA) ** 2 * (f[:, None] ** 2 + f[None, :] ** 2))
    return tile_fft * (1.0 - gauss)


@lru_cache(maxsize=8)
def _templates(key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The pilot's high-passed canonical tile (FFT, conjugated) and the interpolation matrix."""
    interp = _interp(_TC, float(_TC))
    pilot = interp @ _tile(_layout(key), None) @ interp.T
    return np.conj(_cyclic_highpass_fft(np.fft.fft2(pilot))), interp


def _fold(gray: np.ndarray, share: float) -> np.ndarray | None:
    """Map a canonical luma frame (see :func:`_canonical_frames`) onto the tile grid of a crop
    keeping ``share`` of the shorter side, high-pass it, clip it and sum it, tile by tile, into
    one (_TC, _TC) tile; None when not even one tile fits."""
    h, w = gray.shape
    size = (round(w * share), round(h * share))
    if min(size) < _TC:
        return None
    canon = gray if size == (w, h) else cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR)
    canon = _highpass(canon)
    limit = CLIP * float(np.mean(np.abs(canon))) + 1e-3
    np.clip(canon, -limit, limit, out=canon)
    # every pixel counts: the partial tiles at the right and bottom are zero-padded
    ny, nx = -(-size[1] // _TC), -(-size[0] // _TC)
    canon = np.pad(canon, ((0, ny * _TC - size[1]), (0, nx * _TC - size[0])))
    cells: np.ndarray = canon.reshape(ny, _TC, nx, _TC).sum(axis=(0, 2))
    return cells


def _sync(folded: np.ndarray, pilot_conj: np.ndarray) -> tuple[float, int, int]:
    """Pilot correlation peak over all cyclic shifts: (z-score, dy, dx)."""
    corr = np.real(np.fft.ifft2(np.fft.fft2(folded) * pilot_conj))
    at = int(np.argmax(corr))
    dy, dx = divmod(at, _TC)
    z = (float(corr.flat[at]) - float(corr.mean())) / (float(corr.std()) + 1e-12)
    return z, dy, dx


class _Accumulator:
    """Folded tiles of one crop share over frames, summed plainly and weighted. An H.264
    keyframe keeps the pattern; predicted frames at a high CRF keep little of it, or keep it
    shifted by motion compensation, and mostly add picture. The frame with the strongest pilot
    peak sets the shift; each frame counts with its pilot z-score at that shift (above
    ``FRAME_Z``), so weak or misaligned frames are weighted down."""

    def __init__(self, pilot_conj: np.ndarray) -> None:
        self.pilot_conj = pilot_conj
        self.folded: list[np.ndarray] = []
        self.zmaps: list[np.ndarray] = []

    def add(self, folded: np.ndarray) -> None:
        corr = np.real(np.fft.ifft2(np.fft.fft2(folded) * self.pilot_conj))
        self.folded.append(folded / (float(folded.std()) + 1e-9))
        self.zmaps.append((corr - corr.mean()) / (corr.std() + 1e-12))

    def tiles(self) -> list[np.ndarray]:
        if not self.folded:
            return []
        peaks = [float(z.max()) for z in self.zmaps]
        ref = int(np.argmax(self.zmaps[int(np.argmax(peaks))]))
        weights = [max(0.0, float(z.flat[ref]) - FRAME_Z) for z in self.zmaps]
        plain = np.sum(self.folded, axis=0)
        if sum(weights) <= 0:
            return [plain]
        weighted = np.tensordot(np.asarray(weights, dtype=np.float32), np.stack(self.folded), 1)
        return [weighted, plain]


def _bit_scores(folded: np.ndarray, dy: int, dx: int, key: bytes) -> np.ndarray:
    """Per-codeword-bit z-scores from a folded tile aligned by the pilot's shift."""
    _, interp = _templates(key)
    layout = _layout(key)
    aligned = np.roll(folded, (-dy, -dx), axis=(0, 1))
    filtered = np.real(np.fft.ifft2(_cyclic_highpass_fft(np.fft.fft2(aligned))))
    cells = (interp.T @ filtered @ interp) * layout.sign_of_cell
    payload = layout.bit_of_cell >= 0
    sums = np.bincount(layout.bit_of_cell[payload], weights=cells[payload], minlength=CODE_BITS)
    sigma = float(cells[payload].std()) * np.sqrt(layout.cells_per_bit) + 1e-9
    return np.asarray(sums / sigma)


def _decode(scores: np.ndarray) -> tuple[bool, int, float]:
    bits = _viterbi(scores)
    payload = _bits_to_int(bits[:PAYLOAD_BITS])
    crc_ok = _bits_to_int(bits[PAYLOAD_BITS:]) == _crc16(payload)
    accuracy = float(np.mean((scores > 0) == encode_payload(payload).astype(bool)))
    return crc_ok and accuracy >= MIN_BIT_ACCURACY, payload, accuracy


def _crop_shares() -> np.ndarray:
    lo, hi = CROP_RANGE
    n = int(np.ceil(np.log(hi / lo) / np.log1p(CROP_STEP))) + 1
    shares = hi / (1 + CROP_STEP) ** np.arange(n)
    return np.concatenate([[1.0], shares[np.abs(shares - 1.0) > CROP_STEP / 2]])


def _canonical_frames(frames: Iterable[np.ndarray], max_frames: int) -> list[np.ndarray]:
    """Luma frames resized (INTER_AREA) onto the canonical grid of an uncropped frame: the
    shorter side is TILES_PER_SHORT_SIDE tiles of _TC pixels."""
    out: list[np.ndarray] = []
    for frame in frames:
        if len(out) >= max_frames:
            break
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        h, w = gray.shape
        if not fits(w, h):  # too small to carry one: nothing can be found
            break
        ratio = _TC * TILES_PER_SHORT_SIDE / min(w, h)
        interp = cv2.INTER_AREA if ratio < 1.0 else cv2.INTER_LINEAR
        out.append(
            cv2.resize(gray, (round(w * ratio), round(h * ratio)), interpolation=interp).astype(
                np.float32
            )
        )
    return out


def _accumulate(grays: list[np.ndarray], share: float, pilot_conj: np.ndarray) -> _Accumulator:
    acc = _Accumulator(pilot_conj)
    for gray in grays:
        folded = _fold(gray, share)
        if folded is not None:
            acc.add(folded)
    return acc


def _try(
    acc: _Accumulator, pilot_conj: np.ndarray, key: bytes, best: tuple[bool, int, float] | None
) -> tuple[bool, int, float] | None:
    for tile in acc.tiles():
        _z, dy, dx = _sync(tile, pilot_conj)
        decoded = _decode(_bit_scores(tile, dy, dx, key))
        if best is None or decoded[0] or (not best[0] and decoded[2] > best[2]):
            best = decoded
        if best[0]:
            break
    return best


def detect(
    frames: Iterable[np.ndarray],
    *,
    max_frames: int = 48,
    size: tuple[int, int] | None = None,
    key: bytes = DEFAULT_KEY,
) -> WatermarkResult:
    """Look for the watermark in up to ``max_frames`` RGB (or luma) uint8 frames of any size.

    The pattern's geometry is relative to the frame (its tile period is a share of the shorter
    side), so a copy kept at another size maps back onto the same canonical grid. The whole
    frame is tried first; then crops, by searching the share of the shorter side that was kept
    (``CROP_RANGE``, ranked on the first ``SEARCH_FRAMES`` frames); the offset comes from the
    pilot's cyclic correlation. ``size`` is accepted for compatibility and ignored.
    ``bit_accuracy`` is that of the best hypothesis tried.
    """
    del size
    pilot_conj, _ = _templates(key)
    grays = _canonical_frames(frames, max_frames)
    if not grays:
        return WatermarkResult(False, None, None, 0)
    best = _try(_accumulate(grays, 1.0, pilot_conj), pilot_conj, key, None)
    if best is not None and not best[0]:
        ranked = []
        for share in _crop_shares()[1:]:
            acc = _accumulate(grays[:SEARCH_FRAMES], share, pilot_conj)
            score = max((_sync(t, pilot_conj)[0] for t in acc.tiles()), default=0.0)
            ranked.append((score, share))
        ranked.sort(reverse=True)
        for _score, share in ranked[:CANDIDATES]:
            best = _try(_accumulate(grays, share, pilot_conj), pilot_conj, key, best)
            if best is not None and best[0]:
                break
    if best is None:
        return WatermarkResult(False, None, None, len(grays))
    found, payload, accuracy = best
    return WatermarkResult(found, payload if found else None, accuracy, len(grays))
