"""Governance over HTTP: /v1/moderations, appeals, and the operators' review queue,
likeness registry and audit export under /v1/admin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from reelforge.api import schemas
from reelforge.api.deps import AdminAccount, CurrentAccount, PlatformDep
from reelforge.api.limits import verify_slots
from reelforge.api.multipart import read_limited, require_multipart, save_file_field
from reelforge.api.params import GuardName, PersonId, ReviewId, VideoId
from reelforge.api.validation import check_form
from reelforge.services.governance import audit, guards, likeness, moderation, reviews

router = APIRouter(tags=["governance"])


class ModerationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | list[str] | None = Field(default=None, description="A text or texts to check.")
    image_upload_id: str | None = Field(
        default=None, max_length=40, description="An upload (POST /v1/uploads) to check."
    )


class AppealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(
        min_length=1,
        max_length=reviews.MAX_NOTE,
        description="Why the video should not have been blocked.",
    )


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(
        default=None,
        max_length=reviews.MAX_NOTE,
        description="The reviewer's note, kept in the audit log.",
    )


class ConsentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str | None = Field(
        default=None, description="An account name or id; omitted: everyone."
    )


@router.post("/v1/moderations", response_model=schemas.Moderation)
def moderate(body: ModerationRequest, p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    """The policy's decision on texts and/or an uploaded image (nothing is generated)."""
    texts = [body.text] if isinstance(body.text, str) else list(body.text or [])
    return moderation.moderate_content(
        p, account, texts, body.image_upload_id, detailed=account.is_admin
    )


@router.post("/v1/videos/{video_id}/appeal", response_model=schemas.Video)
def appeal(
    video_id: VideoId, body: AppealRequest, p: PlatformDep, account: CurrentAccount
) -> dict[str, Any]:
    """Ask a person to look at a blocked video again; it waits in the review queue."""
    return reviews.appeal(p, account, video_id, body.message)


@router.get("/v1/admin/reviews", response_model=schemas.ReviewList)
def list_reviews(
    p: PlatformDep,
    _admin: AdminAccount,
    status: str | None = Query(
        default="pending", description="pending, approved, rejected or withdrawn."
    ),
) -> dict[str, Any]:
    return {"object": "list", "data": reviews.list_reviews(p, status)}


@router.post("/v1/admin/reviews/{review_id}/approve", response_model=schemas.Review)
def approve(
    review_id: ReviewId, p: PlatformDep, admin: AdminAccount, body: ReviewDecision | None = None
) -> dict[str, Any]:
    return reviews.decide(
        p, review_id, approve=True, reviewer=admin, note=body.note if body else None
    )


@router.post("/v1/admin/reviews/{review_id}/reject", response_model=schemas.Review)
def reject(
    review_id: ReviewId, p: PlatformDep, admin: AdminAccount, body: ReviewDecision | None = None
) -> dict[str, Any]:
    return reviews.decide(
        p, review_id, approve=False, reviewer=admin, note=body.note if body else None
    )


@router.get(
    "/v1/admin/audit",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "one audit record as JSON per line"}
                }
            }
        }
    },
)
def export_audit(
    p: PlatformDep,
    _admin: AdminAccount,
    subject: str | None = Query(
        default=None, description="Only entries about this subject (a job, account or person id)."
    ),
) -> StreamingResponse:
    """The audit log as JSON lines, oldest first."""
    lines = (f"{line}\n".encode() for line in audit.export_jsonl(p, subject=subject))
    return StreamingResponse(lines, media_type="application/x-ndjson")


class GuardView(schemas.ApiModel):
    object: str = Field(default="guard", description="Always `guard`.")
    name: str
    family: str = Field(description="llama-guard, qwen3guard or shieldgemma.")
    path: str = Field(description="The local model directory.")
    device: str
    dtype: str
    languages: list[str] = Field(description="Languages it covers (`*`: all identified).")


class GuardList(schemas.ApiModel):
    object: str = Field(default="list", description="Always `list`.")
    data: list[GuardView]


@router.get("/v1/admin/guards", response_model=GuardList)
def list_guards(p: PlatformDep, _admin: AdminAccount) -> dict[str, Any]:
    """Registered guard models (the prompts a profile routes to them wait in `moderating`)."""
    return {"object": "list", "data": guards.list_guards(p)}


@router.post("/v1/admin/guards", status_code=201, response_model=GuardView)
def add_guard(
    body: guards.GuardRequest,
    p: PlatformDep,
    _admin: AdminAccount,
    replace: bool = Query(default=False, description="Replace a guard of the same name."),
) -> dict[str, Any]:
    """Register a local guard-model directory (checked now; loaded by the worker that runs
    the moderation tasks; never downloaded)."""
    return guards.add_guard(p, body, replace=replace)


@router.delete("/v1/admin/guards/{name}", status_code=204, response_class=Response)
def remove_guard(name: GuardName, p: PlatformDep, _admin: AdminAccount) -> Response:
    guards.remove_guard(p, name)
    return Response(status_code=204)


@router.get("/v1/admin/likeness", response_model=schemas.LikenessList)
def list_people(p: PlatformDep, _admin: AdminAccount) -> dict[str, Any]:
    return {"object": "list", "data": likeness.list_people(p)}


@router.post("/v1/admin/likeness", status_code=201, response_model=schemas.LikenessPerson)
async def enroll(request: Request, p: PlatformDep, admin: AdminAccount) -> dict[str, Any]:
    """Multipart: `name`, optional `public_figure` (true/false), one or more `photo` files."""
    require_multipart(request, "`name` and `photo` files")
    form = await request.form(max_files=10, max_fields=5)
    try:
        check_form(form)  # the edge rule: text fields and file names
        photos = [
            await read_limited(item, p.settings.max_upload_bytes, "a photo")
            for item in form.getlist("photo")
            if isinstance(item, UploadFile)
        ]
        name = str(form.get("name") or "")
        public = str(form.get("public_figure") or "false").lower() in ("1", "true", "yes")
    finally:
        await form.close()
    return await run_in_threadpool(
        likeness.enroll, p, name, photos, public_figure=public, actor=f"reviewer:{admin.id}"
    )


@router.post("/v1/admin/likeness/{person_id}/grant", response_model=schemas.LikenessPerson)
def grant(
    person_id: PersonId, body: ConsentRequest, p: PlatformDep, admin: AdminAccount
) -> dict[str, Any]:
    return likeness.grant(p, person_id, body.account, actor=f"reviewer:{admin.id}")


@router.post("/v1/admin/likeness/{person_id}/revoke", response_model=schemas.LikenessPerson)
def revoke(
    person_id: PersonId, body: ConsentRequest, p: PlatformDep, admin: AdminAccount
) -> dict[str, Any]:
    return likeness.revoke(p, person_id, body.account, actor=f"reviewer:{admin.id}")


@router.post(
    "/v1/verify",
    response_model=schemas.Verification,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": "The MP4 to check.",
                            }
                        },
                    }
                }
            },
        }
    },
)
async def verify_upload(
    request: Request, p: PlatformDep, _account: CurrentAccount
) -> dict[str, Any]:
    """What a video carries: visible label, AIGC metadata, watermark, C2PA manifest, verdict."""
    import tempfile
    from pathlib import Path

    from reelforge.services.provenance.marking import verify as verify_marks

    with tempfile.TemporaryDirectory(prefix="reelforge-verify-") as tmp:
        local = Path(tmp) / "upload"  # written once, as it streams, up to the limit
        await save_file_field(request, "file", local, p.settings.max_verify_bytes)
        async with verify_slots(request).hold():  # decoding off the loop, a few at once
            return await run_in_threadpool(verify_marks, p, local)
