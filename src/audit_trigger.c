/*
 * audit_trigger.c — the triggers that record every change to an audited table, and the
 * functions that attach and detach them.
 *
 * ledger.audit_table(tab) creates three triggers on tab, all ENABLE ALWAYS (so they fire
 * under session_replication_role = replica too):
 *   mnl_audit_row        AFTER INSERT OR UPDATE OR DELETE, FOR EACH ROW: one record per row
 *   mnl_audit_statement  AFTER INSERT OR UPDATE OR DELETE, FOR EACH STATEMENT: writes them
 *   mnl_audit_truncate   AFTER TRUNCATE: one record per TRUNCATE
 * The records go into the trail in the same transaction as the change (audit_store.c), so a
 * committed change always has its record and a rolled-back one never does.
 *
 * Values of sensitive columns — the extension's number types (and domains over them) and
 * the columns named when the table was audited — are never written: the record lists the
 * column among sensitive_columns and leaves its value NULL.
 *
 * Must never: put the value of a sensitive column, key column included, into a record.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "audit.h"

PG_FUNCTION_INFO_V1(audit_row_trigger);
PG_FUNCTION_INFO_V1(audit_statement_trigger);
PG_FUNCTION_INFO_V1(audit_truncate_trigger);
PG_FUNCTION_INFO_V1(audit_table);
PG_FUNCTION_INFO_V1(unaudit_table);

/* What the row trigger needs to know about a table, kept until its relcache entry changes. */
typedef struct RelAuditInfo
{
	Oid			relid;			/* hash key */
	bool		valid;
	int			natts;
	bool	   *live;			/* not dropped */
	bool	   *sensitive;
	FmgrInfo   *out;			/* output functions, live columns */
	int			nkeys;
	AttrNumber	keys[INDEX_MAX_KEYS];	/* primary key columns */
	Datum		relation_name;	/* text */
	Datum		all_columns;	/* text[] of live column names */
	Datum		sensitive_columns;	/* text[], or 0 when none */
	MemoryContext cxt;
} RelAuditInfo;

static HTAB *rel_info = NULL;

static void
rel_info_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	RelAuditInfo *entry;

	if (rel_info == NULL)
		return;
	hash_seq_init(&status, rel_info);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (relid == InvalidOid || entry->relid == relid)
			entry->valid = false;
}

static bool
is_number_type(Oid typid)
{
	Oid			base = getBaseType(typid);
	Oid			nsp = audit_trail_namespace();
	const char *sensitive_types[] = {"mynumber", "corporate_number"};
	int			i;

	for (i = 0; i < lengthof(sensitive_types); i++)
		if (base == GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
									CStringGetDatum(sensitive_types[i]),
									ObjectIdGetDatum(nsp)))
			return true;
	return false;
}

static Datum
names_array(List *names)
{
	int			n = list_length(names);
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, names)
		d[i++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

static RelAuditInfo *
get_rel_info(Relation rel, Trigger *trigger)
{
	RelAuditInfo *info;
	bool		found;
	TupleDesc	desc = RelationGetDescr(rel);
	MemoryContext old;
	List	   *all = NIL;
	List	   *sens = NIL;
	Oid			pk;
	int			i;

	if (rel_info == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(RelAuditInfo);
		rel_info = hash_create("mynumber_ledger audited relations", 32, &ctl,
							   HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(rel_info_invalidate, (Datum) 0);
	}
	info = hash_search(rel_info, &rel->rd_id, HASH_ENTER, &found);
	if (found && info->valid)
		return info;
	if (found)
		MemoryContextDelete(info->cxt);

	info->valid = false;
	info->cxt = AllocSetContextCreate(CacheMemoryContext, "mynumber_ledger audit relation",
									  ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(info->cxt);
	info->natts = desc->natts;
	info->live = palloc0(sizeof(bool) * desc->natts);
	info->sensitive = palloc0(sizeof(bool) * desc->natts);
	info->out = palloc0(sizeof(FmgrInfo) * desc->natts);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			a;
		Oid			outfn;
		bool		varlena;

		if (att->attisdropped)
			continue;
		info->live[i] = true;
		info->sensitive[i] = is_number_type(att->atttypid);
		for (a = 0; a < trigger->tgnargs; a++)
			if (strcmp(trigger->tgargs[a], NameStr(att->attname)) == 0)
				info->sensitive[i] = true;
		getTypeOutputInfo(att->atttypid, &outfn, &varlena);
		fmgr_info_cxt(outfn, &info->out[i], info->cxt);
		all = lappend(all, pstrdup(NameStr(att->attname)));
		if (info->sensitive[i])
			sens = lappend(sens, pstrdup(NameStr(att->attname)));
	}
	info->all_columns = names_array(all);
	info->sensitive_columns = sens == NIL ? (Datum) 0 : names_array(sens);
	info->relation_name = CStringGetTextDatum(
		quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
								   RelationGetRelationName(rel)));

	info->nkeys = 0;
	pk = RelationGetPrimaryKeyIndex(rel);
	if (OidIsValid(pk))
	{
		HeapTuple	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));

		if (HeapTupleIsValid(itup))
		{
			Form_pg_index idx = (Form_pg_index) GETSTRUCT(itup);

			for (i = 0; i < idx->indnkeyatts; i++)
				info->keys[info->nkeys++] = idx->indkey.values[i];
			ReleaseSysCache(itup);
		}
	}
	MemoryContextSwitchTo(old);
	info->valid = true;
	return info;
}

static Datum
value_text(RelAuditInfo *info, int i, Datum v)
{
	return CStringGetTextDatum(OutputFunctionCall(&info->out[i], v));
}

/* text[] of the primary key values of tup; sensitive key columns as NULL elements. */
static Datum
row_key(RelAuditInfo *info, HeapTuple tup, TupleDesc desc)
{
	Datum		d[INDEX_MAX_KEYS];
	bool		n[INDEX_MAX_KEYS];
	int			dims[1];
	int			lbs[1] = {1};
	int			k;

	for (k = 0; k < info->nkeys; k++)
	{
		int			i = info->keys[k] - 1;
		bool		isnull;
		Datum		v = heap_getattr(tup, i + 1, desc, &isnull);

		n[k] = isnull || info->sensitive[i];
		d[k] = n[k] ? (Datum) 0 : value_text(info, i, v);
	}
	dims[0] = info->nkeys;
	return PointerGetDatum(construct_md_array(d, n, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
}

static Datum
make_text_array(Datum *d, bool *n, int count)
{
	int			dims[1] = {count};
	int			lbs[1] = {1};

	if (count == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	return PointerGetDatum(construct_md_array(d, n, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
}

Datum
audit_row_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	RelAuditInfo *info;
	Datum		values[AUDIT_NATTS];
	bool		nulls[AUDIT_NATTS];
	Datum	   *cols;
	Datum	   *olds;
	Datum	   *news;
	bool	   *oldn;
	bool	   *newn;
	Datum	   *sens;
	int			ncols = 0;
	int			nsens = 0;
	int			i;
	HeapTuple	oldtup = NULL;
	HeapTuple	newtup = NULL;
	const char *kind;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ledger.audit_row_trigger must be an AFTER ... FOR EACH ROW trigger"),
				 errhint("Attach it with ledger.audit_table().")));

	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	info = get_rel_info(rel, td->tg_trigger);

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		kind = AUDIT_KIND_INSERT;
		newtup = td->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		kind = AUDIT_KIND_DELETE;
		oldtup = td->tg_trigtuple;
	}
	else
	{
		kind = AUDIT_KIND_UPDATE;
		oldtup = td->tg_trigtuple;
		newtup = td->tg_newtuple;
	}

	audit_fill_context(values, nulls);
	values[AA_KIND - 1] = CStringGetTextDatum(kind);
	nulls[AA_KIND - 1] = false;
	values[AA_RELATION_ID - 1] = ObjectIdGetDatum(RelationGetRelid(rel));
	nulls[AA_RELATION_ID - 1] = false;
	values[AA_RELATION_NAME - 1] = info->relation_name;
	nulls[AA_RELATION_NAME - 1] = false;
	if (info->nkeys > 0)
	{
		values[AA_ROW_KEY - 1] = row_key(info, newtup ? newtup : oldtup, desc);
		nulls[AA_ROW_KEY - 1] = false;
	}

	cols = palloc(sizeof(Datum) * info->natts);
	sens = palloc(sizeof(Datum) * info->natts);
	olds = palloc(sizeof(Datum) * info->natts);
	news = palloc(sizeof(Datum) * info->natts);
	oldn = palloc(sizeof(bool) * info->natts);
	newn = palloc(sizeof(bool) * info->natts);

	for (i = 0; i < info->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		on = true,
					nn = true;
		Datum		ov = (Datum) 0,
					nv = (Datum) 0;

		if (!info->live[i])
			continue;
		if (oldtup)
			ov = heap_getattr(oldtup, i + 1, desc, &on);
		if (newtup)
			nv = heap_getattr(newtup, i + 1, desc, &nn);
		if (oldtup && newtup)
		{
			/* An update records the columns whose stored image changed. */
			if (on && nn)
				continue;
			if (!on && !nn && datum_image_eq(ov, nv, att->attbyval, att->attlen))
				continue;
		}
		cols[ncols] = CStringGetTextDatum(NameStr(att->attname));
		if (info->sensitive[i])
		{
			sens[nsens++] = cols[ncols];
			on = nn = true;		/* withheld */
		}
		oldn[ncols] = on;
		newn[ncols] = nn;
		olds[ncols] = on ? (Datum) 0 : value_text(info, i, ov);
		news[ncols] = nn ? (Datum) 0 : value_text(info, i, nv);
		ncols++;
	}

	if (oldtup && newtup)
	{
		values[AA_COLUMNS - 1] = make_text_array(cols, NULL, ncols);
		values[AA_SENSITIVE_COLUMNS - 1] = make_text_array(sens, NULL, nsens);
	}
	else
	{
		values[AA_COLUMNS - 1] = info->all_columns;
		values[AA_SENSITIVE_COLUMNS - 1] = info->sensitive_columns ?
			info->sensitive_columns : make_text_array(NULL, NULL, 0);
	}
	nulls[AA_COLUMNS - 1] = false;
	nulls[AA_SENSITIVE_COLUMNS - 1] = false;
	if (oldtup)
	{
		values[AA_OLD_VALUES - 1] = make_text_array(olds, oldn, ncols);
		nulls[AA_OLD_VALUES - 1] = false;
	}
	if (newtup)
	{
		values[AA_NEW_VALUES - 1] = make_text_array(news, newn, ncols);
		nulls[AA_NEW_VALUES - 1] = false;
	}
	values[AA_ROW_COUNT - 1] = Int64GetDatum(1);
	nulls[AA_ROW_COUNT - 1] = false;

	audit_buffer_add(values, nulls);
	return PointerGetDatum(NULL);
}

Datum
audit_statement_trigger(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ledger.audit_statement_trigger must be called as a trigger"),
				 errhint("Attach it with ledger.audit_table().")));
	audit_buffer_flush();
	return PointerGetDatum(NULL);
}

Datum
audit_truncate_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Datum		values[AUDIT_NATTS];
	bool		nulls[AUDIT_NATTS];
	RelAuditInfo *info;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ledger.audit_truncate_trigger must be a TRUNCATE trigger"),
				 errhint("Attach it with ledger.audit_table().")));
	info = get_rel_info(td->tg_relation, td->tg_trigger);
	audit_fill_context(values, nulls);
	values[AA_KIND - 1] = CStringGetTextDatum(AUDIT_KIND_TRUNCATE);
	nulls[AA_KIND - 1] = false;
	values[AA_RELATION_ID - 1] = ObjectIdGetDatum(RelationGetRelid(td->tg_relation));
	nulls[AA_RELATION_ID - 1] = false;
	values[AA_RELATION_NAME - 1] = info->relation_name;
	nulls[AA_RELATION_NAME - 1] = false;
	audit_buffer_add(values, nulls);
	audit_buffer_flush();
	return PointerGetDatum(NULL);
}

/* ---------------------------------------------------------------------------------------
 * Attaching and detaching
 * ---------------------------------------------------------------------------------------
 */

static void
run_ddl(const char *sql)
{
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "SPI_execute failed: %s", sql);
}

static void
drop_audit_triggers(Oid relid, const char *qualified)
{
	const char *names[] = {AUDIT_ROW_TRIGGER, AUDIT_STMT_TRIGGER, AUDIT_TRUNCATE_TRIGGER};
	int			i;

	for (i = 0; i < lengthof(names); i++)
		if (OidIsValid(get_trigger_oid(relid, names[i], true)))
			run_ddl(psprintf("DROP TRIGGER %s ON %s", quote_identifier(names[i]), qualified));
}

/*
 * ledger.audit_table(tab regclass, sensitive_columns text[] DEFAULT '{}')
 * The caller must own the table.  Re-auditing replaces the triggers (with the new list of
 * sensitive columns); the number types are sensitive whatever the list says.
 */
Datum
audit_table(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ArrayType  *sens = PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1);
	char		relkind = get_rel_relkind(relid);
	char	   *qualified;
	StringInfoData args;
	Datum	   *elems = NULL;
	bool	   *enulls = NULL;
	int			nelems = 0;
	int			i;

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("only tables can be audited"),
				 errhint("Give a table or a partitioned table.")));
	if (get_rel_namespace(relid) == audit_trail_namespace() &&
		strncmp(get_rel_name(relid), "audit_", 6) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("the audit trail cannot audit itself"),
				 errhint("Its integrity is checked by ledger.verify_audit().")));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(relkind), get_rel_name(relid));

	qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										   get_rel_name(relid));
	initStringInfo(&args);
	if (sens != NULL)
		deconstruct_array(sens, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &nelems);
	for (i = 0; i < nelems; i++)
	{
		char	   *col;

		if (enulls[i])
			continue;
		col = TextDatumGetCString(elems[i]);
		if (get_attnum(relid, col) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation %s does not exist", col, qualified),
					 errhint("Name the sensitive columns as they are spelt in the table.")));
		appendStringInfo(&args, "%s%s", args.len ? ", " : "", quote_literal_cstr(col));
	}

	SPI_connect();
	audit_guard_bypass = true;
	PG_TRY();
	{
		drop_audit_triggers(relid, qualified);
		run_ddl(psprintf("CREATE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE ON %s "
						 "FOR EACH ROW EXECUTE FUNCTION ledger.audit_row_trigger(%s)",
						 AUDIT_ROW_TRIGGER, qualified, args.data));
		run_ddl(psprintf("CREATE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE ON %s "
						 "FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_statement_trigger()",
						 AUDIT_STMT_TRIGGER, qualified));
		run_ddl(psprintf("CREATE TRIGGER %s AFTER TRUNCATE ON %s "
						 "FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_truncate_trigger(%s)",
						 AUDIT_TRUNCATE_TRIGGER, qualified, args.data));
		run_ddl(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER %s, ENABLE ALWAYS TRIGGER %s, "
						 "ENABLE ALWAYS TRIGGER %s", qualified, AUDIT_ROW_TRIGGER,
						 AUDIT_STMT_TRIGGER, AUDIT_TRUNCATE_TRIGGER));
	}
	PG_FINALLY();
	{
		audit_guard_bypass = false;
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * ledger.unaudit_table(tab regclass): the only way to remove the audit triggers.  EXECUTE is
 * revoked from PUBLIC; the extension owner (a superuser) may call it.
 */
Datum
unaudit_table(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *qualified;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser can stop auditing a table"),
				 errhint("Ask the extension owner; the table's owner cannot remove its audit.")));
	qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										   get_rel_name(relid));
	SPI_connect();
	audit_guard_bypass = true;
	PG_TRY();
	{
		drop_audit_triggers(relid, qualified);
	}
	PG_FINALLY();
	{
		audit_guard_bypass = false;
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_VOID();
}
