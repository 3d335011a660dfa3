"""The ad decision engine: a precomputed candidate index, targeting filters, pacing and ranking.

Everything here is pure apart from injected collaborators (counters, RNG, clock, creative
stats): no I/O and no module-level mutable state.
"""
