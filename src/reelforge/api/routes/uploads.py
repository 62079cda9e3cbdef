"""/v1/uploads: images for image-to-video, validated before they are stored."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from reelforge.api import schemas
from reelforge.api.deps import CurrentAccount, PlatformDep
from reelforge.api.multipart import read_file_field
from reelforge.api.params import UploadId
from reelforge.services.jobs.uploads import create_upload, delete_upload, get_upload

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])


_FORM_SCHEMA = {
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
                            "description": "JPEG, PNG or WebP image",
                        }
                    },
                }
            }
        },
    }
}


@router.post("", status_code=201, openapi_extra=_FORM_SCHEMA, response_model=schemas.Upload)
async def upload(request: Request, p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    """Multipart form with one field `file`. Returns `{"id", ...}` to use as image_upload_id."""
    # the body limit (api.limits) refuses a declared or streamed body past the upload limit;
    # the file is counted as it streams and kept in memory only (never spooled to disk)
    data, filename = await read_file_field(request, "file", p.settings.max_upload_bytes)
    view = await run_in_threadpool(create_upload, p, account, data, filename)
    return view.to_dict()


@router.get("/{upload_id}", response_model=schemas.Upload)
def show_upload(upload_id: UploadId, p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    return get_upload(p, account, upload_id).to_dict()


@router.delete("/{upload_id}", response_model=schemas.Upload)
def remove_upload(upload_id: UploadId, p: PlatformDep, account: CurrentAccount) -> dict[str, Any]:
    """Delete an uploaded image. The upload stays listed as `deleted` (audit, job history);
    refused (409 `upload_in_use`) while a job that has not finished reads it."""
    return delete_upload(p, account, upload_id).to_dict()
