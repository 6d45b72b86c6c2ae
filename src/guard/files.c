/*
 * files.c — the file-creation guard (番号法 第29条): an event trigger at the end of DDL that
 * refuses, for any role but a superuser, a new table, column, materialized view, type or
 * extended statistics able to hold a My Number outside the registered files.
 *
 * What counts is decided in SQL by ledger._unregistered_number_holders() (files.sql), run
 * here as the extension owner; this file only knows who is asking, records the refusal in
 * the audit trail (it survives the rollback of the DDL) and raises the error.
 *
 * Must never: name a value in a message (only object names).
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "audit/audit.h"
#include "core/mynumber_ledger.h"

PG_FUNCTION_INFO_V1(files_guard);

typedef struct GuardWork
{
	StringInfoData found;
	int			n;
} GuardWork;

static void
guard_work(void *arg)
{
	GuardWork  *w = arg;
	uint64		i;

	if (SPI_execute("SELECT object_identity, reason FROM ledger._unregistered_number_holders()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "ledger._unregistered_number_holders() failed");
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *obj = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *why = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		if (w->n < 5)
			appendStringInfo(&w->found, "%s%s (%s)", w->n ? "; " : "", obj, why);
		w->n++;
	}
}

Datum
files_guard(PG_FUNCTION_ARGS)
{
	GuardWork	w;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ledger._file_guard() must be called as an event trigger"),
				 errhint("The extension's event trigger calls it; it is not called directly.")));
	if (superuser())
		PG_RETURN_VOID();
	initStringInfo(&w.found);
	w.n = 0;
	mnl_as_owner(guard_work, &w, MNL_OWNER_RESTRICTED | MNL_OWNER_INTERNAL);
	if (w.n > 0)
	{
		char		detail[512];

		snprintf(detail, sizeof(detail), "refused: file creation outside the registered files: %s", w.found.data);
		audit_refuse(InvalidOid, detail, AUDIT_MUST_RECORD,
					 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					  errmsg("cannot create a place for My Numbers outside the registered files (My Number Act, article 29)"),
					  errdetail("%s%s", w.found.data, w.n > 5 ? "; ..." : ""),
					  errhint("A member of ledger_dba registers the table first with ledger.register_file(schema, table, file name, legal basis); types, materialized views and extended statistics over My Numbers are not allowed.")));
	}
	PG_RETURN_VOID();
}
