"""What is meant to be public: the departments of joint supervision (names and codes are public facts) and the
topics of each one's own its system subscribes to."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from jsp_common import departments
from jsp_common.topics import (DEPARTMENT_ALERTS, DEPARTMENT_CLUES, DEPARTMENT_INSPECTIONS, DEPARTMENT_TEMPLATES,
                               NOTIFICATIONS, department_topic)

from .security import public_caller

router = APIRouter(prefix="/public", tags=["public"], dependencies=[Depends(public_caller)])


class DepartmentOut(BaseModel):
    code: str
    name: str
    agency: str
    division_code: str
    notifications_topic: str = Field(description="dual notifications (双告知), reminders, acknowledgements")
    clues_topic: str = Field(description="clues dispatched to it, chasers (催办), escalations (督办), deadlines")
    inspections_topic: str = Field(description="its parts of joint inspection tasks, results recorded there and "
                                               "their publication deadlines")
    alerts_topic: str = Field(description="risk alerts (风险预警) about the entities it is responsible for")
    topics: list[str] = Field(description="Every topic of its own (`dept.<code>.`, the prefix its Kafka user may "
                                          "read), as the topic catalogue has them; what each carries: "
                                          "docs/asyncapi.yaml")


@router.get("/departments", response_model=list[DepartmentOut],
            summary="Departments, with the topics their systems subscribe to")
async def list_departments() -> list[DepartmentOut]:
    return [DepartmentOut(code=d.code, name=d.name, agency=d.agency_code, division_code=d.division_code,
                          notifications_topic=department_topic(NOTIFICATIONS, d.code),
                          clues_topic=department_topic(DEPARTMENT_CLUES, d.code),
                          inspections_topic=department_topic(DEPARTMENT_INSPECTIONS, d.code),
                          alerts_topic=department_topic(DEPARTMENT_ALERTS, d.code),
                          topics=[department_topic(t, d.code) for t in DEPARTMENT_TEMPLATES])
            for d in departments.all_departments()]
