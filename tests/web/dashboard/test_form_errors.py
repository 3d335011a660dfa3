"""Domain errors mapped onto form inputs."""

from __future__ import annotations

from backbeat.errors import Conflict, FieldError, PayloadTooLarge, ValidationFailed
from backbeat.web.dashboard.form_errors import FormErrors, errors_of, input_id


def test_fields_are_renamed_and_unknown_ones_kept_as_general() -> None:
    exc = ValidationFailed(
        "x", [FieldError("targeting.genres", "unknown genre 'polka'"), FieldError("zzz", "odd")]
    )
    errors = errors_of(exc, {"targeting.genres": "genres"}, known={"genres"})
    assert errors.get("genres") == "unknown genre 'polka'"
    assert errors.general == ["zzz: odd"]
    assert errors.status == 422
    assert errors.summary({"genres": "Genres"}) == [
        (None, "zzz: odd"),
        ("genres", "Genres: unknown genre 'polka'"),
    ]


def test_status_and_messages_without_fields() -> None:
    conflict = errors_of(Conflict("creative is already approved"))
    assert conflict.general == ["creative is already approved"] and conflict.status == 409
    big = errors_of(PayloadTooLarge("file", 10))
    assert big.status == 413 and big.has("file")


def test_repeats_collapse_and_only_filters() -> None:
    errors = FormErrors()
    errors.add("bid", "must be positive")
    errors.add("bid", "must be positive")
    errors.add("name", "must not be empty")
    errors.add(None, "general")
    assert errors.get("bid") == "must be positive"
    kept = errors.only(["name"])
    assert not kept.has("bid") and kept.has("name") and kept.general == ["general"]
    assert kept.to_json() == [
        {"field": "", "reason": "general"},
        {"field": "name", "reason": "must not be empty"},
    ]
    assert not FormErrors() and errors
    assert input_id("targeting.budget_total") == "targeting-budget-total"
