/*
 * lf_uuid.h - UUIDs: canonical text parsing (either case), lower-case
 * formatting, and time-ordered UUIDv7 generation.
 */
#ifndef LF_UUID_H
#define LF_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LF_UUID_STR_LEN 36 /* without the NUL */

typedef struct {
	uint8_t b[16];
} lf_uuid;

/* Parse exactly 36 characters 8-4-4-4-12 hex (either case); false otherwise. */
bool lf_uuid_parse(const char *text, size_t len, lf_uuid *out);
/* Lower-case canonical form, NUL-terminated (37 bytes). */
void lf_uuid_format(const lf_uuid *id, char out[LF_UUID_STR_LEN + 1]);
/* New UUIDv7 (RFC 9562): 48-bit Unix ms, version 7, variant 10, random
 * rest from getrandom(); strictly increasing within a process (a counter
 * in rand_a keeps ids made in one millisecond ordered). Thread-safe. */
void lf_uuid_v7(lf_uuid *out);
/* Same, with an explicit millisecond timestamp (tests). */
void lf_uuid_v7_at(uint64_t unix_ms, lf_uuid *out);
int lf_uuid_compare(const lf_uuid *a, const lf_uuid *b);

#endif
