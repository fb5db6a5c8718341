"""Open311 answers in XML: records written as elements by ElementTree, which escapes them.

Characters XML 1.0 cannot carry at all are dropped on output only.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any, Mapping

# Characters XML 1.0 cannot carry at all (escaping does not help): dropped on output only.
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(parent: ET.Element, record: Mapping[str, Any]) -> None:
    for key, value in record.items():
        child = ET.SubElement(parent, key)
        if key == "attributes":
            for attribute in value:
                _fill(ET.SubElement(child, "attribute"), attribute)
        elif key == "values":
            for item in value:
                _fill(ET.SubElement(child, "value"), item)
        else:
            child.text = _text(value)


def to_xml(root: str, item: str | None, records: list[dict[str, Any]] | dict[str, Any]) -> bytes:
    """``<root><item>…</item>…</root>`` (or one record straight under ``root``), escaped by ElementTree."""
    top = ET.Element(root)
    if isinstance(records, dict):
        _fill(top, records)
    else:
        for record in records:
            _fill(ET.SubElement(top, item or "item"), record)
    body: bytes = ET.tostring(top, encoding="utf-8", xml_declaration=True)
    return body
