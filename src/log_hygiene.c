/*
 * log_hygiene.c — keeps My Numbers out of the server log.
 *
 * An emit_log_hook masks everything that is a valid My Number (check digit right, not all
 * zeros) in the parts of a log entry that can carry user data: message, detail, the detail
 * meant for the log, hint, context and internal query.  The statement that PostgreSQL
 * prints after an error (and log_statement prints as the message) comes from
 * debug_query_string: when it holds a number, it is replaced for the rest of the statement by
 * a masked copy.  Recognised forms: 12 ASCII digits, 4-4-4 with one space or hyphen, and 12
 * full-width digits, each standing alone (not part of a longer run of digits).  Every digit
 * of a match becomes '*'.
 *
 * What stays outside its reach: client-side logs, anything logged before the library is
 * loaded, bind parameters when log_parameter_max_length is raised (they are in the detail
 * and masked, but only in the forms above), and tools that log their own queries.
 *
 * Must never: allocate in an error context it does not own, or chain to a NULL hook.
 */
#include "postgres.h"

#include "tcop/tcopprot.h"
#include "utils/elog.h"
#include "utils/memutils.h"

#include "log_hygiene.h"
#include "numparse.h"

static emit_log_hook_type prev_emit_log_hook = NULL;
static char *masked_query = NULL;	/* our copy of debug_query_string, in TopMemoryContext */

static inline bool
is_ascii_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Full-width digit EF BC 90..99 at s[i]? */
static inline bool
is_wide_digit(const unsigned char *s, size_t len, size_t i)
{
	return i + 2 < len + 0 && s[i] == 0xEF && s[i + 1] == 0xBC && s[i + 2] >= 0x90 && s[i + 2] <= 0x99;
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

/* Mask valid numbers in place; true if anything was masked. */
bool
log_hygiene_mask(char *str)
{
	unsigned char *s = (unsigned char *) str;
	size_t		len;
	size_t		i = 0;
	bool		changed = false;

	if (str == NULL)
		return false;
	len = strlen(str);
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

static void
mask_statement(void)
{
	char	   *copy;

	if (debug_query_string == NULL || debug_query_string == masked_query)
		return;
	copy = MemoryContextStrdup(TopMemoryContext, debug_query_string);
	if (!log_hygiene_mask(copy))
	{
		pfree(copy);
		return;
	}
	if (masked_query != NULL)
		pfree(masked_query);
	masked_query = copy;
	debug_query_string = masked_query;
}

static void
mnl_emit_log_hook(ErrorData *edata)
{
	if (edata->output_to_server)
	{
		log_hygiene_mask(edata->message);
		log_hygiene_mask(edata->detail);
		log_hygiene_mask(edata->detail_log);
		log_hygiene_mask(edata->hint);
		log_hygiene_mask(edata->context);
		log_hygiene_mask(edata->internalquery);
		if (!edata->hide_stmt)
			mask_statement();
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
log_hygiene_install(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = mnl_emit_log_hook;
}
