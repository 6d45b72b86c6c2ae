/*
 * gate.c — the gate in front of the functions that act with the extension owner's rights on
 * behalf of a staff member: staff administration (register_staff, retire_staff, assign_duty,
 * revoke_duty), enrolment, lookup and reveal of a person's number, file registration, and
 * the network functions (inquiry, provision, review).
 *
 * Each such SQL function is declared as this C function.  It runs its internal PL/pgSQL
 * twin, ledger._<name>(caller, ...), as the extension owner, passing the calling role as the
 * first argument.  The twin decides, in SQL, whether the caller holds the duty needed for the
 * org unit concerned; EXECUTE on the twins is revoked from PUBLIC, so the caller argument
 * cannot be forged.  (A SECURITY DEFINER function could not do this: inside it the caller's
 * identity is gone.)  A call from inside a security-restricted operation (an index
 * expression, a maintenance command) is refused: nobody's authority is lent to such code.
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
#include "utils/memutils.h"

#include "audit/audit.h"
#include "core/mynumber_ledger.h"
#include "staff/perm.h"
#include "staff/session.h"

PG_FUNCTION_INFO_V1(gated_call);

typedef struct AdminCall
{
	FunctionCallInfo fcinfo;
	Oid			caller;
	Oid			rettype;
	Datum		result;
	bool		isnull;
} AdminCall;

/*
 * The query that runs each twin, prepared once per session and function ("SELECT
 * ledger._<name>($1, ...)"): a gated call is made often (each reveal, lookup, enrolment), and
 * parsing and planning the call anew each time cost as much as much of the work.  The plan
 * cache replans a kept plan when the twin is replaced.
 */
typedef struct TwinPlan
{
	Oid			fn;				/* the public function */
	SPIPlanPtr	plan;
} TwinPlan;

static TwinPlan *twin_plans = NULL;
static int	n_twin_plans = 0;
static int	max_twin_plans = 0;

static SPIPlanPtr
twin_plan(Oid fn, int nargs, Oid *argtypes)
{
	Oid		   *types;
	StringInfoData sql;
	SPIPlanPtr	plan;
	int			i;

	for (i = 0; i < n_twin_plans; i++)
		if (twin_plans[i].fn == fn)
			return twin_plans[i].plan;
	types = palloc(sizeof(Oid) * (nargs + 1));
	types[0] = OIDOID;
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT ledger.%s($1",
					 quote_identifier(psprintf("_%s", get_func_name(fn))));
	for (i = 0; i < nargs; i++)
	{
		types[i + 1] = argtypes[i];
		appendStringInfo(&sql, ", $%d", i + 2);
	}
	appendStringInfoChar(&sql, ')');
	plan = SPI_prepare(sql.data, nargs + 1, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare %s: %s", sql.data, SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	if (n_twin_plans == max_twin_plans)
	{
		max_twin_plans = Max(16, max_twin_plans * 2);
		twin_plans = twin_plans == NULL ?
			MemoryContextAlloc(TopMemoryContext, sizeof(TwinPlan) * max_twin_plans) :
			repalloc(twin_plans, sizeof(TwinPlan) * max_twin_plans);
	}
	twin_plans[n_twin_plans].fn = fn;
	twin_plans[n_twin_plans].plan = plan;
	n_twin_plans++;
	return plan;
}

static void
admin_work(void *arg)
{
	AdminCall  *c = arg;
	FunctionCallInfo fcinfo = c->fcinfo;
	Oid			fn = fcinfo->flinfo->fn_oid;
	Oid		   *argtypes;
	int			nargs;
	Datum	   *values;
	char	   *nulls;
	SPIPlanPtr	plan;
	int			i;
	int			rc;

	(void) get_func_signature(fn, &argtypes, &nargs);
	plan = twin_plan(fn, nargs, argtypes);
	values = palloc(sizeof(Datum) * (nargs + 1));
	nulls = palloc(nargs + 2);
	values[0] = ObjectIdGetDatum(c->caller);
	nulls[0] = ' ';
	for (i = 0; i < nargs; i++)
	{
		values[i + 1] = fcinfo->args[i].value;
		nulls[i + 1] = fcinfo->args[i].isnull ? 'n' : ' ';
	}
	nulls[nargs + 1] = '\0';

	rc = SPI_execute_plan(plan, values, nulls, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "ledger._%s returned %d", get_func_name(fn), rc);
	c->result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &c->isnull);
	if (!c->isnull && c->rettype != VOIDOID)
	{
		int16		typlen;
		bool		typbyval;

		get_typlenbyval(c->rettype, &typlen, &typbyval);
		c->result = SPI_datumTransfer(c->result, typbyval, typlen);
	}
}

/*
 * A refusal (42501) by the twin is recorded in the audit trail, where it survives the
 * rollback of the call — unless the twin recorded it already, with more detail than its
 * message may carry (ledger._require names the org unit in the trail, not to the caller).  Other errors (bad input, missing objects) are the caller's to see.
 */
static void
record_refusal(Oid fn)
{
	ErrorData  *edata = CopyErrorData();	/* in the caller's context, not ErrorContext */

	if (edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE && !mnl_refusal_recorded)
	{
		char		detail[256];

		snprintf(detail, sizeof(detail), "%s refused: %s", get_func_name(fn), edata->message);
		/*
		 * Not must_log: the call fails anyway, and an error here must not replace the
		 * refusal.  No registry lookup while unwinding: the staff id is used if cached.
		 */
		mnl_registry_lookups_disabled = true;
		(void) audit_emit(AUDIT_KIND_DENIED, InvalidOid, 0, false, 0, detail, false);
		mnl_registry_lookups_disabled = false;
	}
	FreeErrorData(edata);
}

/*
 * A constraint the twin's write broke (class 23): PostgreSQL's detail shows the row's values
 * ("Failing row contains ...", "Key (...)=(...)") to whoever may read them, and the twin writes
 * as the owner, who may read everything — a sealed number and its blind index included.  The
 * error goes on without them, to the caller and to a handler that catches it alike.
 */
static void
rethrow_without_row_values(void)
{
	ErrorData  *edata = CopyErrorData();

	if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION ||
		(edata->detail == NULL && edata->detail_log == NULL))
	{
		FreeErrorData(edata);
		return;
	}
	FlushErrorState();
	edata->detail = pstrdup(mnl_gettext("The row's values are not shown: the extension wrote it with its owner's rights."));
	edata->detail_log = NULL;
	ReThrowError(edata);
}

/* Every gated function: check nothing here, let the twin decide. */
Datum
gated_call(PG_FUNCTION_ARGS)
{
	AdminCall	c;
	Oid			fn = fcinfo->flinfo->fn_oid;
	Oid			saved_acting = mnl_acting_for;
	MemoryContext cxt = CurrentMemoryContext;

	mnl_nls_bind_encoding();	/* a fast-path call has no statement before it */

	if (get_func_namespace(fn) != get_namespace_oid("ledger", false))
		elog(ERROR, "gated_call is only for the extension's own functions");
	/*
	 * The staff statement gate, here too: a libpq fast-path call (PQfn) reaches a function
	 * without the executor or utility hooks, so a retired, idle or no longer granted
	 * identity would otherwise still act through the gated functions.
	 */
	staff_session_check(NULL);
	if (InSecurityRestrictedOperation())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s cannot be called from a security-restricted operation", get_func_name(fn)),
				 errhint("Call it directly, not from an index expression, a materialized view or a maintenance command.")));
	if (perm_identity_borrowed())
		audit_refuse(InvalidOid, "gated call refused: a staff identity borrowed through a SECURITY DEFINER function",
					 AUDIT_MUST_RECORD,
					 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					  errmsg("permission denied: %s acts only for the staff member logged in or set by SET ROLE", get_func_name(fn)),
					  errhint("A staff member's SECURITY DEFINER function lends their duties to whoever calls it; call the function as that staff member.")));
	c.fcinfo = fcinfo;
	c.caller = GetUserId();
	c.rettype = get_func_rettype(fn);
	c.isnull = true;
	c.result = (Datum) 0;
	mnl_acting_for = c.caller;
	mnl_refusal_recorded = false;
	PG_TRY();
	{
		/* its changes are recorded row by row; its lookups are not reads */
		mnl_as_owner(admin_work, &c, MNL_OWNER_RESTRICTED | MNL_OWNER_INTERNAL);
	}
	PG_CATCH();
	{
		mnl_acting_for = saved_acting;
		MemoryContextSwitchTo(cxt);
		record_refusal(fn);
		rethrow_without_row_values();
		PG_RE_THROW();
	}
	PG_END_TRY();
	mnl_acting_for = saved_acting;
	if (c.rettype == VOIDOID)
		PG_RETURN_VOID();
	if (c.isnull)
		PG_RETURN_NULL();
	return c.result;
}
