"""The demo's stand-ins for a real deployment: its log files on disk and its providers' usage and
cost API on loopback (the sources read both exactly as they read the real ones)."""

from __future__ import annotations

import shutil
from pathlib import Path

from demo.generator import PROVIDER_API_DIR, generate
from demo.provider_api import ProviderAPIServer
from demo.provider_ledger import LEDGER_FILE

DEMO_OPENAI_KEY = "demo-openai-admin-key"  # the local demo API's keys, not secrets
DEMO_ANTHROPIC_KEY = "demo-anthropic-admin-key"


def ensure_demo_data(demo_dir: Path, events: int) -> None:
    """Write demo logs and the providers' ledger under `demo_dir` unless they exist."""
    ledger = demo_dir / PROVIDER_API_DIR / LEDGER_FILE
    if (demo_dir / "manifest.json").exists() and ledger.exists():
        print(f"tokenlake: demo data already at {demo_dir}", flush=True)
        return
    if demo_dir.exists():  # from an older version, without the providers' view
        shutil.rmtree(demo_dir)
    print(f"tokenlake: generating ~{events:,} demo events under {demo_dir} ...", flush=True)
    manifest = generate(demo_dir, events)
    print(f"tokenlake: wrote {manifest.events:,} events in {manifest.files:,} files", flush=True)


def start_demo_provider_api(demo_dir: Path) -> tuple[ProviderAPIServer, dict[str, str]]:
    """The demo's provider usage/cost API, serving on loopback, and the variables that point the
    sources at it: configured exactly as a user would (`*_API_BASE`, `*_ADMIN_KEY`), only the
    addresses differ. The server lives until stopped (or this process ends)."""
    server = ProviderAPIServer(
        demo_dir / PROVIDER_API_DIR / LEDGER_FILE, DEMO_OPENAI_KEY, DEMO_ANTHROPIC_KEY
    ).start()
    print(f"tokenlake: demo provider usage/cost API on {server.base_url}", flush=True)
    return server, {
        "OPENAI_API_BASE": server.base_url,
        "OPENAI_ADMIN_KEY": DEMO_OPENAI_KEY,
        "ANTHROPIC_API_BASE": server.base_url,
        "ANTHROPIC_ADMIN_KEY": DEMO_ANTHROPIC_KEY,
    }
