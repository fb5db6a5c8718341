"""Reading one environment variable and checking its value: ports, whole numbers, fractions, networks, keys.

Each reader takes the environment and a variable's name, falls back to the
variable's default (:mod:`backend.settings_variables`), and raises
:class:`ConfigError` with a message in Chinese and English naming the
variable when the value is missing or malformed, so a process stops at
start-up instead of failing later.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Mapping

from backend.settings_variables import VARIABLES

_BY_NAME = {v.name: v for v in VARIABLES}


class ConfigError(RuntimeError):
    """A required variable is missing or a value is malformed."""


def port(env: Mapping[str, str], name: str) -> int:
    """A TCP port number, 1 to 65535."""
    raw = read(env, name)
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} 不是端口号 / is not a port number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{name}={port} 超出端口范围 / is out of the port range 1-65535")
    return port


def webhook_secret(env: Mapping[str, str]) -> str:
    """The webhook secret: required with a webhook URL, and only characters Telegram accepts."""
    url, secret = read(env, "TELEGRAM_WEBHOOK_URL"), read(env, "TELEGRAM_WEBHOOK_SECRET")
    if url and not url.startswith("https://"):
        raise ConfigError("TELEGRAM_WEBHOOK_URL 必须是 https:// 地址 / must be an https:// URL")
    if url and not secret:
        raise ConfigError("设置了 TELEGRAM_WEBHOOK_URL 就必须设置 TELEGRAM_WEBHOOK_SECRET / a webhook needs a secret")
    if secret and not (16 <= len(secret) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in secret)):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET 须为 16–256 个字母、数字、_ 或 - / 16-256 of A-Z a-z 0-9 _ -")
    return secret


def positive(env: Mapping[str, str], name: str) -> int:
    """A whole number of at least 1."""
    raw = read(env, name)
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}={raw!r} 应是正整数 / must be a positive whole number")
    return int(raw)


def whole(env: Mapping[str, str], name: str) -> int:
    """A whole number of at least 0."""
    raw = read(env, name)
    if not raw.isdigit():
        raise ConfigError(f"{name}={raw!r} 应是 0 或正整数 / must be 0 or a positive whole number")
    return int(raw)


def fraction(env: Mapping[str, str], name: str) -> float:
    """A number from 0 to 1."""
    raw = read(env, name)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={raw!r} 应是 0 到 1 之间的数 / must be a number from 0 to 1")
    return value


_CLIENT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_API_KEY = re.compile(r"[A-Za-z0-9_.~+/=-]{16,256}")


def networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """``10.0.0.0/8,127.0.0.1`` → ("10.0.0.0/8", "127.0.0.1"), each checked to be an address or a network."""
    networks = tuple(item.strip() for item in read(env, name).split(",") if item.strip())
    for item in networks:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(f"{name}: {item!r} 不是地址或网段 / is not an address or network") from None
    return networks


def api_keys(env: Mapping[str, str], name: str) -> tuple[tuple[str, str], ...]:
    """``name:key,name:key`` → ((name, key), ...).

    The name is who filed (it becomes part of the resident's channel
    identity), so it is short and plain; a key shorter than 16 characters is
    refused because a guessable key would let anyone file tickets.
    """
    pairs: list[tuple[str, str]] = []
    for item in read(env, name).split(","):
        if not item.strip():
            continue
        client, sep, key = item.strip().partition(":")
        if not sep or not _CLIENT_NAME.fullmatch(client) or not _API_KEY.fullmatch(key):
            raise ConfigError(
                f"{name} 的每一项应为 名称:密钥（名称 1–32 个字母数字，密钥至少 16 个字符）"
                " / each item must be name:key (name 1-32 of A-Z a-z 0-9 _ . -, key 16+ characters)"
            )
        if client in {c for c, _ in pairs}:
            raise ConfigError(f"{name} 里的名称 {client} 重复了 / client name {client} appears twice")
        pairs.append((client, key))
    return tuple(pairs)


def read(env: Mapping[str, str], name: str) -> str:
    """The variable's value as text, its default when unset; a required one must be set and not empty."""
    var = _BY_NAME[name]
    value = env.get(name)
    if value is None or (value == "" and var.default is None):
        if var.default is None:
            raise ConfigError(
                f"缺少必需的环境变量 {name} / required environment variable {name} is not set "
                f"({var.help}). `make run` generates local secrets into var/secrets.env; "
                "a deployment must set it."
            )
        return var.default
    return value
