from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.db import SessionDep
from app.health import service as health
from app.health.service import Health

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=Health,
    summary="Whether this instance can serve: database reachable, release published",
    responses={503: {"model": Health, "description": "The database is unreachable"}},
)
def healthz(session: SessionDep) -> JSONResponse:
    result = health.check(session)
    status = 503 if result.database == "unreachable" else 200
    return JSONResponse(
        result.model_dump(), status_code=status, headers={"Cache-Control": "no-store"}
    )
