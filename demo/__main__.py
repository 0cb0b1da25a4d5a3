"""python -m demo --events 100000 --out DIR [--format mixed|jsonl|jsonl.gz|parquet]"""

import argparse
import time
from pathlib import Path

from demo import generate


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate deterministic demo usage logs.")
    parser.add_argument(
        "--events", type=int, default=100_000, help="about how many attempts (10k-10M)"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write the logs into")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--format", default="mixed", choices=["mixed", "jsonl", "jsonl.gz", "parquet"]
    )
    args = parser.parse_args()
    started = time.perf_counter()
    manifest = generate(args.out, args.events, seed=args.seed, fmt=args.format)
    print(
        f"wrote {manifest.events:,} events ({manifest.requests:,} requests) in {manifest.files:,} files "
        f"under {args.out} in {time.perf_counter() - started:.1f}s"
    )


if __name__ == "__main__":
    main()
