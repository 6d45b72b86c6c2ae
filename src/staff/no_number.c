/*
 * no_number.c — ledger._no_number_in_row(): a protected table's rows hold no My Number in
 * clear.
 *
 * A staff member who may reveal a number could write it into any column a clerk of the org
 * unit reads: a DBA's case note, a jsonb memo, a column its owner added after protecting the
 * table, even a bigint key.  protect_table attaches this function to every protected table
 * (the ledger's own and the DBA's) as the row trigger mnl_rls_no_number, BEFORE INSERT OR
 * UPDATE, ENABLE ALWAYS (the guard keeps everyone but a superuser from dropping or disabling
 * it).  It reads every column of the new row that an UPDATE changed, or all of an INSERT's,
 * whatever its type (log_hygiene_value_has_number: text as written, jsonb decoded, anything
 * else as it reads), and refuses the row, with 23514, when one holds a valid number in any
 * form the type accepts — before the row reaches the heap or the WAL.  Columns of the number
 * types themselves (a registered file's place for numbers) and those that read as
 * hexadecimal (bytea: sealed numbers and blind indexes; uuid) are not read.  How each column
 * is read is asked of the catalog once per statement and kept in the trigger's fn_extra (the
 * executor keeps one FmgrInfo per trigger and result relation for the statement).
 *
 * Must never: name the value in its message.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/datum.h"
#include "utils/rel.h"

#include "audit/audit.h"
#include "core/mynumber_ledger.h"
#include "log_hygiene/log_hygiene.h"

PG_FUNCTION_INFO_V1(no_number_in_row);

/* How each column of the relation is read, for one statement. */
typedef struct NoNumberColumns
{
	Oid			relid;
	int			natts;
	bool	   *skip;			/* dropped, or of a number type */
	LogHygieneValueReader *readers;
} NoNumberColumns;

static NoNumberColumns *
columns_for(FmgrInfo *flinfo, Relation rel)
{
	NoNumberColumns *cols = (NoNumberColumns *) flinfo->fn_extra;
	TupleDesc	desc = RelationGetDescr(rel);
	MemoryContext old;
	int			i;

	if (cols != NULL && cols->relid == RelationGetRelid(rel) && cols->natts == desc->natts)
		return cols;
	old = MemoryContextSwitchTo(flinfo->fn_mcxt);
	cols = palloc0(sizeof(NoNumberColumns));
	cols->relid = RelationGetRelid(rel);
	cols->natts = desc->natts;
	cols->skip = palloc0(sizeof(bool) * Max(desc->natts, 1));
	cols->readers = palloc0(sizeof(LogHygieneValueReader) * Max(desc->natts, 1));
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		cols->skip[i] = att->attisdropped || audit_is_number_type(att->atttypid);
		if (!cols->skip[i])
			log_hygiene_value_reader(att->atttypid, &cols->readers[i], flinfo->fn_mcxt);
	}
	MemoryContextSwitchTo(old);
	flinfo->fn_extra = cols;
	return cols;
}

Datum
no_number_in_row(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	newtup;
	HeapTuple	oldtup = NULL;
	NoNumberColumns *cols;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trig->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trig->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trig->tg_event) || TRIGGER_FIRED_BY_UPDATE(trig->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ledger._no_number_in_row() must be the BEFORE INSERT OR UPDATE row trigger protect_table creates"),
				 errhint("ledger.protect_table() creates it; it is not called directly.")));
	rel = trig->tg_relation;
	desc = RelationGetDescr(rel);
	cols = columns_for(fcinfo->flinfo, rel);
	if (TRIGGER_FIRED_BY_UPDATE(trig->tg_event))
	{
		oldtup = trig->tg_trigtuple;
		newtup = trig->tg_newtuple;
	}
	else
		newtup = trig->tg_trigtuple;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		isnull;
		Datum		value;

		if (cols->skip[i])
			continue;
		value = heap_getattr(newtup, i + 1, desc, &isnull);
		if (isnull)
			continue;
		if (oldtup != NULL)
		{
			bool		oldnull;
			Datum		old = heap_getattr(oldtup, i + 1, desc, &oldnull);

			if (!oldnull && datumIsEqual(old, value, att->attbyval, att->attlen))
				continue;		/* unchanged: what was there is not this statement's */
		}
		if (log_hygiene_read_value(&cols->readers[i], value))
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("a My Number is not stored in clear in column \"%s\" of protected table \"%s\"",
							NameStr(att->attname), RelationGetRelationName(rel)),
					 errhint("Every column of a protected table refuses a valid number in any form the type accepts: the number is kept sealed and shown through a recorded reveal."),
					 errtablecol(rel, i + 1)));
	}
	return PointerGetDatum(newtup);
}
