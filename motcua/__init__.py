"""Một Cửa Bot: shared code for the gateway (`bot/`), the actions (`actions/`) and the CLI."""
from pathlib import Path

# The project root: data files (domain.yml, nlu/data, catalogue) are found from here,
# so commands work from any working directory of a checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
