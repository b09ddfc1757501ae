"""`python -m bench.load [options]`, from the repository root (see bench/load/__init__.py)."""
import asyncio
import sys

from bench.load.cli import main

sys.exit(asyncio.run(main()))
