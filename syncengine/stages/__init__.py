"""The stages of one run, in the order they run (DESIGN.md, "Flow of one run").

``pull`` reads each system into the mirror; ``select`` names the entities and records the run
looks at; ``link`` matches unlinked records to people; then, a batch of entities at a time,
``load`` reads their records and base, ``merge`` decides each field, ``plan`` turns decisions into
ops, ``push`` writes them through the outbox and ``commit`` stores the new base, history,
conflicts and owed work. ``run`` strings them together. Each stage takes and returns frozen values;
only the mirror and the systems hold state between them.
"""
