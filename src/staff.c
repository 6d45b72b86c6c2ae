/*
 * staff.c — the gate in front of the staff-administration functions.
 *
 * ledger.register_staff(), retire_staff(), assign_duty() and revoke_duty() are C functions
 * that all land here.  Each one runs its internal PL/pgSQL twin, ledger._<name>(caller, ...),
 * as the extension owner (creating roles and granting memberships needs those rights),
 * passing the calling role as the first argument.  The twin decides, in SQL, whether the
 * caller holds the administer_staff action for the org unit concerned; EXECUTE on the twins
 * is revoked from PUBLIC, so the caller argument cannot be forged.  (A SECURITY DEFINER
 * function could not do this: inside it the caller's identity is gone.)
 *
 * While the twin runs, the audit trail names the caller as the acting role, not the owner.
 *
 * Must never: run a function other than ledger._<name of the called function>.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "mynumber_ledger.h"
#include "perm.h"

PG_FUNCTION_INFO_V1(staff_admin_call);

typedef struct AdminCall
{
	FunctionCallInfo fcinfo;
	Oid			caller;
	Oid			rettype;
	Datum		result;
	bool		isnull;
} AdminCall;

static void
admin_work(void *arg)
{
	AdminCall  *c = arg;
	FunctionCallInfo fcinfo = c->fcinfo;
	Oid			fn = fcinfo->flinfo->fn_oid;
	Oid		   *argtypes;
	int			nargs;
	Oid		   *types;
	Datum	   *values;
	char	   *nulls;
	StringInfoData sql;
	int			i;
	int			rc;

	(void) get_func_signature(fn, &argtypes, &nargs);
	types = palloc(sizeof(Oid) * (nargs + 1));
	values = palloc(sizeof(Datum) * (nargs + 1));
	nulls = palloc(nargs + 2);
	types[0] = OIDOID;
	values[0] = ObjectIdGetDatum(c->caller);
	nulls[0] = ' ';
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT ledger.%s($1",
					 quote_identifier(psprintf("_%s", get_func_name(fn))));
	for (i = 0; i < nargs; i++)
	{
		types[i + 1] = argtypes[i];
		values[i + 1] = fcinfo->args[i].value;
		nulls[i + 1] = fcinfo->args[i].isnull ? 'n' : ' ';
		appendStringInfo(&sql, ", $%d", i + 2);
	}
	nulls[nargs + 1] = '\0';
	appendStringInfoChar(&sql, ')');

	rc = SPI_execute_with_args(sql.data, nargs + 1, types, values, nulls, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "%s returned %d", sql.data, rc);
	c->result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &c->isnull);
	if (!c->isnull && c->rettype != VOIDOID)
	{
		int16		typlen;
		bool		typbyval;

		get_typlenbyval(c->rettype, &typlen, &typbyval);
		c->result = SPI_datumTransfer(c->result, typbyval, typlen);
	}
}

/* Every staff-administration function: check nothing here, let the twin decide. */
Datum
staff_admin_call(PG_FUNCTION_ARGS)
{
	AdminCall	c;
	Oid			fn = fcinfo->flinfo->fn_oid;
	Oid			saved_acting = mnl_acting_for;

	if (get_func_namespace(fn) != get_namespace_oid("ledger", false))
		elog(ERROR, "staff_admin_call is only for the extension's own functions");
	c.fcinfo = fcinfo;
	c.caller = GetUserId();
	c.rettype = get_func_rettype(fn);
	c.isnull = true;
	c.result = (Datum) 0;
	mnl_acting_for = c.caller;
	mnl_internal_depth++;		/* its changes are recorded row by row; its lookups are not reads */
	PG_TRY();
	{
		mnl_as_owner(admin_work, &c, false);
	}
	PG_FINALLY();
	{
		mnl_acting_for = saved_acting;
		mnl_internal_depth--;
	}
	PG_END_TRY();
	if (c.rettype == VOIDOID)
		PG_RETURN_VOID();
	if (c.isnull)
		PG_RETURN_NULL();
	return c.result;
}
