"""``syncengine serve``: the local web app to preview and approve syncs, settle conflicts, undo runs
and clear errors.

Server-rendered pages (Starlette, the shared Jinja2 templates in ``syncengine/templates``, plain
forms); every decision is taken by the same functions the command line calls
(``syncengine.actions``, ``syncengine.undo``, ``syncengine.find_contact``, ``syncengine.contact_view``).
"""
