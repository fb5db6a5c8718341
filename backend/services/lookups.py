"""Generate the NLU lookup tables and synonyms from the grid registry file.

Estate, road and place names are typed once, in the registry; this writes
them (with their aliases as synonyms) into ``data/nlu/lookups/registry.yml``
for Rasa's RegexFeaturizer and for :mod:`backend.triage.entities`. A test
checks that the committed file is what this produces.
"""

from __future__ import annotations

from typing import Any

HEADER = (
    "# Generated from the grid registry by `python -m backend registry lookups`; do not edit.\n"
    "# Estate (小区), road and public place names, with aliases as synonyms.\n"
)


def _block_lines(values: list[str]) -> str:
    return "".join(f"      - {v}\n" for v in values)


def render_lookups(registry: dict[str, Any]) -> str:
    """The lookup YAML for a registry (same shape as ``config/registry.demo.yml``)."""
    estates: dict[str, list[str]] = {}
    roads: dict[str, list[str]] = {}
    places: dict[str, list[str]] = {}
    for community in registry.get("communities", []):
        for estate in community.get("estates", []):
            estates[estate["name"]] = list(estate.get("aliases", []))
        for grid in community.get("grids", []):
            for road in grid.get("roads", []):
                roads[road["name"]] = list(road.get("aliases", []))
            for place in grid.get("places", []):
                places[place["name"]] = list(place.get("aliases", []))
    out = [HEADER, 'version: "3.1"\n', "nlu:\n"]
    for kind, table in (("estate", estates), ("road", roads), ("place", places)):
        out.append(f"  - lookup: {kind}\n    examples: |\n{_block_lines(sorted(table))}")
    for table in (estates, roads, places):
        for name, aliases in sorted(table.items()):
            if aliases:
                out.append(f"  - synonym: {name}\n    examples: |\n{_block_lines(aliases)}")
    return "".join(out)
