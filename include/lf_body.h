/*
 * lf_body.h - a response body with one owner, from the renderer to the
 * socket: malloc'd bytes and their length. Whoever holds a struct lf_body
 * with data != NULL owns data and must either hand it on (lf_body_take,
 * lf_decision_*, lf_req_reply_body) or release it (lf_body_clear).
 *
 * Who allocates: lf_render_body (from an evbuffer, one copy), or a decoder
 * whose malloc'd result is adopted as it is (a stored outcome from the
 * database, the shm cache or Redis: no copy). Who frees: lf_body_clear, or
 * the reply's evbuffer, which references the bytes without copying them
 * and frees them once they are written to the client. data is NULL
 * exactly when nothing is owned; len may be 0 with data != NULL.
 */
#ifndef LF_BODY_H
#define LF_BODY_H

#include <stddef.h>
#include <stdlib.h>

struct lf_body {
	char *data; /* malloc'd, owned; NULL when empty */
	size_t len;
};

/* Adopt a malloc'd block (may be NULL) as the body; b must be empty. */
static inline void lf_body_adopt(struct lf_body *b, char *data, size_t len)
{
	b->data = data;
	b->len = data ? len : 0;
}

/* Release the bytes; b is empty afterwards. */
static inline void lf_body_clear(struct lf_body *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

/* Move: dst (whose own bytes are released) gets src's bytes, src is left
 * empty. */
static inline void lf_body_take(struct lf_body *dst, struct lf_body *src)
{
	if (dst == src)
		return;
	free(dst->data);
	*dst = *src;
	src->data = NULL;
	src->len = 0;
}

#endif
