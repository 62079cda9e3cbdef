"""Path and header parameters many routes share, described once for the OpenAPI document
(every field a client sends is described there)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Path

VideoId = Annotated[str, Path(description="The video's id (`vid_...`), as its create returned.")]
UploadId = Annotated[str, Path(description="The upload's id (`upl_...`).")]
BatchId = Annotated[str, Path(description="The commerce batch's id.")]
ReviewId = Annotated[str, Path(description="The review item's id (`rev_...`).")]
PersonId = Annotated[str, Path(description="The likeness registry's person id (`psn_...`).")]
ModelName = Annotated[str, Path(description="The model's name, as jobs use it in `model`.")]
GuardName = Annotated[str, Path(description="The guard model's registered name.")]
RangeHeader = Annotated[
    str | None,
    Header(
        alias="Range",
        description="A byte range (`bytes=START-END`, one range) for seeking players: 206 "
        "with that part.",
    ),
]
