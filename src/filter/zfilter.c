/* The response compression filter (see zfilter.h). */
#include "filter/zfilter.h"

#include <stdlib.h>
#include <string.h>

#include "cache/cache_control.h"
#include "filter/compress.h"

/* ---- the decision ---- */

static bool type_listed(const struct rp_compress_conf *conf, const struct rp_msg *resp)
{
    const struct rp_header *ct = rp_msg_find(resp, RP_SLICE_LIT("content-type"));
    if (!ct)
        return false;
    struct rp_slice v = ct->value;
    size_t n = 0;
    while (n < v.n && v.p[n] != ';' && v.p[n] != ' ' && v.p[n] != '\t')
        n++;
    for (uint32_t i = 0; i < conf->ntypes; i++) {
        const char *t = conf->types[i];
        size_t tn = strlen(t);
        if (tn >= 2 && t[tn - 1] == '*' && t[tn - 2] == '/') { /* a whole type */
            if (n > tn - 1 && !strncasecmp(v.p, t, tn - 1))
                return true;
        } else if (n == tn && !strncasecmp(v.p, t, n)) {
            return true;
        }
    }
    return false;
}

static bool already_coded(const struct rp_msg *resp)
{
    for (uint32_t i = 0; i < resp->nhdrs; i++) {
        if (!rp_slice_case_eq_cstr(resp->hdrs[i].name, "content-encoding"))
            continue;
        struct rp_slice v = resp->hdrs[i].value;
        while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
            v.n--;
        while (v.n && (v.p[0] == ' ' || v.p[0] == '\t')) {
            v.p++;
            v.n--;
        }
        if (v.n && !rp_slice_case_eq_cstr(v, "identity"))
            return true;
    }
    return false;
}

enum rp_coding rp_zfilter_choose(const struct rp_compress_conf *conf, const struct rp_msg *req,
                                 const struct rp_msg *resp, bool *vary)
{
    *vary = false;
    if (!conf || resp->status < 200 || resp->status == 204 || resp->status == 206 ||
        resp->status == 304 || rp_msg_find(req, RP_SLICE_LIT("range")) || already_coded(resp) ||
        !type_listed(conf, resp))
        return RP_CODING_IDENTITY;
    /* HEAD: the length of the GET's body, from the field */
    if (rp_msg_find(resp, RP_SLICE_LIT("content-length")) &&
        resp->content_length < conf->min_length)
        return RP_CODING_IDENTITY;
    struct rp_cc cc;
    rp_cc_parse(resp, false, &cc);
    if (cc.no_transform) /* RFC 9110 7.7: no representation change by intermediaries */
        return RP_CODING_IDENTITY;
    *vary = true;
    enum rp_coding pref[3];
    for (uint32_t i = 0; i < conf->nprefer && i < 3; i++)
        pref[i] = (enum rp_coding)conf->prefer[i];
    int c = rp_accept_encoding_choose(req, pref, conf->nprefer);
    return c > RP_CODING_IDENTITY ? (enum rp_coding)c : RP_CODING_IDENTITY;
}

/* ---- the stream ---- */

struct rp_zfilter {
    struct rp_zstream *z;
    struct rp_body_writer w;
    struct rp_buf out;
    bool finished;    /* the compressed stream has ended */
    size_t unflushed; /* input since the last flush */
};

/* Framed output may grow this far while one event is compressed (a compressor may release a
 * whole internal block at once); the caller drains it before feeding more. */
#define OUT_MAX (8u << 20)
#define FLUSH_EVERY (256u << 10)
#define STEP 16384

struct rp_zfilter *rp_zfilter_new(enum rp_coding c, int level, enum rp_body_out out)
{
    struct rp_zfilter *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->z = rp_compressor_new(c, level);
    if (!f->z) {
        free(f);
        return NULL;
    }
    f->w.kind = out;
    return f;
}

void rp_zfilter_free(struct rp_zfilter *f)
{
    if (!f)
        return;
    rp_zstream_free(f->z);
    rp_buf_release(&f->out);
    free(f);
}

struct rp_buf *rp_zfilter_output(struct rp_zfilter *f)
{
    return &f->out;
}

/* Run the compressor over in with mode until it has taken all of it (and, for a flush or the
 * finish, written everything out), each piece framed as one chunk. */
static bool run(struct rp_zfilter *f, struct rp_slice in, enum rp_zflush mode)
{
    if (f->finished)
        return true;
    char tmp[STEP];
    for (;;) {
        size_t used = 0, made = 0;
        int r = rp_zstream_run(f->z, in.p, in.n, &used, tmp, sizeof(tmp), &made, mode);
        if (r < 0)
            return false;
        in.p += used;
        in.n -= used;
        if (made) { /* one chunk per piece */
            if (!rp_buf_reserve(&f->out, made + RP_BODY_FRAME_OVERHEAD, OUT_MAX))
                return false;
            rp_body_write(&f->w, &f->out, RP_CHUNK_DATA, (struct rp_slice){tmp, made});
        }
        if (r == 1) {
            f->finished = true;
            return true;
        }
        if (!in.n && made < sizeof(tmp))
            return true;
    }
}

bool rp_zfilter_feed(struct rp_zfilter *f, enum rp_chunk_ev ev, struct rp_slice data, bool flush)
{
    switch (ev) {
    case RP_CHUNK_DATA:
        /* a flush now and then bounds what a compressor holds back (brotli keeps up to its
         * window before it writes anything), and so the output one event can release */
        f->unflushed += data.n;
        if (f->unflushed >= FLUSH_EVERY)
            flush = true;
        if (flush)
            f->unflushed = 0;
        return run(f, data, flush ? RP_Z_FLUSH : RP_Z_NONE);
    case RP_CHUNK_NONE:
        if (flush)
            f->unflushed = 0;
        return !flush || run(f, (struct rp_slice){NULL, 0}, RP_Z_FLUSH);
    case RP_CHUNK_TRAILER:
        if (!run(f, (struct rp_slice){NULL, 0}, RP_Z_FINISH) ||
            !rp_buf_reserve(&f->out, data.n + 8, OUT_MAX))
            return false;
        rp_body_write(&f->w, &f->out, RP_CHUNK_TRAILER, data);
        return true;
    case RP_CHUNK_END:
        if (!run(f, (struct rp_slice){NULL, 0}, RP_Z_FINISH) ||
            !rp_buf_reserve(&f->out, RP_BODY_FRAME_OVERHEAD, OUT_MAX))
            return false;
        rp_body_write(&f->w, &f->out, RP_CHUNK_END, (struct rp_slice){NULL, 0});
        return true;
    }
    return false;
}
