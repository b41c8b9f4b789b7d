"""What is meant to be public: the departments of joint supervision (names and codes are public facts)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from jsp_common import departments
from jsp_common.topics import DEPARTMENT_ALERTS, DEPARTMENT_CLUES, NOTIFICATIONS, department_topic

from .security import public_caller

router = APIRouter(prefix="/public", tags=["public"], dependencies=[Depends(public_caller)])


class DepartmentOut(BaseModel):
    code: str
    name: str
    agency: str
    division_code: str
    notifications_topic: str
    clues_topic: str
    alerts_topic: str


@router.get("/departments", response_model=list[DepartmentOut],
            summary="Departments, with the topics their systems subscribe to")
async def list_departments() -> list[DepartmentOut]:
    return [DepartmentOut(code=d.code, name=d.name, agency=d.agency_code, division_code=d.division_code,
                          notifications_topic=department_topic(NOTIFICATIONS, d.code),
                          clues_topic=department_topic(DEPARTMENT_CLUES, d.code),
                          alerts_topic=department_topic(DEPARTMENT_ALERTS, d.code))
            for d in departments.all_departments()]
