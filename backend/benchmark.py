"""Parse latency through a running Rasa server, beside in-process parsing: ``make benchmark``.

Sends every held-out message (several rounds) to the Rasa server's
``/model/parse`` one at a time and prints p50 / p95 / max and messages per
second; then, separately, the project's long letters (every example of
``data/nlu`` and the held-out split of at least :data:`LONG_CHARS`
characters), because real residents' letters are that long and cost more to
parse than chat lines. As the baseline, the same messages parsed in this
process with the same model, in the same run (the machine is shared and
noisy, so compare the two, not numbers from different days). When no Rasa
server answers at RASA_URL, one is started on a free loopback port for the
run and stopped.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from backend.evaluation import HELDOUT_DIR, heldout_examples
from backend.model_store import ensure_model
from backend.nlu_data import read_examples
from backend.settings import PROJECT_ROOT, load_settings
from backend.triage.text import classification_text

LONG_CHARS = 250


def long_texts(min_chars: int = LONG_CHARS) -> list[str]:
    """The project's own examples (training data and held-out split) of at least ``min_chars`` characters."""
    paths = sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")) + sorted(HELDOUT_DIR.glob("*.yml"))
    texts = [text for examples in read_examples(paths).values() for text in examples]
    return [classification_text(text) for text in texts if len(text) >= min_chars]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[max(0, int(len(ms) * 0.95) - 1)]
    return f"p50 {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   max {ms[-1]:6.1f} ms"


def _start_rasa(env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    port = _free_port()
    token = "benchmark"
    env = {
        **env,
        "RASA_PORT": str(port),
        "RASA_TOKEN": token,
        "SECRET_KEY": "benchmark-only",
        "TRACKER_STORE_URL": f"sqlite:///{workdir / 'tracker.db'}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "rasa"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/status", params={"token": token}, timeout=2).status_code == 200:
                return proc, url, token
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("Rasa did not start within 180 s")


def _through_server(client: httpx.Client, url: str, token: str, texts: list[str]) -> tuple[list[float], float]:
    """Milliseconds per /model/parse call, one at a time, and messages per second."""
    ms = []
    started = time.perf_counter()
    for text in texts:
        t0 = time.perf_counter()
        client.post(f"{url}/model/parse", params={"token": token}, json={"text": text}).raise_for_status()
        ms.append((time.perf_counter() - t0) * 1000)
    return ms, len(texts) / (time.perf_counter() - started)


def _in_process(nlu: Any, texts: list[str]) -> tuple[list[float], float]:
    """Milliseconds per in-process parse, and messages per second."""
    ms = []
    started = time.perf_counter()
    for text in texts:
        t0 = time.perf_counter()
        nlu.parse(text)
        ms.append((time.perf_counter() - t0) * 1000)
    return ms, len(texts) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m backend.benchmark")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the held-out messages")
    parser.add_argument("--letter-rounds", type=int, default=10, help="passes over the long letters (there are few)")
    args = parser.parse_args(argv)
    settings = load_settings(require_secrets=False)
    env = {**os.environ, **settings.rasa_environment()}
    model, _ = ensure_model(settings.model_dir, env=env)
    sets = {
        "held-out split": [classification_text(t) for t, _ in heldout_examples()] * args.rounds,
        f"letters >= {LONG_CHARS} chars": long_texts() * args.letter_rounds,
    }

    proc = None
    url, token = settings.rasa_url, settings.rasa_token
    try:
        httpx.get(f"{url}/status", params={"token": token}, timeout=2).raise_for_status()
        print(f"using the running Rasa server at {url}")
    except httpx.HTTPError:
        workdir = Path(tempfile.mkdtemp(prefix="sst-bench-"))
        proc, url, token = _start_rasa(env, workdir)
        print(f"started a Rasa server for the benchmark at {url}")
    server: dict[str, tuple[list[float], float]] = {}
    try:
        with httpx.Client(timeout=30) as client:
            for texts in sets.values():  # warm-up
                _through_server(client, url, token, texts[:20])
            for name, texts in sets.items():
                server[name] = _through_server(client, url, token, texts)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)

    os.environ.update(settings.rasa_environment())
    from backend.triage.local import LocalNLU

    nlu = LocalNLU(model)
    for texts in sets.values():
        _in_process(nlu, texts[:20])
    local = {name: _in_process(nlu, texts) for name, texts in sets.items()}
    nlu.close()

    print(f"model {model.name}, one message at a time")
    for name, texts in sets.items():
        lengths = sorted(len(t) for t in texts)
        (server_ms, server_rate), (local_ms, local_rate) = server[name], local[name]
        print(f"{name}: {len(texts)} messages, median length {statistics.median(lengths):.0f} characters")
        print(f"  Rasa server /model/parse : {_percentiles(server_ms)}   {server_rate:6.1f} msg/s")
        print(f"  in-process (baseline)    : {_percentiles(local_ms)}   {local_rate:6.1f} msg/s")
        print(f"  HTTP overhead, median    : {statistics.median(server_ms) / statistics.median(local_ms):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
