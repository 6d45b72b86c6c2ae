/*
 * core/nls.c — the extension's messages in the reader's language.
 *
 * Message ids in the C sources are ASCII English; Japanese (and any other language) comes
 * from a message catalog, po/<lang>.po, compiled and installed beside PostgreSQL's own as
 * <localedir>/<lang>/LC_MESSAGES/mynumber_ledger-<major>.mo.  Every ereport of the library
 * uses that domain (TEXTDOMAIN, set by the Makefile), so lc_messages chooses the language as
 * it does for the server's own messages; message fragments passed to a helper before they
 * reach errmsg are translated with mnl_gettext.
 *
 * The catalog's text must reach the client in the database's encoding, from which the
 * server converts to the client's (a UTF-8 text in an EUC_JP database is refused on the way
 * out with 22021, and the refusal's own SQLSTATE lost).  PostgreSQL binds only its own domain
 * to the database encoding; the library is loaded in the postmaster, before any database is
 * chosen, so each backend binds this domain once it is in its database (mnl_nls_bind_encoding,
 * called where statements and the extension's functions start).
 *
 * The SQL and PL/pgSQL functions format their messages in SQL (RAISE), out of gettext's
 * reach.  po/sql_messages.py lists every such message id in sql_messages.c, which the catalog
 * translates like the C ones; when a RAISE's message, hint or detail is reported, the emit
 * hook (log_hygiene) asks mnl_nls_translate_raise to find the id it was formatted from ('%'
 * standing for a parameter) and to put the parameters into the translation, in their order.
 * A parameter is cut to NLS_PARAM_BYTES, and all of one message's together (its text, hint
 * and detail) to the budget the caller gives: in a staff session the staff message budget
 * (log_hygiene), which then counts the parameters only — the rest is the catalog's text.
 *
 * What stays English: a message PostgreSQL does not pass to the emit hook (a NOTICE below
 * log_min_messages goes to the client alone), and a text built by concatenation.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "core/mynumber_ledger.h"

static bool encoding_bound = false;

/*
 * The SQL message ids as the database holds the functions' text (a RAISE in an EUC_JP
 * database formats EUC_JP): NULL while they are the ids themselves (UTF-8, SQL_ASCII); an
 * entry is NULL where the database's encoding cannot hold the id.
 */
static const char **patterns = NULL;

static void
nls_convert_patterns(void)
{
	int			encoding = GetDatabaseEncoding();
	const char **conv;
	int			i;

	if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII)
		return;
	conv = MemoryContextAllocZero(TopMemoryContext, sizeof(char *) * mnl_sql_message_count);
	for (i = 0; i < mnl_sql_message_count; i++)
	{
		const char *id = mnl_sql_messages[i];
		const char *c;
		bool		ascii = true;

		for (c = id; *c != '\0'; c++)
			if (IS_HIGHBIT_SET(*c))
				ascii = false;
		if (ascii)
			conv[i] = id;
		else if (encoding == PG_EUC_JP || encoding == PG_EUC_JIS_2004)
		{
			/* every id fits EUC_JP (the install script must, the Makefile checks) */
			char	   *e = (char *) pg_do_encoding_conversion((unsigned char *) id, (int) strlen(id),
															   PG_UTF8, encoding);

			conv[i] = MemoryContextStrdup(TopMemoryContext, e);
			if (e != id)
				pfree(e);
		}
	}
	patterns = conv;
}

/* At load (_PG_init): the catalog's directory. */
void
mnl_nls_init(void)
{
	pg_bindtextdomain(TEXTDOMAIN);
}

/* In a backend that has chosen its database: the catalog's text in the database encoding. */
void
mnl_nls_bind_encoding(void)
{
	if (likely(encoding_bound) || !OidIsValid(MyDatabaseId))
		return;
	(void) pg_bind_textdomain_codeset(TEXTDOMAIN);
	nls_convert_patterns();
	encoding_bound = true;
}

#define NLS_PARAMS			16	/* parameters of one message, at most */
#define NLS_PARAM_BYTES		64	/* bytes of one parameter kept in a translation */
#define NLS_TEXT_LIMIT		4096	/* longer texts are not ours: not matched */

typedef struct nls_match
{
	const char *start[NLS_PARAMS];
	size_t		len[NLS_PARAMS];
	int			n;
} nls_match;

/*
 * Does text match the message id pattern p ('%' a parameter, '%%' a percent sign)?  The
 * parameters' places go into m.  Glob matching with one point of return (the last parameter
 * takes one more byte when the rest does not match): each earlier parameter is the shortest
 * that lets the rest match, and the work is bounded by the pattern's length times the text's,
 * whatever the text (a staff member's RAISE can choose it).
 */
static bool
nls_glob_match(const char *p, const char *t, nls_match *m)
{
	const char *star_p = NULL;	/* the pattern after the last parameter */
	const char *star_t = NULL;	/* where the text resumes after it */
	int			star_k = -1;

	m->n = 0;
	for (;;)
	{
		if (p[0] == '%' && p[1] != '%')
		{
			if (m->n >= NLS_PARAMS)
				return false;
			star_k = m->n++;
			m->start[star_k] = t;
			m->len[star_k] = 0;
			star_p = ++p;
			star_t = t;
			continue;
		}
		if (*p == '\0' && *t == '\0')
			return true;
		if (*p != '\0' && *t != '\0' && *t == *p)
		{
			p += (p[0] == '%') ? 2 : 1; /* "%%" stands for one '%' */
			t++;
			continue;
		}
		/* no match here: the last parameter takes one more byte, and the rest is tried again */
		if (star_p == NULL || *star_t == '\0')
			return false;
		star_t++;
		m->len[star_k] = star_t - m->start[star_k];
		m->n = star_k + 1;
		p = star_p;
		t = star_t;
	}
}

/* The translation of text, if it was formatted from one of the SQL message ids; else NULL. */
static char *
nls_translate_sql_text(const char *text, int *budget)
{
	int			i;

	if (text == NULL || strlen(text) > NLS_TEXT_LIMIT)
		return NULL;
	for (i = 0; i < mnl_sql_message_count; i++)
	{
		const char *id = mnl_sql_messages[i];
		const char *pattern = patterns != NULL ? patterns[i] : id;
		const char *tr;
		nls_match	m;
		StringInfoData out;
		int			next = 0;

		/* the first byte is a cheap first test */
		if (pattern == NULL || (pattern[0] != '%' && pattern[0] != text[0]))
			continue;
		if (!nls_glob_match(pattern, text, &m))
			continue;
		tr = mnl_gettext(id);
		if (tr == id)
			return NULL;		/* no catalog for this language: the English stays */
		initStringInfo(&out);
		while (*tr != '\0')
		{
			if (tr[0] == '%' && tr[1] == '%')
			{
				appendStringInfoChar(&out, '%');
				tr += 2;
			}
			else if (*tr == '%')
			{
				if (next < m.n)
				{
					size_t		len = m.len[next];
					int			room = Min(NLS_PARAM_BYTES, *budget);

					if (len > (size_t) room)
					{
						len = pg_mbcliplen(m.start[next], (int) len, room);
						appendBinaryStringInfo(&out, m.start[next], (int) len);
						appendStringInfoString(&out, "...");
					}
					else
						appendBinaryStringInfo(&out, m.start[next], (int) len);
					*budget -= (int) len;
				}
				next++;
				tr++;
			}
			else
				appendStringInfoChar(&out, *tr++);
		}
		return out.data;
	}
	return NULL;
}

/*
 * A message a RAISE reported (PL/pgSQL's domain): its message, detail and hint in the
 * catalog's language, each that was formatted from one of the SQL functions' message ids.
 * True when every text it has was (the message is then the extension's own: its domain
 * becomes the extension's).  Runs in the emit hook, in ErrorContext.
 */
bool
mnl_nls_translate_raise(ErrorData *edata, int param_budget)
{
	char	   *msg,
			   *hint,
			   *detail;

	if (edata->domain == NULL || strncmp(edata->domain, "plpgsql", 7) != 0 || edata->message == NULL)
		return false;
	/* one budget for the parameters of the message, its hint and its detail */
	msg = nls_translate_sql_text(edata->message, &param_budget);
	hint = nls_translate_sql_text(edata->hint, &param_budget);
	detail = nls_translate_sql_text(edata->detail, &param_budget);
	if (msg != NULL)
		edata->message = msg;
	if (hint != NULL)
		edata->hint = hint;
	if (detail != NULL)
		edata->detail = detail;
	if (msg == NULL || (edata->hint != NULL && hint == NULL) || (edata->detail != NULL && detail == NULL))
		return false;
	edata->domain = TEXTDOMAIN;
	return true;
}
