"""Opening an export: decoding, delimiter sniffing, preamble and header detection, streaming.

Nothing here reads a whole file into memory. Bytes pass through :class:`HashingReader`, which
feeds SHA-256 and a progress callback as they stream; text is decoded incrementally and the
:mod:`csv` module yields one record at a time.

Encodings: UTF-8 (with or without BOM) and UTF-16 LE/BE (with BOM, or without one when the
NUL pattern gives it away). Delimiters: comma, tab or semicolon. The header row is the line,
among the first :data:`MAX_PREAMBLE` lines, whose cells match the most known column names; the
lines above it are the preamble (Google prints the report name and date range there).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from backbeat.importers.errors import ImportFailed

Progress = Callable[[int, int], None]  # (bytes read so far, total bytes)

MAX_PREAMBLE = 30  # lines searched for the header row
MAX_LINE = 1 << 20  # a longer line in the preamble region is not a header anyway
CHUNK = 1 << 16
DELIMITERS = (",", "\t", ";")

_MAGIC = {
    b"PK\x03\x04": "an Excel workbook or other zip archive; export the report as CSV",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls); export the report as CSV",
    b"%PDF": "a PDF; export the report as CSV",
}


class HashingReader(io.RawIOBase):
    """A raw binary stream that hashes and counts every byte read, and reports progress."""

    def __init__(
        self, raw: io.BufferedIOBase, total: int, progress: Progress | None = None
    ) -> None:
        super().__init__()
        self._raw = raw
        self.total = total
        self.bytes_read = 0
        self._sha = hashlib.sha256()
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)
        if n:
            self._sha.update(buffer[:n])
            self.bytes_read += n
            if self._progress is not None:
                self._progress(self.bytes_read, self.total)
        return n or 0

    def drain(self) -> None:
        """Read to the end so the checksum covers the whole file."""
        while self.read(CHUNK):
            pass

    def hexdigest(self) -> str:
        return self._sha.hexdigest()

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def file_checksum(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, streamed in chunks."""
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            sha.update(block)
    return sha.hexdigest()


def detect_encoding(head: bytes) -> str:
    """The codec for a file starting with ``head``. Refuses workbooks and PDFs by name."""
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise ImportFailed.at(None, None, f"the file is {what}")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # the codec reads the BOM and picks the byte order
    sample = head[:64]
    if len(sample) >= 4:
        odd_nuls = sample[1::2].count(0)
        even_nuls = sample[0::2].count(0)
        if odd_nuls > len(sample) // 4 and even_nuls == 0:
            return "utf-16-le"
        if even_nuls > len(sample) // 4 and odd_nuls == 0:
            return "utf-16-be"
    return "utf-8"


def check_text(text: str, encoding: str = "utf-8") -> str:
    """``text`` itself, or ValueError if it holds bytes the file's encoding could not decode
    (or a NUL, which no export writes)."""
    if "\x00" in text:
        raise ValueError("contains a NUL byte: the file is damaged or not a text export")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = ord(text[exc.start]) - 0xDC00
            raise ValueError(
                f"byte 0x{bad:02x} is not valid {encoding} text; save the export as UTF-8"
            ) from None
    return text


def _undecodable(encoding: str, exc: UnicodeDecodeError) -> str:
    return f"the file is not valid {encoding} text ({exc.reason}); it may be truncated"


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def find_header(
    lines: list[str], known: Callable[[str], bool]
) -> tuple[int, str, list[str]] | None:
    """(line index, delimiter, cells) of the most header-like line, or None if no line has at
    least two known column names. Ties go to the earlier line, then to more cells."""
    best: tuple[int, int, int, str, list[str]] | None = None
    for index, line in enumerate(lines):
        for delimiter in DELIMITERS:
            if delimiter not in line:
                continue
            cells = [c.strip() for c in _split(line, delimiter)]
            score = sum(1 for c in cells if c and known(c))
            key = (score, -index, len(cells))
            if score >= 2 and (best is None or key > best[:3]):
                best = (score, -index, len(cells), delimiter, cells)
    if best is None:
        return None
    return -best[1], best[3], best[4]


@dataclass
class Export(AbstractContextManager["Export"]):
    """An opened export file. Iterate :meth:`records` once; then :meth:`checksum` is final."""

    path: Path
    encoding: str
    delimiter: str
    preamble: list[str]
    header: list[str]
    header_row: int  # spreadsheet row number of the header (1-based)
    _hasher: HashingReader
    _text: io.TextIOWrapper
    _rest: list[str] = field(default_factory=list)

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) for every record after the header, blank lines included."""
        reader = csv.reader(itertools.chain(self._rest, self._text), delimiter=self.delimiter)
        row = self.header_row
        try:
            for cells in reader:
                row += 1
                yield row, cells
        except UnicodeDecodeError as exc:
            raise ImportFailed.at(row + 1, None, _undecodable(self.encoding, exc)) from None
        except csv.Error as exc:
            raise ImportFailed.at(row + 1, None, f"malformed CSV: {exc}") from None
        self._hasher.drain()

    def checksum(self) -> str:
        """SHA-256 of the bytes read; the whole file once :meth:`records` is exhausted."""
        return self._hasher.hexdigest()

    @property
    def bytes_read(self) -> int:
        return self._hasher.bytes_read

    def close(self) -> None:
        self._text.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_export(
    path: Path, known: Callable[[str], bool], progress: Progress | None = None
) -> Export:
    """Open ``path``, detect its encoding, delimiter, preamble and header row.

    ``known(header)`` says whether a cell is a column name we understand. Raises
    :class:`ImportFailed` for empty, binary, undecodable or header-less files.
    """
    total = path.stat().st_size
    raw = path.open("rb")
    hasher = HashingReader(raw, total, progress)
    buffered = io.BufferedReader(hasher, CHUNK)
    text: io.TextIOWrapper | None = None
    try:
        head = buffered.peek(64)[:64]
        if not head:
            raise ImportFailed.at(None, None, "the file is empty")
        encoding = detect_encoding(head)
        # Undecodable bytes become lone surrogates instead of stopping the stream, so the
        # cell holding one can be named (see `check_text`).
        text = io.TextIOWrapper(buffered, encoding=encoding, errors="surrogateescape", newline="")
        lines: list[str] = []
        try:
            for _ in range(MAX_PREAMBLE):
                line = text.readline(MAX_LINE)
                if not line:
                    break
                lines.append(line)
        except UnicodeDecodeError as exc:  # e.g. UTF-16 cut in the middle of a character
            raise ImportFailed.at(len(lines) + 1, None, _undecodable(encoding, exc)) from None
        if "\x00" in "".join(lines):
            raise ImportFailed.at(
                None, None, "the file contains NUL bytes: it is not a text export"
            )
        found = find_header(lines, known)
        if found is None:
            raise ImportFailed.at(
                None,
                None,
                f"no header row with known column names in the first {MAX_PREAMBLE} lines; "
                "this does not look like a supported ad-platform export",
            )
        index, delimiter, cells = found
        for cell in cells:
            try:
                check_text(cell, encoding)
            except ValueError as exc:
                raise ImportFailed.at(index + 1, cell, str(exc)) from None
        preamble = [line.strip() for line in lines[:index]]
        return Export(
            path=path,
            encoding=encoding,
            delimiter=delimiter,
            preamble=preamble,
            header=cells,
            header_row=index + 1,
            _hasher=hasher,
            _text=text,
            _rest=lines[index + 1 :],
        )
    except BaseException:
        if text is not None:
            text.close()
        else:
            buffered.close()
        raise
