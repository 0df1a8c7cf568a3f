/* mitra bare-metal runner: the tables gen_vectors.py generates (pil_vectors*.c, pil_calls.c).
 *
 * A case's inputs `in` (float32, in flash) are laid out as
 *   [length of each count-dependent buffer | scalar arguments | buffers]
 * with the scalars (float, int, in/out scalars) and the buffers (IN, INOUT, OUT with its
 * initial fill) each in C argument order. The outputs o[] a call produces are every OUT /
 * INOUT buffer and every returned scalar, in C argument order. Each reference value ref[k]
 * (float64) is checked against o[idx[k]] with the allowed deviation bound[k] (computed on the
 * host from the vector file's tolerance entries; 0 for exact values; a NaN reference wants NaN). */
#ifndef MITRA_PIL_H
#define MITRA_PIL_H

#include <stdint.h>

typedef struct {
    const float *in;
    const double *ref;
    const float *bound;
    const uint16_t *idx;
    uint16_t fn;      /* index into pil_function_names */
    uint16_t number;  /* the case's position in its function's list in the vector file */
    uint16_t n_in;
    uint16_t n_ref;
    int16_t status;   /* expected gnc_status */
} pil_case;

/* Generated: run case c's function on w (a RAM copy of c->in), timed in SysTick ticks; fills o. */
int pil_call(const pil_case *c, float *w, float *o, uint64_t *ticks);

extern const pil_case pil_cases[];
extern const int pil_n_cases;
extern const char *const pil_function_names[];

#endif
