// The few C library functions the core needs and a native .mpy does not get from the firmware:
// mpy_ld links no libc, and the compiler may turn a struct copy or a zeroed array into a memcpy /
// memset call, and a sinf/cosf pair into sincosf (gcc for x64, where glibc has it). Compiled with
// -fno-builtin (Makefile) so none of these is turned back into a call to itself.
#include "py/dynruntime.h"

void *memset(void *s, int c, size_t n) {
    return mp_fun_table.memset_(s, c, n);
}

void *memcpy(void *dest, const void *src, size_t n) {
    return mp_fun_table.memmove_(dest, src, n);
}

void *memmove(void *dest, const void *src, size_t n) {
    return mp_fun_table.memmove_(dest, src, n);
}

float sinf(float x);
float cosf(float x);
void sincosf(float x, float *s, float *c);

void sincosf(float x, float *s, float *c) {
    *s = sinf(x);
    *c = cosf(x);
}
