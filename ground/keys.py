"""The uplink key store: one JSON file per link, kept outside the repository.

Layout (PROTOCOL.md, Security layer: keys never enter the repository):

    $MITRA_HOME/keys/<name>.json     {"spi": 1, "key": "<64 hex>", "next_sn": 1}

`MITRA_HOME` defaults to `~/.local/share/mitra`. The directory is created 0700
and every key file is written 0600. Each write is a temp file + fsync +
`os.replace`, so a crash leaves either the old or the new file, never a torn one.

The SN (CCSDS SDLS sequence number, u32) is persisted *before* it is handed out:
after a crash the ground may skip SNs but never reuses one, so the board's
anti-replay window never rejects a fresh command as a replay of an old one.
"""

import json
import os
import re
import secrets
from contextlib import contextmanager
from pathlib import Path

try:  # advisory lock so two ground sessions on one link never take the same SN
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX hosts
    fcntl = None

from ground.errors import KeyInvalid, KeyMissing

KEY_BYTES = 32
SN_MAX = 0xFFFFFFFF  # the SN field is u32
SPI_MAX = 0xFFFF  # the SPI field is u16; SPI 0 is clear mode and has no key
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def mitra_home():
    """The operator's mitra directory (key store, mission archives): `$MITRA_HOME`, default `~/.local/share/mitra`."""
    home = os.environ.get("MITRA_HOME")
    return Path(home).expanduser() if home else Path.home() / ".local" / "share" / "mitra"


def default_root():
    """`$MITRA_HOME/keys`, default `~/.local/share/mitra/keys`."""
    return mitra_home() / "keys"


def port_link_name(port):
    """Link name of a serial port: `/dev/pts/5` -> `port-dev-pts-5`, `COM3` -> `port-COM3`."""
    slug = re.sub(r"[^A-Za-z0-9_.]+", "-", str(port)).strip("-.")
    if not slug:
        raise KeyInvalid("cannot name a link after port %r" % (port,))
    return "port-" + slug


def _check_name(name):
    if not isinstance(name, str) or not _NAME.match(name):
        raise KeyInvalid(
            "bad link name %r: use letters, digits, '.', '_' and '-' (at most 128, not starting with '.' or '-')"
            % (name,)
        )
    return name


def _check_sn(value, what, low):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= SN_MAX:
        raise KeyInvalid("%s must be an integer in %d..%d, got %r" % (what, low, SN_MAX, value))
    return value


def _write_private(path, data):
    """Write `data` (bytes) to `path` atomically with mode 0600."""
    tmp = path.with_name(".%s.%s.tmp" % (path.name, secrets.token_hex(4)))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - directories not openable (non-POSIX)
        return
    try:
        os.fsync(dfd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dfd)


class LinkKey:
    """One link's uplink key: `spi`, `key` (32 bytes), `next_sn` (the SN the next TC will use)."""

    def __init__(self, store, name, spi, key, next_sn):
        self.store = store
        self.name = name
        self.spi = spi
        self.key = key
        self.next_sn = next_sn

    @property
    def path(self):
        return self.store.path(self.name)

    def __repr__(self):  # never print the key itself
        return "LinkKey(name=%r, spi=%d, next_sn=%d)" % (self.name, self.spi, self.next_sn)

    def take_sn(self):
        """Return the SN for the next TC; the increment is on disk before this returns."""
        with self.store._locked(self.name):
            self._refresh()
            sn = self.next_sn
            if sn > SN_MAX:
                raise KeyInvalid(
                    "link %r: SN space exhausted (next SN %d > %d); create a new key with a new SPI"
                    % (self.name, sn, SN_MAX)
                )
            self.next_sn = sn + 1
            self.store._write(self)
        return sn

    def jump_past(self, floor):
        """Make the next SN at least `floor + 1`; persist. Only for a floor the operator vouches for
        (`ground sn --floor`): a floor read from the downlink, which is not authenticated, goes
        through try_sn / confirm_sn instead (README, Uplink security)."""
        _check_sn(floor, "anti-replay floor", 0)
        return self._raise_to(floor + 1)

    def try_sn(self, sn):
        """Hand out `sn` for one TC WITHOUT persisting it: a resync to a floor the board named on the
        unauthenticated downlink. Until confirm_sn the file keeps the last confirmed next SN, so a
        forged floor never outlives the TC it was answered with (revert_sn goes back to the file)."""
        _check_sn(sn, "SN", 1)
        self.next_sn = sn + 1
        return sn

    def confirm_sn(self, sn):
        """The board reported on a TC sent under `sn` (it passed the security check): persist next SN >= sn + 1."""
        _check_sn(sn, "SN", 1)
        return self._raise_to(sn + 1)

    def _raise_to(self, next_sn):
        # persist next SN >= `next_sn`, never below the file (another session may have taken SNs)
        with self.store._locked(self.name):
            self._refresh()
            self.next_sn = max(self.next_sn, next_sn)
            self.store._write(self)
        return self.next_sn

    def revert_sn(self):
        """Forget an unconfirmed try_sn: the next SN is the file's again."""
        try:
            self.next_sn = self.store._read(self.name)["next_sn"]
        except KeyMissing:
            pass
        return self.next_sn

    def set_next_sn(self, sn, force=False):
        """The operator sets the next SN (`ground sn NAME --set SN`); lowering it needs `force`,
        since an SN the board has accepted once is refused for good. Persisted."""
        _check_sn(sn, "next SN", 1)
        with self.store._locked(self.name):
            self._refresh()
            if sn < self.next_sn and not force:
                raise KeyInvalid(
                    "link %r: next SN %d is below the stored %d: SNs the board may have accepted are refused as "
                    "replays; pass --force if the board's floor really is below %d" % (self.name, sn, self.next_sn, sn)
                )
            self.next_sn = sn
            self.store._write(self)
        return self.next_sn

    def _refresh(self):
        # Another session on the same link may have taken SNs: never go below the file.
        try:
            on_disk = self.store._read(self.name)
        except KeyMissing:
            return
        if on_disk["key"] == self.key and on_disk["spi"] == self.spi:
            self.next_sn = max(self.next_sn, on_disk["next_sn"])

    def to_json(self):
        return {"spi": self.spi, "key": self.key.hex(), "next_sn": self.next_sn}


class KeyStore:
    """Uplink keys per link name under `root` (default `$MITRA_HOME/keys`)."""

    def __init__(self, root=None):
        self.root = Path(root) if root is not None else default_root()

    def path(self, name):
        return self.root / (_check_name(name) + ".json")

    def exists(self, name):
        return self.path(name).exists()

    def names(self):
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("*.json") if _NAME.match(p.stem))

    def create(self, name, spi=1, force=False, key=None, next_sn=1):
        """Make and store a random 32-byte key for `name`; refuses to replace one unless `force`."""
        if not isinstance(spi, int) or not 1 <= spi <= SPI_MAX:
            raise KeyInvalid("SPI must be in 1..%d (0 is clear mode and has no key), got %r" % (SPI_MAX, spi))
        if key is None:
            key = secrets.token_bytes(KEY_BYTES)
        if len(key) != KEY_BYTES:
            raise KeyInvalid("key must be %d bytes, got %d" % (KEY_BYTES, len(key)))
        path = self.path(name)
        self._ensure_root()
        with self._locked(name):
            if path.exists() and not force:
                raise KeyInvalid(
                    "link %r already has a key (%s); pass force=True (`--force`) to replace it" % (name, path)
                )
            link = LinkKey(self, name, spi, bytes(key), next_sn)
            self._write(link)
        return link

    def load(self, name):
        """The stored key of `name`; `KeyMissing` when there is none."""
        data = self._read(name)
        return LinkKey(self, name, data["spi"], data["key"], data["next_sn"])

    def delete(self, name):
        """Remove the key of `name`; True when there was one."""
        path = self.path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        try:
            self._lock_path(name).unlink()
        except FileNotFoundError:
            pass
        return True

    # -- files ---------------------------------------------------------------

    def _ensure_root(self):
        if not self.root.is_dir():
            os.makedirs(self.root, mode=0o700, exist_ok=True)
            os.chmod(self.root, 0o700)  # makedirs' mode is filtered by the umask

    def _lock_path(self, name):
        return self.root / (".%s.lock" % _check_name(name))

    @contextmanager
    def _locked(self, name):
        if fcntl is None or not self.root.is_dir():
            yield
            return
        fd = os.open(self._lock_path(name), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _write(self, link):
        self._ensure_root()
        text = json.dumps(link.to_json(), sort_keys=True) + "\n"
        _write_private(self.path(link.name), text.encode())

    def _read(self, name):
        path = self.path(name)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise KeyMissing(
                "no uplink key for link %r (looked for %s); create one with `ground keys create %s` "
                "or KeyStore().create(%r)" % (name, path, name, name),
                name=name,
                path=str(path),
            ) from None
        try:
            data = json.loads(text)
            spi, key_hex, next_sn = data["spi"], data["key"], data["next_sn"]
            key = bytes.fromhex(key_hex)
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyInvalid("%s: not a key file (%s)" % (path, exc)) from None
        if len(key) != KEY_BYTES:
            raise KeyInvalid("%s: key is %d bytes, expected %d" % (path, len(key), KEY_BYTES))
        if not isinstance(spi, int) or not 1 <= spi <= SPI_MAX:
            raise KeyInvalid("%s: SPI %r outside 1..%d" % (path, spi, SPI_MAX))
        if not isinstance(next_sn, int) or next_sn < 1:
            raise KeyInvalid("%s: next_sn %r is not a positive integer" % (path, next_sn))
        return {"spi": spi, "key": key, "next_sn": next_sn}
