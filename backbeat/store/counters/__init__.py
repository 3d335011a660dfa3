"""Hot counters: budgets, frequency and nonces. In-process by default, Redis at scale."""
