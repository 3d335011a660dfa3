"""What the rest of Backbeat may ask of the catalog. Repositories speak domain objects only.

Filters (`where`) map column names to values (``{"advertiser_id": 3, "status": "active"}``);
a set or list value means "any of"; the key ``q`` is a case-insensitive substring match on the
name. Unknown filter names raise ValueError: a programming error, never user input, because
the API maps query parameters to filters explicitly.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from backbeat.domain.accounts import ApiToken, User
from backbeat.domain.audience import Audience
from backbeat.domain.campaign import Campaign
from backbeat.domain.creative import Creative
from backbeat.domain.inventory import Placement, Site
from backbeat.domain.parties import Advertiser, Publisher

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class Repository(Protocol[T]):
    """CRUD over one kind of object. `get` raises NotFound; `add` returns the stored copy
    with `id` and `created_at` set; `update` replaces by id and raises NotFound if absent."""

    def add(self, obj: T) -> T: ...

    def get(self, ident: int) -> T: ...

    def find(self, ident: int) -> T | None: ...

    def update(self, obj: T) -> T: ...

    def delete(self, ident: int) -> None: ...

    def page(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        order: str = "id",
        where: Mapping[str, object] | None = None,
    ) -> Page[T]:
        """`order` is a column name, `-name` for descending."""
        ...

    def all(self, where: Mapping[str, object] | None = None) -> builtins.list[T]: ...


class UserRepository(Repository[User], Protocol):
    def by_email(self, email: str) -> User | None: ...


class TokenRepository(Repository[ApiToken], Protocol):
    def by_hash(self, token_hash: str) -> ApiToken | None: ...

    def touch(self, ident: int, when: datetime) -> None: ...


@dataclass(frozen=True)
class ServingSnapshot:
    """Everything the ad decision needs, read in one consistent transaction."""

    version: int
    campaigns: list[Campaign]  # status active
    creatives: list[Creative]  # approved, of those campaigns
    sites: list[Site]
    placements: list[Placement]  # active
    audiences: list[Audience]


class Catalog(Protocol):
    advertisers: Repository[Advertiser]
    publishers: Repository[Publisher]
    campaigns: Repository[Campaign]
    creatives: Repository[Creative]
    sites: Repository[Site]
    placements: Repository[Placement]
    audiences: Repository[Audience]
    users: UserRepository
    tokens: TokenRepository

    def transaction(self) -> AbstractContextManager[None]:
        """Group several repository calls into one atomic unit (nested calls join it)."""
        ...

    def version(self) -> int:
        """A counter that grows on every committed change; the serving index polls it."""
        ...

    def serving_snapshot(self) -> ServingSnapshot: ...

    def close(self) -> None: ...


def iter_pages(
    repo: Repository[T], page_size: int = 500, where: Mapping[str, object] | None = None
) -> Iterator[T]:
    offset = 0
    while True:
        page = repo.page(limit=page_size, offset=offset, where=where)
        yield from page.items
        offset += page_size
        if offset >= page.total:
            return
