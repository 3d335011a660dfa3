"""Shared API pieces: strict request models, money fields, pagination, listing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from backbeat.domain.money import from_micros, to_micros
from backbeat.errors import ValidationFailed
from backbeat.store.catalog.protocol import Page, Repository

D = TypeVar("D")
M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Request bodies reject unknown fields and wrong types (no silent coercion of junk)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Money travels as a decimal string ("12.50"); JSON numbers are accepted on input.
MoneyIn = Annotated[Decimal, Field(max_digits=18, decimal_places=6, allow_inf_nan=False)]


def micros(value: Decimal | None, field: str) -> int | None:
    return None if value is None else to_micros(value, field)


def money(value: int | None) -> str | None:
    return None if value is None else f"{from_micros(value):f}"


class PageOut(BaseModel, Generic[M]):
    items: list[M]
    total: int
    limit: int
    offset: int


class Paging:
    """`?limit=&offset=&order=` with bounds; `order` is validated against an allow-list."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        order: Annotated[str, Query(pattern=r"^-?(id|name|created_at)$")] = "id",
    ) -> None:
        self.limit = limit
        self.offset = offset
        self.order = order


def list_page(
    repo: Repository[D],
    paging: Paging,
    where: Mapping[str, object],
    render: Callable[[D], M],
) -> PageOut[M]:
    clean = {k: v for k, v in where.items() if v is not None}
    try:
        page: Page[D] = repo.page(
            limit=paging.limit, offset=paging.offset, order=paging.order, where=clean
        )
    except ValueError as exc:  # an order column this resource does not have
        raise ValidationFailed.one("order", str(exc)) from None
    return PageOut[Any](
        items=[render(x) for x in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


def patch_fields(body: BaseModel) -> dict[str, Any]:
    """The fields the client actually sent in a PATCH."""
    return body.model_dump(exclude_unset=True)
