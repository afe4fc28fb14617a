"""The teacher's released list: what they released, to whom, when, with the approved content;
by class and date range, 50 a page. The same query and view as ``GET /api/v1/review/released``."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from beacon.review import repository as reviews
from beacon.review.router import RELEASED_PAGE, day_bounds, released_view
from beacon.school.auth import session
from beacon.school.models import User
from beacon.web.rendering import render, teacher, uuid_or_none

router = APIRouter(include_in_schema=False)


def _day(value: str | None) -> date | None:
    """A date field as the browser sends it (YYYY-MM-DD); anything else is no bound."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/teacher/released", response_class=HTMLResponse)
async def released_page(request: Request, user: User = Depends(teacher), db=Depends(session)):
    params = request.query_params
    classes = await reviews.classes_taught(db, user.id)
    class_id = uuid_or_none(params.get("class_id"))
    if class_id is not None and class_id not in {c.id for c in classes}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    since, until = _day(params.get("since")), _day(params.get("until"))
    start, end = day_bounds(since, until)
    items, following = await reviews.released_by(db, user.id, class_id=class_id, since=start, until=end,
                                                  before=uuid_or_none(params.get("before")), limit=RELEASED_PAGE)
    filters = {"class_id": class_id, "since": since, "until": until}
    # The next page keeps the filters; only the cursor moves.
    kept = {k: str(v) for k, v in filters.items() if v}
    next_url = f"/teacher/released?{urlencode({**kept, 'before': following})}" if following else None
    return render(request, "teacher_released.html", user=user, classes=classes, filters=filters,
                  releases=[{**released_view(i), "when": i.release.released_at} for i in items], next_url=next_url,
                  first_page=not params.get("before"), first_url=f"/teacher/released?{urlencode(kept)}")
