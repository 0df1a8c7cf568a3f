/* mitra GNC core: fixed sizes (F Prime habit: one config header, no malloc).
 * Running out of a table is a reported error (GNC_ERANGE), never a silent clamp. */
#ifndef GNC_CONFIG_H
#define GNC_CONFIG_H

#define GNC_MAX_PATH_POINTS 64   /* rover path waypoints a pure-pursuit call accepts */
#define GNC_PURSUIT_WALK 4       /* path points a pure-pursuit call walks past inside its lookahead */
#define GNC_MAX_SUBSTEPS 1000    /* plant propagator sub-steps per call */
#define GNC_KEEPOUT_MAX_SAMPLES 4096 /* samples of a free-drift keep-out prediction */

#endif
