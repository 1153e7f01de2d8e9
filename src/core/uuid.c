/*
 * core/uuid.c - UUIDs. Owns parsing of the canonical 8-4-4-4-12 text form
 * (either case), lower-case formatting, comparison, and UUIDv7 generation
 * (RFC 9562): 48-bit Unix milliseconds, version 7, a 12-bit counter in
 * rand_a so that ids made by one process are strictly increasing, variant
 * 10 and 62 random bits from getrandom() (buffered per thread, refilled
 * after a fork). The generator state is guarded by a mutex; after fork()
 * each process continues from its own copy.
 */
#include "config.h"

#include "lf_log.h"
#include "lf_uuid.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define COUNTER_MAX 0xFFFu
/* A fresh millisecond starts the counter at a random value below this,
 * leaving at least 2048 increments before it must borrow the next ms. */
#define COUNTER_SEED_MASK 0x7FFu

static pthread_mutex_t v7_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t v7_last_ms; /* timestamp of the last id (guarded) */
static uint32_t v7_counter; /* rand_a of the last id (guarded) */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool lf_uuid_parse(const char *text, size_t len, lf_uuid *out)
{
	lf_uuid id;
	size_t i, nb = 0;

	if (text == NULL || len != LF_UUID_STR_LEN)
		return false;
	for (i = 0; i < LF_UUID_STR_LEN;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return false;
			i++;
			continue;
		}
		hi = hex_value(text[i]);
		lo = hex_value(text[i + 1]);
		/* a pair never straddles a dash: dashes sit at even offsets
		 * from the start of each group */
		if (hi < 0 || lo < 0)
			return false;
		id.b[nb++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	*out = id;
	return true;
}

void lf_uuid_format(const lf_uuid *id, char out[LF_UUID_STR_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[n++] = '-';
		out[n++] = hex[id->b[i] >> 4];
		out[n++] = hex[id->b[i] & 0xF];
	}
	out[n] = '\0';
}

int lf_uuid_compare(const lf_uuid *a, const lf_uuid *b)
{
	int c = memcmp(a->b, b->b, sizeof a->b);

	return (c > 0) - (c < 0);
}

static void getrandom_all(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			char q[128];
			lf_error("getrandom_failed", "subsys=uuid error=%s action=abort",
				 lf_log_quote(strerror(errno), q, sizeof q));
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Random bytes come from getrandom() a buffer at a time, per thread: one
 * system call per ~25 ids instead of one each (a request id and a
 * payment's four ids each take one). A forked child must not hand out
 * its parent's buffered bytes again: fork_generation moves on in every
 * child, and a buffer of another generation is refilled first. */
#define RANDOM_BUFFER 256
static unsigned fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static _Thread_local struct {
	uint8_t bytes[RANDOM_BUFFER];
	size_t left;
	unsigned generation;
} rbuf;

static void after_fork_child(void)
{
	fork_generation++;
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
}

static void fill_random(void *buf, size_t len)
{
	pthread_once(&atfork_once, register_atfork);
	if (len > RANDOM_BUFFER) {
		getrandom_all(buf, len);
		return;
	}
	if (rbuf.generation != fork_generation || rbuf.left < len) {
		getrandom_all(rbuf.bytes, RANDOM_BUFFER);
		rbuf.left = RANDOM_BUFFER;
		rbuf.generation = fork_generation;
	}
	uint8_t *from = rbuf.bytes + RANDOM_BUFFER - rbuf.left;
	memcpy(buf, from, len);
	memset(from, 0, len); /* handed out once */
	rbuf.left -= len;
}

/* Lay out ts | ver | rand_a | var | rand_b; rnd supplies rand_b. */
static void v7_build(uint64_t ms, uint32_t rand_a, const uint8_t rnd[8], lf_uuid *out)
{
	ms &= UINT64_C(0xFFFFFFFFFFFF);
	for (int i = 0; i < 6; i++)
		out->b[i] = (uint8_t)(ms >> (40 - 8 * i));
	out->b[6] = (uint8_t)(0x70 | ((rand_a >> 8) & 0x0F));
	out->b[7] = (uint8_t)(rand_a & 0xFF);
	out->b[8] = (uint8_t)(0x80 | (rnd[0] & 0x3F));
	memcpy(&out->b[9], &rnd[1], 7);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void lf_uuid_v7(lf_uuid *out)
{
	uint8_t rnd[10];
	uint64_t ms, now = now_ms();
	uint32_t counter;

	/* rnd[0..7] feed rand_b, rnd[8..9] seed the counter */
	fill_random(rnd, sizeof rnd);
	pthread_mutex_lock(&v7_lock);
	if (now > v7_last_ms) {
		v7_last_ms = now;
		v7_counter = ((uint32_t)rnd[8] << 8 | rnd[9]) & COUNTER_SEED_MASK;
	} else if (v7_counter < COUNTER_MAX) {
		/* same millisecond, or the clock stepped back: count on */
		v7_counter++;
	} else {
		/* counter exhausted: borrow the next millisecond */
		v7_last_ms++;
		v7_counter = 0;
	}
	ms = v7_last_ms;
	counter = v7_counter;
	pthread_mutex_unlock(&v7_lock);
	v7_build(ms, counter, rnd, out);
}

void lf_uuid_v7_at(uint64_t unix_ms, lf_uuid *out)
{
	uint8_t rnd[10];

	/* Stateless: the caller chose the time, rand_a is random. */
	fill_random(rnd, sizeof rnd);
	v7_build(unix_ms, (uint32_t)rnd[8] << 8 | rnd[9], rnd, out);
}
