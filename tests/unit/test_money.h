/*
 * test_money.h - what test_money.c and test_money_json.c share: short
 * names of the outcomes, the "unchanged" sentinel and the texts the
 * request grammar rejects.
 */
#ifndef LF_TEST_MONEY_H
#define LF_TEST_MONEY_H

#include <stdint.h>

#include "lf_money.h"

#define OK LF_MONEY_OK
#define SYN LF_MONEY_SYNTAX
#define FRAC LF_MONEY_FRACTION
#define NPOS LF_MONEY_NOT_POSITIVE
#define BIG LF_MONEY_TOO_LARGE
#define TYPE LF_MONEY_WRONG_TYPE
/* Expected outcome for JSON text that json-c itself must refuse. */
#define JSON_REJECT 99

#define MAXM LF_MONEY_MAX_MINOR

/* Unchanged on failure: lf_money_parse writes *out only on success. */
#define SENTINEL INT64_C(-777)

/* Not the grammar, whatever the exponent and allow_zero: leading zeros,
 * signs, exponents, whitespace, stray dots, words, non-ASCII digits
 * (Arabic-Indic, fullwidth, superscript, Devanagari), a combining mark,
 * NBSP, a stray byte. */
/* clang-format off */
static const char *const syntax_errors[] = {
	"007", "00", "00.5", "01", "0001.00", "00.00", "+1", "-1", "-0",
	"-0.00", "+0", "1e2", "1E2", "1e-2", "1.5e3", "1.5E+3", "0e0", " 1",
	"1 ", "1 0", "\t1", "1\n", "\r\n1", ".5", "5.", ".", "", "1.2.3",
	"1..5", "1,5", "1,000.00", "1_000", "1'000", "-", "+", "0x10", "0b1",
	"NaN", "nan", "Infinity", "inf", "$1", "1USD", "a", "1a", "1.a",
	"1.5a", "\"1\"", "\xd9\xa1", "\xef\xbc\x91", "1\xd9\xa1",
	"1.\xd9\xa1", "\xc2\xb2", "\xe0\xa5\xa7", "1\xcc\x81",
	"\xc2\xa0" "1", "1\xc2\xa0", "\xff", "1.\xff",
};
/* clang-format on */

#endif
