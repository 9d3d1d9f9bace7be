/* clock.h - monotonic wall time, for timings in logs and reports. */
#ifndef RS_CLOCK_H
#define RS_CLOCK_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double rs_now(void);

#endif
