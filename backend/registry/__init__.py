"""The grid registry (网格台账): estates, buildings, roads and places, grids, members, departments.

:mod:`backend.registry.file_import` imports it from the file an admin edits
(``config/registry.demo.yml`` shows its shape); :mod:`backend.registry.edits`
changes it from the console, each edit checked first because routing reads
it. The tables are in :mod:`backend.models.registry`.
"""
