/*
 * lf_money.h - exact money: ISO 4217 currencies, decimal parsing and
 * formatting of int64_t minor units. No floating point touches an amount.
 */
#ifndef LF_MONEY_H
#define LF_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Largest amount a request may carry, in minor units (10^15). */
#define LF_MONEY_MAX_MINOR INT64_C(1000000000000000)
/* Longest formatted amount: sign-free digits, a dot, NUL. */
#define LF_MONEY_FMT_MAX 32

struct lf_currency {
	char code[4]; /* upper-case ISO 4217 alphabetic code */
	int exponent; /* minor unit digits: 0, 2, 3 or 4 */
};

enum lf_money_verdict {
	LF_MONEY_OK = 0,
	LF_MONEY_SYNTAX, /* not the decimal grammar (sign, exponent, spaces, leading zero, empty...)
			  */
	LF_MONEY_FRACTION, /* more fraction digits than the currency allows (counted as written) */
	LF_MONEY_NOT_POSITIVE, /* zero where a positive amount is required */
	LF_MONEY_TOO_LARGE,    /* above LF_MONEY_MAX_MINOR */
	LF_MONEY_WRONG_TYPE,   /* JSON value neither a number nor a string */
};

/* Active ISO 4217 code known to the server, upper case only; NULL if unknown. */
const struct lf_currency *lf_currency_find(const char *code);
/* The whole built-in table, sorted by code; *n receives its length. The
 * database's currencies table must agree with it (lf_store_check_currencies). */
const struct lf_currency *lf_currency_table(size_t *n);

/* Parse text[0..len) per the grammar ("0" / %x31-39 *DIGIT) ["." 1*DIGIT]
 * into minor units for a currency with `exponent` fraction digits.
 * allow_zero: accept a value of 0 (initialBalance); otherwise 0 is
 * LF_MONEY_NOT_POSITIVE. */
enum lf_money_verdict lf_money_parse(const char *text, size_t len, int exponent, bool allow_zero,
				     int64_t *out);

/* A JSON amount: a number (its exact text as json-c kept it) or a string. */
enum lf_money_verdict lf_money_from_json(struct json_object *value, int exponent, bool allow_zero,
					 int64_t *out);

/* Raw text of a JSON amount (number text or string contents) without
 * checking it; false if the value is neither a number nor a string.
 * *len receives the length; the pointer stays valid while `value` lives
 * (for an int it points into buf, which must hold 24 bytes). */
bool lf_money_json_text(struct json_object *value, char *buf, const char **text, size_t *len);

/* Format minor units with exactly `exponent` fraction digits ("100.00",
 * "5", "1.250", "-3.10" for negatives). Returns the length written. */
size_t lf_money_format(int64_t minor, int exponent, char buf[LF_MONEY_FMT_MAX]);

#endif
