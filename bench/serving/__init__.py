"""Serving many tasks under load: how many requests per second each switching strategy sustains at
a latency target.

arrivals.py  request streams: Poisson or Gamma arrivals at a rate, Zipf or uniform task popularity  pure
policy.py    the queue and each strategy's batching policy, one serving loop for both clocks        pure
simulate.py  the discrete-event clock (profiled service times) and latency statistics               pure
search.py    the highest rate that still meets the SLO                                              pure
profile.py   service times measured on the real model: batch size x distinct adapters, swap costs
realtime.py  the wall clock: the same loop serving a stream for real (validates the simulation)
run.py       the `serve` command's work -> rows of kind "serve"
"""
