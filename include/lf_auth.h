/*
 * lf_auth.h - API keys, scopes and the server's secrets (src/auth/).
 *
 * A key is "lfk_" + 12 hex digits (48 random bits: its public prefix, which
 * names the key in logs and finds its row) + "_" + 43 base64url characters
 * (256 random bits: the secret). Only HMAC-SHA-256(pepper, key) is stored,
 * and digests are compared in constant time. The pepper is 32 random bytes
 * in a file readable only by the service; every other server secret (the
 * MAC of stored outcomes, of ledger cursors) is derived from it, so one
 * file is all there is to protect and to copy to another host.
 */
#ifndef LF_AUTH_H
#define LF_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_core.h"

#define LF_AUTH_PREFIX_LEN 16 /* "lfk_" + 12 hex */
#define LF_AUTH_KEY_LEN 60    /* prefix + "_" + 43 base64url */
#define LF_AUTH_DIGEST_LEN 32 /* HMAC-SHA-256 */
#define LF_AUTH_PEPPER_LEN 32
#define LF_AUTH_SECRET_LEN 32 /* a derived secret */

/* Scopes (a bit set). admin includes every other scope and every client's
 * objects. */
enum lf_scope {
	LF_SCOPE_ACCOUNTS_READ = 1u << 0,
	LF_SCOPE_ACCOUNTS_WRITE = 1u << 1,
	LF_SCOPE_PAYMENTS_READ = 1u << 2,
	LF_SCOPE_PAYMENTS_WRITE = 1u << 3,
	LF_SCOPE_FUNDS_ISSUE = 1u << 4,
	LF_SCOPE_EVENTS_READ = 1u << 5,
	LF_SCOPE_ADMIN = 1u << 6,
};
#define LF_SCOPE_ALL 0x7fu

/* Who a request acts for (set by the gate, src/auth/gate.c, before the
 * handler runs). With [auth] enabled = off every request is client 0 with
 * every scope. */
struct lf_client {
	uint64_t id;
	unsigned scopes;                     /* LF_SCOPE_* bits */
	bool admin;                          /* every scope, every client's objects */
	char prefix[LF_AUTH_PREFIX_LEN + 1]; /* the key's public prefix ("" when none) */
};

/* "accounts:read,payments:write" -> bits. False (and *bad names the first
 * unknown or empty item, up to 64 bytes) on anything else. */
bool lf_auth_scopes_parse(const char *list, unsigned *scopes, char bad[65]);
/* bits -> "accounts:read,payments:write" into buf (always terminated). */
void lf_auth_scopes_format(unsigned scopes, char *buf, size_t len);
/* Does a client with `scopes` hold `needed`? (admin holds everything.) */
bool lf_auth_scopes_allow(unsigned scopes, unsigned needed);

/* A new random key and its prefix (both NUL-terminated). LF_ERROR when
 * the random generator fails. */
lf_rc lf_auth_key_generate(char key[LF_AUTH_KEY_LEN + 1], char prefix[LF_AUTH_PREFIX_LEN + 1]);
/* The key of an Authorization header value ("Bearer <key>", the scheme in
 * any case, one or more spaces): LF_OK with its prefix copied out;
 * LF_DECLINED when there is no header or another scheme; LF_ERROR when the
 * Bearer token is not a well-formed key. */
lf_rc lf_auth_key_from_header(const char *authorization, const char **key,
			      char prefix[LF_AUTH_PREFIX_LEN + 1]);
/* HMAC-SHA-256(pepper, key[0..LF_AUTH_KEY_LEN)). */
void lf_auth_key_digest(const uint8_t pepper[LF_AUTH_PEPPER_LEN], const char *key,
			uint8_t out[LF_AUTH_DIGEST_LEN]);
/* Constant-time comparison of two digests. */
bool lf_auth_digest_equal(const uint8_t a[LF_AUTH_DIGEST_LEN], const uint8_t b[LF_AUTH_DIGEST_LEN]);

/* A secret derived from the pepper for one purpose ("outcome-mac",
 * "cursor-mac"): HMAC-SHA-256(pepper, "ledgerflow:" label). */
void lf_auth_derive(const uint8_t pepper[LF_AUTH_PEPPER_LEN], const char *label,
		    uint8_t out[LF_AUTH_SECRET_LEN]);

/* The server's secrets, loaded once by the master before the first fork
 * (workers inherit them) and never logged: the pepper and what is derived
 * from it. */
struct lf_secrets {
	uint8_t pepper[LF_AUTH_PEPPER_LEN];
	uint8_t outcome_mac[LF_AUTH_SECRET_LEN]; /* lf_auth_derive(pepper, "outcome-mac") */
	uint8_t cursor_mac[LF_AUTH_SECRET_LEN];  /* lf_auth_derive(pepper, "cursor-mac") */
};
/* Fill s from a pepper (the derived secrets included). */
void lf_auth_secrets_from_pepper(struct lf_secrets *s, const uint8_t pepper[LF_AUTH_PEPPER_LEN]);
/* Wipe s (OPENSSL_cleanse). */
void lf_auth_secrets_clear(struct lf_secrets *s);

/* How a file holding a secret may be readable. */
enum lf_secret_mode {
	LF_SECRET_WARN,   /* readable by group or others: warn */
	LF_SECRET_REFUSE, /* readable by group or others: refuse */
};
/* Check that path (a file holding a secret) is not readable by group or
 * others and not a symlink to one. LF_OK when private; LF_DECLINED with a
 * warning in why when it is not but mode is WARN; LF_ERROR when it is not
 * and mode is REFUSE, or it cannot be inspected. */
lf_rc lf_auth_secret_file_check(const char *path, enum lf_secret_mode mode, char *why,
				size_t whylen);
/* Read the pepper. When the file is missing and create is true, create
 * its directory (0750) and the file (O_EXCL, 0600) with 32 random bytes.
 * LF_ERROR with the reason in err (never the secret). */
lf_rc lf_auth_pepper_load(const char *path, bool create, enum lf_secret_mode mode,
			  uint8_t pepper[LF_AUTH_PEPPER_LEN], char *err, size_t errlen);
/* Read a secret (a password) from a file: its first line, without the
 * newline, at most cap - 1 bytes. LF_ERROR with the reason in err. */
lf_rc lf_auth_read_secret_file(const char *path, enum lf_secret_mode mode, char *out, size_t cap,
			       char *err, size_t errlen);

#endif
