/*
 * fuzz_outcome.c - libFuzzer harness for the stored-outcome codec
 * (idempotency/outcome.c), whose input comes back from Redis and the shm
 * cache and is treated as hostile. Properties: lf_outcome_decode() of any
 * bytes either fails with the structure zeroed, or yields a status in
 * 100..599, a NUL-terminated body, a Location without NUL; re-encoding a
 * decoded outcome and decoding that gives the same fields, and encoding
 * is then a fixed point (byte-identical). In the other direction the
 * input is read as the fields of an outcome: every encodable outcome
 * decodes to itself.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_idempotency.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "fuzz_outcome: property failed: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                          \
			abort();                                                              \
		}                                                                             \
	} while (0)

static bool same(const struct lf_outcome *a, const struct lf_outcome *b)
{
	if (a->status != b->status || a->expires_ms != b->expires_ms ||
	    memcmp(a->fingerprint, b->fingerprint, LF_FINGERPRINT_LEN) != 0 ||
	    a->body_len != b->body_len || (a->location == NULL) != (b->location == NULL))
		return false;
	if (a->location != NULL && strcmp(a->location, b->location) != 0)
		return false;
	return a->body_len == 0 || memcmp(a->body, b->body, a->body_len) == 0;
}

static void check_decoded(const struct lf_outcome *o)
{
	CHECK(o->status >= 100 && o->status <= 599);
	CHECK(o->body != NULL && o->body[o->body_len] == '\0');
	if (o->location != NULL)
		(void)strlen(o->location); /* ASan: terminated inside its allocation */
}

static void check_decode(const uint8_t *data, size_t size)
{
	struct lf_outcome o;
	memset(&o, 0xA5, sizeof o);
	if (!lf_outcome_decode(data, size, &o)) {
		static const struct lf_outcome zero;
		CHECK(memcmp(&o, &zero, sizeof o) == 0);
		return;
	}
	check_decoded(&o);
	if (o.location != NULL)
		CHECK(memchr(o.location, '\0', strlen(o.location)) == NULL);

	size_t len1 = 0, len2 = 0;
	void *enc1 = lf_outcome_encode(&o, &len1);
	CHECK(enc1 != NULL);
	struct lf_outcome back;
	CHECK(lf_outcome_decode(enc1, len1, &back));
	CHECK(same(&o, &back));
	void *enc2 = lf_outcome_encode(&back, &len2);
	CHECK(enc2 != NULL && len1 == len2 && memcmp(enc1, enc2, len1) == 0);
	free(enc1);
	free(enc2);
	lf_outcome_clear(&back);
	lf_outcome_clear(&o);
	CHECK(o.body == NULL && o.location == NULL);
}

/* status(2) fingerprint(32) expires(8) loclen(1) location body */
static void check_encode(const uint8_t *data, size_t size)
{
	if (size < 43)
		return;
	struct lf_outcome o = {0};
	o.status = 100 + (data[0] << 8 | data[1]) % 500;
	memcpy(o.fingerprint, data + 2, LF_FINGERPRINT_LEN);
	uint64_t e = 0;
	for (int i = 0; i < 8; i++)
		e = e << 8 | data[34 + i];
	o.expires_ms = (int64_t)e;
	size_t loclen = data[42], off = 43;
	char *loc = NULL;
	if (loclen != 0xFF) { /* 0xFF: no Location */
		if (loclen > size - off)
			loclen = size - off;
		loc = malloc(loclen + 1);
		CHECK(loc != NULL);
		memcpy(loc, data + off, loclen);
		loc[loclen] = '\0';
		off += loclen;
	}
	o.location = loc;
	o.body = (char *)(data + off);
	o.body_len = size - off;

	size_t len = 0;
	void *enc = lf_outcome_encode(&o, &len);
	CHECK(enc != NULL);
	struct lf_outcome back;
	CHECK(lf_outcome_decode(enc, len, &back));
	check_decoded(&back);
	/* a Location with a NUL inside is cut there by strlen in both */
	CHECK(same(&o, &back));
	lf_outcome_clear(&back);
	free(enc);
	free(loc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decode(data, size);
	check_encode(data, size);
	return 0;
}
