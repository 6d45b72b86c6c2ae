/*
 * log_hygiene.c — keeps My Numbers out of the server log.
 *
 * An emit_log_hook masks everything that is a valid My Number (check digit right, not all
 * zeros) in the parts of a log entry that can carry user data: message, detail, the detail
 * meant for the log, hint, context and internal query.  The statement that PostgreSQL
 * prints after an error (and log_statement prints as the message) comes from
 * debug_query_string: when it holds a number, it is replaced for the rest of the statement by
 * a masked copy.  Recognised forms: every text the type accepts as a valid My Number (one
 * definition, numbers/numparse.c, which numbers/nummask.c asks; the fuzz target checks that
 * whatever the parser accepts the masker masks), standing alone (not part of a longer run of
 * digits).  Every digit of a match becomes '*'.  Bind parameters (log_parameter_max_length,
 * ..._on_error), a COPY line's CONTEXT and auto_explain's query text are parts of the entry
 * above: test/process/every_form_masked.sh sends each form through each.
 *
 * What stays outside its reach: client-side logs, anything logged before the library is
 * loaded, and tools that log their own queries.
 *
 * A staff member's session (log_hygiene_staff_session, set by the statement gate) gets its
 * message and detail cut to LOG_HYGIENE_STAFF_TEXT bytes, in the log and at the client alike
 * (the hook cannot tell them apart): a RAISE or an error message is no bulk copy of rows.
 *
 * Must never: allocate in an error context it does not own, or chain to a NULL hook.
 */
#include "postgres.h"

#include <ctype.h>

#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "tcop/tcopprot.h"
#include "utils/elog.h"
#include "utils/memutils.h"

#include "core/mynumber_ledger.h"
#include "log_hygiene/log_hygiene.h"
#include "numbers/numparse.h"

static emit_log_hook_type prev_emit_log_hook = NULL;
bool		log_hygiene_staff_session = false;
static char *masked_query = NULL;	/* our copy of debug_query_string, in TopMemoryContext */

/*
 * EUC_JP (and EUC_JIS_2004) text: the masker reads UTF-8, so the characters that can make up
 * a number — ASCII, the full-width digits and the separators the type accepts — are spelled
 * in UTF-8 into a scratch copy, every other character as one 'x' (which no number contains);
 * the digits masked there are masked in place here: an ASCII digit by '*', a full-width one
 * (2 bytes) by the full-width asterisk A1F6.  Lengths never change.
 */
static bool
mask_eucjp(char *str)
{
	unsigned char *s = (unsigned char *) str;
	size_t		len = strlen(str);
	char	   *u = palloc(len * 2 + 1);
	size_t	   *at = palloc(sizeof(size_t) * (len * 2 + 1));	/* input offset of each output byte */
	size_t		i = 0,
				n = 0,
				k;
	char	   *before;
	bool		changed = false;

#define EMIT(bytes, count) \
	do { memcpy(u + n, (bytes), (count)); for (k = 0; k < (count); k++) at[n + k] = i; n += (count); } while (0)
	while (i < len)
	{
		unsigned char c = s[i];

		if (c < 0x80)
		{
			EMIT(&s[i], 1);
			i += 1;
		}
		else if (c == 0x8F && i + 2 < len)
		{
			EMIT("x", 1);
			i += 3;
		}
		else if (i + 1 < len)
		{
			unsigned char d = s[i + 1];
			char		utf[3] = {(char) 0xEF, (char) 0xBC, 0};

			if (c == 0xA3 && d >= 0xB0 && d <= 0xB9)
			{
				utf[2] = (char) (0x90 + (d - 0xB0));	/* U+FF10.. */
				EMIT(utf, 3);
			}
			else if (c == 0xA1 && d == 0xA1)
				EMIT("\xE3\x80\x80", 3);	/* U+3000 */
			else if (c == 0xA1 && d == 0xBC)
				EMIT("\xE3\x83\xBC", 3);	/* U+30FC */
			else if (c == 0xA1 && d == 0xBE)
				EMIT("\xE2\x80\x90", 3);	/* U+2010 */
			else if (c == 0xA1 && d == 0xBD)
				EMIT("\xE2\x80\x95", 3);	/* U+2015 */
			else if (c == 0xA1 && d == 0xDD)
				EMIT("\xE2\x88\x92", 3);	/* U+2212 */
			else
				EMIT("x", 1);
			i += 2;
		}
		else
		{
			EMIT("x", 1);
			i += 1;
		}
	}
#undef EMIT
	u[n] = '\0';
	before = pnstrdup(u, n);
	if (np_mask_numbers(u, n))
	{
		for (k = 0; k < n; k++)
		{
			if (u[k] == before[k])
				continue;
			/* the first changed byte of a masked digit: ASCII '*', or U+FF0A's last byte */
			if (s[at[k]] < 0x80)
				s[at[k]] = '*';
			else
			{
				s[at[k]] = 0xA1;
				s[at[k] + 1] = 0xF6;
			}
			changed = true;
		}
	}
	pfree(u);
	pfree(at);
	pfree(before);
	return changed;
}

/* Replace the digits of every valid My Number in str by '*'; true if any was found. */
bool
log_hygiene_mask(char *str)
{
	int			encoding;

	if (str == NULL)
		return false;
	encoding = GetDatabaseEncoding();
	if (encoding == PG_EUC_JP || encoding == PG_EUC_JIS_2004)
		return mask_eucjp(str);
	return np_mask_numbers(str, strlen(str));
}

/*
 * A name PostgreSQL keeps in ASCII only (application_name, cluster_name): each non-ASCII
 * character became "?" per byte (15) or "\xNN" escapes (16 on), so a separator the number
 * type accepts (U+3000, U+2212, ...) no longer looks like one.  Such a run is read as one
 * space, then the digits of every valid number found are masked in the name itself.
 */
static size_t
ascii_placeholder(const char *s, size_t i, size_t n)	/* bytes of one such stand-in; 0: none */
{
	if (s[i] == '?')
		return 1;
	if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
		isxdigit((unsigned char) s[i + 2]) && isxdigit((unsigned char) s[i + 3]))
		return 4;
	return 0;
}

bool
log_hygiene_mask_ascii_name(char *str)
{
	size_t		n;
	char	   *folded;
	size_t	   *at;
	size_t		i = 0,
				j = 0,
				k,
				step;
	bool		changed;

	if (str == NULL)
		return false;
	changed = log_hygiene_mask(str);
	n = strlen(str);
	folded = palloc(n + 1);
	at = palloc(sizeof(size_t) * (n + 1));
	while (i < n)
	{
		if (ascii_placeholder(str, i, n) > 0)
		{
			folded[j] = ' ';
			at[j++] = i;
			while (i < n && (step = ascii_placeholder(str, i, n)) > 0)
				i += step;
			continue;
		}
		folded[j] = str[i];
		at[j++] = i++;
	}
	folded[j] = '\0';
	if (np_mask_numbers(folded, j))
		for (k = 0; k < j; k++)
			if (folded[k] == '*' && str[at[k]] >= '0' && str[at[k]] <= '9')
			{
				str[at[k]] = '*';
				changed = true;
			}
	pfree(folded);
	pfree(at);
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

/* Cut str (in place) to at most LOG_HYGIENE_STAFF_TEXT bytes, on a character boundary. */
static void
cut_staff_text(char *str)
{
	static const char mark[] = " [...]";
	int			len;

	if (str == NULL || (len = strlen(str)) <= LOG_HYGIENE_STAFF_TEXT)
		return;
	len = pg_mbcliplen(str, len, LOG_HYGIENE_STAFF_TEXT - (int) sizeof(mark));
	memcpy(str + len, mark, sizeof(mark));
}

/* Cut str to what is left of a message's budget (a text cut to nothing says so); what is left after it. */
static int
cut_staff_budget(char *str, int left)
{
	static const char mark[] = "[...]";
	int			len;

	if (str == NULL)
		return left;
	len = strlen(str);
	if (len <= left)
		return left - len;
	if (left < (int) sizeof(mark) || len < (int) sizeof(mark))
	{
		/* no room for the mark (or the text is shorter than it): the text ends where room does */
		str[pg_mbcliplen(str, len, left)] = '\0';
		return 0;
	}
	len = pg_mbcliplen(str, len, left - (int) sizeof(mark));
	memcpy(str + len, mark, sizeof(mark));
	return 0;
}

/*
 * A staff session's statement logs at most LOG_HYGIENE_STAFF_MESSAGES messages of its own
 * making below ERROR (a loop of RAISE WARNING, one per row, would copy every row it reads into
 * the log, each under the cut): the next one says the rest were not logged, and the rest go to
 * the client only.
 */
#define LOG_HYGIENE_STAFF_MESSAGES	20

static void
limit_staff_messages(ErrorData *edata)
{
	static TimestampTz statement = 0;
	static int	logged = 0;

	if (!edata->output_to_server || edata->elevel >= ERROR)
		return;
	if (GetCurrentStatementStartTimestamp() != statement)
	{
		statement = GetCurrentStatementStartTimestamp();
		logged = 0;
	}
	logged++;
	if (logged == LOG_HYGIENE_STAFF_MESSAGES + 1)
	{
		edata->message = pstrdup("further messages of this staff statement are not logged");
		edata->detail = edata->detail_log = edata->hint = edata->context = NULL;
	}
	else if (logged > LOG_HYGIENE_STAFF_MESSAGES + 1)
		edata->output_to_server = false;
}

static void
mnl_emit_log_hook(ErrorData *edata)
{
	/*
	 * A RAISE of the extension's SQL functions, in the catalog's language (core/nls.c); in a
	 * staff session its parameters (the only text of it a statement's author chooses) share
	 * the staff budget, and it counts against the messages a statement may log.
	 */
	bool		translated = mnl_nls_translate_raise(edata, log_hygiene_staff_session ? LOG_HYGIENE_STAFF_TEXT : PG_INT32_MAX);

	/*
	 * debug_print_parse, _rewritten and _plan dump node trees whose constants are raw bytes
	 * (a number in any form, unreadable to the masker): the tree is not logged.
	 */
	if (edata->message != NULL && edata->detail != NULL &&
		(strcmp(edata->message, "parse tree:") == 0 || strcmp(edata->message, "rewritten parse tree:") == 0 ||
		 strcmp(edata->message, "plan:") == 0))
		edata->detail = pstrdup("(not logged by mynumber_ledger: a node tree's constants are raw bytes that could hold a My Number)");
	if (log_hygiene_staff_session)
	{
		/*
		 * Every text of the message that a statement's author can fill (a RAISE's HINT, a
		 * generated statement in QUERY or CONTEXT); the extension's own messages, which carry
		 * no row, are left whole (a Japanese hint is longer than the cut).
		 */
		bool		own = edata->domain != NULL && strcmp(edata->domain, TEXTDOMAIN) == 0;

		if (!own)
		{
			/* one budget for the whole message, not one per text */
			int			left = LOG_HYGIENE_STAFF_TEXT;

			left = cut_staff_budget(edata->message, left);
			left = cut_staff_budget(edata->detail, left);
			left = cut_staff_budget(edata->detail_log, left);
			left = cut_staff_budget(edata->hint, left);
			left = cut_staff_budget(edata->context, left);
			(void) cut_staff_budget(edata->internalquery, left);
			limit_staff_messages(edata);
		}
		else
		{
			cut_staff_text(edata->context);
			cut_staff_text(edata->internalquery);
			if (translated)
				limit_staff_messages(edata);
		}
		/* the statement a staff client sent, logged with an error: not when it is long */
		if (debug_query_string != NULL && strlen(debug_query_string) > LOG_HYGIENE_STAFF_TEXT)
			edata->hide_stmt = true;
	}
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
