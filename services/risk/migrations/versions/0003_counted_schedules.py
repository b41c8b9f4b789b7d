"""The holiday schedules the deadlines were last counted with: a schedule read again at every start moves nothing
already counted with it; one published while the service was away moves the days it changed since.

Revision ID: 0003
Revises: 0002
"""
from jsp_common.migrations import counted_schedules_revision

revision, down_revision, branch_labels, depends_on = "0003", "0002", None, None
upgrade, downgrade = counted_schedules_revision()
