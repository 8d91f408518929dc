/* Incremental strict decoder for the chunked transfer coding (RFC 9112 7.1). A byte-driven state
 * machine for the framing (so any split of the input gives the same result) with a fast path that
 * hands out data bytes as slices of the input without looking at them. */
#include "http/chunked.h"

#include "http/ctype.h"

#define DEF_MAX_LINE 4096
#define DEF_MAX_TRAILER 16384
#define MAX_SIZE_DIGITS 16

enum {
    S_SIZE_START = 0, /* first hex digit of a chunk-size */
    S_SIZE,           /* more hex digits, BWS, ';' or CR */
    S_EXT_BWS,        /* BWS seen after the size or a value: more BWS or ';' */
    S_EXT_NAME_START, /* after ';': BWS, then the first byte of the extension name */
    S_EXT_NAME,       /* name bytes, then BWS, '=', ';' or CR */
    S_EXT_NAME_BWS,   /* BWS after a name: more BWS, '=' or ';' */
    S_EXT_VAL_START,  /* after '=': BWS, then a token or a quoted-string */
    S_EXT_VAL_TOKEN,  /* token value bytes, then BWS, ';' or CR */
    S_EXT_VAL_QUOTED, /* inside a quoted-string */
    S_EXT_VAL_ESC,    /* after a backslash inside a quoted-string */
    S_EXT_AFTER_VAL,  /* after the closing quote: BWS, ';' or CR */
    S_SIZE_LF,        /* LF closing the chunk-size line */
    S_DATA,           /* chunk data; 'remaining' bytes left */
    S_DATA_CR,        /* CR after the data */
    S_DATA_LF,        /* LF after the data */
    S_TRAILER_START,  /* start of a trailer line or of the final CRLF */
    S_TRAILER_NAME,   /* field-name bytes, then ':' */
    S_TRAILER_VALUE,  /* field-value bytes, then CR */
    S_TRAILER_LF,     /* LF closing a trailer line */
    S_END_LF,         /* LF of the final CRLF */
    S_DONE,
};

void rp_chunked_init(struct rp_chunked *c, uint32_t max_line, uint32_t max_trailer)
{
    c->state = S_SIZE_START;
    c->remaining = 0;
    c->line_len = 0;
    c->trailer_len = 0;
    c->total = 0;
    if (max_line == 0 || max_line > sizeof(c->line))
        max_line = max_line == 0 ? DEF_MAX_LINE : (uint32_t)sizeof(c->line);
    c->max_line = max_line;
    c->max_trailer = max_trailer ? max_trailer : DEF_MAX_TRAILER;
}

static bool is_ws(unsigned char ch)
{
    return ch == ' ' || ch == '\t';
}

static bool is_tchar(unsigned char ch)
{
    return RP_CT(ch, RP_CT_TCHAR) != 0;
}

/* qdtext / quoted-pair bytes (RFC 9110 5.6.4): HTAB, SP, VCHAR, obs-text, never CTLs. */
static bool is_qbyte(unsigned char ch)
{
    return RP_CT(ch, RP_CT_VALUE) != 0;
}

/* The chunk-size line is complete: go to its data, or to the trailer after the last chunk. */
static int size_line_done(struct rp_chunked *c)
{
    if (c->remaining == 0) {
        c->state = S_TRAILER_START;
        c->line_len = 0;
        return 0;
    }
    if (c->remaining > UINT64_MAX - c->total)
        return -1;
    c->state = S_DATA;
    return 0;
}

/* One framing byte of a chunk-size line (size and extensions). Returns 0 or -1 on bad syntax. */
static int size_line_byte(struct rp_chunked *c, unsigned char ch)
{
    if (++c->line_len > c->max_line)
        return -1;
    int h;
    switch (c->state) {
    case S_SIZE_START:
    case S_SIZE:
        h = rp_hexval(ch);
        if (h >= 0) {
            if (c->line_len > MAX_SIZE_DIGITS)
                return -1;
            c->remaining = (c->remaining << 4) | (uint64_t)h;
            c->state = S_SIZE;
            return 0;
        }
        if (c->state == S_SIZE_START)
            return -1;
        break;
    case S_EXT_BWS:
        break;
    case S_EXT_NAME_START:
        if (is_ws(ch))
            return 0;
        if (!is_tchar(ch))
            return -1;
        c->state = S_EXT_NAME;
        return 0;
    case S_EXT_NAME:
        if (is_tchar(ch))
            return 0;
        if (ch == '=') {
            c->state = S_EXT_VAL_START;
            return 0;
        }
        if (is_ws(ch)) {
            c->state = S_EXT_NAME_BWS;
            return 0;
        }
        break;
    case S_EXT_NAME_BWS:
        if (is_ws(ch))
            return 0;
        if (ch == '=') {
            c->state = S_EXT_VAL_START;
            return 0;
        }
        if (ch == ';') {
            c->state = S_EXT_NAME_START;
            return 0;
        }
        return -1;
    case S_EXT_VAL_START:
        if (is_ws(ch))
            return 0;
        if (ch == '"') {
            c->state = S_EXT_VAL_QUOTED;
            return 0;
        }
        if (!is_tchar(ch))
            return -1;
        c->state = S_EXT_VAL_TOKEN;
        return 0;
    case S_EXT_VAL_TOKEN:
        if (is_tchar(ch))
            return 0;
        break;
    case S_EXT_VAL_QUOTED:
        if (ch == '"')
            c->state = S_EXT_AFTER_VAL;
        else if (ch == '\\')
            c->state = S_EXT_VAL_ESC;
        else if (!is_qbyte(ch))
            return -1;
        return 0;
    case S_EXT_VAL_ESC:
        if (!is_qbyte(ch))
            return -1;
        c->state = S_EXT_VAL_QUOTED;
        return 0;
    case S_EXT_AFTER_VAL:
        break;
    default:
        return -1;
    }
    /* After the size, a name, a value or BWS: BWS, ';' or (except after BWS) CR. */
    if (is_ws(ch)) {
        c->state = S_EXT_BWS;
        return 0;
    }
    if (ch == ';') {
        c->state = S_EXT_NAME_START;
        return 0;
    }
    if (ch == '\r' && c->state != S_EXT_BWS) {
        c->state = S_SIZE_LF;
        return 0;
    }
    return -1;
}

/* One byte of the trailer section, gathered into c->line. Returns 1 when a trailer line is
 * complete, 2 at the end of the body, 0 to go on, -1 on bad syntax or a limit. */
static int trailer_byte(struct rp_chunked *c, unsigned char ch)
{
    if (++c->trailer_len > c->max_trailer)
        return -1;
    switch (c->state) {
    case S_TRAILER_START:
        if (ch == '\r') {
            c->state = S_END_LF;
            return 0;
        }
        if (!is_tchar(ch)) /* includes SP/HTAB: obs-fold */
            return -1;
        c->line_len = 0;
        c->line[c->line_len++] = (char)ch;
        c->state = S_TRAILER_NAME;
        return 0;
    case S_TRAILER_NAME:
    case S_TRAILER_VALUE:
        if (ch == '\r' && c->state == S_TRAILER_VALUE) {
            c->state = S_TRAILER_LF;
            return 0;
        }
        if (c->state == S_TRAILER_NAME) {
            if (ch == ':')
                c->state = S_TRAILER_VALUE;
            else if (!is_tchar(ch))
                return -1;
        } else if (!RP_CT(ch, RP_CT_VALUE)) {
            return -1;
        }
        if (c->line_len >= c->max_line)
            return -1;
        c->line[c->line_len++] = (char)ch;
        return 0;
    case S_TRAILER_LF:
        if (ch != '\n')
            return -1;
        c->state = S_TRAILER_START;
        return 1;
    case S_END_LF:
        if (ch != '\n')
            return -1;
        c->state = S_DONE;
        return 2;
    default:
        return -1;
    }
}

ssize_t rp_chunked_decode(struct rp_chunked *c, const char *in, size_t n, enum rp_chunk_ev *ev,
                          struct rp_slice *out)
{
    size_t i = 0;
    *ev = RP_CHUNK_NONE;
    *out = RP_SLICE_NULL;
    while (i < n && c->state != S_DONE) {
        if (c->state == S_DATA) {
            size_t take = n - i;
            if (take > c->remaining)
                take = (size_t)c->remaining;
            *out = (struct rp_slice){in + i, take};
            c->remaining -= take;
            c->total += take;
            if (c->remaining == 0)
                c->state = S_DATA_CR;
            *ev = RP_CHUNK_DATA;
            return (ssize_t)(i + take);
        }
        unsigned char ch = (unsigned char)in[i++];
        int r;
        switch (c->state) {
        case S_SIZE_LF:
            if (ch != '\n' || size_line_done(c) != 0)
                return -400;
            break;
        case S_DATA_CR:
            if (ch != '\r')
                return -400;
            c->state = S_DATA_LF;
            break;
        case S_DATA_LF:
            if (ch != '\n')
                return -400;
            c->state = S_SIZE_START;
            c->line_len = 0;
            c->remaining = 0;
            break;
        case S_TRAILER_START:
        case S_TRAILER_NAME:
        case S_TRAILER_VALUE:
        case S_TRAILER_LF:
        case S_END_LF:
            r = trailer_byte(c, ch);
            if (r < 0)
                return -400;
            if (r == 1) {
                *ev = RP_CHUNK_TRAILER;
                *out = (struct rp_slice){c->line, c->line_len};
                return (ssize_t)i;
            }
            if (r == 2) {
                *ev = RP_CHUNK_END;
                return (ssize_t)i;
            }
            break;
        default:
            if (size_line_byte(c, ch) != 0)
                return -400;
            break;
        }
    }
    if (c->state == S_DONE)
        *ev = RP_CHUNK_END;
    return (ssize_t)i;
}
