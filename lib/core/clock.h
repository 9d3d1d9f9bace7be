/* clock.h - monotonic wall time, for timings in logs and reports. */
#ifndef RS_CLOCK_H
#define RS_CLOCK_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double rs_now(void);
/* Seconds since the Unix epoch (CLOCK_REALTIME): for records that carry a
 * date (access logs, feedback), never for durations. */
double rs_epoch_now(void);

#endif
