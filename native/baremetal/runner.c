/* mitra bare-metal runner: every case of the embedded vector set on the target, compared with
 * its float64 reference, with the instructions each call took.
 *
 * Output (semihosting console, one line each; native/baremetal/pil.py parses it):
 *   PIL begin cases=<n>
 *   CAL empty_ticks=<t> nop_ticks=<t> nops=<n> insns=<n>     the counter checked on a call of n nops
 *   CASE <function> <number> status=<got> want=<want> ok=<0|1> insns=<n> dev=<max |c - r|> ratio=<max dev / tol>
 *   BAD <function> <number> o[<i>]=<got> ref=<ref> tol=<bound>   (first few failing values of a case)
 *   STACK used=<bytes> of=<bytes>                           high-water mark of the painted stack
 *   PIL end failed=<n>
 * The image exits 0 when every case passed and the counter checked out, else 1.
 *
 * Runner code (not the core): it uses doubles for the comparison and keeps one case's
 * buffers on the stack (w: inputs and state, o: outputs), so RAM holds no vector data. */
#include <stdint.h>
#include <string.h>

#include "pil.h"
#include "pil_sizes.h"
#include "semihost.h"
#include "systick.h"

#ifndef PIL_TICKS_NUM /* ticks per instruction = PIL_TICKS_NUM / PIL_TICKS_DEN */
#error "pil.py sets PIL_TICKS_NUM and PIL_TICKS_DEN for the machine"
#endif
#define CAL_NOPS 1024
#define MAX_BAD_LINES 4
#define STACK_PAINT 0x5AA5C33Cu

extern uint32_t __bss_end[], __stack_top[];

/* ---- a line buffer written with one SYS_WRITE0 ---------------------------------------- */

static char line[200];
static int line_len;

static void put(const char *s)
{
    while (*s && line_len < (int)sizeof line - 2) {
        line[line_len++] = *s++;
    }
}

static void put_u(uint64_t v)
{
    char b[24];
    int i = 23;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    put(b + i);
}

static void put_i(int v)
{
    if (v < 0) {
        put("-");
        put_u((uint64_t)(-(int64_t)v));
    } else {
        put_u((uint64_t)v);
    }
}

/* v with `digits` significant digits, d.ddde[+-]XX (nan, inf, 0 spelled out). */
static void put_g(double v, int digits)
{
    uint64_t m, lim = 1u;
    int e = 0, i;
    char b[24];
    if (v != v) {
        put("nan");
        return;
    }
    if (v < 0.0) {
        put("-");
        v = -v;
    }
    if (v > 1.7e308) {
        put("inf");
        return;
    }
    if (v == 0.0) {
        put("0");
        return;
    }
    while (v >= 10.0) {
        v /= 10.0;
        e++;
    }
    while (v < 1.0) {
        v *= 10.0;
        e--;
    }
    for (i = 1; i < digits; i++) {
        v *= 10.0;
        lim *= 10u;
    }
    m = (uint64_t)(v + 0.5);
    if (m >= lim * 10u) {
        m /= 10u;
        e++;
    }
    for (i = digits - 1; i >= 0; i--) {
        b[i] = (char)('0' + (int)(m % 10u));
        m /= 10u;
    }
    b[digits] = 0;
    line[line_len < (int)sizeof line - 2 ? line_len++ : line_len] = b[0];
    if (digits > 1) {
        put(".");
        put(b + 1);
    }
    put("e");
    put_i(e);
}

static void flush(void)
{
    line[line_len++] = '\n';
    line[line_len] = 0;
    sh_write0(line);
    line_len = 0;
}

/* ---- instruction counts ----------------------------------------------------------------- */

static uint32_t empty_ticks;

static uint32_t insns_of(uint64_t ticks)
{
    uint64_t t = ticks > empty_ticks ? ticks - empty_ticks : 0u;
    return (uint32_t)((t * PIL_TICKS_DEN + PIL_TICKS_NUM / 2) / PIL_TICKS_NUM);
}

__attribute__((noinline)) static uint32_t bracket_empty(void)
{
    uint64_t t0 = pil_ticks();
    uint64_t t1 = pil_ticks();
    return (uint32_t)(t1 - t0);
}

/* CAL_NOPS nops in a function of their own (a Thumb-1 literal cannot reach past them):
 * the bracket counts them plus the call and the return. */
void pil_nops(void);
__asm__(".text\n\t.align 1\n\t.thumb_func\n\t.global pil_nops\n\t.type pil_nops, %function\n"
        "pil_nops:\n\t.rept 1024\n\tnop\n\t.endr\n\tbx lr\n\t.size pil_nops, . - pil_nops\n");
#define CAL_INSNS (CAL_NOPS + 2) /* bl, nops, bx lr */

__attribute__((noinline)) static uint32_t bracket_nops(void)
{
    uint64_t t0 = pil_ticks();
    pil_nops();
    uint64_t t1 = pil_ticks();
    return (uint32_t)(t1 - t0);
}

/* ---- stack high-water mark -------------------------------------------------------------- */

static void paint_stack(void)
{
    uint32_t *p = __bss_end, *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    while (p < sp - 64) {
        *p++ = STACK_PAINT;
    }
}

static uint32_t stack_used(void)
{
    uint32_t *p = __bss_end;
    while (p < __stack_top && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

/* ---- the cases --------------------------------------------------------------------------- */

static int is_nan(double v)
{
    return v != v;
}

/* Run and check one case; returns 1 when it passed. */
static int run_case(const pil_case *c)
{
    float w[PIL_MAX_IN + 1];
    float o[PIL_MAX_OUT + 1];
    uint64_t ticks = 0u;
    double dev_max = 0.0, ratio_max = 0.0;
    int k, rc, ok, bad = 0;

    memcpy(w, c->in, sizeof(float) * c->n_in);
    rc = pil_call(c, w, o, &ticks);
    ok = rc == c->status;
    if (ok) {
        for (k = 0; k < c->n_ref; k++) {
            double got = (double)o[c->idx[k]], ref = c->ref[k], tol = (double)c->bound[k], dev, ratio;
            int good;
            if (is_nan(ref) || is_nan(got)) {
                good = is_nan(ref) && is_nan(got);
                dev = good ? 0.0 : __builtin_inf();
            } else {
                dev = got == ref ? 0.0 : (got > ref ? got - ref : ref - got);
                good = dev <= tol;
            }
            ratio = tol > 0.0 ? dev / tol : (dev == 0.0 ? 0.0 : __builtin_inf());
            if (dev > dev_max) {
                dev_max = dev;
            }
            if (ratio > ratio_max) {
                ratio_max = ratio;
            }
            if (!good) {
                ok = 0;
                if (bad++ < MAX_BAD_LINES) {
                    put("BAD ");
                    put(pil_function_names[c->fn]);
                    put(" ");
                    put_u(c->number);
                    put(" o[");
                    put_u(c->idx[k]);
                    put("]=");
                    put_g(got, 9);
                    put(" ref=");
                    put_g(ref, 9);
                    put(" tol=");
                    put_g(tol, 3);
                    flush();
                }
            }
        }
    }
    put("CASE ");
    put(pil_function_names[c->fn]);
    put(" ");
    put_u(c->number);
    put(" status=");
    put_i(rc);
    put(" want=");
    put_i(c->status);
    put(" ok=");
    put_u((uint64_t)ok);
    put(" insns=");
    put_u(insns_of(ticks));
    put(" dev=");
    put_g(dev_max, 4);
    put(" ratio=");
    put_g(ratio_max, 4);
    flush();
    return ok;
}

int main(void)
{
    uint32_t t, nop_ticks, cal;
    int i, failed = 0;

    paint_stack();
    pil_ticks_start();
    put("PIL begin cases=");
    put_i(pil_n_cases);
    flush();

    empty_ticks = 0xFFFFFFFFu;
    for (i = 0; i < 8; i++) {
        t = bracket_empty();
        if (t < empty_ticks) {
            empty_ticks = t;
        }
    }
    nop_ticks = bracket_nops();
    cal = insns_of(nop_ticks);
    put("CAL empty_ticks=");
    put_u(empty_ticks);
    put(" nop_ticks=");
    put_u(nop_ticks);
    put(" nops=");
    put_u(CAL_INSNS);
    put(" insns=");
    put_u(cal);
    flush();
    if (cal != CAL_INSNS) {
        put("PIL FAIL: the nop block counted ");
        put_u(cal);
        put(" instructions: is QEMU running with the -icount shift pil.py expects?");
        flush();
        failed++;
    }

    for (i = 0; i < pil_n_cases; i++) {
        failed += !run_case(&pil_cases[i]);
    }

    put("STACK used=");
    put_u(stack_used());
    put(" of=");
    put_u((uint64_t)((uintptr_t)__stack_top - (uintptr_t)__bss_end));
    flush();
    put("PIL end failed=");
    put_i(failed);
    flush();
    return failed != 0;
}
