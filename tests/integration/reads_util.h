/*
 * reads_util.h - what test_batching and test_loopread share: one round of
 * concurrent GET /api/accounts/{id} by two clients, each reading its own
 * account, the other's and a missing one, checked answer by answer, and
 * how many account-read batches of more than one read it made.
 */
#ifndef LF_TEST_READS_UTIL_H
#define LF_TEST_READS_UTIL_H

struct lf_h_two_readers {
	const char *key[2];     /* the clients' API keys */
	const char *acct[2];    /* each one's account */
	const char *balance[2]; /* its balance as the API writes it */
	const char *missing;    /* an id no account has */
};

/* READS_UTIL_READERS readers at once on port, released together: reader
 * i as client i % 2 reads its own account, the other's or the missing one
 * by (i / 2) % 3; want 200 with the owner's balance, else 404. *wrong: the
 * answers that were not (each printed); *reads: the reads the account_read
 * histogram counted meanwhile (its sum). Returns its batches of more than
 * one read made meanwhile (/metrics), -1 if unreadable. */
#define READS_UTIL_READERS 48
long long lf_h_read_round(unsigned port, const struct lf_h_two_readers *t, int *wrong,
			  long long *reads);

#endif
