/*
 * core/money.c - exact money. Owns the ISO 4217 currency table (active
 * alphabetic codes and their minor-unit exponents), the strict decimal
 * grammar for request amounts, reading amounts out of json-c values
 * without ever converting them to floating point, and formatting int64_t
 * minor units back into decimal text.
 */
#include "config.h"

#include "lf_money.h"

#include <json-c/json.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Active codes of ISO 4217 list A.1 that have a minor unit, sorted by code
 * (lf_currency_find is a binary search). Left out: precious metals, bond
 * market units, SDR, SUCRE, ADB unit, the testing code and "no currency"
 * (XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX: no minor unit), and
 * codes replaced by a newer one (ANG by XCG, HRK by EUR, SLL by SLE, ZWL by
 * ZWG). Fund codes with a minor unit (BOV, CHE, CHW, CLF, COU, MXV, USN,
 * UYI, UYW) are kept.
 */
/* clang-format off */
static const struct lf_currency currencies[] = {
	{"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"AOA", 2},
	{"ARS", 2}, {"AUD", 2}, {"AWG", 2}, {"AZN", 2}, {"BAM", 2},
	{"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0},
	{"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BOV", 2}, {"BRL", 2},
	{"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2},
	{"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2},
	{"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2},
	{"CRC", 2}, {"CUC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2},
	{"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2},
	{"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2},
	{"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2},
	{"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2},
	{"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2},
	{"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3},
	{"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0},
	{"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2},
	{"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2},
	{"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2},
	{"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2},
	{"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2},
	{"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2},
	{"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2},
	{"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0},
	{"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0},
	{"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2},
	{"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2},
	{"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2},
	{"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2},
	{"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2}, {"UAH", 2},
	{"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2},
	{"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0},
	{"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2},
	{"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2},
	{"ZWG", 2},
};
/* clang-format on */

#define NCURRENCIES (sizeof currencies / sizeof currencies[0])

/* Largest exponent lf_money_parse accepts; ISO 4217 uses at most 4. */
#define PARSE_MAX_EXPONENT 9
/* Largest exponent lf_money_format honours (10^18 fits in int64). */
#define FORMAT_MAX_EXPONENT 18

static int cmp_code(const void *key, const void *elem)
{
	const struct lf_currency *c = elem;
	return memcmp(key, c->code, 3);
}

const struct lf_currency *lf_currency_find(const char *code)
{
	if (code == NULL)
		return NULL;
	for (int i = 0; i < 3; i++)
		if (code[i] < 'A' || code[i] > 'Z')
			return NULL;
	if (code[3] != '\0')
		return NULL;
	return bsearch(code, currencies, NCURRENCIES, sizeof currencies[0], cmp_code);
}

const struct lf_currency *lf_currency_table(size_t *n)
{
	*n = NCURRENCIES;
	return currencies;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

enum lf_money_verdict lf_money_parse(const char *text, size_t len, int exponent, bool allow_zero,
				     int64_t *out)
{
	static const int64_t pow10[PARSE_MAX_EXPONENT + 1] = {
		1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	};
	int64_t whole = 0, frac = 0;
	bool too_large = false;
	size_t i = 0, nfrac;

	if (text == NULL || len == 0 || exponent < 0 || exponent > PARSE_MAX_EXPONENT)
		return LF_MONEY_SYNTAX;

	/* ("0" / %x31-39 *DIGIT) */
	if (text[0] == '0') {
		i = 1;
	} else if (text[0] >= '1' && text[0] <= '9') {
		for (; i < len && is_digit(text[i]); i++) {
			/* Saturate: anything past the maximum is too large,
			 * but the rest of the text must still be read. */
			if (whole > LF_MONEY_MAX_MINOR)
				too_large = true;
			else
				whole = whole * 10 + (text[i] - '0');
		}
		if (whole > LF_MONEY_MAX_MINOR)
			too_large = true;
	} else {
		return LF_MONEY_SYNTAX;
	}

	/* ["." 1*DIGIT] */
	nfrac = 0;
	if (i < len) {
		if (text[i] != '.')
			return LF_MONEY_SYNTAX;
		i++;
		for (; i < len && is_digit(text[i]); i++, nfrac++)
			if (nfrac < (size_t)exponent)
				frac = frac * 10 + (text[i] - '0');
		if (nfrac == 0 || i != len)
			return LF_MONEY_SYNTAX;
	}

	if (nfrac > (size_t)exponent)
		return LF_MONEY_FRACTION;
	if (too_large || whole > LF_MONEY_MAX_MINOR / pow10[exponent])
		return LF_MONEY_TOO_LARGE;
	/* whole * 10^e <= MAX and frac < 10^e: no overflow below. */
	frac *= pow10[exponent - (int)nfrac];
	int64_t value = whole * pow10[exponent] + frac;
	if (value > LF_MONEY_MAX_MINOR)
		return LF_MONEY_TOO_LARGE;
	if (value == 0 && !allow_zero)
		return LF_MONEY_NOT_POSITIVE;
	*out = value;
	return LF_MONEY_OK;
}

bool lf_money_json_text(struct json_object *value, char *buf, const char **text, size_t *len)
{
	switch (json_object_get_type(value)) {
	case json_type_string:
		*text = json_object_get_string(value);
		*len = (size_t)json_object_get_string_len(value);
		return true;
	case json_type_double:
		/* json-c 0.16 keeps a parsed double's text as written and
		 * serialises it back verbatim ("100.50", "1e5"). */
		*text = json_object_to_json_string(value);
		*len = strlen(*text);
		return true;
	case json_type_int: {
		int64_t v = json_object_get_int64(value);
		int n;
		/* Above INT64_MAX json-c holds a uint64 (clamped to
		 * UINT64_MAX past that); get_int64 saturates. */
		if (v == INT64_MAX)
			n = snprintf(buf, 24, "%" PRIu64, json_object_get_uint64(value));
		else
			n = snprintf(buf, 24, "%" PRId64, v);
		*text = buf;
		*len = n > 0 ? (size_t)n : 0;
		return true;
	}
	default: return false;
	}
}

enum lf_money_verdict lf_money_from_json(struct json_object *value, int exponent, bool allow_zero,
					 int64_t *out)
{
	char buf[24];
	const char *text;
	size_t len;
	if (value == NULL || !lf_money_json_text(value, buf, &text, &len))
		return LF_MONEY_WRONG_TYPE;
	return lf_money_parse(text, len, exponent, allow_zero, out);
}

size_t lf_money_format(int64_t minor, int exponent, char buf[LF_MONEY_FMT_MAX])
{
	char digits[24];
	size_t nd = 0, n = 0;
	uint64_t mag;
	if (exponent < 0)
		exponent = 0;
	if (exponent > FORMAT_MAX_EXPONENT)
		exponent = FORMAT_MAX_EXPONENT;
	/* Magnitude in unsigned arithmetic so INT64_MIN is fine. */
	mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	do {
		digits[nd++] = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag != 0);
	/* At least one integer digit before the fraction. */
	while (nd < (size_t)exponent + 1)
		digits[nd++] = '0';

	if (minor < 0)
		buf[n++] = '-';
	while (nd > 0) {
		if (nd == (size_t)exponent && exponent > 0)
			buf[n++] = '.';
		buf[n++] = digits[--nd];
	}
	buf[n] = '\0';
	return n;
}
