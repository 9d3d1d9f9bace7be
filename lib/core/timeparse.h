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
/* The unit of a table's timestamps (--time-unit). RS_TIME_AUTO reads a
 * number by its magnitude: below 1e11 seconds (1e11 s is the year 5138),
 * below 1e14 milliseconds, below 1e17 microseconds; anything larger is an
 * error. An ISO 8601 string is read whatever the unit except RS_TIME_S,
 * RS_TIME_MS and RS_TIME_US, which take numbers only; RS_TIME_ISO takes
 * strings only. */
enum rs_time_unit { RS_TIME_AUTO, RS_TIME_S, RS_TIME_MS, RS_TIME_US, RS_TIME_ISO };
/* The range every table timestamp must fall in, UTC seconds:
 * [1970-01-01, 2100-01-01). A millisecond value read as seconds lands
 * thousands of years out, so the range catches a wrong unit. */
#define RS_TIME_MIN 0
#define RS_TIME_MAX 4102444800LL

/* "s", "ms", "us", "iso", "auto" -> *u; RS_ERR_FORMAT otherwise. */
int rs_time_unit_parse(const char *s, enum rs_time_unit *u);
/* The unit's word ("seconds", "milliseconds", ...). */
const char *rs_time_unit_name(enum rs_time_unit u);
/* A table's timestamp s[0..n) declared in unit: *out gets UTC seconds
 * (fractions dropped) and *read the unit it was read in (RS_TIME_ISO for a
 * date string). Returns 0, or RS_ERR_FORMAT with no message set: *read is
 * RS_TIME_AUTO when s is no timestamp of that unit (or a number too large
 * for any unit), else the time is outside [RS_TIME_MIN, RS_TIME_MAX) and
 * *out holds it, for the message. */
int rs_time_parse_unit(const char *s, size_t n, enum rs_time_unit unit, enum rs_time_unit *read, int64_t *out);
/* Writes "YYYY-MM-DD HH:MM:SS" (UTC) into buf (at least 32 bytes). */
void rs_time_format(int64_t t, char *buf);
/* Parses a duration "90", "90s", "15m", "6h", "3d", "6w" into seconds;
 * RS_ERR_FORMAT when the seconds do not fit in an int64_t. */
int rs_duration_parse(const char *s, int64_t *out);

#endif
