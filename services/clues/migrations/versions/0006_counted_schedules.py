"""The holiday schedules the deadlines were last counted with: a schedule read again at every start moves nothing
already counted with it; one published while the service was away moves the days it changed since.

Revision ID: 0006
Revises: 0005
"""
from jsp_common.migrations import counted_schedules_revision

revision, down_revision, branch_labels, depends_on = "0006", "0005", None, None
upgrade, downgrade = counted_schedules_revision()
