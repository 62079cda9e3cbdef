"""Start/end-frame interpolation: the frames between two images by dense optical flow.

The flow is measured once each way (DIS, OpenCV's dense inverse search, on grey copies at a
working size of at most `FLOW_SIDE` pixels on the long side, then scaled up). Each in-between
frame at time t in (0, 1) warps both images towards t and blends them:

- the flows from time t back to each end are approximated from the two measured flows as in
  Super SloMo (Jiang et al. 2018, eq. 4): F(t->0) = -(1-t) t F(0->1) + t^2 F(1->0) and
  F(t->1) = (1-t)^2 F(0->1) - t (1-t) F(1->0);
- each end is sampled along its flow (backward warping, so no holes), and the two warps are
  blended with weights (1-t) and t, lowered where the forward and backward flows disagree
  (pixels one image cannot see, such as a region uncovered by the motion).

A plain cross-fade of the same two images ghosts every moving edge; bench/interpolation.py
measures both against the true middle frame of a pair with known motion.
"""

from __future__ import annotations

import cv2
import numpy as np

FLOW_SIDE = 640  # the flow is measured at most this wide/high; motion detail finer is rare
_CONSISTENCY_PX = 2.0  # forward/backward disagreement (pixels) at which a warp counts half


class FlowInterpolator:
    """In-between frames of two RGB uint8 images of the same size."""

    def __init__(self, start: np.ndarray, end: np.ndarray) -> None:
        if start.shape != end.shape or start.ndim != 3:
            raise ValueError(f"images must be the same size: {start.shape} vs {end.shape}")
        self.start = start.astype(np.float32)
        self.end = end.astype(np.float32)
        height, width = start.shape[:2]
        self.forward, self.backward = dense_flows(start, end)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        self._grid = np.stack([xs, ys], axis=-1)
        # How much each end can be trusted per pixel (1: both flows agree about it).
        self._trust_start = _consistency(self.forward, self.backward, self._grid)
        self._trust_end = _consistency(self.backward, self.forward, self._grid)

    def frame(self, t: float) -> np.ndarray:
        """The frame at time t (0: the start image, 1: the end image), RGB uint8."""
        if t <= 0.0:
            return np.clip(self.start, 0, 255).astype(np.uint8)
        if t >= 1.0:
            return np.clip(self.end, 0, 255).astype(np.uint8)
        to_start = _projected(self.forward, t, self._trust_start)
        to_end = _projected(self.backward, 1 - t, self._trust_end)
        fill = np.isnan(to_start[..., 0])
        to_start[fill] = (-(1 - t) * t * self.forward + t * t * self.backward)[fill]
        fill = np.isnan(to_end[..., 0])
        to_end[fill] = ((1 - t) ** 2 * self.forward - t * (1 - t) * self.backward)[fill]
        from_start = _warp(self.start, self._grid + to_start)
        from_end = _warp(self.end, self._grid + to_end)
        w_start = (1 - t) * _warp(self._trust_start, self._grid + to_start)
        w_end = t * _warp(self._trust_end, self._grid + to_end)
        total = w_start + w_end
        total = np.where(total < 1e-3, 1.0, total)
        mixed = (from_start * w_start[..., None] + from_end * w_end[..., None]) / total[..., None]
        return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def dense_flows(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(flow start->end, flow end->start) in full-size pixels, float32 (H, W, 2)."""
    height, width = start.shape[:2]
    scale = min(1.0, FLOW_SIDE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    grey_a = cv2.cvtColor(cv2.resize(start, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    grey_b = cv2.cvtColor(cv2.resize(end, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    # OpenCV's stubs lack the DIS factory (it is in the headless wheel's video module)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # type: ignore[attr-defined]
    flows = []
    for a, b in ((grey_a, grey_b), (grey_b, grey_a)):
        flow = dis.calc(a, b, None)
        if size != (width, height):
            flow = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
            flow[..., 0] *= width / size[0]
            flow[..., 1] *= height / size[1]
        flows.append(flow.astype(np.float32))
    return flows[0], flows[1]


def _projected(flow: np.ndarray, t: float, trust: np.ndarray) -> np.ndarray:
    """The flow from time t back to the image `flow` starts from, by projecting each of its
    pixels p to where it is at time t (p + t * flow) and writing -t * flow there (as DAIN's
    flow projection); where several land on one pixel, the most trusted wins. Pixels nobody
    lands on are NaN (the caller fills them)."""
    height, width = flow.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    tx, ty = xs + t * flow[..., 0], ys + t * flow[..., 1]
    order = np.argsort(trust, axis=None, kind="stable")  # most trusted written last
    value = (-t * flow).reshape(-1, 2)[order]
    out = np.full((height, width, 2), np.nan, np.float32)
    for fx, fy in (
        (np.floor, np.floor),
        (np.ceil, np.floor),
        (np.floor, np.ceil),
        (np.ceil, np.ceil),
    ):
        px = fx(tx).astype(np.int64).reshape(-1)[order]
        py = fy(ty).astype(np.int64).reshape(-1)[order]
        inside = (px >= 0) & (px < width) & (py >= 0) & (py < height)
        hole = np.isnan(out[py.clip(0, height - 1), px.clip(0, width - 1), 0])
        keep = inside & hole
        out[py[keep], px[keep]] = value[keep]
    return out


def _warp(image: np.ndarray, where: np.ndarray) -> np.ndarray:
    """`image` sampled at `where` (x, y per output pixel), bilinear, edges replicated."""
    return cv2.remap(
        image,
        where[..., 0],
        where[..., 1],
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _consistency(flow: np.ndarray, other: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Per pixel of the first image: 1 where following `flow` and then `other` comes back to
    the same place, falling towards 0 where it does not (an occlusion or a bad match)."""
    back = _warp(other, grid + flow)
    error: np.ndarray = np.linalg.norm(flow + back, axis=-1)
    trust: np.ndarray = (1.0 / (1.0 + (error / _CONSISTENCY_PX) ** 2)).astype(np.float32)
    return trust
