"""Simulated models for `reelforge simulate`: they pass every submit-time check like real
ones and never render (simulation/device.py runs their jobs from the billing sheet's
timing profiles; a real worker refuses them)."""

from __future__ import annotations

from reelforge.backends.base import Clip, GenerationRequest, ProgressFn
from reelforge.domain.spec import JobSpec
from reelforge.errors import BackendError

# name → family (the price sheet and timing profile are per family)
SIMULATED_MODELS = {"sim-wan": "wan", "sim-ltx": "ltx", "sim-motion": "motion"}
# bytes per second of output at 720p (H.264 CRF 20, measured on the motion backend's clips)
BYTES_PER_SECOND = {"480p": 250_000, "720p": 550_000, "1080p": 1_200_000}


class SimulatedBackend:
    """Accepts text-to-video requests for one simulated model; never renders."""

    default_fps = 24

    def __init__(self, name: str, family: str):
        self.name, self.queue = name, family

    def check(self, spec: JobSpec) -> None:
        return None

    def generate(self, request: GenerationRequest, on_progress: ProgressFn) -> Clip:
        raise BackendError(
            f"{self.name} is a simulated model; only `reelforge simulate` runs its jobs",
            code="simulated_model",
        )


def simulated_backends() -> list[SimulatedBackend]:
    return [SimulatedBackend(name, family) for name, family in SIMULATED_MODELS.items()]
