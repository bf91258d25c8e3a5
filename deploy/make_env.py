"""Write the compose stack's .env from .env.example with a fresh random value for every secret.

    python3 deploy/make_env.py [--out .env] [--postgres] [--force]

Every empty ``*_PASSWORD``, ``*_TOKEN`` or ``*_SECRET`` line gets its own
``secrets.token_urlsafe(24)``; other lines are copied as they are. ``--postgres`` also sets
``POSTGRES_PASSWORD`` and a matching ``PERIMETER_DB_URL``, for ``docker compose --profile
postgres``. Standard library only, so it
runs before anything is installed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECRET_SUFFIXES = ("_PASSWORD", "_TOKEN", "_SECRET")


def filled(example: str, postgres: bool) -> str:
    """The .env text: ``example`` with every empty secret set to a new random value."""
    out: list[str] = []
    for line in example.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#") and value == "" and key.endswith(SECRET_SUFFIXES):
            line = f"{key}={secrets.token_urlsafe(24)}"
        out.append(line)
    if postgres:
        password = secrets.token_urlsafe(24)
        out += ["", "# PostgreSQL store (make_env.py --postgres)",
                f"POSTGRES_PASSWORD={password}",
                f"PERIMETER_DB_URL=postgresql://perimeter:{password}@postgres:5432/perimeter"]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / ".env", help="where to write (.env)")
    parser.add_argument("--postgres", action="store_true", help="also set the PostgreSQL lines")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.force:
        print(f"make_env.py: {args.out} exists; --force to replace it", file=sys.stderr)
        return 1
    text = filled((REPO / ".env.example").read_text(encoding="utf-8"), args.postgres)
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as env_file:
        env_file.write(text)
    print(f"make_env.py: wrote {args.out} with new secrets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
