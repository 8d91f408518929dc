/* Request path normalisation (RFC 3986 2.3, 6.2.2, 5.2.4) before routing, and the safe join of a
 * normalised path under a static root. One pass: each segment is percent-normalised into the
 * output, then dropped or popped when it turns out to be a dot-segment. */
#include "http/ctype.h"
#include "http/uri.h"

static bool is_unreserved(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/* Raw bytes a path may carry: visible ASCII except '#' (a fragment never reaches a server) and
 * '?' (the query was split off before). */
static bool raw_ok(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && ch != '#' && ch != '?';
}

ssize_t rp_uri_normalize_path(struct rp_slice path, char *out, size_t cap,
                              bool reject_encoded_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    if (path.n == 0 || path.p[0] != '/' || cap < path.n + 1)
        return -400;
    const unsigned char *p = (const unsigned char *)path.p, *e = p + path.n;
    size_t o = 0;         /* output length; the output is "/seg/seg..." */
    bool dot_end = false; /* the last input segment was "." or "..": keep a trailing '/' */
    while (p < e) {
        /* here *p == '/': start a segment */
        size_t seg_start = o;
        out[o++] = '/';
        p++;
        while (p < e && *p != '/') {
            unsigned char ch = *p;
            if (ch == '%') {
                int h1 = e - p > 2 ? rp_hexval(p[1]) : -1;
                int h2 = h1 >= 0 ? rp_hexval(p[2]) : -1;
                if (h2 < 0)
                    return -400;
                unsigned char v = (unsigned char)(h1 << 4 | h2);
                if (v == 0 || (reject_encoded_slash && (v == '/' || v == '\\')))
                    return -400;
                if (is_unreserved(v)) {
                    out[o++] = (char)v;
                } else {
                    out[o++] = '%';
                    out[o++] = hex[v >> 4];
                    out[o++] = hex[v & 15];
                }
                p += 3;
                continue;
            }
            if (!raw_ok(ch))
                return -400;
            out[o++] = (char)ch;
            p++;
        }
        size_t len = o - seg_start - 1;
        const char *seg = out + seg_start + 1;
        dot_end = false;
        if (len == 1 && seg[0] == '.') {
            o = seg_start;
            dot_end = true;
        } else if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            o = seg_start;
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* drop the previous segment with its '/' */
            dot_end = true;
        }
    }
    if (dot_end || o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return (ssize_t)o;
}

bool rp_uri_safe_join(const char *root, struct rp_slice norm_path, char *out, size_t cap)
{
    if (!root || !root[0] || norm_path.n == 0 || norm_path.p[0] != '/')
        return false;
    if (memchr(norm_path.p, '\0', norm_path.n))
        return false;
    /* every segment: refuse "." and ".." (a normalised path has none; this is the last guard) */
    const char *p = norm_path.p, *e = p + norm_path.n;
    while (p < e) {
        const char *s = p + 1;
        const char *q = memchr(s, '/', (size_t)(e - s));
        if (!q)
            q = e;
        size_t len = (size_t)(q - s);
        if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        p = q;
    }
    size_t rl = strlen(root);
    if (root[rl - 1] == '/')
        rl--; /* root "/srv/" + "/x" -> "/srv/x" */
    if (rl + norm_path.n + 1 > cap)
        return false;
    memcpy(out, root, rl);
    memcpy(out + rl, norm_path.p, norm_path.n);
    out[rl + norm_path.n] = '\0';
    return true;
}
