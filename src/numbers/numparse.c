/*
 * numparse.c — the parser and check-digit formulas for 個人番号 and 法人番号.
 *
 * Deliberately free of PostgreSQL headers so that the fuzz target in
 * test/fuzz/ can link it alone (which is also why postgres.h is not the
 * first include here, unlike every other file in src/).
 *
 * What is accepted (UTF-8 input):
 *   - surrounding whitespace: ASCII space, \t \n \v \f \r and U+3000;
 *   - digits: ASCII 0-9 and full-width U+FF10..U+FF19, freely mixed;
 *   - optionally, separators between the printed groups (4-4-4 for a
 *     My Number, 1-4-4-4 for a corporate number), the same character every
 *     time: ASCII space or hyphen, U+3000, U+FF0D, U+2010..U+2015, U+2212,
 *     U+30FC.
 * Everything else is refused with a status saying why.
 *
 * Must never: allocate, read past len, or report a digit of the input in
 * np_detail (only counts and character positions go there).
 */
#include "numbers/numparse.h"

#define NP_MAX_SEPARATORS 3
#define NP_INVALID 0xFFFFFFFF

/* Result of scanning the body of an input between its surrounding blanks. */
typedef struct np_scan
{
	uint8_t		digits[NP_CORPORATE_DIGITS];
	int			ndigits;		/* all digits seen, even beyond the array */
	int			nseps;			/* all separators seen */
	int			seppos[NP_MAX_SEPARATORS];	/* digits before each separator */
	uint32_t	sepchar[NP_MAX_SEPARATORS];
} np_scan;

/*
 * Decode one UTF-8 character at s[0..len).  Returns its length in bytes
 * (at least 1); an invalid, truncated or overlong sequence, or a surrogate,
 * yields *cp = NP_INVALID and length 1, which no caller accepts.  Overlong
 * forms matter: C0 B1 would otherwise read as the digit 1 (a database in
 * SQL_ASCII does not validate its input for us).
 */
static inline int
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	uint32_t	v;

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if ((c & 0xE0) == 0xC0 && len >= 2 && (s[1] & 0xC0) == 0x80)
	{
		v = ((uint32_t) (c & 0x1F) << 6) | (s[1] & 0x3F);
		*cp = v >= 0x80 ? v : NP_INVALID;
		return v >= 0x80 ? 2 : 1;
	}
	if ((c & 0xF0) == 0xE0 && len >= 3 &&
		(s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80)
	{
		v = ((uint32_t) (c & 0x0F) << 12) |
			((uint32_t) (s[1] & 0x3F) << 6) | (s[2] & 0x3F);
		if (v >= 0x800 && (v < 0xD800 || v > 0xDFFF))
		{
			*cp = v;
			return 3;
		}
		*cp = NP_INVALID;
		return 1;
	}
	if ((c & 0xF8) == 0xF0 && len >= 4 && (s[1] & 0xC0) == 0x80 &&
		(s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80)
	{
		v = ((uint32_t) (c & 0x07) << 18) | ((uint32_t) (s[1] & 0x3F) << 12) |
			((uint32_t) (s[2] & 0x3F) << 6) | (s[3] & 0x3F);
		if (v >= 0x10000 && v <= 0x10FFFF)
		{
			*cp = v;
			return 4;
		}
		*cp = NP_INVALID;
		return 1;
	}
	*cp = NP_INVALID;
	return 1;
}

static inline bool
is_blank(uint32_t cp)
{
	return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x3000;
}

/* Digit value 0..9, or -1. */
static inline int
digit_value(uint32_t cp)
{
	if (cp >= '0' && cp <= '9')
		return (int) (cp - '0');
	if (cp >= 0xFF10 && cp <= 0xFF19)
		return (int) (cp - 0xFF10);
	return -1;
}

static inline bool
is_separator(uint32_t cp)
{
	return cp == ' ' || cp == '-' || cp == 0x3000 || cp == 0xFF0D ||
		(cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0x30FC;
}

/*
 * Scan s[0..len): trim surrounding blanks, then collect digits and
 * separators.  Returns NP_OK, NP_EMPTY or NP_BAD_CHAR.  With
 * allow_separators false, a separator is a bad character.
 */
static np_status
scan_input(const char *str, size_t len, bool allow_separators,
		   np_scan *sc, np_detail *detail)
{
	const unsigned char *s = (const unsigned char *) str;
	size_t		end = len;
	size_t		i = 0;
	int			position = 0;

	sc->ndigits = 0;
	sc->nseps = 0;

	/* Trailing blanks: ASCII whitespace and U+3000 (E3 80 80). */
	for (;;)
	{
		if (end >= 1 && (s[end - 1] == ' ' ||
						 (s[end - 1] >= '\t' && s[end - 1] <= '\r')))
			end--;
		else if (end >= 3 && s[end - 3] == 0xE3 && s[end - 2] == 0x80 &&
				 s[end - 1] == 0x80)
			end -= 3;
		else
			break;
	}

	/* Leading blanks. */
	while (i < end)
	{
		uint32_t	cp;
		int			n = utf8_decode(s + i, end - i, &cp);

		if (!is_blank(cp))
			break;
		i += n;
		position++;
	}

	if (i >= end)
		return NP_EMPTY;

	while (i < end)
	{
		uint32_t	cp;
		int			n = utf8_decode(s + i, end - i, &cp);
		int			d = digit_value(cp);

		position++;
		if (d >= 0)
		{
			if (sc->ndigits < NP_CORPORATE_DIGITS)
				sc->digits[sc->ndigits] = (uint8_t) d;
			if (sc->ndigits < 1000)
				sc->ndigits++;
		}
		else if (allow_separators && is_separator(cp))
		{
			if (sc->nseps < NP_MAX_SEPARATORS)
			{
				sc->seppos[sc->nseps] = sc->ndigits;
				sc->sepchar[sc->nseps] = cp;
			}
			if (sc->nseps < 1000)
				sc->nseps++;
		}
		else
		{
			detail->position = position;
			return NP_BAD_CHAR;
		}
		i += n;
	}
	return NP_OK;
}

/*
 * Digits right, separators exactly at the group boundaries given, and all
 * the same character.
 */
static np_status
check_shape(const np_scan *sc, int ndigits, const int *groups, int ngroups,
			np_detail *detail)
{
	int			k;

	if (sc->ndigits != ndigits)
	{
		detail->ndigits = sc->ndigits;
		return NP_BAD_LENGTH;
	}
	if (sc->nseps == 0)
		return NP_OK;
	if (sc->nseps != ngroups)
		return NP_BAD_GROUPING;
	for (k = 0; k < ngroups; k++)
		if (sc->seppos[k] != groups[k])
			return NP_BAD_GROUPING;
	for (k = 1; k < ngroups; k++)
		if (sc->sepchar[k] != sc->sepchar[0])
			return NP_MIXED_SEPARATORS;
	return NP_OK;
}

int
np_mynumber_check_digit(const uint8_t base[11])
{
	/* 平成26年総務省令第85号 第5条; weights of base digits read left to right */
	static const int weight[11] = {6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
	int			sum = 0;
	int			r;
	int			k;

	for (k = 0; k < 11; k++)
		sum += base[k] * weight[k];
	r = sum % 11;
	return r <= 1 ? 0 : 11 - r;
}

int
np_corporate_check_digit(const uint8_t base[12])
{
	/*
	 * 平成26年財務省令第70号 第2条: Pn counted from the right, Qn = 1 for odd
	 * n and 2 for even n.  base[k] is P(12 - k).
	 */
	int			sum = 0;
	int			k;

	for (k = 0; k < 12; k++)
		sum += base[k] * (((12 - k) % 2 == 1) ? 1 : 2);
	return 9 - sum % 9;
}

static int64_t
digits_value(const uint8_t *digits, int n)
{
	int64_t		v = 0;
	int			k;

	for (k = 0; k < n; k++)
		v = v * 10 + digits[k];
	return v;
}

np_status
np_parse_mynumber(const char *s, size_t len, bool allow_all_zero,
				  int64_t *value, np_detail *detail)
{
	static const int groups[2] = {4, 8};
	np_scan		sc;
	np_status	st;

	/* Fast path: exactly twelve ASCII digits, the stored form. */
	if (len == NP_MYNUMBER_DIGITS)
	{
		int			k;

		for (k = 0; k < NP_MYNUMBER_DIGITS; k++)
		{
			unsigned char c = (unsigned char) s[k];

			if (c < '0' || c > '9')
				break;
			sc.digits[k] = (uint8_t) (c - '0');
		}
		if (k == NP_MYNUMBER_DIGITS)
		{
			sc.ndigits = NP_MYNUMBER_DIGITS;
			sc.nseps = 0;
			goto validate;
		}
	}

	st = scan_input(s, len, true, &sc, detail);
	if (st != NP_OK)
		return st;
	st = check_shape(&sc, NP_MYNUMBER_DIGITS, groups, 2, detail);
	if (st != NP_OK)
		return st;

validate:
	if (np_mynumber_check_digit(sc.digits) != sc.digits[11])
		return NP_CHECK_DIGIT;
	*value = digits_value(sc.digits, NP_MYNUMBER_DIGITS);
	if (*value == 0 && !allow_all_zero)
		return NP_ALL_ZERO;
	return NP_OK;
}

np_status
np_parse_corporate(const char *s, size_t len, int64_t *value,
				   np_detail *detail)
{
	static const int groups[3] = {1, 5, 9};
	np_scan		sc;
	np_status	st;

	st = scan_input(s, len, true, &sc, detail);
	if (st != NP_OK)
		return st;
	st = check_shape(&sc, NP_CORPORATE_DIGITS, groups, 3, detail);
	if (st != NP_OK)
		return st;
	if (np_corporate_check_digit(sc.digits + 1) != sc.digits[0])
		return NP_CHECK_DIGIT;
	*value = digits_value(sc.digits, NP_CORPORATE_DIGITS);
	return NP_OK;
}

np_status
np_parse_base(const char *s, size_t len, int n, uint8_t *out,
			  np_detail *detail)
{
	np_scan		sc;
	np_status	st;

	if (n < 1 || n > NP_CORPORATE_DIGITS)
		return NP_BAD_LENGTH;
	st = scan_input(s, len, false, &sc, detail);
	if (st != NP_OK)
		return st;
	if (sc.ndigits != n)
	{
		detail->ndigits = sc.ndigits;
		return NP_BAD_LENGTH;
	}
	for (int k = 0; k < n; k++)
		out[k] = sc.digits[k];
	return NP_OK;
}

void
np_format(int64_t value, int ndigits, char *out)
{
	int			k;

	out[ndigits] = '\0';
	for (k = ndigits - 1; k >= 0; k--)
	{
		out[k] = (char) ('0' + value % 10);
		value /= 10;
	}
}
