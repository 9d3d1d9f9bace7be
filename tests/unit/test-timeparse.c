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

int main(void)
{
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
