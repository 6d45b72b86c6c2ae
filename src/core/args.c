/*
 * args.c — checks of the arguments of the SQL-callable C functions that are not STRICT:
 * a NULL where a value is needed is refused with SQLSTATE 22004 naming the argument, never
 * dereferenced, and never read as "nothing to do" (a protection silently not applied).
 *
 * Must never: put an argument's value into a message (it may be a number or a secret).
 */
#include "postgres.h"

#include "fmgr.h"

#include "core/mynumber_ledger.h"

/* Refuse a NULL in argument argno (0-based) of the called function, named argname. */
void
mnl_require_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (argno >= PG_NARGS() || PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be NULL", argname),
				 errhint("Give a value for %s.", argname)));
}
