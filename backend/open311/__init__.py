"""Open311 GeoReport v2 mapped onto the category table and the ticket model.

A 12345 platform (or any Open311 client) files and follows requests through
the same services the chat uses; nothing here keeps its own copy of a
ticket.

The package holds the mapping, one concept a module: :mod:`~backend.open311.errors`
(the refusal and its HTTP status), :mod:`~backend.open311.clients` (API keys
and the residents a client files for), :mod:`~backend.open311.service_list`,
:mod:`~backend.open311.filing`, :mod:`~backend.open311.queries` (which
tickets a GET selects), :mod:`~backend.open311.records` (what a reader sees)
and :mod:`~backend.open311.xml_format`. The HTTP routes are
:mod:`backend.web.open311`.

The mapping, decided once and documented in ``docs/open311.md``:

- **services** are the 21 request categories of ``config/categories.yml``.
  ``service_code`` is the category code verbatim (the codes are a fixed
  contract), ``service_name`` the Chinese name, ``group`` the matter
  (公家事 / 大家事 / 自家事), ``description`` the handler, the tier and the
  deadline, ``type`` is ``realtime`` (the ticket number is returned at
  once). Every service has one optional attribute, ``urgency``
  (normal / urgent / emergency), the same choice the chat's form asks.
- **requests** are tickets. ``service_request_id`` is the ticket number
  (GZ…); ``status`` is ``open`` for the lifecycle's open statuses and
  ``closed`` for everything else (办结, 已评价, 仅提供指引);
  ``agency_responsible`` the department, else the category's handler;
  ``expected_datetime`` the deadline. Times are ISO 8601 in district time
  (Asia/Shanghai, ``+08:00``). What the other fields hold depends on the
  reader (below, **Privacy**).
- **Filing** goes through :func:`backend.tickets.service.create_ticket`
  with the place routed by the registry, exactly as the chat files. The
  caller is a *system* identified by its API key (``OPEN311_API_KEYS``);
  the request belongs to a resident whose channel identity is
  ``open311:<client>:…`` — the client's ``account_id`` if it gives one,
  else a keyed digest of the phone or the e-mail (a digest, not the
  number, because a resident row is created "without personal data"; the
  phone the person gave is kept on the ticket as the chat keeps it, for
  the call back). Names are not stored: handling needs a number to call,
  not a name. Coordinates alone cannot be routed (there is no geocoder):
  the ticket is filed with the coordinates in its place text, unrouted,
  for manual dispatch — the path the chat takes for an unknown place —
  and ``service_notice`` says so.
- **Privacy**: the request list is public in Open311, so its public view
  (:func:`backend.open311.records.public_record`) is safe by construction: it is built from
  columns that hold nothing anyone typed — the category, the status and
  escalation level (``status_notes`` is a sentence of the lifecycle, never
  a staff note, so no grid member's name), the registry's name of the
  routed place as ``address`` (枫林苑3号楼, 学府街; empty when unrouted),
  no coordinates — and ``description`` is empty unless a staff member
  published a summary from the console (``Ticket.public_summary``), shown
  through :func:`backend.privacy.mask_text` with room numbers masked too.
  A client that reads with its API key sees the requests *it* filed in
  full (:func:`backend.open311.records.full_record`: what it sent, the place as given, the
  latest staff note) and everyone else's in the public view. Private
  matters (自家事) may be filed (a 12345 operator does forward household
  matters) but are a household's own business, so they are not listed and
  read as missing — except to the client that filed them.
"""
