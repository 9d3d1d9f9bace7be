/* test-prom.c - the Prometheus text exposition: families, escaped label
 * values, and a latency histogram's cumulative buckets at exact edges. */
#include "serve/prom.h"
#include "tap.h"

#include <string.h>

int main(void)
{
    struct rs_prom p = { 0 };
    rs_prom_family(&p, "x_total", "counter", "Things.");
    rs_prom_sample(&p, "x_total", "arm", "a\"b\\c\nd", 3);
    rs_prom_sample(&p, "x_total", NULL, NULL, 0.5);
    is_str(p.text, "# HELP x_total Things.\n# TYPE x_total counter\nx_total{arm=\"a\\\"b\\\\c\\nd\"} 3\nx_total 0.5\n",
           "HELP, TYPE, escaped label values");
    rs_prom_free(&p);

    static struct rs_latency h;
    rs_latency_add(&h, 65535);    /* just under 2^16 ns: in the first bucket */
    rs_latency_add(&h, 65537);    /* just over: in the second */
    rs_latency_add(&h, 1000000);  /* 1 ms: under 2^20 ns */
    rs_latency_add(&h, 3000000000ULL); /* 3 s: over every edge */
    rs_prom_histogram(&p, "lat_seconds", "endpoint", "r", &h);
    ok(strstr(p.text, "lat_seconds_bucket{endpoint=\"r\",le=\"6.5536e-05\"} 1\n") != NULL, "le 2^16 ns: 1");
    ok(strstr(p.text, "lat_seconds_bucket{endpoint=\"r\",le=\"0.000131072\"} 2\n") != NULL, "le 2^17 ns: 2");
    ok(strstr(p.text, "lat_seconds_bucket{endpoint=\"r\",le=\"0.000524288\"} 2\n") != NULL, "le 2^19 ns: 2");
    ok(strstr(p.text, "lat_seconds_bucket{endpoint=\"r\",le=\"0.001048576\"} 3\n") != NULL, "le 2^20 ns: 3");
    ok(strstr(p.text, "lat_seconds_bucket{endpoint=\"r\",le=\"2.14748365\"} 3\n") != NULL, "le 2^31 ns: 3");
    ok(strstr(p.text, "lat_seconds_bucket{endpoint=\"r\",le=\"+Inf\"} 4\n") != NULL, "+Inf: all");
    ok(strstr(p.text, "lat_seconds_count{endpoint=\"r\"} 4\n") != NULL, "_count");
    ok(strstr(p.text, "lat_seconds_sum{endpoint=\"r\"} 3.00113107") != NULL, "_sum in seconds");
    rs_prom_free(&p);
    return done_testing();
}
