/*
 * core/ledger_hash.c - the ledger's hash chain outside the database
 * (lf_ledger_hash.h): the canonical encoding version 1 of an entry and
 * SHA-256(previous hash || encoding), byte for byte what lf_entry_hash in
 * sql/procedures.sql computes inside the transaction:
 *   lf1|<account hex>|<seq>|<id hex>|<payment hex or ->|<counterparty hex>|
 *   <DEBIT|CREDIT>|<amount>|<balance_after>|<YYYY-MM-DD hh:mm:ss.ffffff>
 * (ids as 32 lowercase hex digits without dashes, integers in decimal
 * without padding, created_at in UTC with six fraction digits).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "lf_hash.h"
#include "lf_ledger_hash.h"

static void hex16(const lf_uuid *u, char out[33])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = digits[u->b[i] >> 4];
		out[2 * i + 1] = digits[u->b[i] & 15];
	}
	out[32] = '\0';
}

/* Unix ms -> civil date and time, UTC (proleptic Gregorian). */
static void civil(int64_t ms, int64_t *y, unsigned *mo, unsigned *d, unsigned *h, unsigned *mi,
		  unsigned *s, unsigned *milli)
{
	int64_t days = ms / 86400000, rem = ms % 86400000;
	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*mo = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*mo <= 2);
	*h = (unsigned)(rem / 3600000);
	*mi = (unsigned)(rem / 60000 % 60);
	*s = (unsigned)(rem / 1000 % 60);
	*milli = (unsigned)(rem % 1000);
}

size_t lf_ledger_hash_canonical(const struct lf_ledger_hash_in *e, char buf[LF_LEDGER_CANON_MAX])
{
	char acc[33], id[33], pay[33], cp[33];
	hex16(&e->account_id, acc);
	hex16(&e->id, id);
	hex16(&e->counterparty_id, cp);
	if (e->has_payment)
		hex16(&e->payment_id, pay);
	else
		memcpy(pay, "-", 2);
	int64_t y;
	unsigned mo, d, h, mi, s, milli;
	civil(e->created_ms, &y, &mo, &d, &h, &mi, &s, &milli);
	int n = snprintf(buf, LF_LEDGER_CANON_MAX,
			 "lf1|%s|%" PRId64 "|%s|%s|%s|%s|%" PRId64 "|%" PRId64 "|%04" PRId64
			 "-%02u-%02u %02u:%02u:%02u.%03u000",
			 acc, e->seq, id, pay, cp, e->debit ? "DEBIT" : "CREDIT", e->amount,
			 e->balance_after, y, mo, d, h, mi, s, milli);
	return n < 0 ? 0 : (size_t)n < LF_LEDGER_CANON_MAX ? (size_t)n : LF_LEDGER_CANON_MAX - 1;
}

bool lf_ledger_hash(const uint8_t prev[LF_LEDGER_HASH_LEN], const struct lf_ledger_hash_in *e,
		    uint8_t out[LF_LEDGER_HASH_LEN])
{
	static const uint8_t zero[LF_LEDGER_HASH_LEN];
	char canon[LF_LEDGER_CANON_MAX];
	size_t len = lf_ledger_hash_canonical(e, canon);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int outlen = 0;
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, lf_sha256_md(), NULL) == 1 &&
		  EVP_DigestUpdate(ctx, prev ? prev : zero, LF_LEDGER_HASH_LEN) == 1 &&
		  EVP_DigestUpdate(ctx, canon, len) == 1 &&
		  EVP_DigestFinal_ex(ctx, out, &outlen) == 1 && outlen == LF_LEDGER_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok;
}

void lf_ledger_hash_hex(const uint8_t h[LF_LEDGER_HASH_LEN], char out[2 * LF_LEDGER_HASH_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < LF_LEDGER_HASH_LEN; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[2 * LF_LEDGER_HASH_LEN] = '\0';
}
