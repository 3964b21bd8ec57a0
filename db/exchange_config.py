"""Each user's selected exchange (GET/POST /api/users/exchange-config): the exchange a trader
they create without naming one trades on. No row: the paper exchange."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class UserExchangeConfig(Base):
    __tablename__ = "user_exchange_configs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    selected_exchange: Mapped[str] = mapped_column(String(32))  # domain.vocabulary.Exchange
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
