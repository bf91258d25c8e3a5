"""``/api/v1/site``: the site's geometry (towers, perimeter, river, zones) for maps."""

from __future__ import annotations

from fastapi import APIRouter

from perimeter.site import Site
from services.api.deps import StateDep

router = APIRouter(prefix="/site", tags=["site"])


@router.get("", response_model=Site)
def get_site(state: StateDep) -> Site:
    """The site the API serves, in the site's east-north metric frame."""
    return state.site
