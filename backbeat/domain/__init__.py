"""Plain dataclasses and rules of a music ad network. No I/O lives here."""
