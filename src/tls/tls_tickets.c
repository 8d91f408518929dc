/* Session ticket keys, process-wide: every worker and every listener context encrypts tickets
 * with the current key, and the previous key still decrypts for one more period, so a ticket
 * issued by one worker resumes on any other and survives reloads. Keys live only in memory. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "core/clock.h"
#include "tls/tls_server_int.h"

#define DEFAULT_PERIOD (12u * 3600 * 1000)

struct ticket_key {
    unsigned char name[16], aes[32], hmac[32];
    uint64_t born; /* when it became the current key (monotonic ms) */
    bool valid;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ticket_key cur, prev;
static uint64_t period = DEFAULT_PERIOD;

void rp_tls_tickets_period(uint64_t ms)
{
    pthread_mutex_lock(&lock);
    if (ms)
        period = ms;
    pthread_mutex_unlock(&lock);
}

/* Under lock: rotate when the current key is older than a period, forget the previous one after
 * it decrypted for a period. False when no randomness (then no ticket is issued). */
static bool keys_fresh(uint64_t now)
{
    if (cur.valid && now - cur.born >= period) {
        prev = cur;
        cur.valid = false;
    }
    if (prev.valid && now - prev.born >= 2 * period)
        memset(&prev, 0, sizeof(prev));
    if (!cur.valid) {
        if (RAND_bytes(cur.name, sizeof(cur.name)) != 1 ||
            RAND_priv_bytes(cur.aes, sizeof(cur.aes)) != 1 ||
            RAND_priv_bytes(cur.hmac, sizeof(cur.hmac)) != 1)
            return false;
        cur.born = now;
        cur.valid = true;
    }
    return true;
}

static int use_key(const struct ticket_key *k, unsigned char *iv, EVP_CIPHER_CTX *ctx,
                   EVP_MAC_CTX *hctx, int enc)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac)),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(hctx, params) != 1)
        return -1;
    int ok = enc ? EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->aes, iv)
                 : EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->aes, iv);
    return ok == 1 ? 1 : -1;
}

int rp_tls_ticket_cb(SSL *s, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *ctx,
                     EVP_MAC_CTX *hctx, int enc)
{
    struct ticket_key k;
    int rc;
    pthread_mutex_lock(&lock);
    bool ok = keys_fresh(rp_clock_mono_ms());
    if (enc) {
        k = cur;
        rc = ok ? 1 : -1;
    } else if (ok && !memcmp(key_name, cur.name, 16)) {
        k = cur;
        rc = 1;
    } else if (prev.valid && !memcmp(key_name, prev.name, 16)) {
        k = prev;
        rc = 2; /* accepted, and a new ticket under the current key is sent */
    } else {
        rc = 0; /* unknown or expired key: a full handshake */
    }
    pthread_mutex_unlock(&lock);
    if (rc <= 0)
        return rc;
    if (enc) {
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1)
            return -1;
        memcpy(key_name, k.name, 16);
    }
    int r = use_key(&k, iv, ctx, hctx, enc);
    OPENSSL_cleanse(&k, sizeof(k));
    return r < 0 ? -1 : rc;
}
