/* timeparse.h - timestamps: Unix seconds or ISO 8601, always UTC. */
#ifndef RS_TIMEPARSE_H
#define RS_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/* Parses "1570000000", "2019-10-01", "2019-10-01 00:00:00 UTC",
 * "2019-10-01T00:00:00Z", "2019-10-01T02:00:00+02:00" (fractions of a second
 * are dropped). A date that does not exist (2020-02-30, year 0), an hour,
 * minute or second out of range (second 60, a leap second, is read) or an
 * offset beyond +-23:59 is RS_ERR_FORMAT. Returns 0, or RS_ERR_FORMAT with
 * no message set. */
int rs_time_parse(const char *s, size_t n, int64_t *out);
/* Writes "YYYY-MM-DD HH:MM:SS" (UTC) into buf (at least 32 bytes). */
void rs_time_format(int64_t t, char *buf);
/* Parses a duration "90", "90s", "15m", "6h", "3d", "6w" into seconds;
 * RS_ERR_FORMAT when the seconds do not fit in an int64_t. */
int rs_duration_parse(const char *s, int64_t *out);

#endif
