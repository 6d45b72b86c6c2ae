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
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"

#include "core/mynumber_ledger.h"

static bool encoding_bound = false;

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
	encoding_bound = true;
}
