"""The likeness consent registry: people enrol reference photos (kept as face embeddings,
not photos, unless RF_LIKENESS_KEEP_PHOTOS), grant consent to accounts or to everyone, and
revoke it at any time. A registered face in a job's input or output without consent for the
requesting account is a finding (real_person, or public_figure for public-figure entries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from reelforge.app.platform import Platform
from reelforge.domain.account import AccountRef
from reelforge.domain.job import new_id
from reelforge.errors import InvalidImage, InvalidRequest, NotFound
from reelforge.governance.detectors import detectors
from reelforge.governance.signals import Category, Signal
from reelforge.media.images import inspect_image, load_image
from reelforge.services.governance import audit
from reelforge.storage import repositories as repo
from reelforge.storage.tables import LikenessConsent, LikenessFace, LikenessPerson

EVERYONE = "*"


@dataclass(frozen=True)
class Match:
    person_id: str
    name: str
    public_figure: bool
    distance: float
    consented: bool


def _faces_of(p: Platform, data: bytes, index: int) -> tuple[np.ndarray, str]:
    """The one face's embedding in an enrolment photo, and the photo's content type."""
    try:
        content_type = inspect_image(data, max_pixels=p.settings.max_image_pixels).content_type
        rgb = load_image(data, max_pixels=p.settings.max_image_pixels)
    except InvalidImage as exc:
        raise InvalidImage(f"photo {index + 1}: {exc.message}", field="photos") from None
    faces = detectors().image.faces(rgb)
    if len(faces) != 1:
        raise InvalidRequest(
            f"photo {index + 1} shows {len(faces)} faces; enrol photos with exactly one face",
            code="no_single_face",
            field="photos",
        )
    embedding = faces[0].embedding
    assert embedding is not None
    return np.asarray(embedding, dtype=np.float64), content_type


def enroll(
    p: Platform,
    name: str,
    photos: list[bytes],
    *,
    public_figure: bool = False,
    actor: str = "operator",
) -> dict[str, Any]:
    """Register a person from reference photos (each with exactly one face)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidRequest("name must be 1-200 characters", field="name")
    if not photos:
        raise InvalidRequest("enrol at least one photo", field="photos")
    checked = [_faces_of(p, data, i) for i, data in enumerate(photos)]
    embeddings = [emb for emb, _ in checked]
    kept = (
        [p.blobs.put_bytes(data, ctype) for data, (_, ctype) in zip(photos, checked, strict=True)]
        if p.settings.likeness_keep_photos
        else []
    )
    now = p.clock()
    with p.db.session() as s:
        person = LikenessPerson(
            id=new_id("psn"), name=name, public_figure=public_figure, created_at=now
        )
        s.add(person)
        s.flush()
        for i, emb in enumerate(embeddings):
            blob = kept[i] if kept else None
            if blob is not None:
                repo.register_blob(s, blob, now)
            s.add(
                LikenessFace(
                    person_id=person.id,
                    embedding=[float(x) for x in emb],
                    photo_blob=blob.key if blob else None,
                    created_at=now,
                )
            )
        audit.record(
            s,
            now,
            actor=actor,
            action="likeness.enroll",
            subject=person.id,
            data={
                "name": name,
                "public_figure": public_figure,
                "faces": len(embeddings),
                "photos_kept": bool(kept),
            },
        )
        s.flush()
        return _view(s, person)


def _grantee(s: Session, account: str | None) -> str:
    if account is None:
        return EVERYONE
    return repo.account_named(s, account, or_id=True).id


def _person(s: Session, person_id: str) -> LikenessPerson:
    person = s.get(LikenessPerson, person_id)
    if person is None:
        raise NotFound(f"no person {person_id} in the likeness registry", code="person_not_found")
    return person


def grant(
    p: Platform, person_id: str, account: str | None, *, actor: str = "operator"
) -> dict[str, Any]:
    """Consent for one account (by name or id), or for everyone when `account` is None."""
    now = p.clock()
    with p.db.session() as s:
        person = _person(s, person_id)
        grantee = _grantee(s, account)
        if not _active(s, person_id, grantee):
            s.add(LikenessConsent(person_id=person_id, grantee=grantee, granted_at=now))
            audit.record(
                s,
                now,
                actor=actor,
                action="likeness.grant",
                subject=person_id,
                account_id=None if grantee == EVERYONE else grantee,
                data={"grantee": grantee},
            )
        s.flush()
        return _view(s, person)


def revoke(
    p: Platform, person_id: str, account: str | None, *, actor: str = "operator"
) -> dict[str, Any]:
    now = p.clock()
    with p.db.session() as s:
        person = _person(s, person_id)
        grantee = _grantee(s, account)
        for consent in _active(s, person_id, grantee):
            consent.revoked_at = now
        audit.record(
            s,
            now,
            actor=actor,
            action="likeness.revoke",
            subject=person_id,
            account_id=None if grantee == EVERYONE else grantee,
            data={"grantee": grantee},
        )
        s.flush()
        return _view(s, person)


def _active(s: Session, person_id: str, grantee: str) -> list[LikenessConsent]:
    return list(
        s.scalars(
            select(LikenessConsent).where(
                LikenessConsent.person_id == person_id,
                LikenessConsent.grantee == grantee,
                LikenessConsent.revoked_at.is_(None),
            )
        )
    )


def _view(s: Session, person: LikenessPerson) -> dict[str, Any]:
    faces = s.scalars(select(LikenessFace).where(LikenessFace.person_id == person.id)).all()
    consents = s.scalars(
        select(LikenessConsent).where(
            LikenessConsent.person_id == person.id, LikenessConsent.revoked_at.is_(None)
        )
    ).all()
    return {
        "id": person.id,
        "object": "likeness_person",
        "name": person.name,
        "public_figure": person.public_figure,
        "faces": len(faces),
        "consent": sorted(c.grantee for c in consents),
        "created_at": person.created_at.isoformat(),
    }


def list_people(p: Platform) -> list[dict[str, Any]]:
    with p.db.session(write=False) as s:
        people = s.scalars(select(LikenessPerson).order_by(LikenessPerson.created_at)).all()
        return [_view(s, person) for person in people]


def has_people(p: Platform) -> bool:
    with p.db.session(write=False) as s:
        return s.scalar(select(LikenessFace.id).limit(1)) is not None


def match(
    p: Platform, account: AccountRef, embeddings: list[np.ndarray], max_distance: float
) -> list[Match]:
    """Registered people among these faces, nearest first, with whether `account` may use
    their likeness."""
    if not embeddings:
        return []
    with p.db.session(write=False) as s:
        rows = s.execute(
            select(
                LikenessFace.person_id,
                LikenessFace.embedding,
                LikenessPerson.name,
                LikenessPerson.public_figure,
            ).join(LikenessPerson, LikenessPerson.id == LikenessFace.person_id)
        ).all()
        if not rows:
            return []
        refs = np.asarray([r.embedding for r in rows], dtype=np.float64)
        found: dict[str, Match] = {}
        for emb in embeddings:
            distances = np.linalg.norm(refs - np.asarray(emb, dtype=np.float64), axis=1)
            for i in np.flatnonzero(distances <= max_distance):
                row = rows[int(i)]
                d = float(distances[i])
                if row.person_id not in found or d < found[row.person_id].distance:
                    consented = bool(
                        _active(s, row.person_id, account.id) or _active(s, row.person_id, EVERYONE)
                    )
                    found[row.person_id] = Match(
                        row.person_id, row.name, row.public_figure, d, consented
                    )
    return sorted(found.values(), key=lambda m: m.distance)


def likeness_signals(matches: list[Match], source: str, max_distance: float) -> list[Signal]:
    """A finding for each registered person shown without consent."""
    return [
        Signal(
            Category.PUBLIC_FIGURE if m.public_figure else Category.REAL_PERSON,
            score=1.0,
            rule="likeness:registry",
            source=source,
            detail=f"{m.person_id} at distance {m.distance:.3f} (limit {max_distance})",
        )
        for m in matches
        if not m.consented
    ]
