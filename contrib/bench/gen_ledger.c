/*
 * contrib/bench/gen_ledger.c - a synthetic ledger for the reconcile
 * benchmark (contrib/bench/reconcile.sh), as tab-separated files for LOAD
 * DATA LOCAL INFILE, every row in primary-key order and every hash chain
 * correct (lf_ledger_hash), so that a clean `ledgerflowctl reconcile`
 * passes over it:
 *   gen_ledger [-b] DIR ACCOUNTS ENTRIES INCREMENT
 * writes DIR/accounts.tsv (ACCOUNTS USD accounts), DIR/entries.tsv (each
 * account's opening transfer from the USD issuance account, then its
 * payments), DIR/payments.tsv (payments between random accounts until the ledger holds
 * about ENTRIES entries), DIR/issuance.sql (the issuance account's final
 * state), and the INCREMENT more entries of later payments in
 * DIR/inc_payments.tsv, DIR/inc_entries.tsv and DIR/inc_accounts.tsv (the
 * accounts' state after them). Deterministic (a fixed xorshift seed).
 * With -b, account i has the id run.sh gives benchmark account i
 * (b0000000-0000-4000-8000-<i as 12 decimal digits>), so the wrk scripts
 * and raw_db can pay between the loaded accounts (run.sh's scale scenario).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_ledger_hash.h"

#define OPENING 1000000000000LL /* per account: no payment is ever declined */
#define BASE_MS 1767225600000LL /* 2026-01-01 00:00:00 UTC */

struct acct {
	int64_t seq, balance;
	uint8_t head[32];
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static bool bench_ids; /* -b: run.sh's account ids */
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* account i (0: the USD issuance account) */
static void acct_id(uint32_t i, lf_uuid *u)
{
	if (i == 0) {
		static const uint8_t usd[16] = {0,    0, 0, 0, 0, 0,    0x80, 0,
						0x80, 0, 0, 0, 0, 0x55, 0x53, 0x44};
		memcpy(u->b, usd, 16);
		return;
	}
	memset(u->b, 0, 16);
	if (bench_ids) { /* b0000000-0000-4000-8000-<i, 12 decimal digits> */
		u->b[0] = 0xb0;
		u->b[6] = 0x40;
		u->b[8] = 0x80;
		for (int k = 0; k < 6; k++, i /= 100)
			u->b[15 - k] = (uint8_t)((i % 100 / 10) << 4 | i % 10);
		return;
	}
	u->b[0] = 0x01;
	u->b[6] = 0x70;
	u->b[8] = 0x80;
	for (int k = 0; k < 4; k++)
		u->b[15 - k] = (uint8_t)(i >> (8 * k));
}

/* a UUIDv7-like id at ms with a serial (payments sort by time) */
static void time_id(int64_t ms, uint64_t serial, uint8_t kind, lf_uuid *u)
{
	for (int k = 0; k < 6; k++)
		u->b[k] = (uint8_t)((uint64_t)ms >> (40 - 8 * k));
	u->b[6] = 0x70 | kind;
	u->b[7] = 0;
	u->b[8] = 0x80;
	for (int k = 0; k < 7; k++)
		u->b[15 - k] = (uint8_t)(serial >> (8 * k));
}

static void hex(FILE *f, const uint8_t *b, size_t n)
{
	static const char d[] = "0123456789abcdef";
	char s[64];
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = d[b[i] >> 4];
		s[2 * i + 1] = d[b[i] & 15];
	}
	fwrite(s, 1, 2 * n, f);
}

static void datetime(FILE *f, int64_t ms)
{
	int64_t days = ms / 86400000, rem = ms % 86400000;
	int64_t z = days + 719468, era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1, mo = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = (int64_t)yoe + era * 400 + (mo <= 2);
	fprintf(f, "%04" PRId64 "-%02u-%02u %02u:%02u:%02u.%03u", y, mo, d,
		(unsigned)(rem / 3600000), (unsigned)(rem / 60000 % 60),
		(unsigned)(rem / 1000 % 60), (unsigned)(rem % 1000));
}

static uint64_t entry_serial;

/* one entry of account i; its chain and balance move on */
static void entry(FILE *f, struct acct *as, uint32_t i, const lf_uuid *payment, uint32_t cp,
		  bool debit, int64_t amount, int64_t ms)
{
	struct acct *a = &as[i];
	struct lf_ledger_hash_in e = {.seq = ++a->seq,
				      .has_payment = payment != NULL,
				      .debit = debit,
				      .amount = amount,
				      .created_ms = ms};
	a->balance += debit ? -amount : amount;
	e.balance_after = a->balance;
	acct_id(i, &e.account_id);
	acct_id(cp, &e.counterparty_id);
	time_id(ms, ++entry_serial, 0x0e, &e.id);
	if (payment)
		e.payment_id = *payment;
	uint8_t h[32];
	if (!lf_ledger_hash(e.seq == 1 ? NULL : a->head, &e, h)) {
		fprintf(stderr, "gen_ledger: hash failed\n");
		exit(1);
	}
	memcpy(a->head, h, 32);
	hex(f, e.account_id.b, 16);
	fprintf(f, "\t%" PRId64 "\t", e.seq);
	hex(f, e.id.b, 16);
	fputc('\t', f);
	if (payment)
		hex(f, payment->b, 16);
	else
		fputs("\\N", f);
	fputc('\t', f);
	hex(f, e.counterparty_id.b, 16);
	fprintf(f, "\t%s\t%" PRId64 "\t%" PRId64 "\t", debit ? "DEBIT" : "CREDIT", amount,
		e.balance_after);
	datetime(f, ms);
	fputc('\t', f);
	hex(f, h, 32);
	fputc('\n', f);
}

struct pays {
	uint32_t n, *from, *to, *amount;
};

/* payments [first, first+n): entries per account, in account order */
static void write_payments(const char *dir, const char *prefix, struct acct *as, uint32_t na,
			   const struct pays *p, uint64_t first, bool openings)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%spayments.tsv", dir, prefix);
	FILE *pf = fopen(path, "w");
	snprintf(path, sizeof path, "%s/%sentries.tsv", dir, prefix);
	FILE *ef = fopen(path, "w");
	uint32_t *count = calloc(na + 2, sizeof *count),
		 *idx = malloc(2 * (size_t)p->n * sizeof *idx);
	if (!pf || !ef || !count || !idx) {
		fprintf(stderr, "gen_ledger: cannot write %s\n", path);
		exit(1);
	}
	for (uint32_t k = 0; k < p->n; k++) {
		count[p->from[k] + 1]++;
		count[p->to[k] + 1]++;
		lf_uuid id;
		int64_t ms = BASE_MS + (int64_t)(first + k);
		time_id(ms, first + k, 0x0f, &id);
		hex(pf, id.b, 16);
		fprintf(pf, "\t1\tbench-%" PRIu64 "\t", first + k);
		static const uint8_t zero[32];
		hex(pf, zero, 32);
		fputc('\t', pf);
		lf_uuid u;
		acct_id(p->from[k], &u);
		hex(pf, u.b, 16);
		fputc('\t', pf);
		acct_id(p->to[k], &u);
		hex(pf, u.b, 16);
		fprintf(pf, "\t%u\tUSD\t\\N\tCOMPLETED\t\\N\t", p->amount[k]);
		datetime(pf, ms);
		fputc('\n', pf);
	}
	for (uint32_t i = 1; i <= na + 1; i++)
		count[i] += count[i - 1];
	for (uint32_t k = 0; k < p->n; k++) { /* each account's payments in time order */
		idx[count[p->from[k]]++] = k;
		idx[count[p->to[k]]++] = k;
	}
	for (uint32_t i = na; i > 0; i--) /* back to the starts */
		count[i] = count[i - 1];
	count[0] = 0;
	for (uint32_t i = 0; i < na; i++) {
		/* the openings: transfers from the issuance account (0) */
		for (uint32_t o = 1; openings && i == 0 && o < na; o++)
			entry(ef, as, 0, NULL, o, true, OPENING, BASE_MS - 1000);
		if (openings && i > 0)
			entry(ef, as, i, NULL, 0, false, OPENING, BASE_MS - 1000);
		for (uint32_t j = count[i]; j < count[i + 1]; j++) {
			uint32_t k = idx[j];
			lf_uuid id;
			int64_t ms = BASE_MS + (int64_t)(first + k);
			time_id(ms, first + k, 0x0f, &id);
			bool debit = p->from[k] == i;
			entry(ef, as, i, &id, debit ? p->to[k] : p->from[k], debit, p->amount[k],
			      ms);
		}
	}
	free(count);
	free(idx);
	fclose(pf);
	fclose(ef);
}

static void make_pays(struct pays *p, uint32_t n, uint32_t na)
{
	p->n = n;
	p->from = malloc(n * sizeof *p->from);
	p->to = malloc(n * sizeof *p->to);
	p->amount = malloc(n * sizeof *p->amount);
	if (!p->from || !p->to || !p->amount) {
		fprintf(stderr, "gen_ledger: out of memory\n");
		exit(1);
	}
	for (uint32_t k = 0; k < n; k++) {
		p->from[k] = 1 + (uint32_t)(next() % (na - 1));
		do
			p->to[k] = 1 + (uint32_t)(next() % (na - 1));
		while (p->to[k] == p->from[k]);
		p->amount[k] = 1 + (uint32_t)(next() % 10000);
	}
}

static void write_accounts(const char *path, const struct acct *as, uint32_t na)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "gen_ledger: cannot write %s\n", path);
		exit(1);
	}
	for (uint32_t i = 1; i < na; i++) {
		lf_uuid u;
		acct_id(i, &u);
		hex(f, u.b, 16);
		fprintf(f, "\tbench-%u\tUSD\tSTANDARD\t%" PRId64 "\t%" PRId64 "\t", i,
			as[i].balance, as[i].seq);
		hex(f, as[i].head, 32);
		fputs("\t0\t2026-01-01 00:00:00.000\t2026-01-01 00:00:00.000\t0\n", f);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "-b") == 0) {
		bench_ids = true;
		argc--;
		argv++;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: gen_ledger [-b] DIR ACCOUNTS ENTRIES INCREMENT\n");
		return 2;
	}
	const char *dir = argv[1];
	uint32_t na = (uint32_t)strtoul(argv[2], NULL, 10) + 1; /* + issuance */
	uint64_t entries = strtoull(argv[3], NULL, 10), inc = strtoull(argv[4], NULL, 10);
	if (na < 3 || entries < 2 * (uint64_t)na || entries > 4000000000ull) {
		fprintf(stderr, "gen_ledger: need ACCOUNTS >= 2 and ENTRIES >= 2 * ACCOUNTS\n");
		return 2;
	}
	struct acct *as = calloc(na, sizeof *as);
	char path[4096];
	if (!as) {
		fprintf(stderr, "gen_ledger: out of memory\n");
		return 1;
	}
	struct pays base, more;
	make_pays(&base, (uint32_t)((entries - 2 * (na - 1)) / 2), na);
	write_payments(dir, "", as, na, &base, 0, true);
	snprintf(path, sizeof path, "%s/accounts.tsv", dir);
	write_accounts(path, as, na);
	snprintf(path, sizeof path, "%s/issuance.sql", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f,
		"UPDATE accounts SET balance = %" PRId64 ", ledger_seq = %" PRId64
		", chain_head = X'",
		as[0].balance, as[0].seq);
	hex(f, as[0].head, 32);
	fputs("' WHERE id = X'00000000000080008000000000555344';\n", f);
	fclose(f);
	make_pays(&more, (uint32_t)(inc / 2), na);
	write_payments(dir, "inc_", as, na, &more, base.n, false);
	snprintf(path, sizeof path, "%s/inc_accounts.tsv", dir);
	write_accounts(path, as, na);
	printf("%" PRIu64 " entries, %u payments; increment %" PRIu64 " entries, %u payments\n",
	       (uint64_t)(2 * (na - 1)) + (uint64_t)2 * base.n, base.n, (uint64_t)2 * more.n,
	       more.n);
	return 0;
}
