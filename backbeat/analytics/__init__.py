"""Campaign analytics: honest statistics on click and impression counts.

`stats` holds pure functions (Wilson intervals, empirical-Bayes shrinkage, the two-proportion
z-test, the Bayesian probability that one ad beats another with its expected loss, sample
sizes, and how much more data a question needs). `benchmarks` holds the published CTR and CPM
ranges we compare against, with their sources, and turns counts into a verdict an artist can
read: below, within or above the typical range, or "not enough data yet".
"""
