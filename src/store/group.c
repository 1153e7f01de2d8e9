/*
 * store/group.c - the group commit in the database (lf_store.h,
 * doc/design.md "Group commit"): lf_store_transfer_batch. The accounts of
 * the payments are read without a lock (one SELECT over a JSON array of
 * ids); each payment is decided here, in arrival order, with lf_transfer's
 * rules against the running balances, and its two entries computed and
 * hash-chained; one CALL lf_transfer_group_v2 then judges and writes it
 * all (the accounts and the payments as two JSON arrays of fixed-width
 * strings, each bound as a single parameter, written straight into an
 * evbuffer).
 */
#include "config.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "lf_intents.h"
#include "lf_json.h"
#include "lf_ledger_hash.h"
#include "lf_time.h"
#include "store_int.h"

/* An account of the group: as read (or as locked, after STALE), and after
 * the group as decided. */
struct lf_group_account {
	lf_uuid id;
	bool found;
	char currency[4];
	uint64_t owner;
	bool issuance;
	int64_t balance, held, seq;
	uint8_t head[LF_LEDGER_HASH_LEN];
	int64_t new_balance, new_seq;
	uint8_t new_head[LF_LEDGER_HASH_LEN];
	int moves;       /* entries the group adds to it */
	int64_t last_ms; /* created_at of its last entry */
	int64_t new_held;
	int holds;  /* holds the group places on it */
	bool moved; /* a STALE answer found it moved since it was read */
};

struct lf_group_entry {
	lf_uuid id;
	int64_t seq, after;
	uint8_t hash[LF_LEDGER_HASH_LEN];
};

/* A payment of the transaction. */
struct lf_group_item {
	const struct lf_transfer_req *t;
	char outcome;   /* 'c' completed, 'h' held (a hold, PENDING), 'd' declined */
	bool completed; /* 'c' or 'h': its 201; else declined, insufficient funds */
	struct lf_group_entry debit, credit;
	const char *body; /* the stored response (201 or 422) */
	size_t body_len;
	lf_uuid event_id; /* payment.completed / payment.declined */
};

enum lf_group_result {
	LF_GROUP_OK,       /* committed */
	LF_GROUP_STALE,    /* an account moved since it was read: a[] holds the
			    * locked state, the transaction is open */
	LF_GROUP_CONFLICT, /* rolled back: conflict[i] for each item whose key is
			    * already known */
};

/* ---- JSON text ---- */

static void put_hex(struct evbuffer *b, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char out[2 * LF_LEDGER_HASH_LEN + 2];
	size_t k = 0;
	out[k++] = '"';
	for (size_t i = 0; i < n && i < LF_LEDGER_HASH_LEN; i++) {
		out[k++] = digits[p[i] >> 4];
		out[k++] = digits[p[i] & 15];
	}
	out[k++] = '"';
	evbuffer_add(b, out, k);
}

static void put_text(struct evbuffer *b, const char *s, size_t n)
{
	if (s == NULL)
		evbuffer_add(b, "null", 4);
	else
		lf_json_append_string(b, s, n);
}

/* Lower-case hex of n bytes into out (2n characters, no terminator). */
static char *hex_into(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		*out++ = digits[p[i] >> 4];
		*out++ = digits[p[i] & 15];
	}
	return out;
}

/* 'YYYY-MM-DD hh:mm:ss.fff' (23 characters and a NUL) into out. */
static void time_into(char out[24], int64_t ms)
{
	MYSQL_TIME t;
	lf_store_ms_to_time(ms, &t);
	snprintf(out, 24, "%04u-%02u-%02u %02u:%02u:%02u.%03lu", t.year % 10000u, t.month % 100u,
		 t.day % 100u, t.hour % 100u, t.minute % 100u, t.second % 100u,
		 (t.second_part / 1000) % 1000u);
}

/* The fixed-width strings of lf_transfer_group_v2 (sql/procedures.sql has
 * the layout): numbers right-aligned in 20 (counts in 10), ids and hashes
 * in hex, times in 23, an absent field as spaces. */
#define GROUP_ACCOUNT_LEN 323
#define GROUP_ITEM_LEN 578
#define GROUP_ENTRY_LEN 136

static void put_accounts(struct evbuffer *b, const struct lf_group_account *a, int n)
{
	evbuffer_add(b, "[", 1);
	for (int i = 0; i < n; i++) {
		const struct lf_group_account *x = &a[i];
		char id[33], hd[65], nh[65], la[24];
		*hex_into(id, x->id.b, 16) = '\0';
		*hex_into(hd, x->head, LF_LEDGER_HASH_LEN) = '\0';
		*hex_into(nh, x->new_head, LF_LEDGER_HASH_LEN) = '\0';
		time_into(la, x->moves > 0 ? x->last_ms : 0);
		char r[GROUP_ACCOUNT_LEN + 1];
		int k = snprintf(r, sizeof r,
				 "%s%20lld%20lld%20lld%s%20lld%20lld%s%10d%s%20lld%10d", id,
				 (long long)x->balance, (long long)x->held, (long long)x->seq, hd,
				 (long long)x->new_balance, (long long)x->new_seq, nh, x->moves, la,
				 (long long)x->new_held, x->holds);
		assert(k == GROUP_ACCOUNT_LEN); /* every field fits its width */
		evbuffer_add_printf(b, "%s\"%s\"", i ? "," : "", r);
	}
	evbuffer_add(b, "]", 1);
}

/* An entry's id, seq, balance after and hash (GROUP_ENTRY_LEN). */
static char *entry_into(char *out, const struct lf_group_entry *e)
{
	out = hex_into(out, e->id.b, 16);
	out += snprintf(out, 41, "%20lld%20lld", (long long)e->seq, (long long)e->after);
	return hex_into(out, e->hash, LF_LEDGER_HASH_LEN);
}

static void put_items(struct evbuffer *b, const struct lf_group_item *it, int n)
{
	evbuffer_add(b, "[", 1);
	for (int i = 0; i < n; i++) {
		const struct lf_group_item *x = &it[i];
		const struct lf_transfer_req *t = x->t;
		/* decided against an account read with a 3-letter currency */
		assert(strlen(t->currency) == 3);
		char fp[2 * LF_FINGERPRINT_LEN + 1], id[33], f[33], to[33], ev[33], at[24], exp[24];
		char hx[24];
		*hex_into(fp, t->fingerprint, LF_FINGERPRINT_LEN) = '\0';
		*hex_into(id, t->payment_id.b, 16) = '\0';
		*hex_into(f, t->from.b, 16) = '\0';
		*hex_into(to, t->to.b, 16) = '\0';
		*hex_into(ev, x->event_id.b, 16) = '\0';
		time_into(at, t->created_ms);
		time_into(exp, t->expires_ms);
		if (x->outcome == 'h')
			time_into(hx, t->hold_expires_ms);
		else
			snprintf(hx, sizeof hx, "%23s", "");
		char r[GROUP_ITEM_LEN + 1];
		int k = snprintf(r, sizeof r, "%20llu%d%s%s%s%s%20lld%s%s%s%c%s%s",
				 (unsigned long long)t->client_id, t->admin ? 1 : 0, fp, id, f, to,
				 (long long)t->amount, t->currency, at, exp, x->outcome, ev, hx);
		assert(k == GROUP_ITEM_LEN - 2 * GROUP_ENTRY_LEN);
		if (x->outcome == 'c') {
			char *end = entry_into(entry_into(r + k, &x->debit), &x->credit);
			*end = '\0';
		} else {
			memset(r + k, ' ', 2 * GROUP_ENTRY_LEN);
			r[GROUP_ITEM_LEN] = '\0';
		}
		assert(strlen(r) == GROUP_ITEM_LEN);
		evbuffer_add_printf(b, "%s[\"%s\",", i ? "," : "", r);
		lf_json_append_string(b, t->idem_key, t->idem_key_len);
		evbuffer_add(b, ",", 1);
		put_text(b, t->reference, t->reference ? strlen(t->reference) : 0);
		evbuffer_add(b, ",", 1);
		put_text(b, t->metadata, t->metadata ? strlen(t->metadata) : 0);
		evbuffer_add(b, ",", 1);
		put_text(b, t->location, strlen(t->location));
		evbuffer_add(b, "]", 1);
	}
	evbuffer_add(b, "]", 1);
}

/* The stored responses and the declined payments' event data, in item
 * order: only the statements that write them parse them. */
static void put_bodies(struct evbuffer *b, const struct lf_group_item *it, int n)
{
	evbuffer_add(b, "[", 1);
	for (int i = 0; i < n; i++) {
		const struct lf_group_item *x = &it[i];
		evbuffer_add(b, i ? ",{\"b\":" : "{\"b\":", i ? 6 : 5);
		put_text(b, x->body, x->body_len);
		if (x->outcome == 'd') {
			evbuffer_add(b, ",\"e\":", 5);
			put_text(b, x->t->event_declined, x->t->event_declined_len);
		}
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add(b, "]", 1);
}

/* ---- rows ---- */

/* The state columns of one account row: id, balance, held, seq, head. */
struct state_row {
	MYSQL_BIND b[8];
	struct col k[8];
	uint8_t id[16];
	char currency[8];
	char kind[16];
	uint64_t owner;
	int64_t balance, held, seq;
	uint8_t head[LF_LEDGER_HASH_LEN];
};

static struct lf_group_account *find(struct lf_group_account *a, int n, const uint8_t id[16])
{
	for (int i = 0; i < n; i++)
		if (memcmp(a[i].id.b, id, 16) == 0)
			return &a[i];
	return NULL;
}

/* The accounts' state: read without a lock, or (`lock`) locked by
 * lf_group_lock, which leaves its transaction open for the apply. */
static lf_rc group_read(struct lf_store_conn *c, bool lock, struct lf_group_account *a, int n)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, lock ? ST_GROUP_LOCK : ST_GROUP_READ, &st);
	if (rc != LF_OK)
		return rc;
	struct evbuffer *ids = evbuffer_new();
	if (ids == NULL)
		return lf_store_fail(c, 0, "out of memory for a group of payments");
	evbuffer_add(ids, "[", 1);
	for (int i = 0; i < n; i++) {
		a[i].found = false;
		if (i)
			evbuffer_add(ids, ",", 1);
		put_hex(ids, a[i].id.b, 16);
	}
	evbuffer_add(ids, "]", 1);
	size_t len = evbuffer_get_length(ids);
	const char *text = (const char *)evbuffer_pullup(ids, -1);
	MYSQL_BIND p[1];
	memset(p, 0, sizeof p);
	in_text(&p[0], text, len);
	rc = text != NULL ? lf_store_run(c, st, p)
			  : lf_store_fail(c, 0, "out of memory for a group of payments");
	evbuffer_free(ids);
	if (rc != LF_OK)
		return rc;
	struct state_row w;
	memset(&w, 0, sizeof w);
	out_bind(&w.b[0], &w.k[0], MYSQL_TYPE_BLOB, w.id, sizeof w.id);
	out_bind(&w.b[1], &w.k[1], MYSQL_TYPE_STRING, w.currency, sizeof w.currency);
	out_bind(&w.b[2], &w.k[2], MYSQL_TYPE_LONGLONG, &w.owner, 0);
	w.b[2].is_unsigned = 1;
	out_bind(&w.b[3], &w.k[3], MYSQL_TYPE_STRING, w.kind, sizeof w.kind);
	out_bind(&w.b[4], &w.k[4], MYSQL_TYPE_LONGLONG, &w.balance, 0);
	out_bind(&w.b[5], &w.k[5], MYSQL_TYPE_LONGLONG, &w.held, 0);
	out_bind(&w.b[6], &w.k[6], MYSQL_TYPE_LONGLONG, &w.seq, 0);
	out_bind(&w.b[7], &w.k[7], MYSQL_TYPE_BLOB, w.head, sizeof w.head);
	if (mysql_stmt_field_count(st) != 8)
		return lf_store_finish(c, st, lf_store_fail(c, 0, "group read: bad result"));
	if (mysql_stmt_bind_result(st, w.b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	int f;
	while ((f = lf_store_next_row(c, st)) == 0) {
		struct lf_group_account *x = w.k[0].len == 16 ? find(a, n, w.id) : NULL;
		if (x == NULL || w.k[7].len != LF_LEDGER_HASH_LEN)
			return lf_store_finish(c, st, lf_store_fail(c, 0, "group read: bad row"));
		out_str_fix(w.currency, sizeof w.currency, &w.k[1]);
		out_str_fix(w.kind, sizeof w.kind, &w.k[3]);
		x->found = true;
		if (strlen(w.currency) != 3)
			return lf_store_finish(c, st,
					       lf_store_fail(c, 0, "group read: bad currency"));
		memcpy(x->currency, w.currency, 4);
		x->owner = w.owner;
		x->issuance = strcmp(w.kind, "ISSUANCE") == 0;
		x->balance = w.balance;
		x->held = w.held;
		x->seq = w.seq;
		memcpy(x->head, w.head, sizeof x->head);
	}
	return lf_store_finish(c, st, f < 0 ? lf_store_last_rc(c) : LF_OK);
}

/* The answer rows of lf_transfer_group_v2: (outcome, item, id, balance,
 * held, seq, head). */
static lf_rc apply_rows(struct lf_store_conn *c, MYSQL_STMT *st, struct lf_group_account *a, int na,
			int ni, enum lf_group_result *result, bool *conflict)
{
	char outcome[16];
	int item = -1;
	struct state_row w;
	memset(&w, 0, sizeof w);
	out_bind(&w.b[0], &w.k[0], MYSQL_TYPE_STRING, outcome, sizeof outcome);
	out_bind(&w.b[1], &w.k[1], MYSQL_TYPE_LONG, &item, 0);
	out_bind(&w.b[2], &w.k[2], MYSQL_TYPE_BLOB, w.id, sizeof w.id);
	out_bind(&w.b[3], &w.k[3], MYSQL_TYPE_LONGLONG, &w.balance, 0);
	out_bind(&w.b[4], &w.k[4], MYSQL_TYPE_LONGLONG, &w.held, 0);
	out_bind(&w.b[5], &w.k[5], MYSQL_TYPE_LONGLONG, &w.seq, 0);
	out_bind(&w.b[6], &w.k[6], MYSQL_TYPE_BLOB, w.head, sizeof w.head);
	if (mysql_stmt_field_count(st) != 7)
		return lf_store_finish(c, st,
				       lf_store_fail(c, 0, "lf_transfer_group_v2: bad result"));
	if (mysql_stmt_bind_result(st, w.b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	int rows = 0, f;
	bool ok = false, stale = false, conflicted = false;
	while ((f = lf_store_next_row(c, st)) == 0) {
		out_str_fix(outcome, sizeof outcome, &w.k[0]);
		rows++;
		if (strcmp(outcome, "ok") == 0) {
			ok = true;
		} else if (strcmp(outcome, "conflict") == 0) {
			if (w.k[1].null || item < 0 || item >= ni)
				break;
			conflict[item] = true;
			conflicted = true;
		} else if (strcmp(outcome, "stale") == 0) {
			struct lf_group_account *x = w.k[2].len == 16 ? find(a, na, w.id) : NULL;
			if (x == NULL || w.k[6].len != LF_LEDGER_HASH_LEN)
				break;
			x->moved = x->balance != w.balance || x->held != w.held || x->seq != w.seq;
			x->balance = w.balance;
			x->held = w.held;
			x->seq = w.seq;
			memcpy(x->head, w.head, sizeof x->head);
			stale = true;
		} else {
			break;
		}
	}
	if (f < 0)
		return lf_store_finish(c, st, lf_store_last_rc(c));
	if (f == 0 || ok + stale + conflicted != 1 || (ok && rows != 1) || (stale && rows != na)) {
		/* an answer of the wrong shape: whatever it did, the caller
		 * cannot know it (and a stale transaction may be open) */
		lf_store_finish(c, st, LF_OK);
		c->broken = true;
		return lf_store_fail_state(c, 2027, "HY000", "lf_transfer_group_v2: bad answer");
	}
	*result = ok ? LF_GROUP_OK : stale ? LF_GROUP_STALE : LF_GROUP_CONFLICT;
	return lf_store_finish(c, st, LF_OK);
}

/* How lf_transfer_group_v2 is called (its p_continue). */
enum group_mode {
	GROUP_BEGIN = 0,    /* read without a lock: begin, claim, lock, judge */
	GROUP_AGAIN = 1,    /* decided again after its STALE answer */
	GROUP_AS_LOCKED = 2 /* read by lf_group_lock, in its transaction */
};

static lf_rc group_apply(struct lf_store_conn *c, enum group_mode mode, struct lf_group_account *a,
			 int na, const struct lf_group_item *it, int ni,
			 enum lf_group_result *result, bool *conflict)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_GROUP_APPLY, &st);
	if (rc != LF_OK)
		return rc;
	memset(conflict, 0, (size_t)ni * sizeof *conflict);
	struct evbuffer *buf[3] = {evbuffer_new(), evbuffer_new(), evbuffer_new()};
	const char *text[3] = {NULL, NULL, NULL};
	size_t len[3] = {0, 0, 0};
	if (buf[0] != NULL && buf[1] != NULL && buf[2] != NULL) {
		put_accounts(buf[0], a, na);
		put_items(buf[1], it, ni);
		put_bodies(buf[2], it, ni);
		for (int i = 0; i < 3; i++) {
			len[i] = evbuffer_get_length(buf[i]);
			text[i] = (const char *)evbuffer_pullup(buf[i], -1);
		}
	}
	MYSQL_BIND p[4];
	memset(p, 0, sizeof p);
	int continued = (int)mode;
	in_int(&p[0], &continued);
	for (int i = 0; i < 3; i++)
		in_text(&p[1 + i], text[i], len[i]);
	rc = text[0] != NULL && text[1] != NULL && text[2] != NULL
		     ? lf_store_run(c, st, p)
		     : lf_store_fail(c, 0, "out of memory for a group of payments");
	for (int i = 0; i < 3; i++)
		if (buf[i] != NULL)
			evbuffer_free(buf[i]);
	if (rc != LF_OK)
		return rc;
	return apply_rows(c, st, a, na, ni, result, conflict);
}

static void group_abort(struct lf_store_conn *c)
{
	if (c->broken)
		return;
	if (mysql_rollback(c->m) != 0) {
		lf_store_fail(c, mysql_errno(c->m), mysql_error(c->m));
		c->broken = true;
	}
}

/* ---- the decisions ---- */

struct group {
	const struct lf_transfer_req *r; /* the payments, in arrival order */
	int n;
	bool *out;                    /* left to the single path (FALLBACK) */
	struct lf_group_account *acc; /* the accounts, ascending by id */
	int nacc;
	struct lf_group_item *items; /* the payments in the transaction */
	int *member;                 /* items[i] is r[member[i]] */
	int nitems;
	bool *conflict; /* per item: its key is known already */
	struct lf_transfer_batch_path *path;
};

/* A group's key conflicts are looked at this many times; then the rest
 * falls back. */
#define GROUP_CONFLICT_ROUNDS 2

static int cmp_account(const void *a, const void *b)
{
	return memcmp(((const struct lf_group_account *)a)->id.b,
		      ((const struct lf_group_account *)b)->id.b, 16);
}

static struct lf_group_account *account(struct group *g, const lf_uuid *id)
{
	struct lf_group_account key = {.id = *id};
	return bsearch(&key, g->acc, (size_t)g->nacc, sizeof key, cmp_account);
}

/* The distinct accounts of the payments still in, sorted: the lock
 * order. */
static void collect_accounts(struct group *g)
{
	g->nacc = 0;
	for (int k = 0; k < g->n; k++) {
		if (g->out[k])
			continue;
		g->acc[g->nacc++] = (struct lf_group_account){.id = g->r[k].from};
		g->acc[g->nacc++] = (struct lf_group_account){.id = g->r[k].to};
	}
	qsort(g->acc, (size_t)g->nacc, sizeof *g->acc, cmp_account);
	int u = 0;
	for (int i = 0; i < g->nacc; i++)
		if (u == 0 || memcmp(g->acc[u - 1].id.b, g->acc[i].id.b, 16) != 0)
			g->acc[u++] = g->acc[i];
	g->nacc = u;
}

/* The next entry of account a for payment t: the account's running state
 * moves on. False when hashing fails. */
static bool next_entry(struct lf_group_account *a, const struct lf_transfer_req *t, bool debit,
		       struct lf_group_entry *e)
{
	e->id = debit ? t->debit_entry_id : t->credit_entry_id;
	e->seq = a->new_seq + 1;
	e->after = debit ? a->new_balance - t->amount : a->new_balance + t->amount;
	struct lf_ledger_hash_in in = {.account_id = a->id,
				       .seq = e->seq,
				       .id = e->id,
				       .has_payment = true,
				       .payment_id = t->payment_id,
				       .counterparty_id = debit ? t->to : t->from,
				       .debit = debit,
				       .amount = t->amount,
				       .balance_after = e->after,
				       .created_ms = t->created_ms};
	if (!lf_ledger_hash(a->new_head, &in, e->hash))
		return false;
	a->new_seq = e->seq;
	a->new_balance = e->after;
	memcpy(a->new_head, e->hash, LF_LEDGER_HASH_LEN);
	a->moves++;
	if (t->created_ms > a->last_ms)
		a->last_ms = t->created_ms;
	return true;
}

/* lf_transfer's rules, in arrival order, against the running balances:
 * items[] gets the payments that complete or are declined for
 * insufficient funds; any other (an account missing or not the client's,
 * a currency that differs, an amount too large) is left out. With
 * `again`, the state is the locked one of a STALE answer and the items
 * must stay those of the call before: false when they would not (or when
 * hashing fails). */
static bool decide(struct group *g, bool again)
{
	for (int i = 0; i < g->nacc; i++) {
		struct lf_group_account *a = &g->acc[i];
		a->new_balance = a->balance;
		a->new_seq = a->seq;
		memcpy(a->new_head, a->head, LF_LEDGER_HASH_LEN);
		a->moves = 0;
		a->last_ms = 0;
		a->new_held = a->held;
		a->holds = 0;
	}
	int ni = 0;
	for (int k = 0; k < g->n; k++) {
		if (g->out[k])
			continue;
		const struct lf_transfer_req *t = &g->r[k];
		struct lf_group_account *f = account(g, &t->from), *to = account(g, &t->to);
		int64_t sum;
		bool in = f != NULL && to != NULL && f != to && f->found && to->found &&
			  (t->admin || f->owner == t->client_id) &&
			  strcmp(f->currency, t->currency) == 0 &&
			  strcmp(to->currency, t->currency) == 0 &&
			  !__builtin_add_overflow(to->new_balance, t->amount, &sum) &&
			  !__builtin_sub_overflow(f->new_balance, t->amount, &sum) &&
			  !__builtin_add_overflow(f->new_held, t->amount, &sum);
		if (again && (!in || ni >= g->nitems || g->member[ni] != k))
			return false;
		if (!in) {
			g->out[k] = true;
			continue;
		}
		struct lf_group_item *it = &g->items[ni];
		lf_uuid event_id = it->event_id;
		g->member[ni++] = k;
		/* the available balance: held funds (those of the group's
		 * earlier holds too) are not spent, nor held twice */
		bool funds = f->issuance || (__int128)f->new_balance - (__int128)f->new_held >=
						    (__int128)t->amount;
		bool hold = t->hold_expires_ms > 0;
		*it = (struct lf_group_item){.t = t,
					     .outcome = !funds ? 'd'
							: hold ? 'h'
							       : 'c',
					     .completed = funds,
					     .event_id = event_id};
		if (!again)
			lf_uuid_v7(&it->event_id);
		if (funds && hold) {
			/* a hold: reserved on the sender, nothing moves */
			f->new_held += t->amount;
			f->holds++;
			it->body = t->body_completed; /* the payment PENDING */
			it->body_len = t->body_completed_len;
		} else if (funds) {
			if (!next_entry(f, t, true, &it->debit) ||
			    !next_entry(to, t, false, &it->credit))
				return false;
			it->body = t->body_completed;
			it->body_len = t->body_completed_len;
		} else {
			it->body = t->body_declined;
			it->body_len = t->body_declined_len;
		}
	}
	if (again && ni != g->nitems)
		return false;
	g->nitems = ni;
	return true;
}

/* Only the accounts the items touch are locked and sent (a payment left
 * out may name one that does not exist); the order stays ascending. */
static void keep_used_accounts(struct group *g)
{
	int u = 0;
	for (int i = 0; i < g->nacc; i++) {
		const lf_uuid *id = &g->acc[i].id;
		bool used = false;
		for (int k = 0; k < g->nitems && !used; k++) {
			const struct lf_transfer_req *t = g->items[k].t;
			used = memcmp(t->from.b, id->b, 16) == 0 || memcmp(t->to.b, id->b, 16) == 0;
		}
		if (used)
			g->acc[u++] = g->acc[i];
	}
	g->nacc = u;
}

/* After a locked read: the accounts moved by others since this process
 * committed them stay contended. */
static void tell_locked(const struct group *g)
{
	for (int i = 0; i < g->nacc; i++)
		if (g->acc[i].found)
			lf_contended_locked(&g->acc[i].id, g->acc[i].seq, g->acc[i].held);
}

/* After a commit: where this process left each account. */
static void tell_committed(const struct group *g)
{
	for (int i = 0; i < g->nacc; i++)
		lf_contended_committed(&g->acc[i].id, g->acc[i].new_seq, g->acc[i].new_held);
}

/* ---- intents (lf_intents.h): what the groups in flight will leave ---- */

static struct lf_intents *group_intents; /* set before the pool threads start */
static uint32_t group_pid;               /* and this process's id, for the tags */

void lf_store_use_intents(struct lf_intents *t)
{
	group_intents = t;
	group_pid = (uint32_t)getpid();
}

/* A tag no other group of this host uses (never 0). */
static uint64_t new_tag(void)
{
	static atomic_uint_fast32_t n;
	uint32_t k = (uint32_t)atomic_fetch_add_explicit(&n, 1, memory_order_relaxed) + 1;
	return (uint64_t)group_pid << 32 | (k ? k : 1);
}

/* Another group of this host is writing one of the accounts now. */
static bool intents_in_flight(const struct group *g)
{
	if (group_intents == NULL)
		return false;
	int64_t now = lf_time_monotonic_us();
	for (int i = 0; i < g->nacc; i++) {
		struct lf_intent x;
		bool in_flight;
		lf_intents_find(group_intents, &g->acc[i].id, INT64_MAX, now, &x, &in_flight);
		if (in_flight)
			return true;
	}
	return false;
}

/* After an unlocked read: each account that a group in flight (or one
 * that committed after the read) leaves newer is taken as it leaves it.
 * The procedure checks it: a group that does not commit it makes this
 * one's answer 'stale'. */
static void assume_intents(struct group *g)
{
	if (group_intents == NULL)
		return;
	int64_t now = lf_time_monotonic_us();
	for (int i = 0; i < g->nacc; i++) {
		struct lf_group_account *a = &g->acc[i];
		struct lf_intent x;
		if (!a->found || !lf_intents_find(group_intents, &a->id, a->seq, now, &x, NULL))
			continue;
		a->balance = x.balance;
		a->held = x.held;
		a->seq = x.seq;
		memcpy(a->head, x.head, sizeof a->head);
		g->path->assumed++;
	}
}

/* What the group leaves each account it moves, before its CALL. */
static void publish_intents(const struct group *g, uint64_t tag)
{
	if (group_intents == NULL)
		return;
	int64_t now = lf_time_monotonic_us();
	for (int i = 0; i < g->nacc; i++) {
		const struct lf_group_account *a = &g->acc[i];
		if (a->moves == 0)
			continue;
		struct lf_intent x = {
			.seq = a->new_seq, .balance = a->new_balance, .held = a->new_held};
		memcpy(x.head, a->new_head, sizeof x.head);
		lf_intents_publish(group_intents, &a->id, &x, tag, now);
	}
}

/* The group committed (settle) or did not (withdraw) what it published. */
static void end_intents(const struct group *g, uint64_t tag, bool committed)
{
	if (group_intents == NULL)
		return;
	for (int i = 0; i < g->nacc; i++) {
		if (g->acc[i].moves == 0)
			continue;
		lf_intents_end(group_intents, &g->acc[i].id, tag, committed);
	}
}

/* Read (or lock and read, when an account is contended and no group of
 * this host is writing it), decide, apply (and once more in the same
 * transaction when the state moved); key conflicts leave their payments
 * out and start again. LF_OK with nitems 0: nothing left to do together. */
static lf_rc run_group(struct lf_store_conn *c, struct group *g)
{
	uint64_t tag = new_tag();
	for (int round = 0;; round++) {
		collect_accounts(g);
		g->nitems = 0;
		if (g->nacc == 0)
			return LF_OK;
		/* a contended account is locked first, unless a group of this
		 * host is writing it: then this one builds on that group's
		 * intents, and its CALL waits for that COMMIT instead */
		bool locked = lf_contended_begin(&g->acc[0].id, sizeof g->acc[0], g->nacc) &&
			      !intents_in_flight(g);
		g->path->locked_first |= locked;
		const char *failed = NULL; /* in C: logged once the locks are gone */
		bool published = false;
		enum lf_group_result res;
		lf_rc rc = group_read(c, locked, g->acc, g->nacc);
		if (rc != LF_OK)
			goto unlock;
		if (locked)
			tell_locked(g);
		else
			assume_intents(g);
		if (!decide(g, false)) {
			failed = "group commit: hashing an entry failed";
			goto unlock;
		}
		if (g->nitems == 0)
			goto unlock;
		keep_used_accounts(g);
		publish_intents(g, tag);
		published = true;
		rc = group_apply(c, locked ? GROUP_AS_LOCKED : GROUP_BEGIN, g->acc, g->nacc,
				 g->items, g->nitems, &res, g->conflict);
		if (rc != LF_OK)
			goto unlock; /* lf_group_lock's transaction may still be open */
		if (res == LF_GROUP_STALE) {
			g->path->stale++;
			/* what it published followed from a state that moved:
			 * withdrawn while the accounts' moves are still those
			 * it published (deciding again recomputes them; a
			 * payment declined now moves nothing) */
			end_intents(g, tag, false);
			for (int i = 0; i < g->nacc; i++)
				if (g->acc[i].moved)
					lf_contended_moved(&g->acc[i].id);
			if (locked || !decide(g, true)) {
				/* locked: the procedure found moved what this
				 * transaction holds locked (it cannot be; whatever
				 * it is, nothing of it stays). Else which payments
				 * are in would change (an amount now too large):
				 * they all fall back */
				group_abort(c);
				for (int k = 0; k < g->n; k++)
					g->out[k] = true;
				g->nitems = 0;
				return c->broken ? LF_LOST : LF_OK;
			}
			publish_intents(g, tag); /* as decided again, under the locks */
			rc = group_apply(c, GROUP_AGAIN, g->acc, g->nacc, g->items, g->nitems, &res,
					 g->conflict);
			if (rc != LF_OK) {
				/* the transaction the first call left open (its
				 * locks, its claims) may still be: never let a
				 * later START TRANSACTION commit it */
				group_abort(c);
				end_intents(g, tag, false);
				return rc;
			}
			if (res == LF_GROUP_STALE) {
				group_abort(c);
				end_intents(g, tag, false);
				return lf_store_fail(c, 0,
						     "lf_transfer_group_v2: stale under its locks");
			}
			/* a 'conflict' now (a payment under a reaped key) was
			 * rolled back like the first call's: handled below */
		}
		end_intents(g, tag, res == LF_GROUP_OK);
		if (res == LF_GROUP_OK) {
			tell_committed(g);
			return LF_OK;
		}
		/* CONFLICT (rolled back): those keys are decided alone */
		for (int i = 0; i < g->nitems; i++)
			if (g->conflict[i])
				g->out[g->member[i]] = true;
		if (round + 1 >= GROUP_CONFLICT_ROUNDS) {
			for (int k = 0; k < g->n; k++)
				g->out[k] = true;
			g->nitems = 0;
			return LF_OK;
		}
		continue;
	unlock:
		/* the one way out before the procedure answered: whatever
		 * lf_group_lock began (its locks) ends here; an unlocked read
		 * began nothing */
		if (locked)
			group_abort(c);
		if (published)
			end_intents(g, tag, false);
		return failed != NULL ? lf_store_fail(c, 0, failed) : rc;
	}
}

lf_rc lf_store_transfer_batch(struct lf_store_conn *c, const struct lf_transfer_req *r, int n,
			      enum lf_transfer_batch_result *result,
			      struct lf_transfer_batch_path *path)
{
	struct lf_transfer_batch_path unused;
	struct group g = {.r = r, .n = n, .path = path != NULL ? path : &unused};
	*g.path = (struct lf_transfer_batch_path){0};
	g.out = calloc((size_t)n, sizeof *g.out);
	g.acc = calloc(2 * (size_t)n, sizeof *g.acc);
	g.items = calloc((size_t)n, sizeof *g.items);
	g.member = calloc((size_t)n, sizeof *g.member);
	g.conflict = calloc((size_t)n, sizeof *g.conflict);
	lf_rc rc;
	if (g.out == NULL || g.acc == NULL || g.items == NULL || g.member == NULL ||
	    g.conflict == NULL) {
		rc = lf_store_fail(c, 0, "out of memory for a batch of payments");
		goto done;
	}
	/* a later payment with the key of an earlier one (same client)
	 * waits for it: the single path replays the first one's outcome */
	for (int k = 0; k < n; k++) {
		for (int j = 0; j < k && !g.out[k]; j++)
			if (r[j].client_id == r[k].client_id &&
			    r[j].idem_key_len == r[k].idem_key_len &&
			    memcmp(r[j].idem_key, r[k].idem_key, r[k].idem_key_len) == 0)
				g.out[k] = true;
	}
	rc = run_group(c, &g);
	if (rc == LF_OK) {
		for (int k = 0; k < n; k++)
			result[k] = LF_TRANSFER_BATCH_FALLBACK;
		for (int i = 0; i < g.nitems; i++)
			result[g.member[i]] = g.items[i].completed ? LF_TRANSFER_BATCH_COMPLETED
								   : LF_TRANSFER_BATCH_DECLINED;
	}
done:
	free(g.out);
	free(g.acc);
	free(g.items);
	free(g.member);
	free(g.conflict);
	return rc;
}
