/* Byte classes shared by the HTTP/1 parsers (head, chunked, trailers): one 256-entry table so
 * every per-byte test on the hot path is a single load and mask. Internal to src/http. */
#ifndef RP_HTTP_CTYPE_H
#define RP_HTTP_CTYPE_H

#define RP_CT_TCHAR 0x01  /* tchar, RFC 9110 5.6.2 */
#define RP_CT_VALUE 0x02  /* field-vchar / SP / HTAB / obs-text: allowed inside a field value */
#define RP_CT_TARGET 0x04 /* visible ASCII 0x21-0x7E: allowed in a request-target */
#define RP_CT_HOST 0x08   /* RFC 3986 authority bytes: unreserved, sub-delims, ':', '[', ']', '%' */

/* Class bits for every byte value; read-only, shared by all threads. */
extern const unsigned char rp_http_ctype[256];

#define RP_CT(c, bit) (rp_http_ctype[(unsigned char)(c)] & (bit))

/* The value of a hex digit, or -1 (chunk sizes, percent-escapes). */
static inline int rp_hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

#endif
