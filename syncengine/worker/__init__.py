"""``syncengine worker``: many pairings synced as jobs of procrastinate, a PostgreSQL task queue.

- ``queue``: the procrastinate app, its schema and ours (job runs, shared budgets), created once
  per database under an advisory lock so that any number of workers may start at once;
- ``tasks``: the jobs. A pairing's sync and a targeted sync of a few contacts carry the procrastinate
  ``lock`` of their pairing, so at most one of them runs at a time across every worker, and each
  still takes the pairing's state lock; a pairing's periodic schedule is deduplicated by the
  database (one job per pairing and tick, whichever worker defers it), and a ``queueing_lock`` keeps
  at most one sync per pairing waiting;
- ``stalled``: jobs of workers that stopped sending heartbeats are put back in the queue;
- ``pairing_run``: one job's work: the pairing's settings from the environment, its isolated
  state, budgets shared per account, the engine's run;
- ``job_runs``: when each job started and ended in which process, to see overlaps and retries.
"""
