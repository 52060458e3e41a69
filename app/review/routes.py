from fastapi import APIRouter, Depends

from app.auth.deps import supervisor

router = APIRouter(prefix="/admin/feedback", dependencies=[Depends(supervisor)])
