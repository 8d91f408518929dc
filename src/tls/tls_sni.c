/* Server name matching for SNI; see tls_sni.h. Names are compared without regard to ASCII case,
 * as DNS names are; a wildcard stands for exactly one label (RFC 6125 6.4.3, leftmost only). */
#include "tls/tls_sni.h"

#include <string.h>
#include <strings.h>

/* Length of host without one trailing dot. */
static size_t host_len(const char *host)
{
    size_t n = strlen(host);
    return n && host[n - 1] == '.' ? n - 1 : n;
}

bool rp_tls_name_match(const char *pattern, const char *host)
{
    size_t hn = host_len(host), pn = strlen(pattern);
    if (hn == 0 || pn == 0)
        return false;
    if (pattern[0] != '*' || host[0] == '*')
        return pn == hn && strncasecmp(pattern, host, hn) == 0;
    /* "*.example.com": host = label + ".example.com", the label non-empty and dot-free */
    const char *suffix = pattern + 1; /* ".example.com" */
    size_t sn = pn - 1;
    if (hn <= sn || strncasecmp(host + hn - sn, suffix, sn) != 0)
        return false;
    return memchr(host, '.', hn - sn) == NULL;
}

void *rp_tls_sni_find(const struct rp_tls_sni_entry *tab, size_t n, const char *host)
{
    if (!host || !*host)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (tab[i].name[0] != '*' && rp_tls_name_match(tab[i].name, host))
            return tab[i].value;
    for (size_t i = 0; i < n; i++)
        if (tab[i].name[0] == '*' && rp_tls_name_match(tab[i].name, host))
            return tab[i].value;
    return NULL;
}

bool rp_tls_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    if (s[0] == '*') {
        if (s[1] != '.' || !strchr(s + 2, '.'))
            return false;
        s += 2;
    }
    size_t label = 0;
    for (; *s; s++) {
        char ch = *s;
        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        if (!ok || ++label > 63)
            return false;
    }
    return label > 0;
}
