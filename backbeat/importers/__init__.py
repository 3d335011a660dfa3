"""Importers for ad-platform report exports: Meta, Google Ads/YouTube, TikTok, Spotify, any CSV.

Call :func:`backbeat.importers.driver.import_file` with a path and an
:class:`~backbeat.importers.sink.ImportSink`; it detects the platform, streams the file,
validates every row and stores the normalised rows in one transaction.
"""

from __future__ import annotations
