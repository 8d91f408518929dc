/* Content-Type by file extension for the static handler. A short fixed table covers what web
 * sites actually serve; anything else is application/octet-stream so browsers never sniff a
 * script out of an unknown file. Text types carry "; charset=utf-8" explicitly. */
#include <stddef.h>

#include "handler/static_file.h"

struct mime_entry {
    const char *ext;
    const char *type;
};

static const struct mime_entry mime_table[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"text", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "text/xml; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
};

const char *rp_mime_type(struct rp_slice filename)
{
    /* The extension is what follows the last '.' of the last path segment; a leading dot
     * (".profile") names a hidden file, not an extension. */
    size_t start = 0;
    for (size_t i = filename.n; i > 0; i--) {
        if (filename.p[i - 1] == '/') {
            start = i;
            break;
        }
    }
    size_t dot = filename.n;
    for (size_t i = filename.n; i > start + 1; i--) {
        if (filename.p[i - 1] == '.') {
            dot = i - 1;
            break;
        }
    }
    if (dot == filename.n)
        return "application/octet-stream";
    struct rp_slice ext = {filename.p + dot + 1, filename.n - dot - 1};
    for (size_t i = 0; i < sizeof(mime_table) / sizeof(mime_table[0]); i++)
        if (rp_slice_case_eq_cstr(ext, mime_table[i].ext))
            return mime_table[i].type;
    return "application/octet-stream";
}
