/*
 * core/json.c - strict request JSON. Owns the gate every request body passes:
 * a single-pass scanner that checks the RFC 8259 grammar exactly (json-c
 * 0.16 is lax even with JSON_TOKENER_STRICT: it takes 'single-quoted'
 * names, raw control characters in strings, "1.", "01.5", NaN, Infinity,
 * overlong and surrogate UTF-8), strict UTF-8, I-JSON rules (no
 * duplicated member names at any depth, compared after unescaping; no
 * lone surrogate escapes) and a depth limit; then json-c builds the tree.
 * Also owns writing JSON string literals into an evbuffer.
 */
#include "config.h"

#include "lf_json.h"

#include <event2/buffer.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32 /* nested objects/arrays, the top level counting 1 */

enum scan_result {
	SCAN_OK = 0,
	SCAN_INVALID,
	SCAN_DUPLICATE,
	SCAN_TOO_DEEP,
	SCAN_NOMEM,
	SCAN_DONE, /* internal: the top-level value ended */
};

struct name {
	const char *p; /* unescaped bytes in the arena */
	size_t len;
};

struct frame {
	bool object;
	size_t first_name; /* this object's names are names[first_name..] */
	size_t arena_mark; /* and their bytes arena[arena_mark..] */
};

struct scanner {
	const char *s;
	size_t len, i;
	bool strict; /* parse mode: a member name may not hold U+0000 */
	size_t max_depth;
	struct frame *frames;
	size_t nframes, cap_frames;
	struct name *names;
	size_t nnames, cap_names;
	char *arena; /* never reallocated: names point into it */
	size_t arena_len;
};

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned c = p[0], lo = 0x80, hi = 0xBF;
	size_t n;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	return n;
}

static void skip_ws(struct scanner *sc)
{
	while (sc->i < sc->len) {
		char c = sc->s[sc->i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		sc->i++;
	}
}

static int hex4(const char *p)
{
	int v = 0;
	for (int k = 0; k < 4; k++) {
		char c = p[k];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Put code point cp as UTF-8 at dst; returns the byte count. */
static size_t utf8_put(char *dst, uint32_t cp)
{
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xC0 | cp >> 6);
		dst[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xE0 | cp >> 12);
		dst[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		dst[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	dst[0] = (char)(0xF0 | cp >> 18);
	dst[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	dst[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	dst[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * A string at s[i] == '"'. For a member name (name != NULL) its unescaped
 * bytes go to the arena; json-c keys are C strings, so the name compared
 * is what precedes a U+0000 (json-c would merge "a\u0000x" into "a").
 */
static int scan_string(struct scanner *sc, struct name *name)
{
	const char *s = sc->s;
	char *dst = name ? sc->arena + sc->arena_len : NULL;
	size_t n = 0, i = sc->i + 1;
	bool cut = false; /* a U+0000 ended the comparable part */

	for (;;) {
		char tmp[4];
		size_t k;
		if (i >= sc->len)
			return SCAN_INVALID;
		unsigned char c = (unsigned char)s[i];
		if (c == '"') {
			i++;
			break;
		}
		if (c < 0x20)
			return SCAN_INVALID;
		if (c != '\\') {
			k = utf8_seq_len((const unsigned char *)s + i, sc->len - i);
			if (k == 0)
				return SCAN_INVALID;
			if (dst && !cut)
				memcpy(dst + n, s + i, k), n += k;
			i += k;
			continue;
		}
		if (i + 1 >= sc->len)
			return SCAN_INVALID;
		c = (unsigned char)s[i + 1];
		i += 2;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			tmp[0] = (char)c;
			k = 1;
			break;
		case 'b':
			tmp[0] = '\b';
			k = 1;
			break;
		case 'f':
			tmp[0] = '\f';
			k = 1;
			break;
		case 'n':
			tmp[0] = '\n';
			k = 1;
			break;
		case 'r':
			tmp[0] = '\r';
			k = 1;
			break;
		case 't':
			tmp[0] = '\t';
			k = 1;
			break;
		case 'u': {
			int hi, lo;
			uint32_t cp;
			if (sc->len - i < 4 || (hi = hex4(s + i)) < 0)
				return SCAN_INVALID;
			i += 4;
			cp = (uint32_t)hi;
			if (hi >= 0xDC00 && hi <= 0xDFFF)
				return SCAN_INVALID; /* lone low surrogate */
			if (hi >= 0xD800 && hi <= 0xDBFF) {
				if (sc->len - i < 6 || s[i] != '\\' || s[i + 1] != 'u' ||
				    (lo = hex4(s + i + 2)) < 0xDC00 || lo > 0xDFFF)
					return SCAN_INVALID; /* lone high surrogate */
				i += 6;
				cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) +
				     ((uint32_t)lo - 0xDC00);
			}
			if (cp == 0 && dst) {
				if (sc->strict)
					return SCAN_INVALID;
				cut = true;
			}
			k = utf8_put(tmp, cp);
			break;
		}
		default: return SCAN_INVALID;
		}
		if (dst && !cut)
			memcpy(dst + n, tmp, k), n += k;
	}
	sc->i = i;
	if (name) {
		name->p = dst;
		name->len = n;
		sc->arena_len += n;
	}
	return SCAN_OK;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int scan_number(struct scanner *sc)
{
	const char *s = sc->s;
	size_t i = sc->i, len = sc->len, start;
	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0') {
		i++;
	} else if (i < len && s[i] >= '1' && s[i] <= '9') {
		while (i < len && is_digit(s[i]))
			i++;
	} else {
		return SCAN_INVALID;
	}
	if (i < len && s[i] == '.') {
		start = ++i;
		while (i < len && is_digit(s[i]))
			i++;
		if (i == start)
			return SCAN_INVALID;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		start = i;
		while (i < len && is_digit(s[i]))
			i++;
		if (i == start)
			return SCAN_INVALID;
	}
	sc->i = i;
	return SCAN_OK;
}

static int scan_scalar(struct scanner *sc)
{
	static const char *const words[] = {"true", "false", "null"};
	char c = sc->s[sc->i];

	if (c == '"')
		return scan_string(sc, NULL);
	if (c == '-' || is_digit(c))
		return scan_number(sc);
	for (size_t w = 0; w < 3; w++) {
		size_t n = strlen(words[w]);
		if (sc->len - sc->i >= n && memcmp(sc->s + sc->i, words[w], n) == 0) {
			sc->i += n;
			return SCAN_OK;
		}
	}
	return SCAN_INVALID;
}

/* A member name, the colon, and the whitespace before the value. */
static int scan_member_name(struct scanner *sc)
{
	skip_ws(sc);
	if (sc->i >= sc->len || sc->s[sc->i] != '"')
		return SCAN_INVALID;
	struct name nm;
	int r = scan_string(sc, &nm);
	if (r != SCAN_OK)
		return r;
	if (sc->nnames == sc->cap_names) {
		size_t cap = sc->cap_names ? sc->cap_names * 2 : 16;
		struct name *p = realloc(sc->names, cap * sizeof *p);
		if (p == NULL)
			return SCAN_NOMEM;
		sc->names = p;
		sc->cap_names = cap;
	}
	sc->names[sc->nnames++] = nm;
	skip_ws(sc);
	if (sc->i >= sc->len || sc->s[sc->i] != ':')
		return SCAN_INVALID;
	sc->i++;
	return SCAN_OK;
}

static int push(struct scanner *sc, bool object)
{
	if (sc->nframes >= sc->max_depth)
		return SCAN_TOO_DEEP;
	if (sc->nframes == sc->cap_frames) {
		size_t cap = sc->cap_frames ? sc->cap_frames * 2 : 16;
		struct frame *p = realloc(sc->frames, cap * sizeof *p);
		if (p == NULL)
			return SCAN_NOMEM;
		sc->frames = p;
		sc->cap_frames = cap;
	}
	sc->frames[sc->nframes++] = (struct frame){
		.object = object,
		.first_name = sc->nnames,
		.arena_mark = sc->arena_len,
	};
	return SCAN_OK;
}

static int cmp_name(const void *a, const void *b)
{
	const struct name *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);
	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* Close the innermost container; an object's names must be distinct. */
static int pop(struct scanner *sc)
{
	struct frame *f = &sc->frames[--sc->nframes];
	if (f->object) {
		size_t n = sc->nnames - f->first_name;
		if (n > 1) {
			/* only now: before the first name sc->names is NULL */
			struct name *names = sc->names + f->first_name;
			qsort(names, n, sizeof *names, cmp_name);
			for (size_t k = 1; k < n; k++)
				if (cmp_name(&names[k - 1], &names[k]) == 0)
					return SCAN_DUPLICATE;
		}
		sc->nnames = f->first_name;
		sc->arena_len = f->arena_mark;
	}
	return SCAN_OK;
}

/* After a value: separators and closing brackets. SCAN_OK means another
 * value follows at sc->i; SCAN_DONE that the top-level value ended. */
static int after_value(struct scanner *sc)
{
	int r;
	for (;;) {
		skip_ws(sc);
		if (sc->nframes == 0)
			return sc->i == sc->len ? SCAN_DONE : SCAN_INVALID;
		if (sc->i >= sc->len)
			return SCAN_INVALID;
		struct frame *f = &sc->frames[sc->nframes - 1];
		char c = sc->s[sc->i++];
		if (c == ',')
			return f->object ? scan_member_name(sc) : SCAN_OK;
		if (c != (f->object ? '}' : ']'))
			return SCAN_INVALID;
		if ((r = pop(sc)) != SCAN_OK)
			return r;
	}
}

static int scan_values(struct scanner *sc)
{
	int r;
	for (;;) {
		skip_ws(sc);
		if (sc->i >= sc->len)
			return SCAN_INVALID;
		char c = sc->s[sc->i];
		if (c == '{' || c == '[') {
			if ((r = push(sc, c == '{')) != SCAN_OK)
				return r;
			sc->i++;
			skip_ws(sc);
			if (sc->i >= sc->len)
				return SCAN_INVALID;
			if (sc->s[sc->i] == (c == '{' ? '}' : ']')) {
				sc->i++;
				if ((r = pop(sc)) != SCAN_OK)
					return r;
			} else if (c == '{') {
				if ((r = scan_member_name(sc)) != SCAN_OK)
					return r;
				continue;
			} else {
				continue;
			}
		} else if ((r = scan_scalar(sc)) != SCAN_OK) {
			return r;
		}
		r = after_value(sc);
		if (r == SCAN_DONE)
			return SCAN_OK;
		if (r != SCAN_OK)
			return r;
	}
}

/* Check text[0..len) is one strict JSON value; *top gets its first byte. */
static int scan_text(const char *text, size_t len, bool strict, size_t max_depth, char *top)
{
	struct scanner sc = {
		.s = text,
		.len = len,
		.strict = strict,
		.max_depth = max_depth,
	};
	int r;

	*top = '\0';
	if (text == NULL)
		return SCAN_INVALID;
	/* unescaped names never outgrow the text that spells them */
	sc.arena = malloc(len > 0 ? len : 1);
	if (sc.arena == NULL)
		return SCAN_NOMEM;
	skip_ws(&sc);
	if (sc.i < len)
		*top = text[sc.i];
	r = scan_values(&sc);
	free(sc.arena);
	free(sc.names);
	free(sc.frames);
	return r;
}

bool lf_json_has_duplicate_members(const char *text, size_t len)
{
	char top;
	int r = scan_text(text, len, false, SIZE_MAX, &top);
	/* out of memory: say yes, so the caller refuses the text */
	return r == SCAN_DUPLICATE || r == SCAN_NOMEM;
}

enum lf_json_verdict lf_json_parse_object(const char *body, size_t len, struct json_object **out)
{
	*out = NULL;
	if (len > INT_MAX)
		return LF_JSON_INVALID;
	char top;
	if (scan_text(body, len, true, MAX_DEPTH, &top) != SCAN_OK)
		return LF_JSON_INVALID;
	if (top != '{')
		return LF_JSON_NOT_OBJECT;
	struct json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
	if (tok == NULL)
		return LF_JSON_INVALID;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	struct json_object *obj = json_tokener_parse_ex(tok, body, (int)len);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return LF_JSON_INVALID;
	}
	/* the scanner allowed only whitespace after the object */
	for (; end < len; end++) {
		char c = body[end];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			json_object_put(obj);
			return LF_JSON_INVALID;
		}
	}
	*out = obj;
	return LF_JSON_OK;
}

void lf_json_append_string(struct evbuffer *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char buf[512];
	size_t n = 0, i = 0;
	buf[n++] = '"';
	while (i < len) {
		unsigned char c = p[i];
		size_t k;
		/* room for the longest piece: \ufffd or a 6-byte escape */
		if (n > sizeof buf - 8) {
			evbuffer_add(out, buf, n);
			n = 0;
		}
		if (c == '"' || c == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)c;
			i++;
		} else if (c < 0x20) {
			buf[n++] = '\\';
			switch (c) {
			case '\b': buf[n++] = 'b'; break;
			case '\f': buf[n++] = 'f'; break;
			case '\n': buf[n++] = 'n'; break;
			case '\r': buf[n++] = 'r'; break;
			case '\t': buf[n++] = 't'; break;
			default:
				buf[n++] = 'u';
				buf[n++] = '0';
				buf[n++] = '0';
				buf[n++] = hex[c >> 4];
				buf[n++] = hex[c & 0xF];
			}
			i++;
		} else if (c < 0x80) {
			buf[n++] = (char)c;
			i++;
		} else if ((k = utf8_seq_len(p + i, len - i)) != 0) {
			memcpy(buf + n, p + i, k);
			n += k;
			i += k;
		} else {
			/* not UTF-8: U+FFFD per bad byte keeps the output valid */
			memcpy(buf + n, "\\ufffd", 6);
			n += 6;
			i++;
		}
	}
	buf[n++] = '"';
	evbuffer_add(out, buf, n);
}
