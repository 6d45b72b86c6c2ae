/*
 * functions.c — PostgreSQL's functions the extension knows to carry nothing of a row.
 *
 * A column default of a protected table (staff/protect.c) and an expression a role that is
 * not a superuser writes into a default, CHECK or trigger condition (guard/expressions.c) run
 * as whoever writes the row.  Among the volatile functions, a few read nothing of any table
 * and hand nothing anywhere: a sequence's next value, the clocks, the random functions.
 *
 * Must never: list a function that reads a table or sends its argument anywhere.
 */
#include "postgres.h"

#include "utils/fmgroids.h"

#include "core/compat.h"
#include "core/mynumber_ledger.h"

bool
mnl_function_carries_nothing(Oid fn)
{
	switch (fn)
	{
		case F_NEXTVAL:
		case F_NOW:
		case F_TRANSACTION_TIMESTAMP:
		case F_STATEMENT_TIMESTAMP:
		case F_CLOCK_TIMESTAMP:
		case F_GEN_RANDOM_UUID:
		case MNL_F_RANDOM:
			return true;
		default:
			return false;
	}
}
