/*
 * lf_idem.h - idempotency keys and request fingerprints: the
 * Idempotency-Key header's grammar (1..255 of %x21-7E, the IETF draft's
 * quoted form unwrapped) and the SHA-256 fingerprint over the method, the
 * route and the normalised request.
 */
#ifndef LF_IDEM_H
#define LF_IDEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_outcome.h"

#define LF_IDEM_KEY_MAX 255

enum lf_idem_key_rc { LF_IDEM_KEY_OK, LF_IDEM_KEY_MISSING, LF_IDEM_KEY_INVALID };

/* Validate the header value; on success key[0..*len) is the key (quotes
 * removed) and key is NUL-terminated. */
enum lf_idem_key_rc lf_idem_key_parse(const char *header, char key[LF_IDEM_KEY_MAX + 1],
				      size_t *len);

/* Incremental fingerprint: fields are length-prefixed so no two different
 * field lists hash alike. */
struct lf_fp {
	void *ctx; /* EVP_MD_CTX */
};
bool lf_fp_begin(struct lf_fp *fp, const char *method, const char *route);
void lf_fp_field(struct lf_fp *fp, const char *name, const char *value, size_t len);
void lf_fp_null(struct lf_fp *fp, const char *name); /* absent or null */
void lf_fp_end(struct lf_fp *fp, uint8_t out[LF_FINGERPRINT_LEN]);

/* Canonical text of a decimal that passed the grammar: the fraction's
 * trailing zeros removed ("100.00" -> "100", "1.50" -> "1.5"), so it does
 * not depend on a currency. out must hold len + 1 bytes. */
size_t lf_idem_canonical_decimal(const char *text, size_t len, char *out);

#endif
