/*
 * lf_events.h - events and webhooks: an event's JSON (api/events.c), the
 * webhooks' signing secrets, sealed in the database under a key derived
 * from the pepper, and their signatures (webhooks/secret.c), the event
 * types and URLs a webhook may name (webhooks/secret.c), and the delivery
 * process, a child of the master (webhooks/deliver.c, webhooks/client.c).
 */
#ifndef LF_EVENTS_H
#define LF_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_auth.h"
#include "lf_store.h"

struct evbuffer;
struct lf_config;
struct lf_zone;

/* {"id","type","createdAt","data"}: GET /api/events and every delivery. */
void lf_event_render(struct evbuffer *out, const struct lf_event *e);

/* ---- secrets and signatures ---- */
#define LF_WEBHOOK_SECRET_LEN 32 /* random bytes; shown as whsec_ + 64 hex */
#define LF_WEBHOOK_SECRET_TEXT_LEN (6 + 2 * LF_WEBHOOK_SECRET_LEN)
#define LF_WEBHOOK_NONCE_LEN 12
#define LF_WEBHOOK_TAG_LEN 16
#define LF_WEBHOOK_SEALED_LEN \
	(LF_WEBHOOK_NONCE_LEN + LF_WEBHOOK_SECRET_TEXT_LEN + LF_WEBHOOK_TAG_LEN)
#define LF_WEBHOOK_SIG_HEX 64

/* A new signing secret, "whsec_" + 64 lower-case hex (NUL-terminated);
 * false when the system has no randomness to give. */
bool lf_webhook_secret_new(char out[LF_WEBHOOK_SECRET_TEXT_LEN + 1]);
/* Seal the secret text (LF_WEBHOOK_SECRET_TEXT_LEN characters, else
 * false) for the database: nonce ‖ AES-256-GCM ‖ tag, the
 * key lf_auth_derive(pepper, "webhook-secret"), the webhook's id as
 * additional data (a box moved to another row does not open). box must
 * hold LF_WEBHOOK_SEALED_LEN bytes. */
bool lf_webhook_secret_seal(const uint8_t pepper[LF_AUTH_PEPPER_LEN], const lf_uuid *webhook,
			    const char *secret, uint8_t *box, size_t *box_len);
/* Open a sealed secret; false when it does not open (another pepper, a
 * changed row). */
bool lf_webhook_secret_open(const uint8_t pepper[LF_AUTH_PEPPER_LEN], const lf_uuid *webhook,
			    const uint8_t *box, size_t box_len,
			    char out[LF_WEBHOOK_SECRET_TEXT_LEN + 1]);
/* The LedgerFlow-Signature value: "t=<t>,v1=<hex HMAC-SHA-256(secret,
 * "<t>.<body>")>". The key is the secret text as shown (whsec_...). */
bool lf_webhook_sign(const char *secret, int64_t t, const char *body, size_t len, char *out,
		     size_t outlen);

/* ---- what a webhook may name ---- */
/* Is every item of the comma-separated list an event type? (bad gets the
 * first one that is not, truncated.) */
bool lf_webhook_types_valid(const char *list, char bad[40]);
/* Does the list name the type? */
bool lf_webhook_types_match(const char *list, const char *type);
/* An http:// or https:// URL with a host, at most LF_WEBHOOK_URL_MAX
 * characters of printable ASCII. */
bool lf_webhook_url_valid(const char *url);

/* ---- the delivery process (webhooks/deliver.c) ---- */
/* Run the delivery process until SIGTERM/SIGQUIT: its exit status. */
int lf_webhooks_run(const struct lf_config *cfg, struct lf_zone *zone,
		    const struct lf_secrets *secrets);

#endif
