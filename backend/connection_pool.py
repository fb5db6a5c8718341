"""One pool of kept HTTP connections per event loop, shared by every aiohttp session of a process.

The stack's Rasa client (:mod:`backend.rasa_client`) and, inside the Rasa
server, the calls to the action server (:mod:`backend.rasa_ext.patches.connections`)
both make a short-lived ``aiohttp.ClientSession`` per call; with
``connector_owner=False`` on this pool the TCP connection outlives the
session, so a call does not pay for a new connection every time.
"""

from __future__ import annotations

import asyncio
import weakref

import aiohttp

IDLE_SECONDS = 15.0  # aiohttp's default; below the action server's 75 s keep-alive

_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.TCPConnector] = weakref.WeakKeyDictionary()


def connection_pool() -> aiohttp.TCPConnector:
    """The running event loop's pool of connections (made on first use, and again if it was closed)."""
    loop = asyncio.get_running_loop()
    pool = _POOLS.get(loop)
    if pool is None or pool.closed:
        pool = aiohttp.TCPConnector(keepalive_timeout=IDLE_SECONDS)
        _POOLS[loop] = pool
    return pool


async def close_connection_pool() -> None:
    """Close the running loop's pool (its connections end); the next call opens a new one."""
    pool = _POOLS.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()
