"""The CRM simulators: real HTTP servers on loopback that behave like each vendor's API.

One package per CRM (``apollo``, ``leadconnector``, ``corporatemerch``): ``simulator`` holds its app
class, the modules beside it its store, value rules, rate limits and admin paths. What they share is
here: ``core`` (server thread, clock, journal, faults, rate-limit windows, the app and its admin
surface), ``admin``, ``emails`` and ``jsonbody``. ``runner`` serves them together as each system's
spec describes; ``sampledata`` and ``drive`` fill and edit them for demos, tests and benchmarks.
"""
