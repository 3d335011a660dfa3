"""The catalog: campaigns, creatives, inventory, accounts (SQLite default, PostgreSQL at scale)."""
