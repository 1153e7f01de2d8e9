/*
 * fuzz_idem_key.c - libFuzzer harness for the Idempotency-Key header
 * (lf_idem_key_parse) and the request fingerprint framing (idempotency/key.c).
 * The header arrives from evhttp as a C string, so the input is cut at its
 * first NUL. Properties: the key is 1..255 printable ASCII characters
 * (0x21..0x7e), NUL-terminated inside the LF_IDEM_KEY_MAX + 1 buffer, and
 * is the header itself or, for the quoted form "...", what is between the
 * quotes; every other header is INVALID. Fingerprints are deterministic,
 * and the length prefixes make them injective on field lists: moving the
 * boundary between two fields, or a null against an empty value, changes
 * the digest. (X-Request-Id and traceparent handling is static in
 * http/request.c; fuzz_http checks it through the real request path.)
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_idempotency.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "fuzz_idem_key: property failed: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                           \
			abort();                                                               \
		}                                                                              \
	} while (0)

static void check_key(const char *header)
{
	/* heap, exact size: ASan sees a write past LF_IDEM_KEY_MAX + 1 */
	char *key = malloc(LF_IDEM_KEY_MAX + 1);
	CHECK(key != NULL);
	size_t len = 0, n = strlen(header);
	enum lf_idem_key_verdict v = lf_idem_key_parse(header, key, &len);
	CHECK(v == LF_IDEM_KEY_OK || v == LF_IDEM_KEY_INVALID);

	const char *inner = header;
	size_t inner_len = n;
	if (n >= 2 && header[0] == '"' && header[n - 1] == '"')
		inner++, inner_len -= 2;
	bool printable = inner_len >= 1 && inner_len <= LF_IDEM_KEY_MAX;
	for (size_t i = 0; printable && i < inner_len; i++)
		printable = (unsigned char)inner[i] >= 0x21 && (unsigned char)inner[i] <= 0x7e;
	CHECK((v == LF_IDEM_KEY_OK) == printable);
	if (v == LF_IDEM_KEY_OK) {
		CHECK(len == inner_len && key[len] == '\0' && strlen(key) == len);
		CHECK(memcmp(key, inner, len) == 0);
	}
	free(key);
}

static void digest2(const char *a, size_t alen, const char *b, size_t blen, bool b_null,
		    uint8_t out[LF_FINGERPRINT_LEN])
{
	struct lf_fp fp;
	CHECK(lf_fp_begin(&fp, "POST", "/api/payments"));
	lf_fp_field(&fp, "a", a, alen);
	if (b_null)
		lf_fp_null(&fp, "b");
	else
		lf_fp_field(&fp, "b", b, blen);
	lf_fp_end(&fp, out);
	CHECK(fp.ctx == NULL);
}

static void check_fingerprint(const uint8_t *data, size_t size)
{
	if (size < 1)
		return;
	const char *d = (const char *)data + 1;
	size_t n = size - 1, i = data[0] % (n + 1), j = (i + 1) % (n + 1);
	uint8_t x[LF_FINGERPRINT_LEN], y[LF_FINGERPRINT_LEN], z[LF_FINGERPRINT_LEN];
	digest2(d, i, d + i, n - i, false, x);
	digest2(d, i, d + i, n - i, false, y);
	CHECK(memcmp(x, y, sizeof x) == 0);
	if (j != i) {
		digest2(d, j, d + j, n - j, false, z);
		CHECK(memcmp(x, z, sizeof x) != 0);
	}
	/* b absent (null) against b empty */
	digest2(d, n, "", 0, false, y);
	digest2(d, n, NULL, 0, true, z);
	CHECK(memcmp(y, z, sizeof y) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *header = malloc(size + 1);
	CHECK(header != NULL);
	memcpy(header, data, size);
	header[size] = '\0';
	check_key(header);
	free(header);
	check_fingerprint(data, size);

	static bool once;
	if (!once) {
		char key[LF_IDEM_KEY_MAX + 1];
		size_t len;
		CHECK(lf_idem_key_parse(NULL, key, &len) == LF_IDEM_KEY_MISSING);
		once = true;
	}
	return 0;
}
