"""ST13 large-data downlink on the ground: reassembly, checks, resume and product files.

A board sends a product (image, spectrum, log) as the parts of one transaction
(ECSS-E-ST-70-41C 6.13: TM 13.1 first, 13.2 intermediate, 13.3 last part), after
an ST5 `transfer_started` event with the product kind, size, part count and
CRC-16/CCITT-FALSE of the whole product. `Reassembler` takes decoded TM in any
order: duplicates are ignored, the part count comes from the event or from the
last part, gaps are listed by `missing()`. `fetch()` follows one transaction on
an open link and asks the board for what is missing (TC 13.129 resend) until
the product is complete and its CRC checks, or a retry limit is reached.

Files: `WRITERS` maps a product kind to a writer `(directory, stem, data) ->
path`; raw octets for now (`image` -> .pgm, `spectrum` -> .bin, `log` -> .txt).
A vehicle's ground helper replaces an entry to render PNG or CSV instead.
"""

import time
from pathlib import Path

from ground import dictionary as d
from ground.errors import MitraError
from ground.link import CommandFailed

_ST5 = d.SERVICE_BY_NAME["event"].number
_ST13 = d.SERVICE_BY_NAME["large"].number
_FIRST, _INTERMEDIATE, _LAST = (d.key("large.%s_part" % n)[1] for n in ("first", "intermediate", "last"))
_PART_SUBTYPES = (_FIRST, _INTERMEDIATE, _LAST)
_EVENT_STARTED = d.EVENT_BY_NAME["transfer_started"].id
PRODUCTS = d.obc.PRODUCTS
MAX_RESEND_ITEMS = 255  # the resend list's u8 count


class TransferError(MitraError):
    """A transfer that cannot complete or does not check (one line, with the numbers)."""


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), as the board computes it (PROTOCOL.md 2)."""
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def is_part(p):
    return p.get("type") == "tm" and p.get("service") == _ST13 and p.get("subtype") in _PART_SUBTYPES


def is_started(p):
    return p.get("type") == "tm" and p.get("service") == _ST5 and p.get("data", {}).get("event_id") == _EVENT_STARTED


class Transfer:
    """What the ground holds of one transaction."""

    def __init__(self, transaction):
        self.transaction = transaction
        self.product = None  # kind name, once the event is seen
        self.size = None
        self.crc = None
        self.total = None  # part count: from the event or the last part
        self.parts = {}  # part number -> octets
        self.duplicates = 0
        self.conflict = None  # text, when the event and the last part disagree

    @property
    def announced(self):
        return self.crc is not None

    def add(self, number, data, last=False):
        if last:
            self._set_total(number + 1, "last part is %d" % number, False)
        if number in self.parts:
            self.duplicates += 1
            return False
        self.parts[number] = bytes(data)
        return True

    def announce(self, aux):
        self.product = PRODUCTS.get(aux["product"], "product%d" % aux["product"])
        self.size = aux["size"]
        self.crc = aux["crc"]
        self._set_total(aux["parts"], "transfer_started says %d parts" % aux["parts"], True)

    def _set_total(self, total, why, from_event):
        if self.total is not None and self.total != total and self.conflict is None:
            self.conflict = "%s, but %d known before" % (why, self.total)
        if self.total is None or from_event:
            self.total = total  # the event's count wins over a last part's

    def missing(self):
        """Part numbers known to be missing; when the count is unknown, the gaps below the highest seen."""
        top = self.total if self.total is not None else (max(self.parts) + 1 if self.parts else 0)
        return [n for n in range(top) if n not in self.parts]

    @property
    def complete(self):
        return self.total is not None and len([n for n in self.parts if n < self.total]) == self.total

    def data(self):
        """The product's octets; raises TransferError when incomplete or when it does not check."""
        if not self.complete:
            raise TransferError("transaction %d: incomplete, missing parts %s" % (self.transaction, _ranges(self.missing()) or "after %d" % max(self.parts, default=-1)))
        data = b"".join(self.parts[n] for n in range(self.total))
        if self.conflict:
            raise TransferError("transaction %d: part count disagrees: %s" % (self.transaction, self.conflict))
        if self.announced:
            if len(data) != self.size:
                raise TransferError("transaction %d: size mismatch: expected %d octets, got %d" % (self.transaction, self.size, len(data)))
            got = crc16(data)
            if got != self.crc:
                raise TransferError("transaction %d: CRC mismatch: expected 0x%04X, got 0x%04X" % (self.transaction, self.crc, got))
        return data


class Reassembler:
    """Transactions from decoded TM: feed every packet, read `transfers`."""

    def __init__(self):
        self.transfers = {}

    def get(self, transaction):
        t = self.transfers.get(transaction)
        if t is None:
            t = self.transfers[transaction] = Transfer(transaction)
        return t

    def feed(self, p):
        """Take one decoded packet; returns the transaction number it concerned, else None."""
        if is_part(p):
            data = p["data"]
            self.get(data["transaction"]).add(data["part"], data["data"], last=p["subtype"] == _LAST)
            return data["transaction"]
        if is_started(p):
            aux = p["data"]["aux"]
            t = self.get(aux["transaction"])
            if t.announced and (t.size, t.crc) != (aux["size"], aux["crc"]):
                # the same ID for another product (the board's IDs wrapped or its flash was wiped): start over
                t = self.transfers[aux["transaction"]] = Transfer(aux["transaction"])
            t.announce(aux)
            return aux["transaction"]
        return None


# --- product files -----------------------------------------------------------------------


def _raw_writer(suffix):
    def write(directory, stem, data):
        path = Path(directory) / (stem + suffix)
        path.write_bytes(data)
        return path

    return write


def _image():
    from ground import image  # imported on use: the camera product's PNG encoder

    return image


def write_spectrum(directory, stem, data):
    """The rover's spectrum product (firmware/rover/drill.py: u16 samples, f32 hole depth, x, y,
    then f32 depth and f32 abundance per sample, big-endian) as CSV, with a PNG plot beside it;
    returns the CSV's path. ValueError for a product whose size does not match its count."""
    import struct

    head = struct.calcsize(">Hfff")
    if len(data) < head:
        raise ValueError("spectrum: %d octets, shorter than its header" % len(data))
    n, depth, x, y = struct.unpack_from(">Hfff", data)
    if len(data) != head + 8 * n:
        raise ValueError("spectrum: %d octets for %d samples (expected %d)" % (len(data), n, head + 8 * n))
    rows = [struct.unpack_from(">ff", data, head + 8 * i) for i in range(n)]
    path = Path(directory) / (stem + ".csv")
    lines = ["# hole depth %.3f m at x %.2f m, y %.2f m" % (depth, x, y), "depth_m,abundance_wt_pct"]
    path.write_text("\n".join(lines + ["%.4f,%.4f" % r for r in rows]) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 5))
    ax.plot([r[1] for r in rows], [r[0] for r in rows], marker="o")
    ax.invert_yaxis()
    ax.set_xlabel("water ice (wt%)")
    ax.set_ylabel("depth (m)")
    ax.set_title("hole at (%.1f, %.1f) m" % (x, y))
    fig.tight_layout()
    fig.savefig(str(Path(directory) / (stem + ".png")))
    plt.close(fig)
    return path


# product kind -> writer(directory, stem, data) -> path; replace an entry to render differently
WRITERS = {
    "image": lambda directory, stem, data: _image().write_png(directory, stem, data),  # the inspector's camera: PNG
    "spectrum": write_spectrum,  # the rover's spectrometer: CSV + PNG
    "log": _raw_writer(".txt"),
}
DEFAULT_WRITER = _raw_writer(".bin")  # a product whose kind is unknown (its event was lost and not re-sent)


def write_product(transfer, directory):
    """Check the transfer and write its product; returns the path."""
    data = transfer.data()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    kind = transfer.product or "unknown"
    writer = WRITERS.get(kind, DEFAULT_WRITER)
    return writer(directory, "%s-%05d" % (kind, transfer.transaction), data)


# --- following a transfer on a link --------------------------------------------------------


def _ranges(numbers):
    out = []
    for n in numbers:
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return ", ".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in out)


def resend_request(transfer):
    """The parts to ask again: the gaps, or the one after the highest while the count is unknown
    (the board's resend re-announces the transfer, which gives the count); [] asks for every part."""
    missing = transfer.missing()
    if transfer.total is None and transfer.parts and not missing:
        missing = [max(transfer.parts) + 1]
    return missing[:MAX_RESEND_ITEMS]


def fetch(link, transaction=None, wait=30.0, quiet=1.0, retries=5, keep=None, log=None, resend_first=None, seen=()):
    """Follow one transfer on `link` (a GroundLink) to a checked product; returns the Transfer.

    `transaction` None: the first transfer that shows up within `wait` seconds. Given:
    that one; unless `resend_first` is False, every part is asked for at once (a fresh
    ground holds none of it). After `quiet` seconds without a part of any transfer, the
    missing parts are asked for again (TC 13.129), at most `retries` times. `keep(p)`
    filters what the reassembler sees (tests drop parts with it); `log(text)` gets progress;
    `seen`: packets read before (a command's replies, such as the transfer_started it caused).
    """
    reasm = Reassembler()
    state = {"last": time.monotonic(), "tid": transaction}
    keep = keep or (lambda p: True)
    say = log or (lambda text: None)

    def take(p):
        if not (is_part(p) or is_started(p)):
            return
        state["last"] = time.monotonic()  # any transfer's parts: the board is busy, wait
        if not keep(p):
            return
        tid = reasm.feed(p)
        if state["tid"] is None and tid is not None:
            state["tid"] = tid
            say("transaction %d" % tid)

    def ask(parts):
        try:
            link.command("large.resend", {"transaction": state["tid"], "parts": [{"part": n} for n in parts]}, on_packet=take)
        except CommandFailed as exc:
            if exc.error == "UNKNOWN_TRANSACTION":
                raise TransferError("transaction %d is no longer on the board (UNKNOWN_TRANSACTION): it keeps the last few only" % state["tid"]) from None
            raise

    for p in seen:
        take(p)
    if transaction is not None and resend_first is not False:
        ask([])
    deadline = time.monotonic() + wait
    while state["tid"] is None:
        if time.monotonic() >= deadline:
            raise TransferError("no transfer started within %.0f s (trigger one, e.g. `ground send large.downlink_log`, or give --transaction)" % wait)
        for p in link.read(0.2):
            take(p)
    asked = 0
    while True:
        for p in link.read(0.2):
            take(p)
        t = reasm.get(state["tid"])
        if t.complete and t.announced:
            t.data()  # raises on a CRC or size mismatch
            return t
        if time.monotonic() - state["last"] >= quiet:
            if t.complete:
                return t  # the count came from the last part; nothing re-announced it: unchecked
            if asked >= retries:
                raise TransferError(
                    "transaction %d: parts %s still missing after %d resend requests"
                    % (t.transaction, _ranges(t.missing()) or "after %d" % max(t.parts, default=-1), asked)
                )
            parts = resend_request(t)
            asked += 1
            say("resend %d: %s" % (asked, _ranges(parts) or "every part"))
            ask(parts)
            state["last"] = time.monotonic()


def cmd_fetch(opts, open_link):
    """`ground fetch`: wait for (or resume) a transfer, write the product, print its path."""
    import sys

    if opts.transaction is not None and not 0 <= opts.transaction <= 0xFFFF:
        raise TransferError("--transaction %d outside 0..65535" % opts.transaction)
    link = open_link(opts)
    try:
        if opts.transaction is None:
            link.flush_input()
        progress = (lambda text: print("ground: " + text, file=sys.stderr, flush=True)) if opts.verbose else None
        t = fetch(link, opts.transaction, wait=opts.wait, quiet=opts.quiet, retries=opts.retries, log=progress)
    finally:
        link.close()
    path = write_product(t, opts.output)
    if not t.announced:
        print("ground: transaction %d: no transfer_started seen, CRC not checked" % t.transaction, file=sys.stderr)
    print(path)
    return 0


def add_fetch_options(p):
    from ground.args import count, int_in, seconds

    p.add_argument("--transaction", type=int_in(0, 0xFFFF), default=None, help="resume this transaction (default: wait for the next one to start)")
    p.add_argument("-o", "--output", default=".", help="directory for the product file (default: .)")
    p.add_argument("--wait", type=seconds, default=30.0, help="seconds to wait for a transfer to start")
    p.add_argument("--quiet", type=seconds, default=1.0, help="seconds without parts before asking for the missing ones")
    p.add_argument("--retries", type=count, default=5, help="resend requests before giving up")
    p.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
