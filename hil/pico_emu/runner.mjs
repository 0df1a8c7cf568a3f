// mitra HIL rig: a Raspberry Pi Pico (RP2040) running real MicroPython firmware in the npm
// rp2040js emulator. Started and driven by hil/pico_emu/__init__.py (PicoEmu), which owns the
// pty the ground talks to; this process speaks a framed protocol on its stdin/stdout:
//
//   frame = type (1 octet) | length (uint32 LE) | payload
//   to the runner:   'D' octets for the USB-CDC OUT endpoint (host -> board)
//                    'C' a JSON command: {"cmd": "power_cycle" | "quit" | "status" | "profile_reset"}
//   from the runner: 'D' octets the board wrote to the USB-CDC IN endpoint (board -> host)
//                    'E' a JSON event: ready, boot {n, cause}, usb {connected}, reset {cause},
//                        status {...}, lockup {pc}, error {message}, profile_reset {samples}
//
// --profile FILE samples the program counter every PROFILE_EVERY instructions the core executes
// (idle skipped) and writes {"every", "samples": [[pc, count], ...]} to FILE when told to quit;
// profile_reset drops what was sampled so far (the boot, say). hil/pico_emu/profile.py names them.
//
// Three gaps of rp2040js 1.4.1 are handled here (../shared/vendor/README.md):
//  1. its SSI models no SPI flash: the boot ROM's flash_range_erase / flash_range_program are
//     replaced by BKPT traps and done here on the flash image file (written through), so
//     littlefs formats and persists;
//  2. its USB-CDC answers every OUT poll at once with a zero-length packet (an interrupt storm):
//     a poll is held until host data arrives, as a real host NAKs;
//  3. it has no reset: on a watchdog trigger the clock stops and the chip is rebuilt around the
//     same flash, the watchdog's REASON and scratch registers kept (reset cause WDT), as is a
//     power cycle (reset cause power-on).
// The emulated time runs at 125 MHz of the core's cycle count; idle time (WFI/WFE) is skipped,
// or with --realtime paced to the wall clock. An emulator-only register at 0x40068000 (unused
// APB space on an RP2040) reads the core's cycle count (low word, then high word at +4), so
// benchmarks on the board count emulated cycles instead of timing the host.

import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

const FLASH_SIZE = 2 * 1024 * 1024; // RPI_PICO: W25Q16, 2 MiB
const SECTOR = 4096;
const CYCLE_COUNTER_BASE = 0x40068; // peripheral key: address >>> 14 << 2
const CHIP_RESET_BASE = 0x40064; // VREG_AND_CHIP_RESET
const CHIP_RESET_HAD_POR = 1 << 8;
const BKPT_ERASE = 0xe0;
const BKPT_PROGRAM = 0xe1;
const NS_PER_CYCLE = 8; // 125 MHz
const SLICE_MS = 15; // host events (pty data, commands) are handled between slices
const PROFILE_EVERY = 997; // instructions between PC samples: a prime, so no loop's period aliases it


function die(message) {
  process.stderr.write(`pico-emu: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { realtime: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--firmware') opts.firmware = value();
    else if (a === '--bootrom') opts.bootrom = value();
    else if (a === '--flash') opts.flash = value();
    else if (a === '--realtime') opts.realtime = true;
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '--profile') opts.profile = value();
    else die(`unknown argument ${a} (expected --firmware F --bootrom B --flash IMAGE [--realtime] [--verbose] [--profile FILE])`);
  }
  for (const k of ['firmware', 'bootrom', 'flash']) if (!opts[k]) die(`--${k} is required`);
  return opts;
}

function readFileOr(path, what) {
  try {
    return fs.readFileSync(path);
  } catch (e) {
    die(`${what} ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

const opts = parseArgs(process.argv.slice(2));
// stdout carries frames only: rp2040js's console chatter (unmodelled registers) goes to stderr
// with --verbose, else nowhere; its errors always go to stderr
for (const name of ['log', 'info', 'debug', 'warn']) {
  console[name] = opts.verbose ? (...a) => console.error(...a) : () => {};
}

let rp2040js;
try {
  rp2040js = await import('rp2040js');
} catch (e) {
  die(`npm package rp2040js missing (run \`npm ci\` in hil/pico_emu, or scripts/bootstrap.sh): ${e.message}`);
}
const { Simulator, USBCDC } = rp2040js;

// ---- inputs -------------------------------------------------------------------------------

const bootromBytes = readFileOr(opts.bootrom, 'boot ROM');
if (bootromBytes.length !== 16384) die(`boot ROM ${opts.bootrom}: ${bootromBytes.length} octets, expected 16384`);
const firmware = readFileOr(opts.firmware, 'firmware');
if (firmware.length < 256 || firmware.length > FLASH_SIZE) die(`firmware ${opts.firmware}: ${firmware.length} octets is not an RP2040 flash image`);

// The flash: the image file (created erased when missing), the firmware written over its start
// as a UF2 copy would; the filesystem behind it is kept.
const flash = new Uint8Array(FLASH_SIZE).fill(0xff);
let flashFd;
try {
  flashFd = fs.openSync(opts.flash, fs.existsSync(opts.flash) ? 'r+' : 'w+');
  const n = fs.readSync(flashFd, flash, 0, FLASH_SIZE, 0);
  if (n < FLASH_SIZE) flash.fill(0xff, n);
  flash.set(firmware, 0);
  fs.writeSync(flashFd, flash, 0, FLASH_SIZE, 0);
} catch (e) {
  die(`flash image ${opts.flash}: ${e.message}`);
}

// ---- framed I/O ---------------------------------------------------------------------------

function send(type, payload) {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32LE(payload.length, 1);
  process.stdout.write(Buffer.concat([head, Buffer.from(payload)]));
}

function event(name, fields = {}) {
  send('E', Buffer.from(JSON.stringify({ event: name, ...fields })));
}

// ---- the chip -----------------------------------------------------------------------------

const quietLogger = {
  debug() {},
  info() {},
  warn(component, message) {
    if (opts.verbose) process.stderr.write(`rp2040js [${component}] ${message}\n`);
  },
  error(component, message) {
    process.stderr.write(`rp2040js [${component}] ${message}\n`);
  },
};

// ROM function table (RP2040 datasheet 2.8.3): 0x14 holds a 16-bit pointer to pairs of
// (code, function), code = two ASCII letters, ended by a zero code.
function romFunction(rom16, c1, c2) {
  const code = c1.charCodeAt(0) | (c2.charCodeAt(0) << 8);
  for (let p = rom16[0x14 >> 1]; rom16[p >> 1] !== 0; p += 4) {
    if (rom16[p >> 1] === code) return rom16[(p + 2) >> 1] & ~1;
  }
  die(`boot ROM has no function ${c1}${c2}`);
}

class Board {
  constructor(cause, keep) {
    this.sim = new Simulator();
    const { rp2040 } = this.sim;
    this.rp2040 = rp2040;
    this.core = rp2040.core;
    this.clock = this.sim.clock;
    rp2040.logger = quietLogger;
    rp2040.loadBootrom(new Uint32Array(bootromBytes.buffer, bootromBytes.byteOffset, 4096).slice());
    rp2040.flash.set(flash, 0); // after loadBootrom, whose reset() erases the emulator's flash
    // The ROM's own flash boot reads boot2 through the SSI, which rp2040js does not model:
    // start at boot2 in flash (XIP) instead, as rp2040js's own demo does. boot2 sets up the SSI
    // and enters the firmware's vector table. (So the ROM's watchdog-scratch "reboot to an
    // address" is not honoured: MicroPython's machine.reset() does not use it.)
    this.core.PC = 0x10000000;
    const rom16 = new Uint16Array(rp2040.bootrom.buffer);
    rom16[romFunction(rom16, 'R', 'E') >> 1] = 0xbe00 | BKPT_ERASE;
    rom16[romFunction(rom16, 'R', 'P') >> 1] = 0xbe00 | BKPT_PROGRAM;
    rp2040.onBreak = (code) => this.onBreak(code);

    const watchdog = rp2040.peripherals[0x40058];
    if (keep) {
      watchdog.reason = keep.reason;
      watchdog.scratchData.set(keep.scratch);
    }
    watchdog.onWatchdogTrigger = () => {
      // rp2040js re-arms the expired alarm 0 ns ahead, and clock.tick() would spin on it forever:
      // stop the watchdog; the run loop rebuilds the chip
      watchdog.alarm.enable = false;
      watchdog.timer.enable = false;
      this.reset = { cause: 'watchdog', reason: watchdog.reason, scratch: watchdog.scratchData.slice() };
    };
    // machine.reset_cause(): PWRON_RESET when CHIP_RESET has HAD_POR, else WDT_RESET
    const chipReset = cause === 'power' ? CHIP_RESET_HAD_POR : 0;
    rp2040.peripherals[CHIP_RESET_BASE] = {
      regs: new Uint32Array(4),
      readUint32(offset) {
        return offset === 8 ? chipReset : this.regs[(offset >> 2) & 3];
      },
      writeUint32Atomic(offset, value) {
        if (offset < 8) this.regs[offset >> 2] = value;
      },
    };
    const core = this.core;
    rp2040.peripherals[CYCLE_COUNTER_BASE] = {
      readUint32(offset) {
        return offset === 4 ? Math.floor(core.cycles / 2 ** 32) >>> 0 : core.cycles >>> 0;
      },
      writeUint32Atomic() {},
    };

    this.cdc = new USBCDC(rp2040.usbCtrl);
    this.pendingRead = null; // [endpoint, size] of an OUT poll held until host data arrives
    rp2040.usbCtrl.onEndpointRead = (endpoint, size) => {
      if (endpoint !== this.cdc.outEndpoint) return;
      this.pendingRead = [endpoint, size];
      feedUsb();
    };
    this.cdc.onDeviceConnected = () => event('usb', { connected: true, t_ns: this.clock.nanos });
    this.cdc.onSerialData = (buffer) => send('D', buffer);
    this.locked = false;
    this.reset = null;
  }

  onBreak(code) {
    const core = this.core;
    const r = core.registers;
    if (code === BKPT_ERASE || code === BKPT_PROGRAM) {
      const offs = r[0] >>> 0;
      const count = (code === BKPT_ERASE ? r[1] : r[2]) >>> 0;
      if (offs + count > FLASH_SIZE || (code === BKPT_ERASE && (offs % SECTOR || count % SECTOR))) {
        process.stderr.write(`pico-emu: flash ${code === BKPT_ERASE ? 'erase' : 'program'} outside the chip or unaligned: offset 0x${offs.toString(16)}, ${count} octets\n`);
      } else if (code === BKPT_ERASE) {
        flash.fill(0xff, offs, offs + count);
      } else {
        const src = r[1] >>> 0;
        for (let i = 0; i < count; i++) flash[offs + i] &= this.rp2040.readUint8(src + i); // NOR: 1 -> 0 only
      }
      if (count && offs + count <= FLASH_SIZE) {
        this.rp2040.flash.set(flash.subarray(offs, offs + count), offs);
        fs.writeSync(flashFd, flash, offs, count, offs);
      }
      core.PC = core.LR & ~1; // return from the ROM function
      return;
    }
    // any other BKPT: a real RP2040 without a debugger locks up in HardFault; only a reset
    // (the watchdog, or a power cycle) gets it out
    this.locked = true;
    event('lockup', { pc: (core.PC - 2) >>> 0, code });
  }
}

// ---- the run loop -------------------------------------------------------------------------

const PROFILING = Boolean(opts.profile); // read once: the run loop tests it every instruction
const profile = new Map(); // PC -> samples, with --profile
let profileCountdown = PROFILE_EVERY;

function writeProfile() {
  if (!PROFILING) return;
  try {
    fs.writeFileSync(opts.profile, JSON.stringify({ every: PROFILE_EVERY, samples: [...profile] }));
  } catch (e) {
    process.stderr.write(`pico-emu: profile ${opts.profile}: ${e.message}\n`);
  }
}

const hostQueue = []; // Buffers from the host, not yet given to the OUT endpoint
let hostQueued = 0;
let board = null;
let boots = 0;
let timer = null; // the one pending run(): a setTimeout or a setImmediate
let timerIsImmediate = false;
let quitting = false;
let wallStart = 0; // performance.now() at boot, for --realtime
let simStart = 0;

function feedUsb() {
  if (!board || !board.pendingRead || hostQueued === 0) return;
  const [endpoint, size] = board.pendingRead;
  const out = new Uint8Array(Math.min(size, hostQueued));
  let n = 0;
  while (n < out.length) {
    const head = hostQueue[0];
    const take = Math.min(head.length, out.length - n);
    out.set(head.subarray(0, take), n);
    n += take;
    if (take === head.length) hostQueue.shift();
    else hostQueue[0] = head.subarray(take);
  }
  hostQueued -= n;
  board.pendingRead = null;
  board.rp2040.usbCtrl.endpointReadDone(endpoint, out);
}

function boot(cause, keep) {
  board = new Board(cause, keep);
  boots += 1;
  wallStart = performance.now();
  simStart = 0;
  event('boot', { n: boots, cause });
}

function wallNanos() {
  return (performance.now() - wallStart) * 1e6;
}

// run() is scheduled exactly once at a time: every path through it schedules the next
function schedule(ms) {
  cancel();
  if (ms > 0) {
    timer = setTimeout(fire, ms);
    timerIsImmediate = false;
  } else {
    timer = setImmediate(fire);
    timerIsImmediate = true;
  }
}

function cancel() {
  if (timer === null) return;
  if (timerIsImmediate) clearImmediate(timer);
  else clearTimeout(timer);
  timer = null;
}

function fire() {
  timer = null;
  run();
}

function wake() {
  schedule(0);
}

function run() {
  if (quitting) return;
  const b = board;
  const { core, clock } = b;
  const end = performance.now() + SLICE_MS;
  for (;;) {
    for (let i = 0; i < 20000; i++) {
      if (b.reset) break;
      if (core.waiting || b.locked) {
        const next = clock.nextAlarm;
        if (opts.realtime) {
          // idle: the emulated time follows the wall clock up to the next alarm
          const now = simStart + wallNanos();
          if (!next || next.nanos > now) {
            if (now > clock.nanos) clock.tick(now - clock.nanos);
            schedule(next ? (next.nanos - now) / 1e6 : 5);
            return;
          }
        } else if (!next) {
          // nothing will wake the core but the host: wait for it (a command or data)
          schedule(1000);
          return;
        }
        clock.tick(next.nanos - clock.nanos);
      } else {
        if (PROFILING && --profileCountdown === 0) {
          profileCountdown = PROFILE_EVERY;
          const pc = core.PC >>> 0;
          profile.set(pc, (profile.get(pc) || 0) + 1);
        }
        clock.tick(core.executeInstruction() * NS_PER_CYCLE);
      }
    }
    if (b.reset) {
      const keep = b.reset;
      event('reset', { cause: keep.cause });
      boot('watchdog', keep);
      schedule(0);
      return;
    }
    if (opts.realtime && clock.nanos - simStart > wallNanos() + 2e6) {
      // ahead of the wall clock while busy: let it catch up
      schedule((clock.nanos - simStart - wallNanos()) / 1e6);
      return;
    }
    if (performance.now() >= end) break;
  }
  schedule(0);
}

// ---- commands from the host ---------------------------------------------------------------

function command(msg) {
  let cmd;
  try {
    cmd = JSON.parse(msg.toString());
  } catch {
    event('error', { message: 'bad command frame' });
    return;
  }
  if (cmd.cmd === 'quit') {
    quitting = true;
    cancel();
    writeProfile();
    fs.fsyncSync(flashFd);
    fs.closeSync(flashFd);
    process.stdout.end(() => process.exit(0));
  } else if (cmd.cmd === 'power_cycle') {
    hostQueue.length = 0;
    hostQueued = 0;
    boot('power', null);
    wake();
  } else if (cmd.cmd === 'status') {
    const wd = board.rp2040.peripherals[0x40058];
    event('status', {
      boots,
      t_ns: board.clock.nanos,
      cycles: board.core.cycles,
      waiting: board.core.waiting,
      locked: board.locked,
      host_queued: hostQueued,
      watchdog: { enabled: wd.enable, counter: wd.timer.counter, tick: wd.tickEnable, reason: wd.reason },
    });
  } else if (cmd.cmd === 'profile_reset') {
    let samples = 0;
    for (const n of profile.values()) samples += n;
    profile.clear();
    event('profile_reset', { samples });
  } else {
    event('error', { message: `unknown command ${JSON.stringify(cmd.cmd)}` });
  }
}

let inbuf = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  inbuf = inbuf.length ? Buffer.concat([inbuf, chunk]) : chunk;
  while (inbuf.length >= 5) {
    const len = inbuf.readUInt32LE(1);
    if (inbuf.length < 5 + len) break;
    const type = String.fromCharCode(inbuf[0]);
    const payload = inbuf.subarray(5, 5 + len);
    inbuf = inbuf.subarray(5 + len);
    if (type === 'D') {
      hostQueue.push(Uint8Array.from(payload));
      hostQueued += payload.length;
      feedUsb();
      wake();
    } else if (type === 'C') {
      command(payload);
    }
  }
});
process.stdin.on('end', () => {
  // the Python side went away: stop, the flash image is already written through
  if (!quitting) {
    quitting = true;
    process.exit(0);
  }
});

boot('power', null);
event('ready', { flash: opts.flash, flash_size: FLASH_SIZE, realtime: opts.realtime });
schedule(0);
