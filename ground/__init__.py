"""mitra ground station: packet dictionary, link, CLI, SITL launcher."""

from pathlib import Path

# The repository holds firmware/ and boards/ beside this package (installed editable).
REPO_ROOT = Path(__file__).resolve().parents[1]
FIRMWARE_DIR = REPO_ROOT / "firmware"
BOARDS_DIR = REPO_ROOT / "boards"
