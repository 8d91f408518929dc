/* Accept-Encoding negotiation (RFC 9110 12.5.3, weights 12.4.2): every Accept-Encoding field of
 * a request is read as one list into a q-value per known coding, then the server's preference
 * order picks among them. Input is untrusted: malformed elements are skipped, never fatal. */
#include "http/accept_encoding.h"

#include <stdint.h>
#include <string.h>

#include "http/ctype.h"

/* Weights are kept as integers 0..1000 (thousandths), which is exactly what a qvalue can say. */
#define Q_UNSET (-1)
#define Q_MAX 1000
/* An identity not named (neither itself nor by "*") is acceptable by default but was not asked
 * for: it ranks below any coding the client did name, so it only wins ties it is preferred in. */
#define Q_IDENTITY_DEFAULT 1

static const char *const coding_names[RP_CODING_COUNT] = {
    [RP_CODING_IDENTITY] = "identity",
    [RP_CODING_GZIP] = "gzip",
    [RP_CODING_BR] = "br",
    [RP_CODING_ZSTD] = "zstd",
};

/* What the request's fields said: the weight of each known coding and of "*", Q_UNSET when not
 * listed. A coding listed twice keeps its highest weight (RFC 9110 leaves duplicates open). */
struct weights {
    int q[RP_CODING_COUNT];
    int star;
};

const char *rp_coding_name(enum rp_coding c)
{
    if ((unsigned)c >= RP_CODING_COUNT)
        return "";
    return coding_names[c];
}

int rp_coding_parse(struct rp_slice token)
{
    for (int c = 0; c < RP_CODING_COUNT; c++)
        if (rp_slice_case_eq_cstr(token, coding_names[c]))
            return c;
    /* RFC 9110 18.6: x-gzip is registered as an alias of gzip. */
    if (rp_slice_case_eq_cstr(token, "x-gzip"))
        return RP_CODING_GZIP;
    return -1;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *p, const char *e)
{
    while (p < e && is_ows(*p))
        p++;
    return p;
}

static const char *skip_token(const char *p, const char *e)
{
    while (p < e && RP_CT(*p, RP_CT_TCHAR))
        p++;
    return p;
}

/* The end of the quoted-string opening at p (RFC 9110 5.6.4), or NULL when it is not closed or
 * holds a byte it may not. */
static const char *skip_quoted(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            if (++p == e)
                return NULL;
            c = (unsigned char)*p;
            if (c != '\t' && c < 0x20)
                return NULL;
            if (c == 0x7f)
                return NULL;
            continue;
        }
        if ((c != '\t' && c < 0x20) || c == 0x7f)
            return NULL;
    }
    return NULL;
}

/* The qvalue filling [p, e) exactly, in thousandths: "0" ["." 0-3 digits] or "1" ["." 0-3
 * zeros]; -1 for anything else ("2", "0.1234", "1.5", "abc", ""). */
static int parse_qvalue(const char *p, const char *e)
{
    if (p == e || (*p != '0' && *p != '1'))
        return -1;
    int v = (*p++ - '0') * Q_MAX;
    if (p == e)
        return v;
    if (*p++ != '.')
        return -1;
    int scale = 100;
    for (int digits = 0; p < e; digits++, p++) {
        if (digits == 3 || *p < '0' || *p > '9')
            return -1;
        v += (*p - '0') * scale;
        scale /= 10;
    }
    return v <= Q_MAX ? v : -1;
}

/* Parses the parameters after a coding up to the end of the element (a ',' or e). Stores the
 * weight in *q (Q_MAX when absent) and returns where it stopped, or NULL when the element is
 * malformed. Only "q" means anything here; other well-formed parameters are ignored, so a
 * harmless extension does not cost the client its coding. */
static const char *parse_params(const char *p, const char *e, int *q)
{
    bool have_q = false;
    *q = Q_MAX;
    for (;;) {
        p = skip_ows(p, e);
        if (p == e || *p == ',')
            return p;
        if (*p != ';')
            return NULL;
        p = skip_ows(p + 1, e);
        if (p == e || *p == ',' || *p == ';')
            continue; /* an empty parameter, as RFC 9110 5.6.6 allows */
        const char *name = p;
        p = skip_token(p, e);
        struct rp_slice pname = {name, (size_t)(p - name)};
        if (pname.n == 0 || p == e || *p != '=')
            return NULL;
        const char *val = ++p;
        bool quoted = p < e && *p == '"';
        p = quoted ? skip_quoted(p, e) : skip_token(p, e);
        if (!p || p == val)
            return NULL;
        if (rp_slice_case_eq_cstr(pname, "q")) {
            int v = quoted ? -1 : parse_qvalue(val, p);
            if (v < 0 || have_q)
                return NULL; /* a bad or second weight: we cannot tell what was meant */
            *q = v;
            have_q = true;
        }
    }
}

static void note(int *slot, int q)
{
    if (*slot < q)
        *slot = q;
}

/* Reads one list element starting at p (not OWS, not ','), records it in w when well formed,
 * and returns the position of the ',' ending it, or e. Always advances past p. */
static const char *parse_element(const char *p, const char *e, struct weights *w)
{
    const char *start = p;
    p = skip_token(p, e);
    struct rp_slice coding = {start, (size_t)(p - start)};
    int q;
    const char *end = coding.n ? parse_params(p, e, &q) : NULL;
    if (!end) {
        /* Malformed: drop the whole element and resume at the next ','. */
        const char *comma = memchr(start, ',', (size_t)(e - start));
        return comma ? comma : e;
    }
    if (coding.n == 1 && coding.p[0] == '*') {
        note(&w->star, q);
    } else {
        int c = rp_coding_parse(coding);
        if (c >= 0)
            note(&w->q[c], q);
        /* Codings we cannot produce (compress, deflate, ...) change nothing. */
    }
    return end;
}

static void parse_field(struct rp_slice v, struct weights *w)
{
    const char *p = v.p, *e = v.p + v.n;
    while (p < e) {
        if (*p == ',' || is_ows(*p)) {
            p++; /* empty list elements are allowed (RFC 9110 5.6.1) */
            continue;
        }
        p = parse_element(p, e, w);
    }
}

/* The weight the request gives coding c after "*" and the identity default are applied. */
static int effective_q(const struct weights *w, int c)
{
    if (w->q[c] != Q_UNSET)
        return w->q[c];
    if (w->star != Q_UNSET)
        return w->star;
    return c == RP_CODING_IDENTITY ? Q_IDENTITY_DEFAULT : 0;
}

int rp_accept_encoding_choose(const struct rp_msg *req, const enum rp_coding *pref, size_t n)
{
    struct weights w = {.star = Q_UNSET};
    for (int c = 0; c < RP_CODING_COUNT; c++)
        w.q[c] = Q_UNSET;
    bool seen = false;
    if (req) {
        for (uint32_t i = 0; i < req->nhdrs; i++) {
            if (!rp_slice_case_eq_cstr(req->hdrs[i].name, "accept-encoding"))
                continue;
            seen = true;
            if (req->hdrs[i].value.n)
                parse_field(req->hdrs[i].value, &w);
        }
    }
    if (!seen)
        return RP_CODING_IDENTITY;

    int best = -1, best_q = 0;
    for (size_t i = 0; i < n && pref; i++) {
        if ((unsigned)pref[i] >= RP_CODING_COUNT)
            continue;
        int q = effective_q(&w, (int)pref[i]);
        if (q > best_q) { /* strictly greater: ties stay with the earlier preference */
            best = (int)pref[i];
            best_q = q;
        }
    }
    if (best >= 0)
        return best;
    return effective_q(&w, RP_CODING_IDENTITY) > 0 ? RP_CODING_IDENTITY : -1;
}
