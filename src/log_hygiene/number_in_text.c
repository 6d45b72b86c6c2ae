/*
 * number_in_text.c — ledger.contains_mynumber(text): is there a My Number in this free text?
 *
 * The ledger's free-text columns (a person's name and address, a certification's reason, a
 * disclosure's purpose ...) are read by every clerk of the org unit, while the number itself
 * is sealed and shown only through a recorded reveal.  An examiner who revealed a number and
 * wrote it into an address would store it in clear — in the heap, the WAL and every backup,
 * even when the transaction rolls back — where clerks read it.  The ledger's tables refuse
 * that with a CHECK constraint over this function (ledger.sql and the other rooms' tables).
 *
 * "A My Number" is exactly what the log masker masks: any text the type accepts as a valid
 * number (numbers/numparse.c; every width and separator it allows, check digit right, not
 * all zeros), standing alone.  The masker reads the database's encoding (EUC_JP included),
 * which is fixed for a database: the function is IMMUTABLE and never raises.
 *
 * What it cannot see, and docs/permissions.md says so: a number written in a form the type
 * does not accept (split across two columns, its base without the check digit, spelled in
 * words).  Those are deliberate encodings by someone who saw the number in a recorded reveal.
 *
 * Must never: raise, or change its argument.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "core/mynumber_ledger.h"
#include "log_hygiene/log_hygiene.h"

PG_FUNCTION_INFO_V1(contains_mynumber);

Datum
contains_mynumber(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	size_t		len = VARSIZE_ANY_EXHDR(t);
	char	   *copy;
	bool		found;

	/* twelve ASCII digits are the shortest number the type accepts */
	if (len < 12)
		PG_RETURN_BOOL(false);
	copy = text_to_cstring(t);	/* the masker writes: never into the argument */
	found = log_hygiene_mask(copy);
	pfree(copy);
	PG_FREE_IF_COPY(t, 0);
	PG_RETURN_BOOL(found);
}
