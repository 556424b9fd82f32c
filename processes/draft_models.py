"""Tables of work in progress on tasks: saved drafts of task forms (暂存) and attachments (附件) of cases.

Imported at the end of `processes.models`, so Alembic sees both tables; `processes.drafts` and
`processes.attachments` read and write them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from processes.models import Base
from processes.models import new_id


class TaskDraft(Base):
    """The values one user typed into a task form and saved without submitting (暂存), encrypted.

    Free text typed into a form is personal data (complaint details, names, numbers), so `data` holds the JSON of
    the values encrypted with the personal-data key (field name "task_draft"); it is deleted when the task ends.
    """

    __tablename__ = "task_draft"

    task_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    data: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime]


class Attachment(Base):
    """A file attached to a case (附件: photo, document, recording), stored outside the web root by its id.

    The file's name on disk is the random id; the name the user gave it is kept (cleaned) only to offer it back
    on download. `sha256` proves the stored bytes are the ones uploaded.
    """

    __tablename__ = "attachment"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey("hotline_case.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    original_name: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime]
