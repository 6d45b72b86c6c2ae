/*
 * disclosure.c — the bookkeeping behind the disclosure limits (disclosure.sql): how many
 * numbers a staff member has revealed today, which approval may be used, and the use of
 * an approval.
 *
 * The limits must hold whatever the caller's transaction does: both counts are written by
 * the audit writer in its own transactions (audit/worker.c), and read here under the
 * latest snapshot, not the caller's — a REPEATABLE READ or SERIALIZABLE transaction would
 * otherwise see the count as it was when it began.  The caller (ledger._reveal_allowance)
 * serialises one staff member's checks with a lock on the staff row, and every reveal and
 * every use of an approval is committed by the writer before the function that made it
 * returns, so the next check sees it.
 *
 * Must never: count or consume anything in the caller's transaction (a ROLLBACK would
 * give it back).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "audit/audit.h"
#include "core/mynumber_ledger.h"

PG_FUNCTION_INFO_V1(disclosure_reveals_today);
PG_FUNCTION_INFO_V1(disclosure_usable_approval);
PG_FUNCTION_INFO_V1(disclosure_use_approval);
PG_FUNCTION_INFO_V1(disclosure_statement_reveals);

/*
 * One value of a one-row query, under the latest snapshot; isnull when no row.  The plan is
 * prepared once per session and kept in *cache (the plan cache replans it when what it reads
 * changes).
 */
static Datum
latest_value(SPIPlanPtr *cache, const char *sql, int nargs, Oid *types, Datum *args, Oid rettype, bool *isnull)
{
	SPIPlanPtr	plan;
	Datum		result = (Datum) 0;
	int16		typlen;
	bool		typbyval;

	*isnull = true;
	SPI_connect();
	if (*cache == NULL)
	{
		plan = SPI_prepare(sql, nargs, types);
		if (plan == NULL)
			elog(ERROR, "could not prepare \"%s\"", sql);
		SPI_keepplan(plan);
		*cache = plan;
	}
	plan = *cache;
	CommandCounterIncrement();
	if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "\"%s\" failed", sql);
	if (SPI_processed == 1)
	{
		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
		get_typlenbyval(rettype, &typlen, &typbyval);
		if (!*isnull)
			result = SPI_datumTransfer(result, typbyval, typlen);
	}
	SPI_finish();
	return result;
}

/* SQL function: ledger._reveals_today(role name) returns integer */
Datum
disclosure_reveals_today(PG_FUNCTION_ARGS)
{
	Datum		args[1] = {PG_GETARG_DATUM(0)};
	bool		isnull;
	Datum		n;

	static SPIPlanPtr plan = NULL;

	n = latest_value(&plan, "SELECT reveals FROM ledger.reveal_tally WHERE role_name = $1 AND day = ledger._today()",
					 1, (Oid[]) {NAMEOID}, args, INT4OID, &isnull);
	PG_RETURN_INT32(isnull ? 0 : DatumGetInt32(n));
}

/*
 * SQL function: ledger._usable_approval(role name, kind text, n integer) returns bigint
 * The oldest approved, unexpired (by the clock, not the transaction's start) approval of
 * the role's own request that covers n more reveals: a bulk approval is used once, whole;
 * a quota approval until its count is spent.  NULL when there is none.
 */
Datum
disclosure_usable_approval(PG_FUNCTION_ARGS)
{
	Datum		args[3] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_GETARG_DATUM(2)};
	bool		isnull;
	Datum		id;

	static SPIPlanPtr plan = NULL;

	id = latest_value(&plan, "SELECT approval_id FROM ledger.disclosure_approval d "
					  "WHERE d.requested_by = $1 AND d.kind = $2 AND d.approved_by IS NOT NULL "
					  "AND d.expires_at > pg_catalog.clock_timestamp() "
					  "AND CASE d.kind WHEN 'bulk_reveal' THEN d.used_count = 0 AND d.count >= $3 "
					  "                ELSE d.count - d.used_count >= $3 END "
					  "ORDER BY d.approval_id LIMIT 1",
					  3, (Oid[]) {NAMEOID, TEXTOID, INT4OID}, args, INT8OID, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(id);
}

/*
 * SQL function: ledger._use_approval(approval_id bigint, n integer) returns void
 * Spends n of the approval: a durable event the writer applies to the approval in the same
 * transaction as the event's record, committed before this returns.
 */
Datum
disclosure_use_approval(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	int32		n = PG_GETARG_INT32(1);
	char		key[32];
	const char *keys[1] = {key};
	char		detail[64];

	if (n <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an approval is used for a positive number of reveals"),
				 errhint("Give the number of numbers about to be revealed.")));
	snprintf(key, sizeof(key), INT64_FORMAT, id);
	snprintf(detail, sizeof(detail), "approval used for %d reveals", n);
	audit_emit_durable(AUDIT_KIND_APPROVAL_USED,
					   get_relname_relid("disclosure_approval", get_func_namespace(fcinfo->flinfo->fn_oid)),
					   n, keys, 1, detail);
	PG_RETURN_VOID();
}

/*
 * SQL function: ledger._statement_reveals(n integer) RETURNS integer
 * The numbers revealed so far in the current top-level statement, these n included: a
 * statement revealing one number per row (SELECT reveal_person_number(...) FROM ...) or a
 * procedure looping over reveals is one bulk disclosure.  Backend memory, outside every
 * transaction: a rolled-back reveal stays counted.  Owner only.
 */
Datum
disclosure_statement_reveals(PG_FUNCTION_ARGS)
{
	static TimestampTz statement = 0;
	static int64 count = 0;
	TimestampTz now = GetCurrentStatementStartTimestamp();

	if (now != statement)
	{
		statement = now;
		count = 0;
	}
	if (!PG_ARGISNULL(0) && PG_GETARG_INT32(0) > 0)
		count += PG_GETARG_INT32(0);
	PG_RETURN_INT32((int32) Min(count, (int64) PG_INT32_MAX));
}
