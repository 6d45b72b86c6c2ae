/*
 * nummask.c — finding and masking valid My Numbers in free text (log lines, details).
 *
 * Free of PostgreSQL, like numparse.c, so that the fuzz target can run it alone.  A match is
 * any text the type itself accepts as a My Number (np_parse_mynumber: ASCII or full-width
 * digits, mixed or not, grouped 4-4-4 by any separator it allows), not preceded or followed
 * by another digit, whose check digit is right (and which is not all zeros).  Every digit of
 * a match becomes '*' (a full-width digit becomes U+FF0A, FULLWIDTH ASTERISK, so the length
 * in bytes never changes).
 *
 * Must never: read outside str[0..len), change a byte that is not a digit of a match.
 */
#include "numbers/numparse.h"

static inline bool
is_ascii_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Full-width digit EF BC 90..99 at s[i]? */
static inline bool
is_wide_digit(const unsigned char *s, size_t len, size_t i)
{
	return i + 2 < len && s[i] == 0xEF && s[i + 1] == 0xBC && s[i + 2] >= 0x90 && s[i + 2] <= 0x99;
}

/* Length in bytes of the separator at s[i] that the parser accepts (numparse.c), or 0. */
static size_t
separator_at(const unsigned char *s, size_t len, size_t i)
{
	if (s[i] == ' ' || s[i] == '-')
		return 1;
	if (i + 2 >= len)
		return 0;
	if ((s[i] == 0xE3 && s[i + 1] == 0x80 && s[i + 2] == 0x80) ||	/* U+3000 */
		(s[i] == 0xEF && s[i + 1] == 0xBC && s[i + 2] == 0x8D) ||	/* U+FF0D */
		(s[i] == 0xE2 && s[i + 1] == 0x80 && s[i + 2] >= 0x90 && s[i + 2] <= 0x95) ||	/* U+2010..2015 */
		(s[i] == 0xE2 && s[i + 1] == 0x88 && s[i + 2] == 0x92) ||	/* U+2212 */
		(s[i] == 0xE3 && s[i + 1] == 0x83 && s[i + 2] == 0xBC)) /* U+30FC */
		return 3;
	return 0;
}

/* Length in bytes of the digit (ASCII or full-width) at s[i], or 0. */
static inline size_t
digit_at(const unsigned char *s, size_t len, size_t i)
{
	return is_ascii_digit(s[i]) ? 1 : is_wide_digit(s, len, i) ? 3 : 0;
}

/*
 * Length of the candidate number starting at the digit s[i], or 0: twelve digits of either
 * width with nothing but separators between them, not followed by another digit.  Whether
 * the widths and separators form a number is the parser's to decide (the caller asks it):
 * every form the type accepts is a candidate, so every one is masked.
 */
static size_t
candidate_at(const unsigned char *s, size_t len, size_t i)
{
	size_t		k = i;
	int			digits = 0;

	while (k < len)
	{
		size_t		n = digit_at(s, len, k);

		if (n > 0)
		{
			k += n;
			if (++digits == 12)
				return (k < len && digit_at(s, len, k) > 0) ? 0 : k - i;
			continue;
		}
		if (digits == 0 || (n = separator_at(s, len, k)) == 0)
			return 0;
		k += n;
	}
	return 0;
}

/* Mask valid numbers in str[0..len) in place; true if anything was masked. */
bool
np_mask_numbers(char *str, size_t len)
{
	unsigned char *s = (unsigned char *) str;
	size_t		i = 0;
	bool		changed = false;

	while (i < len)
	{
		size_t		n;
		bool		preceded_by_digit = i > 0 && (is_ascii_digit(s[i - 1]) ||
												  (i >= 3 && is_wide_digit(s, len, i - 3)));
		int64_t		v;
		np_detail	d;

		n = preceded_by_digit ? 0 : candidate_at(s, len, i);
		if (n > 0 && np_parse_mynumber(str + i, n, false, &v, &d) == NP_OK)
		{
			size_t		k;

			for (k = 0; k < n; k++)
			{
				if (is_ascii_digit(s[i + k]))
					s[i + k] = '*';
				else if (is_wide_digit(s, len, i + k))
				{
					s[i + k + 2] = 0x8A;	/* U+FF10..19 -> U+FF0A FULLWIDTH ASTERISK */
					k += 2;
				}
			}
			changed = true;
			i += n;
			continue;
		}
		i++;
	}
	return changed;
}

