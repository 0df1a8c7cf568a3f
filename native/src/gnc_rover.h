/* mitra GNC core (private header): the rover functions with the heading's cos and sin passed
 * in or out, so the rover step (steps.c) computes them once per cycle. On a soft-float MCU a
 * sinf/cosf pair costs ~3.5k instructions, an eighth of the Cortex-M0 rover budget (30k):
 * odometry's pair at the mid-step heading, rotated by the half step (a few products), gives
 * the pair at the new heading that pure pursuit needs. The public gnc_rover_odometry and
 * gnc_pure_pursuit (gnc.h) are these with the pair dropped or computed. */
#ifndef GNC_ROVER_H
#define GNC_ROVER_H

#include "gnc.h"

/* gnc_rover_odometry; also writes cos, sin of the new heading to cs_sn[0..1]. */
gnc_status gnc_rover_odometry_cs(float *nav, float v_left, float v_right, float gyro_z, float dt, float sigma_gyro,
                                 float *cs_sn);
/* gnc_pure_pursuit with cs, sn = cos, sin of pose[2] given by the caller; path_checked != 0:
 * the caller has already checked path's 2 n_points floats finite (the rover step does). */
gnc_status gnc_pure_pursuit_cs(const float *pose, const float *path, int n_points, int *index, const float *limits,
                               const float *cond, float cs, float sn, int path_checked, float *cmd, int *done);

#endif
