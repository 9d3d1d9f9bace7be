/* timeparse.c - Unix seconds and ISO 8601 timestamps.
 * Civil-date conversion: H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms" (days_from_civil / civil_from_days). */
#include "core/timeparse.h"
#include "core/err.h"
#include "core/num.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void rs_time_format(int64_t t, char *buf)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t sec = t - days * 86400, y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, 32, "%04d-%02u-%02u %02d:%02d:%02d", (int)y, m, d, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60));
}

/* Reads exactly k digits at *p into *v. */
static int digits(const char **p, const char *end, int k, int *v)
{
    *v = 0;
    for (int i = 0; i < k; i++, (*p)++) {
        if (*p >= end || **p < '0' || **p > '9')
            return -1;
        *v = *v * 10 + (**p - '0');
    }
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

static int parse_iso(const char *p, const char *end, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, s = 0;
    if (digits(&p, end, 4, &y) || p >= end || *p++ != '-' || digits(&p, end, 2, &mo) ||
        p >= end || *p++ != '-' || digits(&p, end, 2, &d))
        return -1;
    /* Year 0 does not exist in the Gregorian calendar of ISO 8601 dates as written in data. */
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (p < end && (*p == ' ' || *p == 'T') && p + 1 < end && p[1] >= '0' && p[1] <= '9') {
        p++;
        if (digits(&p, end, 2, &h) || p >= end || *p++ != ':' || digits(&p, end, 2, &mi))
            return -1;
        if (p < end && *p == ':') {
            p++;
            if (digits(&p, end, 2, &s))
                return -1;
            if (p < end && *p == '.')
                for (p++; p < end && *p >= '0' && *p <= '9'; p++)
                    ;
        }
        if (h > 23 || mi > 59 || s > 60)
            return -1;
    }
    int64_t offset = 0;
    if (p < end && *p == ' ')
        p++;
    if (end - p == 3 && memcmp(p, "UTC", 3) == 0) {
        p += 3;
    } else if (end - p == 1 && *p == 'Z') {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
        if (digits(&p, end, 2, &oh))
            return -1;
        if (p < end && *p == ':')
            p++;
        if (p < end && digits(&p, end, 2, &om))
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        offset = sign * (oh * 3600 + om * 60);
    }
    if (p != end)
        return -1;
    /* Four-digit years keep every term far inside int64_t: no overflow check needed. */
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s - offset;
    return 0;
}

int rs_time_parse(const char *s, size_t n, int64_t *out)
{
    const char *end = s + n;
    if (n == 0)
        return RS_ERR_FORMAT;
    if (n >= 10 && s[4] == '-')
        return parse_iso(s, end, out) == 0 ? 0 : RS_ERR_FORMAT;
    const char *p = s + (*s == '-');
    if (p == end)
        return RS_ERR_FORMAT;
    int64_t v = 0;
    for (; p < end && *p != '.'; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return RS_ERR_FORMAT;
        v = v * 10 + (*p - '0');
    }
    if (p < end) /* fractional seconds: digits only, dropped */
        for (p++; p < end; p++)
            if (*p < '0' || *p > '9')
                return RS_ERR_FORMAT;
    *out = *s == '-' ? -v : v;
    return 0;
}

int rs_time_unit_parse(const char *s, enum rs_time_unit *u)
{
    static const char *const words[] = { "auto", "s", "ms", "us", "iso" };
    for (int k = 0; k < 5; k++)
        if (strcmp(s, words[k]) == 0) {
            *u = (enum rs_time_unit)k;
            return 0;
        }
    return RS_ERR_FORMAT;
}

const char *rs_time_unit_name(enum rs_time_unit u)
{
    static const char *const names[] = { "auto", "seconds", "milliseconds", "microseconds", "ISO 8601" };
    return names[u];
}

/* The integer part of a number's magnitude: its unit under auto-detection. */
static enum rs_time_unit unit_of(int64_t v)
{
    uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;
    return m < 100000000000ULL ? RS_TIME_S : m < 100000000000000ULL ? RS_TIME_MS
         : m < 100000000000000000ULL ? RS_TIME_US : RS_TIME_AUTO;
}

int rs_time_parse_unit(const char *s, size_t n, enum rs_time_unit unit, enum rs_time_unit *read, int64_t *out)
{
    int iso = n >= 10 && s[4] == '-';
    *read = RS_TIME_AUTO;
    if (iso ? unit != RS_TIME_AUTO && unit != RS_TIME_ISO : unit == RS_TIME_ISO)
        return RS_ERR_FORMAT;
    if (rs_time_parse(s, n, out) < 0)
        return RS_ERR_FORMAT;
    *read = iso ? RS_TIME_ISO : unit == RS_TIME_AUTO ? unit_of(*out) : unit;
    if (*read == RS_TIME_AUTO)
        return RS_ERR_FORMAT;
    static const int64_t per_second[] = { 1, 1, 1000, 1000000, 1 };
    /* floor division: -1 ms is 1969-12-31 23:59:59, refused below */
    int64_t d = per_second[*read], t = *out / d - (*out % d < 0);
    *out = t;
    return t >= RS_TIME_MIN && t < RS_TIME_MAX ? 0 : RS_ERR_FORMAT;
}

int rs_duration_parse(const char *s, int64_t *out)
{
    size_t n = strspn(s, "0123456789");
    const char *end = s + n;
    int64_t v, unit = 1;
    switch (*end) {
    case '\0': case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return RS_ERR_FORMAT;
    }
    if ((*end && end[1]) || rs_num_i64(s, n, &v) < 0 || v > INT64_MAX / unit)
        return RS_ERR_FORMAT;
    *out = v * unit;
    return 0;
}
