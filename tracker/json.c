/* The fleet as JSON: what GET /v1/devices, /v1/devices/{key}, /v1/summary answer and what
 * `upledger-tracker list --json` prints (one shape for both). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ledger/ul_ledger.h"
#include "internal.h"

uint64_t ul_tracker_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char hex[2 * 64 + 1];
    ul_hex_encode(hex, p, n);
    return json_string(hex);
}

static const char *const SLOT_NAMES[] = {"running", "trial", "fell_back"};

json_t *ul_tjson_device(const ul_tdevice *d)
{
    json_t *comps = json_array();
    for (size_t i = 0; i < d->n_comp; i++) {
        const ul_tcomponent *c = &d->comp[i];
        json_array_append_new(
            comps, json_pack("{s:s, s:o, s:I, s:s, s:b, s:s}", "ns", c->ns, "release",
                             hex_json(c->release_id, UL_HASH_BYTES), "seq", (json_int_t)c->seq,
                             "slot", (unsigned)c->slot < 3 ? SLOT_NAMES[c->slot] : "unknown",
                             "failed", c->failed, "status", ul_tstatus_name(d->comp_status[i])));
    }
    return json_pack("{s:o, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:o}", "key",
                     hex_json(d->pubkey, UL_PUBKEY_BYTES), "status", ul_tstatus_name(d->status),
                     "group", d->group, "hw", d->hw, "silent", d->silent, "seen_ms",
                     (json_int_t)d->seen_ms, "silence_ms", (json_int_t)d->silence_ms, "counter",
                     (json_int_t)d->counter, "attempt_err", (json_int_t)d->attempt_err,
                     "components", comps);
}

static ul_err add_device(void *ctx, const ul_tdevice *d)
{
    json_t *v = ul_tjson_device(d);
    return v && json_array_append_new(ctx, v) == 0 ? UL_OK : UL_E_NOMEM;
}

ul_err ul_tjson_list(ul_tstore *s, const ul_tquery *q, json_t **out)
{
    json_t *devs = json_array();
    int64_t next = 0;
    ul_err e = devs ? ul_tstore_list(s, q, add_device, devs, &next) : UL_E_NOMEM;
    if (e != UL_OK) {
        json_decref(devs);
        return e;
    }
    *out =
        json_pack("{s:o, s:o}", "devices", devs, "next", next ? json_integer(next) : json_null());
    return *out ? UL_OK : UL_E_NOMEM;
}

/* Summary: devices by most urgent status (total and per group), components by (namespace,
 * class, release, status). */
static ul_err add_count(void *ctx, const char *kind, const char *a, const char *b, const char *c,
                        ul_tstatus st, uint64_t n)
{
    json_t *sum = ctx, *v;
    const char *name = ul_tstatus_name(st);
    if (strcmp(kind, "group") == 0) {
        json_t *by = json_object_get(sum, "by_status");
        json_object_set_new(
            by, name, json_integer(json_integer_value(json_object_get(by, name)) + (json_int_t)n));
        json_t *groups = json_object_get(sum, "by_group"), *g = json_object_get(groups, a);
        if (!g) {
            g = json_object();
            json_object_set_new(groups, a, g);
        }
        json_object_set_new(g, name, json_integer((json_int_t)n));
        json_object_set_new(
            sum, "devices",
            json_integer(json_integer_value(json_object_get(sum, "devices")) + (json_int_t)n));
        return UL_OK;
    }
    v = json_pack("{s:s, s:s, s:s, s:s, s:I}", "ns", a, "hw", b, "release", c, "status", name,
                  "count", (json_int_t)n);
    return v && json_array_append_new(json_object_get(sum, "components"), v) == 0 ? UL_OK
                                                                                  : UL_E_NOMEM;
}

/* The wire's status names (ul_fleet_status). */
static const char *fleet_status_name(uint64_t st)
{
    static const char *const names[] = {"up_to_date", "outdated", "vulnerable",
                                        "failing",    "silent",   "unknown"};
    return st <= UL_FLEET_STATUS_MAX ? names[st] : "unknown";
}

static ul_err add_fleet(void *ctx, const ul_tcount *c)
{
    json_t *v = json_pack("{s:s, s:s, s:o, s:s, s:I}", "ns", c->ns, "hw", c->hw, "release",
                          hex_json(c->release_id, UL_HASH_BYTES), "status",
                          fleet_status_name(c->status), "count", (json_int_t)c->count);
    return v && json_array_append_new(ctx, v) == 0 ? UL_OK : UL_E_NOMEM;
}

static ul_err add_tracker(void *ctx, const uint8_t key32[UL_PUBKEY_BYTES], const char *name,
                          uint64_t counter, uint64_t seen_ms, uint64_t components)
{
    json_t *v = json_pack("{s:o, s:s, s:I, s:I, s:I}", "key", hex_json(key32, UL_PUBKEY_BYTES),
                          "name", name, "counter", (json_int_t)counter, "seen_ms",
                          (json_int_t)seen_ms, "components", (json_int_t)components);
    return v && json_array_append_new(ctx, v) == 0 ? UL_OK : UL_E_NOMEM;
}

/* "fleet": this tracker's components and its downstream trackers' counts, summed (what it sends
 * upstream); "downstream": the trackers that report to it. */
static ul_err add_cascade(ul_tstore *s, uint64_t now_ms, json_t *sum)
{
    json_t *fleet = json_array(), *down = json_array();
    ul_err e = fleet && down ? ul_tstore_fleet_counts(s, now_ms, add_fleet, fleet) : UL_E_NOMEM;
    if (e == UL_OK) {
        e = ul_tstore_each_tracker(s, add_tracker, down);
    }
    json_object_set_new(sum, "fleet", fleet);
    json_object_set_new(sum, "downstream", down);
    return e;
}

ul_err ul_tjson_summary(ul_tstore *s, uint64_t now_ms, json_t **out)
{
    json_t *sum =
        json_pack("{s:i, s:{}, s:{}, s:[]}", "devices", 0, "by_status", "by_group", "components");
    if (!sum) {
        return UL_E_NOMEM;
    }
    for (int i = 0; i < UL_TS_COUNT; i++) {
        json_object_set_new(json_object_get(sum, "by_status"), ul_tstatus_name((ul_tstatus)i),
                            json_integer(0));
    }
    ul_err e = ul_tstore_summary(s, now_ms, add_count, sum);
    if (e == UL_OK) {
        e = add_cascade(s, now_ms, sum);
    }
    if (e != UL_OK) {
        json_decref(sum);
        return e;
    }
    *out = sum;
    return UL_OK;
}

static ul_err add_report(void *ctx, uint64_t counter, uint64_t received_ms, const uint8_t *raw,
                         size_t len)
{
    char *buf = malloc(2 * len + 1);
    if (!buf) {
        return UL_E_NOMEM;
    }
    ul_hex_encode(buf, raw, len);
    json_t *v = json_pack("{s:I, s:I, s:s}", "counter", (json_int_t)counter, "received_ms",
                          (json_int_t)received_ms, "report", buf);
    free(buf);
    return v && json_array_append_new(ctx, v) == 0 ? UL_OK : UL_E_NOMEM;
}

ul_err ul_tjson_device_history(ul_tstore *s, const uint8_t pubkey32[UL_PUBKEY_BYTES],
                               uint64_t now_ms, json_t **out)
{
    ul_tdevice d;
    ul_err e = ul_tstore_device(s, pubkey32, now_ms, &d);
    json_t *hist = json_array(), *dev = NULL;
    if (e == UL_OK) {
        e = hist ? ul_tstore_history(s, pubkey32, add_report, hist) : UL_E_NOMEM;
    }
    if (e == UL_OK) {
        dev = ul_tjson_device(&d);
        e = dev && json_object_set(dev, "history", hist) == 0 ? UL_OK : UL_E_NOMEM;
    }
    json_decref(hist);
    if (e != UL_OK) {
        json_decref(dev);
        return e;
    }
    *out = dev;
    return UL_OK;
}
