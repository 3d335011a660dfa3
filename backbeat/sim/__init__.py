"""The demo network and its traffic simulator (``backbeat demo``; see docs/demo.md).

- :mod:`~backbeat.sim.network`: the network as data, with what only the simulation knows;
- :mod:`~backbeat.sim.seeds`: writing it into a catalog (with real PNG creatives and logins);
- :mod:`~backbeat.sim.agents`, :mod:`~backbeat.sim.population`: who visits, from where, with
  which browser, and the bots;
- :mod:`~backbeat.sim.traffic`: when they read which pages;
- :mod:`~backbeat.sim.behaviour`: how they react to ads (the truth to rediscover);
- :mod:`~backbeat.sim.driver`, :mod:`~backbeat.sim.actions`: requests to the real route
  handlers in simulated time;
- :mod:`~backbeat.sim.runner`: :func:`~backbeat.sim.runner.simulate`, the whole run.
"""
