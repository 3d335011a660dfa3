"""Tracking: signed event links, visitor ids, user agents, geo and the counting pipeline.

Everything here is a primitive for the tracking routes: pure where possible, with the
clock (`now`, epoch seconds) and secrets passed in. The routes call
:func:`backbeat.tracking.pipeline.evaluate` once per event.
"""
