"""The wizard's draft: what it reads, what it carries in hidden fields, staging clean-up."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

from starlette.datastructures import MultiDict

from backbeat.web.dashboard.form_errors import FormErrors
from backbeat.web.dashboard.wizard_form import Draft, first_step_with_errors, sweep_staging


def test_read_trims_dedupes_and_ignores_files() -> None:
    data = MultiDict(
        [
            ("name", "  Night Drive  "),
            ("genres", "pop"),
            ("genres", "pop"),
            ("genres", " rock "),
            ("genres", ""),
            ("bid", "1"),
            ("bid", "2"),
            ("file", object()),
        ]
    )
    draft = Draft.read(data)
    assert draft.get("name") == "Night Drive"
    assert draft.getlist("genres") == ("pop", "rock")
    assert draft.get("bid") == "2"  # the last value wins, as for a form field posted twice
    assert len(draft.get("draft")) >= 16  # a fresh draft id when none (or a bad one) came
    assert Draft.read(MultiDict([("draft", "x<script>")])).get("draft") != "x<script>"
    kept = Draft.read(MultiDict([("draft", "A" * 22)]))
    assert kept.get("draft") == "A" * 22


def test_hidden_fields_carry_everything_not_on_the_step() -> None:
    draft = Draft.read(
        MultiDict(
            [
                ("draft", "B" * 22),
                ("name", "N"),
                ("bid", "3"),
                ("genres", "pop"),
                ("genres", "rock"),
                ("staged", "a" * 32 + ".png"),
            ]
        )
    )
    on_budget = draft.hidden("budget")
    assert ("name", "N") in on_budget and ("bid", "3") not in on_budget
    assert [v for n, v in on_budget if n == "genres"] == ["pop", "rock"]
    on_audience = draft.hidden("audience")
    assert ("bid", "3") in on_audience and all(n != "genres" for n, _ in on_audience)
    assert ("staged", "a" * 32 + ".png") in draft.hidden("creative")  # never an input
    assert all(v for _, v in draft.hidden("confirm"))  # blanks are not carried


def test_defaults_fill_only_blanks() -> None:
    draft = Draft.read(MultiDict([("bid", "4.00")])).with_defaults(
        date(2026, 5, 1), "UTC", 2_500_000
    )
    assert draft.get("bid") == "4.00"
    assert (draft.get("start"), draft.get("end")) == ("2026-05-01", "2026-05-31")
    assert (draft.get("pricing"), draft.get("cap"), draft.get("timezone")) == ("cpm", "3", "UTC")


def test_errors_send_the_user_to_the_earliest_step() -> None:
    errors = FormErrors()
    errors.add("alt_text", "required")
    errors.add("bid", "too low")
    assert first_step_with_errors(errors, "confirm") == "budget"
    assert first_step_with_errors(FormErrors(), "confirm") == "confirm"


def test_sweep_removes_only_old_staged_files(tmp_path: Path) -> None:
    old, new = tmp_path / "old.png", tmp_path / "new.png"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    past = time.time() - 2 * 24 * 3600
    os.utime(old, (past, past))
    assert sweep_staging(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["new.png"]
    assert sweep_staging(tmp_path / "missing") == 0
