/* test-timeparse.c - timestamps and durations. */
#include "core/err.h"
#include "tap.h"
#include "core/timeparse.h"

#include <string.h>

static int64_t parse(const char *s)
{
    int64_t t = -999;
    return rs_time_parse(s, strlen(s), &t) == 0 ? t : -999;
}

/* A table timestamp in unit: its seconds, or -999; *read: the unit it was read in. */
static int64_t parse_unit(const char *s, enum rs_time_unit unit, enum rs_time_unit *read)
{
    int64_t t = -999;
    return rs_time_parse_unit(s, strlen(s), unit, read, &t) == 0 ? t : -999;
}

static void time_units(void)
{
    enum rs_time_unit r;
    is_int(parse_unit("1704448800", RS_TIME_AUTO, &r), 1704448800, "auto: seconds");
    ok(r == RS_TIME_S, "auto: read as seconds");
    is_int(parse_unit("1704448800123", RS_TIME_AUTO, &r), 1704448800, "auto: milliseconds");
    ok(r == RS_TIME_MS, "auto: read as milliseconds");
    is_int(parse_unit("1704448800123456", RS_TIME_AUTO, &r), 1704448800, "auto: microseconds");
    ok(r == RS_TIME_US, "auto: read as microseconds");
    is_int(parse_unit("99999999999", RS_TIME_AUTO, &r), -999, "auto: 1e11 - 1 is seconds, after 2100");
    ok(r == RS_TIME_S, "auto: out of range still says its unit");
    is_int(parse_unit("100000000000", RS_TIME_AUTO, &r), 100000000, "auto: 1e11 is milliseconds");
    is_int(parse_unit("100000000000000", RS_TIME_AUTO, &r), 100000000, "auto: 1e14 is microseconds");
    is_int(parse_unit("100000000000000000", RS_TIME_AUTO, &r), -999, "auto: 1e17 has no unit");
    ok(r == RS_TIME_AUTO, "auto: no unit for 1e17");
    is_int(parse_unit("2024-01-05T10:00:00Z", RS_TIME_AUTO, &r), 1704448800, "auto: ISO 8601");
    ok(r == RS_TIME_ISO, "auto: read as ISO 8601");
    is_int(parse_unit("1704448800123", RS_TIME_S, &r), -999, "declared seconds: a millisecond value is after 2100");
    is_int(parse_unit("1704448800", RS_TIME_MS, &r), 1704448, "declared milliseconds");
    is_int(parse_unit("1704448800", RS_TIME_US, &r), 1704, "declared microseconds");
    is_int(parse_unit("1704448800", RS_TIME_ISO, &r), -999, "declared ISO: a number refused");
    is_int(parse_unit("2024-01-05", RS_TIME_S, &r), -999, "declared seconds: a date refused");
    is_int(parse_unit("-1", RS_TIME_AUTO, &r), -999, "before 1970 refused");
    is_int(parse_unit("-1", RS_TIME_MS, &r), -999, "-1 ms is before 1970 too (floor)");
    is_int(parse_unit("0", RS_TIME_AUTO, &r), 0, "1970-01-01 read");
    is_int(parse_unit("4102444799", RS_TIME_AUTO, &r), 4102444799, "the last second of 2099 read");
    is_int(parse_unit("4102444800", RS_TIME_AUTO, &r), -999, "2100-01-01 refused");
    is_int(parse_unit("2100-01-01", RS_TIME_AUTO, &r), -999, "ISO 2100 refused");
    is_int(parse_unit("1569888000.9", RS_TIME_AUTO, &r), 1569888000, "fractions dropped");
    enum rs_time_unit u;
    ok(rs_time_unit_parse("ms", &u) == 0 && u == RS_TIME_MS, "unit word ms");
    ok(rs_time_unit_parse("iso", &u) == 0 && u == RS_TIME_ISO, "unit word iso");
    ok(rs_time_unit_parse("sec", &u) < 0, "unknown unit word refused");
}

int main(void)
{
    time_units();
    is_int(parse("1570000000"), 1570000000, "Unix seconds");
    is_int(parse("1570000000.75"), 1570000000, "fractional Unix seconds truncated");
    is_int(parse("-5"), -5, "negative seconds");
    is_int(parse("2019-10-01 00:00:00 UTC"), 1569888000, "REES46 style");
    is_int(parse("2019-10-01T00:00:00Z"), 1569888000, "ISO Z");
    is_int(parse("2019-10-01"), 1569888000, "date only");
    is_int(parse("2019-10-01T02:00:00+02:00"), 1569888000, "offset");
    is_int(parse("2000-02-29 12:34:56"), 951827696, "leap day");
    is_int(parse("1969-12-31 23:59:59"), -1, "before the epoch");
    is_int(parse("2019-13-01"), -999, "month 13 rejected");
    is_int(parse("2019-10-01 25:00:00"), -999, "hour 25 rejected");
    is_int(parse("2020-02-30"), -999, "February 30 rejected");
    is_int(parse("2019-02-29"), -999, "February 29 of a common year rejected");
    is_int(parse("1900-02-29"), -999, "February 29 of 1900 rejected");
    is_int(parse("2019-04-31"), -999, "April 31 rejected");
    is_int(parse("0000-01-01"), -999, "year 0 rejected");
    is_int(parse("2019-10-01T24:30:00Z"), -999, "hour 24 rejected");
    is_int(parse("2019-10-01T10:60:00Z"), -999, "minute 60 rejected");
    is_int(parse("2019-10-01T10:00:61Z"), -999, "second 61 rejected");
    is_int(parse("2016-12-31T23:59:60Z"), 1483228800, "leap second 60 read as the next second");
    is_int(parse("2019-10-01T02:00:00+99:99"), -999, "offset +99:99 rejected");
    is_int(parse("2019-10-01T02:00:00+02:60"), -999, "offset minute 60 rejected");
    is_int(parse("2019-10-01T02:00:00+24:00"), -999, "offset hour 24 rejected");
    is_int(parse("12ab"), -999, "garbage rejected");
    is_int(parse(""), -999, "empty rejected");
    char buf[32];
    rs_time_format(951827696, buf);
    is_str(buf, "2000-02-29 12:34:56", "format round trip");
    rs_time_format(-1, buf);
    is_str(buf, "1969-12-31 23:59:59", "format before the epoch");
    int64_t d;
    ok(rs_duration_parse("6w", &d) == 0 && d == 6 * 7 * 86400, "6w");
    ok(rs_duration_parse("3d", &d) == 0 && d == 3 * 86400, "3d");
    ok(rs_duration_parse("90", &d) == 0 && d == 90, "bare seconds");
    ok(rs_duration_parse("3x", &d) < 0, "unknown unit rejected");
    ok(rs_duration_parse("3dd", &d) < 0, "trailing junk rejected");
    ok(rs_duration_parse("30500568904944w", &d) < 0, "weeks overflowing int64 rejected");
    ok(rs_duration_parse("99999999999999999999", &d) < 0, "seconds overflowing int64 rejected");
    ok(rs_duration_parse("15250284452471w", &d) == 0 && d == 15250284452471LL * 604800, "largest weeks fit");
    ok(rs_duration_parse(" 5", &d) < 0 && rs_duration_parse("+5", &d) < 0, "space or sign rejected");
    return done_testing();
}
