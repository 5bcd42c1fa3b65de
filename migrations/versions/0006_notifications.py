"""notifications; users.email_notifications; media_assets.stream_pct_complete and stream_error

Revision ID: 0006_notifications
Revises: 0003_sign_in_attempts
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

revision = "0006_notifications"
down_revision = "0005_library"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_notifications_user_unread", ["user_id", "read_at"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_notifications", sa.Boolean(), server_default=sa.true(), nullable=False)
        )

    with op.batch_alter_table("media_assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stream_pct_complete", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("stream_error", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("media_assets", schema=None) as batch_op:
        batch_op.drop_column("stream_error")
        batch_op.drop_column("stream_pct_complete")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_notifications")

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_unread")
        batch_op.drop_index(batch_op.f("ix_notifications_created_at"))

    op.drop_table("notifications")
