/*
 * nummask.c — finding and masking valid My Numbers in free text (log lines, details).
 *
 * Free of PostgreSQL, like numparse.c, so that the fuzz target can run it alone.  A match is
 * 12 ASCII digits, 4-4-4 ASCII digits with the same space or hyphen twice, or 12 full-width
 * digits, not preceded or followed by another digit, whose check digit is right (and which
 * is not all zeros).  Every digit of a match becomes '*' (a full-width digit becomes U+FF0A,
 * FULLWIDTH ASTERISK, so the length in bytes never changes).
 *
 * Must never: read outside str[0..len), change a byte that is not a digit of a match.
 */
#include "numparse.h"

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

/* Length of the candidate number starting at s[i], or 0. */
static size_t
candidate_at(const unsigned char *s, size_t len, size_t i)
{
	size_t		k;

	/* 12 ASCII digits, or 4-4-4 with the same space or hyphen twice */
	if (is_ascii_digit(s[i]))
	{
		for (k = 0; k < 12 && i + k < len && is_ascii_digit(s[i + k]); k++)
			;
		if (k == 12 && (i + 12 == len || !is_ascii_digit(s[i + 12])))
			return 12;
		if (k == 4 && i + 14 <= len && (s[i + 4] == ' ' || s[i + 4] == '-') && s[i + 9] == s[i + 4])
		{
			for (k = 0; k < 4; k++)
				if (!is_ascii_digit(s[i + 5 + k]) || !is_ascii_digit(s[i + 10 + k]))
					return 0;
			if (i + 14 == len || !is_ascii_digit(s[i + 14]))
				return 14;
		}
		return 0;
	}
	/* 12 full-width digits */
	if (is_wide_digit(s, len, i))
	{
		for (k = 0; k < 12; k++)
			if (!is_wide_digit(s, len, i + 3 * k))
				return 0;
		if (!is_wide_digit(s, len, i + 36))
			return 36;
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

			if (n == 36)
			{
				/* full-width: replace each 3-byte digit by "*" and two spaces' worth kept */
				for (k = 0; k < 36; k += 3)
				{
					s[i + k] = 0xEF;
					s[i + k + 1] = 0xBC;
					s[i + k + 2] = 0x8A;	/* U+FF0A FULLWIDTH ASTERISK */
				}
			}
			else
				for (k = 0; k < n; k++)
					if (is_ascii_digit(s[i + k]))
						s[i + k] = '*';
			changed = true;
			i += n;
			continue;
		}
		i++;
	}
	return changed;
}

