"""Backbeat: a self-hostable ad server and campaign-measurement platform for music promotion."""

from __future__ import annotations

__version__ = "0.1.0"
