"""The "Start your campaign" wizard's form: its steps, the draft it carries, and its checks.

State travels in the form itself: every step posts all values so far (the current step's
inputs plus hidden fields for the others), and every POST re-checks everything up to the
current step with the domain's own rules (`Campaign.validate`, `Creative.validate`,
`targeting_from`, `check_image`), so a hand-edited hidden field gains nothing. The image is
the one thing too big to carry: once checked it is kept, content-addressed, in a staging
directory outside the served uploads, and only its name travels. Nothing reaches the catalog
or the uploads before the final submit; staged files nobody submits are swept after a day.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pydantic

from backbeat.domain.campaign import Campaign, FrequencyCap, Objective, Pricing, Targeting
from backbeat.domain.creative import AssetKind, Creative, DestinationKind
from backbeat.domain.money import MICROS, to_micros
from backbeat.domain.taxonomy import AdFormat, DeviceType, Size
from backbeat.errors import BackbeatError, PayloadTooLarge, ValidationFailed
from backbeat.store.catalog.protocol import Catalog
from backbeat.web.api.campaigns import TargetingIn, check_references, targeting_from
from backbeat.web.api.creatives import add_creative
from backbeat.web.api.tenancy import Scope
from backbeat.web.api.uploads import check_image, store_image
from backbeat.web.dashboard.form_errors import FormErrors
from backbeat.web.dashboard.wizard_forecast import ForecastInput

STEPS: tuple[str, ...] = ("objective", "budget", "audience", "creative", "confirm")
STEP_TITLES = {
    "objective": "Objective",
    "budget": "Budget and schedule",
    "audience": "Audience",
    "creative": "Creative",
    "confirm": "Check and submit",
}
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "objective": ("advertiser_id", "name", "objective"),
    "budget": ("budget_total", "pricing", "bid", "start", "end", "timezone", "cap"),
    "audience": ("genres", "countries", "devices", "audiences"),
    "creative": ("size", "file", "destination_url", "destination_kind", "alt_text",
                 "creative_name"),
    "confirm": (),
}  # fmt: skip
SINGLE = (
    "draft", "advertiser_id", "name", "objective", "budget_total", "pricing", "bid", "start",
    "end", "timezone", "cap", "countries", "size", "destination_url", "destination_kind",
    "alt_text", "creative_name", "staged",
)  # fmt: skip
LISTS = ("genres", "devices", "audiences")
LABELS = {
    "advertiser_id": "Advertiser", "name": "Campaign name", "objective": "Objective",
    "budget_total": "Total budget", "pricing": "Pricing", "bid": "Bid", "start": "Start date",
    "end": "End date", "timezone": "Time zone", "cap": "Frequency cap", "genres": "Genres",
    "countries": "Countries", "devices": "Devices", "audiences": "Audiences",
    "size": "Ad size", "file": "Image", "destination_url": "Destination URL",
    "destination_kind": "Destination kind", "alt_text": "Alt text",
    "creative_name": "Creative name",
}  # fmt: skip
CAMPAIGN_ALIASES = {
    "targeting.genres": "genres",
    "targeting.countries": "countries",
    "targeting.devices": "devices",
    "targeting.audiences": "audiences",
    "targeting.sites_include": "audiences",
    "frequency_cap.impressions": "cap",
    "frequency_cap.hours": "cap",
    "budget_total": "budget_total",
}
CREATIVE_ALIASES = {"name": "creative_name", "asset_url": "file", "asset_kind": "size"}
FORECAST_FIELDS = (*STEP_FIELDS["budget"], "genres", "countries", "devices")
OWNER = {name: step for step, names in STEP_FIELDS.items() for name in names}
STAGING = "wizard-staging"
STAGE_TTL_S = 24 * 3600
_STAGED_RE = re.compile(r"[0-9a-f]{32}\.(png|jpg|gif|webp)")
_DRAFT_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_MAX_LEN = 2048
_MAX_ITEMS = 300


class MultiDict(Protocol):
    def getlist(self, key: Any) -> list[Any]: ...


@dataclass(frozen=True)
class Draft:
    """Everything typed so far, as text; nothing here is trusted until checked."""

    values: Mapping[str, str]
    lists: Mapping[str, tuple[str, ...]]

    @classmethod
    def read(cls, data: MultiDict) -> Draft:
        values: dict[str, str] = {}
        for name in SINGLE:
            got = [v for v in data.getlist(name) if isinstance(v, str)]
            values[name] = got[-1].strip()[:_MAX_LEN] if got else ""
        if not _DRAFT_RE.fullmatch(values["draft"]):
            values["draft"] = secrets.token_urlsafe(16)
        lists = {}
        for name in LISTS:
            items = (v.strip()[:64] for v in data.getlist(name) if isinstance(v, str))
            lists[name] = tuple(dict.fromkeys(i for i in items if i))[:_MAX_ITEMS]
        return cls(values, lists)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def getlist(self, name: str) -> tuple[str, ...]:
        return self.lists.get(name, ())

    def with_values(self, **changes: str) -> Draft:
        return replace(self, values={**self.values, **changes})

    def with_defaults(self, today: date, timezone: str, floor_cpm_micros: int) -> Draft:
        """Blank budget fields filled with the suggestions the first visit shows."""
        defaults = {
            "pricing": Pricing.CPM.value,
            "bid": f"{floor_cpm_micros / MICROS:.2f}",
            "start": today.isoformat(),
            "end": (today + timedelta(days=30)).isoformat(),
            "timezone": timezone,
            "cap": "3",
        }
        return self.with_values(**{k: v for k, v in defaults.items() if not self.get(k)})

    def hidden(self, step: str) -> list[tuple[str, str]]:
        """(name, value) pairs for hidden inputs: every carried value not shown on `step`."""
        shown = set(STEP_FIELDS[step])
        out = [(n, v) for n, v in self.values.items() if v and n not in shown]
        for name, items in self.lists.items():
            if name not in shown:
                out.extend((name, item) for item in items)
        return out


@dataclass(frozen=True)
class Context:
    """What the checks need from the request and the server."""

    catalog: Catalog
    scope: Scope
    floor_cpm_micros: int
    max_upload_bytes: int
    staging_dir: Path
    now: datetime


@dataclass(frozen=True)
class Checked:
    draft: Draft
    errors: FormErrors
    campaign: Campaign | None  # None when any campaign field up to the step is wrong
    creative: Creative | None
    image: bytes | None
    forecast_input: ForecastInput | None


def first_step_with_errors(errors: FormErrors, default: str) -> str:
    owners = [OWNER[name] for name in errors.by_field if name in OWNER]
    return min(owners, key=STEPS.index) if owners else default


def _within(step: str, upto: str) -> bool:
    return STEPS.index(step) <= STEPS.index(upto)


def _advertiser(draft: Draft, ctx: Context, errors: FormErrors) -> int | None:
    requested: int | None = None
    if ctx.scope.is_admin:
        raw = draft.get("advertiser_id")
        if not raw.isdigit() or ctx.catalog.advertisers.find(int(raw)) is None:
            errors.add("advertiser_id", "choose the advertiser this campaign is for")
            return None
        requested = int(raw)
    try:
        return ctx.scope.owning_advertiser(requested)
    except BackbeatError as exc:
        errors.absorb(exc)
        return None


def _micros(draft: Draft, name: str, errors: FormErrors) -> int | None:
    raw = draft.get(name)
    if not raw:
        errors.add(name, "required")
        return None
    try:
        return to_micros(raw, name)
    except ValidationFailed as exc:
        errors.absorb(exc)
        return None


def _date(draft: Draft, name: str, errors: FormErrors) -> date | None:
    try:
        return date.fromisoformat(draft.get(name))
    except ValueError:
        errors.add(name, "give a date such as 2026-05-01")
        return None


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return None


def _targeting(draft: Draft, objective: Objective | None, errors: FormErrors) -> Targeting:
    devices: list[DeviceType] = []
    for value in draft.getlist("devices"):
        try:
            devices.append(DeviceType(value))
        except ValueError:
            errors.add("devices", f"unknown device {value[:20]!r}")
    audiences = []
    for value in draft.getlist("audiences"):
        if value.isdigit():
            audiences.append(int(value))
        else:
            errors.add("audiences", f"unknown audience {value[:20]!r}")
    if objective is Objective.RETARGETING and not audiences:
        errors.add(
            "audiences", "retargeting reaches people who already engaged: choose an audience"
        )
    countries = [c for c in re.split(r"[\s,;]+", draft.get("countries")) if c]
    try:
        body = TargetingIn(
            genres=list(draft.getlist("genres")),
            countries=countries,
            devices=devices,
            audiences=audiences,
        )
        return targeting_from(body)
    except ValidationFailed as exc:
        errors.absorb(exc, CAMPAIGN_ALIASES)
    except pydantic.ValidationError:
        errors.add("countries", "too many countries or genres")
    return Targeting()


def _campaign(
    draft: Draft, ctx: Context, upto: str, errors: FormErrors
) -> tuple[Campaign, ForecastInput | None]:
    """The campaign built from the draft (with placeholders where values are missing, so
    the domain still checks everything else), and the planner's input when the budget step
    is sound."""
    advertiser_id = _advertiser(draft, ctx, errors)
    try:
        objective: Objective | None = Objective(draft.get("objective"))
    except ValueError:
        objective = None
        errors.add("objective", "choose awareness, traffic or retargeting")
    try:
        pricing = Pricing(draft.get("pricing") or Pricing.CPM.value)
    except ValueError:
        pricing = Pricing.CPM
        errors.add("pricing", "choose CPM or CPC")
    budget = _micros(draft, "budget_total", errors)
    bid = _micros(draft, "bid", errors)
    tz_name = draft.get("timezone") or "UTC"
    zone = _zone(tz_name) or ZoneInfo("UTC")
    start_day, end_day = _date(draft, "start", errors), _date(draft, "end", errors)
    if start_day is not None and start_day < ctx.now.astimezone(zone).date():
        errors.add("start", "the start date has passed; choose today or later")
    start = datetime.combine(start_day or ctx.now.date(), dtime(0), zone)
    # The end date is the last day of the flight, so the flight ends at the next midnight.
    end = datetime.combine((end_day or ctx.now.date()) + timedelta(days=1), dtime(0), zone)
    cap: FrequencyCap | None = None
    raw_cap = draft.get("cap")
    if raw_cap.isdigit():
        cap = FrequencyCap(int(raw_cap), 24)
    elif raw_cap:
        errors.add("cap", "a whole number of ads per person per day, or blank for no cap")
    targeting = _targeting(draft, objective, errors) if _within("audience", upto) else Targeting()
    campaign = Campaign(
        advertiser_id=advertiser_id or 0,
        name=draft.get("name"),
        objective=objective or Objective.AWARENESS,
        pricing=pricing,
        bid_micros=bid or 0,
        budget_total_micros=budget or 0,
        start=start,
        end=end,
        timezone=tz_name,
        frequency_cap=cap,
        targeting=targeting,
    )
    already = set(errors.by_field)
    try:
        campaign.validate(ctx.floor_cpm_micros)
    except ValidationFailed as exc:
        for item in exc.fields:
            name = CAMPAIGN_ALIASES.get(item.field, item.field)
            if name not in already:
                errors.add(name, item.reason)
    if advertiser_id is not None and _within("audience", upto) and not errors.has("audiences"):
        try:
            check_references(ctx.catalog, ctx.scope, campaign)
        except BackbeatError as exc:
            errors.absorb(exc, CAMPAIGN_ALIASES)
    # Audiences narrow who sees the ad, not which slots it can fill: no bearing on forecasts.
    sound = not any(errors.has(n) for n in FORECAST_FIELDS)
    forecast_input = None
    if sound and budget and bid:
        days = max(1, (campaign.end - campaign.start).days)
        forecast_input = ForecastInput(budget, pricing, bid, days, cap, targeting)
    return campaign, forecast_input


def _staged_image(
    draft: Draft, ctx: Context, size: Size | None, upload: bytes | None, errors: FormErrors
) -> tuple[Draft, bytes | None]:
    """Check a new upload (and stage it) or the one staged before, against the chosen size."""
    data = upload
    name = draft.get("staged")
    if data is None and _STAGED_RE.fullmatch(name):
        path = ctx.staging_dir / name
        data = path.read_bytes() if path.is_file() else None
        if data is None:
            errors.add("file", "the image uploaded earlier has expired; choose it again")
            return draft.with_values(staged=""), None
    if data is None:
        errors.add("file", "choose the image to show (PNG, JPEG, GIF or WebP)")
        return draft, None
    if size is None:
        return draft, None
    try:
        ext = check_image(data, size, ctx.max_upload_bytes, "file")
    except PayloadTooLarge:
        limit = ctx.max_upload_bytes
        shown = f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit:,} bytes"
        errors.add("file", f"the file is larger than the {shown} limit")
        errors.status = 413
        return draft.with_values(staged=""), None
    except ValidationFailed as exc:
        errors.absorb(exc)
        return draft.with_values(staged=""), None
    if upload is not None:
        sweep_staging(ctx.staging_dir)
        draft = draft.with_values(staged=store_image(data, ext, ctx.staging_dir))
    return draft, data


def _creative(
    draft: Draft, ctx: Context, advertiser_id: int, upload: bytes | None, errors: FormErrors
) -> tuple[Draft, Creative | None, bytes | None]:
    size: Size | None = None
    try:
        size = Size.parse(draft.get("size") or "-", "size")
    except ValidationFailed:
        errors.add("size", "choose the size of your image")
    draft, image = _staged_image(draft, ctx, size, upload, errors)
    try:
        kind: DestinationKind | None = DestinationKind(draft.get("destination_kind"))
    except ValueError:
        kind = None
        errors.add("destination_kind", "choose where the ad sends people")
    creative = Creative(
        advertiser_id=advertiser_id,
        campaign_id=0,
        name=draft.get("creative_name") or f"{draft.get('name')} {draft.get('size')}".strip(),
        format=AdFormat.DISPLAY,
        size=size or Size(300, 250),
        asset_kind=AssetKind.IMAGE,
        asset_url="pending",
        destination_url=draft.get("destination_url"),
        destination_kind=kind or DestinationKind.WEBSITE,
        alt_text=draft.get("alt_text"),
    )
    already = set(errors.by_field)
    try:
        creative.validate()
    except ValidationFailed as exc:
        for item in exc.fields:
            name = CREATIVE_ALIASES.get(item.field, item.field)
            if name not in already:
                errors.add(name, item.reason)
    ok = size is not None and kind is not None and image is not None
    return draft, (creative if ok else None), image


def check(draft: Draft, upto: str, ctx: Context, upload: bytes | None = None) -> Checked:
    """Check every step up to and including `upto`. Errors of later steps are not shown
    (their fields are simply not filled in yet)."""
    errors = FormErrors()
    campaign, forecast_input = _campaign(draft, ctx, upto, errors)
    creative = image = None
    if _within("creative", upto):
        draft, creative, image = _creative(draft, ctx, campaign.advertiser_id, upload, errors)
    shown = [n for step in STEPS if _within(step, upto) for n in STEP_FIELDS[step]]
    errors = errors.only(shown)
    return Checked(
        draft,
        errors,
        None if errors else campaign,
        None if errors else creative,
        image,
        forecast_input,
    )


def commit(checked: Checked, ctx: Context, uploads_dir: Path, base_url: str) -> Creative:
    """Create the draft campaign and its pending creative in one catalog transaction; the
    image is published to the uploads only for that, and withdrawn if the transaction fails."""
    campaign, creative, image = checked.campaign, checked.creative, checked.image
    assert campaign is not None and creative is not None and image is not None
    ext = check_image(image, creative.size, ctx.max_upload_bytes, "file")
    # Staged and published names are the same content address, so this tells whether
    # another creative already uses the very same file (which must then stay).
    existed = (uploads_dir / checked.draft.get("staged")).is_file()
    filename = store_image(image, ext, uploads_dir)
    try:
        with ctx.catalog.transaction():
            check_references(ctx.catalog, ctx.scope, campaign)
            saved = ctx.catalog.campaigns.add(campaign)
            assert saved.id is not None
            url = f"{base_url}/uploads/{filename}"
            stored = add_creative(
                ctx.catalog, ctx.scope, replace(creative, campaign_id=saved.id, asset_url=url)
            )
    except BaseException:
        if not existed:
            (uploads_dir / filename).unlink(missing_ok=True)
        raise
    (ctx.staging_dir / checked.draft.get("staged")).unlink(missing_ok=True)
    return stored


def sweep_staging(staging_dir: Path, max_age_s: float = STAGE_TTL_S) -> int:
    """Delete staged images older than `max_age_s` (drafts nobody submitted)."""
    if not staging_dir.is_dir():
        return 0
    cutoff = time.time() - max_age_s
    gone = 0
    for path in staging_dir.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                gone += 1
        except FileNotFoundError:
            continue
    return gone
