/*
 * ctl/anchor.c - `ledgerflowctl anchor` and reconcile's check of the
 * anchors. An anchor is every account's (ledger_seq, chain_head) at one
 * moment (anchor_heads) with its time and a digest (anchors):
 *   SHA-256("lfa1" || for each account with entries, in id order:
 *           id (16 bytes) || ledger_seq (8 bytes, big-endian) || chain_head (32))
 * logged and printed on one line, so that it can also be kept outside the
 * database. Reconcile then checks that the chain hash at every anchored
 * (account, seq) is still the anchored one and that each anchor's digest
 * still matches its heads: history rewritten after an anchor, even with
 * administrator rights and every chain recomputed, shows.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <mysql.h>
#include <openssl/evp.h>

#include "lf_admin.h"
#include "lf_log.h"
#include "reconcile_int.h"

struct digest {
	EVP_MD_CTX *ctx;
};

static bool digest_begin(struct digest *d)
{
	d->ctx = EVP_MD_CTX_new();
	return d->ctx && EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) == 1 &&
	       EVP_DigestUpdate(d->ctx, "lfa1", 4) == 1;
}

static bool digest_head(struct digest *d, const uint8_t id[RC_ID_LEN], int64_t seq,
			const uint8_t hash[RC_HASH_LEN])
{
	uint8_t b[RC_ID_LEN + 8 + RC_HASH_LEN];
	memcpy(b, id, RC_ID_LEN);
	for (int i = 0; i < 8; i++)
		b[RC_ID_LEN + i] = (uint8_t)((uint64_t)seq >> (56 - 8 * i));
	memcpy(b + RC_ID_LEN + 8, hash, RC_HASH_LEN);
	return EVP_DigestUpdate(d->ctx, b, sizeof b) == 1;
}

static bool digest_end(struct digest *d, uint8_t out[RC_HASH_LEN])
{
	unsigned n = 0;
	bool ok = EVP_DigestFinal_ex(d->ctx, out, &n) == 1 && n == RC_HASH_LEN;
	EVP_MD_CTX_free(d->ctx);
	d->ctx = NULL;
	return ok;
}

/* ---- reconcile: every anchor (incremental: those newer than the last) ---- */

enum { H_ANCHOR, H_AT, H_DIGEST, H_ACCOUNTS, H_ACCT, H_SEQ, H_HASH, H_NOW, H_NCOL };

struct group {
	uint64_t id;
	char at[32];
	uint8_t digest[RC_HASH_LEN];
	int64_t accounts, n;
	struct digest d;
};

static void group_end(struct rc_run *r, struct group *g)
{
	uint8_t got[RC_HASH_LEN];
	if (!digest_end(&g->d, got) || memcmp(got, g->digest, RC_HASH_LEN) != 0)
		rc_fail(r,
			"anchor %llu (%s): its digest does not match its heads (anchor rows "
			"edited)",
			(unsigned long long)g->id, g->at);
	if (g->n != g->accounts)
		rc_fail(r, "anchor %llu (%s): %lld heads, %lld recorded", (unsigned long long)g->id,
			g->at, (long long)g->n, (long long)g->accounts);
	r->anchors++;
	if (g->id > r->anchor_newest)
		r->anchor_newest = g->id;
}

static bool head_check(struct rc_run *r, struct group *g, MYSQL_ROW row, unsigned long *len)
{
	uint8_t acct[RC_ID_LEN], hash[RC_HASH_LEN], now[RC_HASH_LEN];
	int64_t seq;
	if (!rc_bin(row[H_ACCT], len[H_ACCT], RC_ID_LEN, acct) ||
	    !rc_int(row[H_SEQ], len[H_SEQ], &seq) ||
	    !rc_bin(row[H_HASH], len[H_HASH], RC_HASH_LEN, hash))
		return false;
	if (!digest_head(&g->d, acct, seq, hash))
		return false;
	g->n++;
	r->heads++;
	char u[37];
	rc_uuid(acct, u);
	if (!row[H_NOW])
		rc_fail(r,
			"account %s seq %lld: anchored by anchor %llu (%s) but the entry is gone",
			u, (long long)seq, (unsigned long long)g->id, g->at);
	else if (!rc_bin(row[H_NOW], len[H_NOW], RC_HASH_LEN, now) ||
		 memcmp(now, hash, RC_HASH_LEN) != 0)
		rc_fail(r,
			"account %s seq %lld: the chain hash differs from anchor %llu (%s): "
			"history "
			"rewritten after the anchor",
			u, (long long)seq, (unsigned long long)g->id, g->at);
	return true;
}

bool rc_anchor_pass(struct rc_run *r)
{
	char q[768];
	int k = snprintf(
		q, sizeof q,
		"SELECT h.anchor_id, an.created_at, an.digest, an.accounts, h.account_id,"
		" h.seq, h.hash, e.hash FROM anchor_heads h"
		" JOIN anchors an ON an.id = h.anchor_id"
		" LEFT JOIN ledger_entries e ON e.account_id = h.account_id AND e.seq = h.seq"
		" WHERE h.anchor_id > %llu ORDER BY h.anchor_id, h.account_id",
		(unsigned long long)r->anchor_from);
	if (!rc_query(r, r->m, q, (size_t)k, "checking anchors"))
		return false;
	MYSQL_RES *res = mysql_use_result(r->m);
	if (!res || mysql_num_fields(res) != H_NCOL) {
		rc_sql_error(r, r->m, "checking anchors");
		if (res)
			mysql_free_result(res);
		return false;
	}
	struct group g = {0};
	bool have = false, ok = true;
	MYSQL_ROW row;
	while (ok && (row = mysql_fetch_row(res))) {
		unsigned long *len = mysql_fetch_lengths(res);
		int64_t id;
		if (!rc_int(row[H_ANCHOR], len[H_ANCHOR], &id)) {
			ok = false;
			break;
		}
		if (!have || (uint64_t)id != g.id) {
			if (have)
				group_end(r, &g);
			memset(&g, 0, sizeof g);
			g.id = (uint64_t)id;
			snprintf(g.at, sizeof g.at, "%.*s", (int)len[H_AT],
				 row[H_AT] ? row[H_AT] : "");
			have = true;
			if (!rc_bin(row[H_DIGEST], len[H_DIGEST], RC_HASH_LEN, g.digest) ||
			    !rc_int(row[H_ACCOUNTS], len[H_ACCOUNTS], &g.accounts) ||
			    !digest_begin(&g.d)) {
				ok = false;
				break;
			}
		}
		ok = head_check(r, &g, row, len);
	}
	if (ok && have)
		group_end(r, &g);
	else if (g.d.ctx)
		EVP_MD_CTX_free(g.d.ctx);
	if (ok && mysql_errno(r->m)) {
		rc_sql_error(r, r->m, "checking anchors");
		ok = false;
	} else if (!ok) {
		fprintf(r->out, "reconcile: a malformed anchor row\n");
	}
	mysql_free_result(res);
	return ok;
}

/* ---- ledgerflowctl anchor ---- */

static bool run(MYSQL *m, const char *q, size_t len, FILE *out, const char *what)
{
	if (mysql_real_query(m, q, len) == 0) {
		MYSQL_RES *res = mysql_store_result(m);
		if (res)
			mysql_free_result(res);
		return true;
	}
	fprintf(out, "anchor: %s: MySQL error %u (%s): %s\n", what, mysql_errno(m),
		mysql_sqlstate(m), mysql_error(m));
	return false;
}

/* Copy the heads in chunks into anchor_heads, digesting them. */
static bool copy_heads(MYSQL *m, uint64_t id, struct digest *d, int64_t *n, FILE *out)
{
	uint8_t last[RC_ID_LEN];
	bool have_last = false;
	char *ins = malloc(200 + RC_CHUNK * 180);
	if (!ins) {
		fprintf(out, "anchor: out of memory\n");
		return false;
	}
	bool ok = true;
	while (ok) {
		char q[256], lit[2 * RC_ID_LEN + 16] = "TRUE";
		if (have_last) {
			memcpy(lit, "id > ", 5);
			rc_xlit(last, RC_ID_LEN, lit + 5);
		}
		int k = snprintf(q, sizeof q,
				 "SELECT id, ledger_seq, chain_head FROM accounts"
				 " WHERE ledger_seq > 0 AND %s ORDER BY id LIMIT %d",
				 lit, RC_CHUNK);
		MYSQL_RES *res = NULL;
		if (mysql_real_query(m, q, (size_t)k) || !(res = mysql_store_result(m))) {
			fprintf(out, "anchor: reading accounts: %s\n", mysql_error(m));
			ok = false;
			break;
		}
		size_t rows = 0,
		       w = (size_t)snprintf(ins, 200,
					    "INSERT INTO anchor_heads"
					    " (anchor_id, account_id, seq, hash) VALUES ");
		MYSQL_ROW row;
		while (ok && (row = mysql_fetch_row(res))) {
			unsigned long *len = mysql_fetch_lengths(res);
			uint8_t hash[RC_HASH_LEN];
			int64_t seq;
			if (!rc_bin(row[0], len[0], RC_ID_LEN, last) ||
			    !rc_int(row[1], len[1], &seq) ||
			    !rc_bin(row[2], len[2], RC_HASH_LEN, hash) ||
			    !digest_head(d, last, seq, hash)) {
				fprintf(out, "anchor: a malformed account row\n");
				ok = false;
				break;
			}
			char il[2 * RC_ID_LEN + 4], hl[2 * RC_HASH_LEN + 4];
			rc_xlit(last, RC_ID_LEN, il);
			rc_xlit(hash, RC_HASH_LEN, hl);
			w += (size_t)snprintf(ins + w, 180, "%s(%llu,%s,%lld,%s)", rows ? "," : "",
					      (unsigned long long)id, il, (long long)seq, hl);
			rows++;
		}
		mysql_free_result(res);
		have_last = true;
		*n += (int64_t)rows;
		if (ok && rows)
			ok = run(m, ins, w, out, "writing anchor heads");
		if (rows < RC_CHUNK)
			break;
	}
	free(ins);
	return ok;
}

static bool write_metric(const char *path, const char *unix_time, FILE *out)
{
	char text[512];
	snprintf(text, sizeof text,
		 "# HELP ledgerflow_anchor_timestamp_seconds Time of the newest anchor"
		 " of the chain heads.\n"
		 "# TYPE ledgerflow_anchor_timestamp_seconds gauge\n"
		 "ledgerflow_anchor_timestamp_seconds %.64s\n",
		 unix_time);
	return rc_metrics_write(path, text, "anchor", out);
}

int lf_admin_anchor(const struct lf_db_params *p, const char *metrics_file, FILE *out)
{
	MYSQL *m = lf_admin_connect(p, out);
	if (!m)
		return 2;
	static const char start[] = "START TRANSACTION WITH CONSISTENT SNAPSHOT";
	static const char ins[] = "INSERT INTO anchors (created_at, accounts, digest)"
				  " VALUES (UTC_TIMESTAMP(6), 0, REPEAT(X'00', 32))";
	struct digest d = {0};
	int64_t n = 0;
	int rc = 2;
	static const char iso[] = "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ";
	if (!run(m, iso, sizeof iso - 1, out, "isolation") ||
	    !run(m, start, sizeof start - 1, out, "starting") ||
	    !run(m, ins, sizeof ins - 1, out, "recording the anchor") || !digest_begin(&d))
		goto done;
	uint64_t id = mysql_insert_id(m);
	uint8_t digest[RC_HASH_LEN];
	if (!copy_heads(m, id, &d, &n, out) || !digest_end(&d, digest))
		goto done;
	char q[256], lit[2 * RC_HASH_LEN + 4], hex[2 * RC_HASH_LEN + 1];
	rc_xlit(digest, RC_HASH_LEN, lit);
	rc_hex(digest, RC_HASH_LEN, hex);
	int k = snprintf(q, sizeof q,
			 "UPDATE anchors SET accounts = %lld, digest = %s WHERE id = %llu",
			 (long long)n, lit, (unsigned long long)id);
	if (!run(m, q, (size_t)k, out, "recording the digest"))
		goto done;
	k = snprintf(q, sizeof q,
		     "SELECT created_at, UNIX_TIMESTAMP(created_at) FROM anchors WHERE id = %llu",
		     (unsigned long long)id);
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	if (mysql_real_query(m, q, (size_t)k) == 0 && (res = mysql_store_result(m)))
		row = mysql_fetch_row(res);
	if (!row || !row[0] || !row[1] || !run(m, "COMMIT", 6, out, "committing")) {
		fprintf(out, "anchor: could not commit the anchor: %s\n", mysql_error(m));
		if (res)
			mysql_free_result(res);
		goto done;
	}
	fprintf(out, "anchor: %llu at %s UTC: %lld chain heads, digest %s\n",
		(unsigned long long)id, row[0], (long long)n, hex);
	lf_log(LF_LOG_INFO, "anchor", "id=%llu at=%s heads=%lld digest=%s", (unsigned long long)id,
	       row[1], (long long)n, hex);
	rc = !metrics_file || write_metric(metrics_file, row[1], out) ? 0 : 2;
	mysql_free_result(res);
done:
	if (d.ctx)
		EVP_MD_CTX_free(d.ctx);
	mysql_close(m);
	return rc;
}
