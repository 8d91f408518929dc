/* The readable startup block: what rampart is about to serve, one line per listener, upstream
 * and route, so a glance at the log (or `rampart check`) confirms the file says what was meant. */
#include <stdio.h>

#include "config/config.h"
#include "lb/balancer.h"
#include "tls/tls_server.h"

#ifndef RP_VERSION
#define RP_VERSION "?"
#endif

static void describe_match(const struct rp_route_match *m, FILE *f)
{
    if (m->nhosts) {
        fputs(" host=", f);
        for (uint32_t i = 0; i < m->nhosts; i++)
            fprintf(f, "%s%s%s", i ? "," : "", m->hosts[i].kind == RP_HOST_WILDCARD ? "*" : "",
                    m->hosts[i].name);
    }
    switch (m->path_kind) {
    case RP_PATH_EXACT:
        fprintf(f, " path=%s", m->path);
        break;
    case RP_PATH_PREFIX:
        fprintf(f, " path_prefix=%s", m->path);
        break;
    case RP_PATH_REGEX:
        fprintf(f, " path_regex=%s", m->regex_src);
        break;
    case RP_PATH_ANY:
        break;
    }
    if (m->nmethods) {
        fputs(" methods=", f);
        for (uint32_t i = 0; i < m->nmethods; i++)
            fprintf(f, "%s%s", i ? "," : "", m->methods[i]);
    }
    for (uint32_t i = 0; i < m->nheaders; i++)
        fprintf(f, " header[%s]=%s", m->headers[i].name, m->headers[i].value);
    if (!m->nhosts && m->path_kind == RP_PATH_ANY && !m->nmethods && !m->nheaders)
        fputs(" (everything)", f);
}

static void describe_route(const struct rp_route *r, FILE *f)
{
    fprintf(f, "route #%u", r->index + 1);
    describe_match(&r->match, f);
    fputs(" ->", f);
    if (r->strip_prefix)
        fprintf(f, " strip %s", r->strip_prefix);
    if (r->add_prefix)
        fprintf(f, " add %s", r->add_prefix);
    switch (r->action) {
    case RP_ACT_PROXY:
        fprintf(f, " proxy %s", r->upstream ? r->upstream->name : "?");
        break;
    case RP_ACT_REDIRECT:
        fprintf(f, " redirect %d %s", r->redirect.status, r->redirect.location);
        break;
    case RP_ACT_RESPOND:
        fprintf(f, " respond %d (%zu bytes)", r->respond.status, r->respond.body_len);
        break;
    case RP_ACT_STATIC:
        fprintf(f, " static %s", r->static_files.root);
        break;
    }
    if (r->file)
        fprintf(f, "  (%s:%d)", r->file, r->line);
    fputc('\n', f);
}

static void describe_listener(const struct rp_listener_conf *l, FILE *f)
{
    fprintf(f, "listen   %s", l->addr.text);
    if (l->tls) {
        fprintf(f, " tls %s-%s", l->tls->min_version == TLS1_3_VERSION ? "1.3" : "1.2",
                l->tls->max_version == TLS1_2_VERSION ? "1.2" : "1.3");
        fputs(l->http2 ? " alpn h2,http/1.1" : " alpn http/1.1", f);
        if (l->hsts_max_age)
            fprintf(f, " hsts max-age=%llu", (unsigned long long)l->hsts_max_age);
    }
    if (l->redirect_https)
        fprintf(f, " redirect to https://%s", l->redirect_https[0] ? l->redirect_https : "<host>");
    fputc('\n', f);
    if (l->tls && l->tls->server)
        rp_tls_server_describe(l->tls->server, f);
}

void rp_config_describe(const struct rp_config *c, FILE *f)
{
    if (c->workers)
        fprintf(f, "rampart %s: %u workers\n", RP_VERSION, c->workers);
    else
        fprintf(f, "rampart %s: one worker per CPU\n", RP_VERSION);
    for (uint32_t i = 0; i < c->nlisteners; i++)
        describe_listener(&c->listeners[i], f);
    for (uint32_t i = 0; i < c->nupstreams; i++) {
        const struct rp_upstream_conf *u = &c->upstreams[i];
        fprintf(f, "upstream %s (%s, keepalive %u):", u->name,
                u->balancer ? u->balancer->name : "round_robin", u->keepalive);
        for (uint32_t j = 0; j < u->nservers; j++) {
            const struct rp_server_conf *s = &u->servers[j];
            if (s->resolve && s->slot) /* one entry per name: its slots follow */
                continue;
            if (s->resolve)
                fprintf(f, "%s %s:%u (resolved, %u slots: %s)", j ? "," : "", s->host, s->port,
                        u->resolve_slots, s->addr.len ? s->addr.text : "none yet");
            else
                fprintf(f, "%s %s", j ? "," : "", s->addr.text);
            fprintf(f, " w=%u", s->weight);
            if (s->max_conns)
                fprintf(f, " max_conns=%u", s->max_conns);
            if (s->backup)
                fputs(" backup", f);
            if (s->drain)
                fputs(" drain", f);
        }
        if (u->sticky.cookie)
            fprintf(f, "; sticky cookie %s", u->sticky.cookie);
        if (u->health)
            fprintf(f, "; health %s %s every %llums rise %u fall %u",
                    u->health->type == RP_HC_TCP ? "tcp" : u->health->method,
                    u->health->type == RP_HC_TCP ? "connect" : u->health->path,
                    (unsigned long long)u->health->interval, u->health->rise, u->health->fall);
        fprintf(f, "; tries %u", u->retries.tries);
        if (u->host_header)
            fprintf(f, "; Host: %s", u->host_header);
        if (u->tls)
            fprintf(f, "; tls%s%s%s", u->tls->sni ? " sni=" : "", u->tls->sni ? u->tls->sni : "",
                    u->tls->verify ? "" : " (not verified)");
        if (u->protocol != RP_UP_HTTP1)
            fprintf(f, "; %s, %u streams per connection", u->protocol == RP_UP_H2 ? "h2" : "h2c",
                    u->h2_max_streams);
        fputc('\n', f);
    }
    for (uint32_t i = 0; i < c->nroutes; i++)
        describe_route(&c->routes[i], f);
}
