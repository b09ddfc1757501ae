"""Một Cửa Bot: shared code for the gateway (`bot/`), the actions (`actions/`) and the CLI."""
import os as _os
from pathlib import Path

# The project root: data files (domain.yml, nlu/data, catalogue) are found from here,
# so commands work from any working directory of a checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Rasa's telemetry and error reports would try to reach the internet from every process we
# start (training, servers, evaluation): off by default, for privacy and for offline machines.
_os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
