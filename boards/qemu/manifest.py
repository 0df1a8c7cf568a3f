# Frozen into our qemu boards (mitra.mk): asyncio and the boot script that mounts the filesystem.
include("$(MPY_DIR)/extmod/asyncio")
freeze("$(BOARD_DIR)/../modules", "_boot.py")
