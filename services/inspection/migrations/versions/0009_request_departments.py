"""Inspection requests answered per department asked: each department's part of a request is taken in by a
draw in which that department takes part, and covered by a published result where it inspected (one
department's visit answered a request to several, and closed it for all).

The parts of the requests on record: a part is planned in the request's task when the department takes part
in that task, and covered when the request was.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision, branch_labels, depends_on = "0009", "0008", None, None


def upgrade() -> None:
    op.create_table(
        "inspection_request_departments",
        sa.Column("request_id", sa.Text(), sa.ForeignKey("inspection_requests.request_id"), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text()),
        sa.Column("covered_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("request_id", "department"),
    )
    op.create_index("inspection_request_departments_open", "inspection_request_departments", ["department"],
                    postgresql_where=sa.text("covered_at IS NULL AND task_id IS NULL"))
    op.create_index("inspection_request_departments_task", "inspection_request_departments", ["task_id"],
                    postgresql_where=sa.text("covered_at IS NULL"))
    op.execute("""
        INSERT INTO inspection_request_departments (request_id, department, task_id, covered_at)
        SELECT r.request_id, d.department, CASE WHEN d.department = ANY(t.departments) THEN r.task_id END,
               r.covered_at
        FROM inspection_requests r CROSS JOIN LATERAL unnest(r.departments) AS d(department)
        LEFT JOIN tasks t ON t.id = r.task_id
        ON CONFLICT DO NOTHING""")
    op.drop_index("inspection_requests_open", table_name="inspection_requests")
    op.drop_column("inspection_requests", "task_id")
    op.drop_column("inspection_requests", "covered_at")
    op.create_index("inspection_requests_uscc", "inspection_requests", ["uscc"])


def downgrade() -> None:
    op.drop_index("inspection_requests_uscc", table_name="inspection_requests")
    op.add_column("inspection_requests", sa.Column("task_id", sa.Text()))
    op.add_column("inspection_requests", sa.Column("covered_at", sa.DateTime(timezone=True)))
    op.execute("""
        UPDATE inspection_requests r SET task_id = p.task_id, covered_at = p.covered_at
        FROM (SELECT request_id, min(task_id) AS task_id, min(covered_at) AS covered_at
              FROM inspection_request_departments GROUP BY request_id) p
        WHERE p.request_id = r.request_id""")
    op.create_index("inspection_requests_open", "inspection_requests", ["uscc"],
                    postgresql_where=sa.text("covered_at IS NULL"))
    op.drop_index("inspection_request_departments_task", table_name="inspection_request_departments")
    op.drop_index("inspection_request_departments_open", table_name="inspection_request_departments")
    op.drop_table("inspection_request_departments")
