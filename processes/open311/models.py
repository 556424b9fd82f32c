"""Tables of Open311 (GeoReport v2): the request details a case has no column for."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from processes.db.base import Base
from processes.db.base import new_id


class Open311Request(Base):
    """A service request received through Open311 (网络诉求): its service, place, photo link and contact ids.

    The case holds what every channel has (诉求内容, 发生地址, the requester); this row holds what only Open311 sends.
    `contact` is the JSON of e-mail, device id and account id, encrypted like requester fields (personal data);
    `lat`, `long` and `media_url` describe the reported matter and are shown by GET, like the case's address.
    """

    __tablename__ = "open311_request"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)  # key rotation walks by id
    case_id: Mapped[str] = mapped_column(sa.ForeignKey("hotline_case.id"), unique=True)
    service_code: Mapped[str] = mapped_column(sa.String(32), index=True)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    long: Mapped[float | None] = mapped_column(sa.Float)
    media_url: Mapped[str | None] = mapped_column(sa.String(500))
    contact: Mapped[str | None] = mapped_column(sa.Text)
    submitted_by: Mapped[str] = mapped_column(sa.String(64))  # the API key's audit actor (api:<name>)
    created_at: Mapped[datetime] = mapped_column(index=True)
