"""LeadConnector's contact webhooks: a hint that some contacts changed, turned into a sync of those.

The path of one webhook::

    POST --> receiver (signature, replay, location) --> inbox (durable queue) --> worker --> engine
             answers at once: 200, or 401/400 for a        contact ids, one row       a targeted run:
             request that is not LeadConnector's           per contact                fetch by id, then
                                                                                      the usual stages

LeadConnector retries only on 429 and never on a timeout or a 5xx, so a lost webhook is never sent
again: scheduled polling stays the source of truth, and a webhook only makes a change arrive
sooner. ``keys`` and ``signatures`` verify, ``events`` reads the payload, ``inbox`` keeps what is
owed, ``receiver`` and ``app`` answer HTTP, ``worker`` and ``targeted`` run the syncs (with a
pairings file, ``jobs`` defers them to ``syncengine worker`` instead), ``command`` is
``syncengine webhooks``.
"""
