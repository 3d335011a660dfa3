"""Tenant scoping. Every read and write in the API passes through a Scope.

Objects of another tenant are answered with 404, exactly like missing ones, so ids cannot be
probed. Roles that have no business with a resource at all get 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from backbeat.domain.accounts import Principal, Role
from backbeat.errors import Forbidden, NotFound, ValidationFailed


@dataclass(frozen=True)
class Scope:
    principal: Principal

    @property
    def is_admin(self) -> bool:
        return self.principal.role is Role.ADMIN

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("only the network operator (admin) may do this")

    # advertiser side -------------------------------------------------------
    def advertiser_where(self) -> dict[str, object]:
        """Filters that restrict a listing of advertiser-owned objects to this caller."""
        if self.is_admin:
            return {}
        if self.principal.role is Role.ADVERTISER:
            return {"advertiser_id": self.principal.advertiser_id}
        raise Forbidden("publisher accounts cannot access advertiser objects")

    def sees_advertiser(self, advertiser_id: int) -> bool:
        if self.is_admin:
            return True
        return (
            self.principal.role is Role.ADVERTISER and self.principal.advertiser_id == advertiser_id
        )

    def check_advertiser(self, advertiser_id: int, kind: str, ident: object) -> None:
        self.advertiser_where()  # 403 for publishers
        if not self.sees_advertiser(advertiser_id):
            raise NotFound(kind, ident)

    def owning_advertiser(self, requested: int | None) -> int:
        """The advertiser a new object belongs to: the caller's own, or the admin's choice."""
        if self.is_admin:
            if requested is None:
                raise ValidationFailed.one("advertiser_id", "required for admin callers")
            return requested
        self.advertiser_where()
        own = self.principal.advertiser_id
        assert own is not None
        if requested is not None and requested != own:
            raise NotFound("advertiser", requested)
        return own

    # publisher side --------------------------------------------------------
    def publisher_where(self) -> dict[str, object]:
        if self.is_admin:
            return {}
        if self.principal.role is Role.PUBLISHER:
            return {"publisher_id": self.principal.publisher_id}
        raise Forbidden("advertiser accounts cannot access publisher objects")

    def sees_publisher(self, publisher_id: int) -> bool:
        if self.is_admin:
            return True
        return self.principal.role is Role.PUBLISHER and self.principal.publisher_id == publisher_id

    def check_publisher(self, publisher_id: int, kind: str, ident: object) -> None:
        self.publisher_where()
        if not self.sees_publisher(publisher_id):
            raise NotFound(kind, ident)

    def owning_publisher(self, requested: int | None) -> int:
        if self.is_admin:
            if requested is None:
                raise ValidationFailed.one("publisher_id", "required for admin callers")
            return requested
        self.publisher_where()
        own = self.principal.publisher_id
        assert own is not None
        if requested is not None and requested != own:
            raise NotFound("publisher", requested)
        return own
