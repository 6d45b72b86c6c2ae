/*
 * audit/trigger.c — the triggers that record every change to an audited table, and the
 * functions that attach and detach them.
 *
 * ledger.audit_table(tab) creates triggers on tab, all ENABLE ALWAYS (so they fire under
 * session_replication_role = replica too).  An ordinary table gets statement triggers that
 * read the statement's transition tables (cheapest per row):
 *   mnl_audit_insert / _update / _delete   AFTER ..., FOR EACH STATEMENT, REFERENCING ...
 * A partitioned table, whose partitions cannot have transition tables, gets a row trigger
 * (cloned to every partition, so rows inserted into a partition directly are recorded):
 *   mnl_audit_row        AFTER INSERT OR UPDATE OR DELETE, FOR EACH ROW: one record per row
 *   mnl_audit_statement  AFTER INSERT OR UPDATE OR DELETE, FOR EACH STATEMENT: writes them
 * and both get
 *   mnl_audit_truncate   AFTER TRUNCATE: one record per TRUNCATE
 * The records go into the trail in the same transaction as the change (audit/store.c), so a
 * committed change always has its record and a rolled-back one never does.
 *
 * Values of sensitive columns — the extension's number types (and domains over them) and
 * the columns named when the table was audited — are never written: the record lists the
 * column among sensitive_columns and leaves its value NULL.
 *
 * Must never: put the value of a sensitive column, key column included, into a record.
 */
#include "postgres.h"

#include "catalog/partition.h"
#include "catalog/pg_inherits.h"

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
#include "parser/parse_func.h"
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

#include "audit/audit.h"
#include "log_hygiene/log_hygiene.h"
#include "core/mynumber_ledger.h"

PG_FUNCTION_INFO_V1(audit_row_trigger);
PG_FUNCTION_INFO_V1(audit_statement_trigger);
PG_FUNCTION_INFO_V1(audit_transition_trigger);
PG_FUNCTION_INFO_V1(audit_truncate_trigger);
PG_FUNCTION_INFO_V1(audit_table);
PG_FUNCTION_INFO_V1(unaudit_table);

/* ---------------------------------------------------------------------------------------
 * Is a table audited?  (Its triggers call the trail's trigger functions.)
 * ---------------------------------------------------------------------------------------
 */

static Oid	row_trigger_fn = InvalidOid;
static Oid	transition_trigger_fn = InvalidOid;
static bool row_trigger_fn_valid = false;
static bool row_trigger_callback = false;

static void
reset_trigger_fn(Datum arg, int cacheid, uint32 hashvalue)
{
	row_trigger_fn_valid = false;
}

/*
 * The oid of ledger.audit_row_trigger() in this database, or InvalidOid when the extension
 * is not installed here; also looks up ledger.audit_transition_trigger().
 */
static Oid
audit_trigger_function(void)
{
	if (!row_trigger_callback)
	{
		CacheRegisterSyscacheCallback(PROCOID, reset_trigger_fn, (Datum) 0);
		row_trigger_callback = true;
	}
	if (!row_trigger_fn_valid)
	{
		row_trigger_fn = LookupFuncName(list_make2(makeString("ledger"), makeString("audit_row_trigger")),
										0, NULL, true);
		transition_trigger_fn = LookupFuncName(list_make2(makeString("ledger"),
														  makeString("audit_transition_trigger")),
											   0, NULL, true);
		row_trigger_fn_valid = true;
	}
	return row_trigger_fn;
}

bool
audit_is_audited_relation(Relation rel)
{
	Oid			fn;
	int			i;

	if (rel->trigdesc == NULL)
		return false;
	fn = audit_trigger_function();
	if (!OidIsValid(fn))
		return false;
	for (i = 0; i < rel->trigdesc->numtriggers; i++)
	{
		Oid			tgfoid = rel->trigdesc->triggers[i].tgfoid;

		if (tgfoid == fn || (OidIsValid(transition_trigger_fn) && tgfoid == transition_trigger_fn))
			return true;
	}
	return false;
}


/* A table of the audit trail itself (ledger.audit_*). */
bool
audit_is_trail_relation(Oid relid)
{
	Oid			nsp;
	char	   *name;

	if (!OidIsValid(relid))
		return false;
	nsp = get_rel_namespace(relid);
	if (!OidIsValid(nsp) || nsp != get_namespace_oid("ledger", true))
		return false;
	name = get_rel_name(relid);
	return name != NULL && strncmp(name, "audit_", 6) == 0;
}

/* Is the trail installed in this database (its trigger functions exist)? */
bool
audit_trail_installed(void)
{
	/*
	 * pg_upgrade's restore (binary-upgrade mode) recreates the schema with no writer, no
	 * staff and no data of its own: nothing is read or recorded there.
	 */
	if (IsBinaryUpgrade)
		return false;
	return OidIsValid(audit_trigger_function());
}

/* What the row trigger needs to know about a table, kept until its relcache entry changes. */
typedef struct RelAuditInfo
{
	Oid			relid;			/* hash key */
	bool		valid;
	int			natts;
	bool	   *live;			/* not dropped */
	bool	   *sensitive;
	FmgrInfo   *out;			/* output functions, live columns */
	char	  **colname;		/* live columns' names, masked */
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

/* One of the extension's number types, or a domain over one: never written into a record. */
bool
audit_is_number_type(Oid typid)
{
	Oid			base = getBaseType(typid);
	Oid			nsp = get_namespace_oid("ledger", true);
	const char *sensitive_types[] = {"mynumber", "corporate_number", "sealed_mynumber"};
	int			i;

	if (!OidIsValid(nsp))
		return false;			/* the extension is not in this database */

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

/* Is attnum a column of rel's primary key (its values are the row key, kept unless a number)? */
static bool
is_key_column(Relation rel, AttrNumber attnum)
{
	Oid			pk = mnl_primary_key_index(rel);
	HeapTuple	itup;
	bool		key = false;
	int			i;

	if (!OidIsValid(pk))
		return false;
	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));
	if (!HeapTupleIsValid(itup))
		return false;
	for (i = 0; i < ((Form_pg_index) GETSTRUCT(itup))->indnkeyatts; i++)
		if (((Form_pg_index) GETSTRUCT(itup))->indkey.values[i] == attnum)
			key = true;
	ReleaseSysCache(itup);
	return key;
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
	bool		withhold_all;

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
	info->colname = palloc0(sizeof(char *) * desc->natts);
	/* The arguments name the sensitive columns, or, after AUDIT_WITHHOLD_ALL, the kept ones. */
	withhold_all = trigger->tgnargs > 0 && strcmp(trigger->tgargs[0], AUDIT_WITHHOLD_ALL) == 0;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			a;
		Oid			outfn;
		bool		varlena;
		bool		named = false;

		if (att->attisdropped)
			continue;
		info->live[i] = true;
		for (a = withhold_all ? 1 : 0; a < trigger->tgnargs; a++)
			if (strcmp(trigger->tgargs[a], NameStr(att->attname)) == 0)
				named = true;
		info->sensitive[i] = audit_is_number_type(att->atttypid) ||
			(withhold_all ? !named && !is_key_column(rel, att->attnum) : named);
		getTypeOutputInfo(att->atttypid, &outfn, &varlena);
		fmgr_info_cxt(outfn, &info->out[i], info->cxt);
		/* names are the DBA's free text: what looks like a number is masked in the trail */
		info->colname[i] = MemoryContextStrdup(info->cxt, NameStr(att->attname));
		log_hygiene_mask(info->colname[i]);
		all = lappend(all, pstrdup(info->colname[i]));
		if (info->sensitive[i])
			sens = lappend(sens, pstrdup(info->colname[i]));
	}
	info->all_columns = names_array(all);
	info->sensitive_columns = sens == NIL ? (Datum) 0 : names_array(sens);
	info->relation_name = CStringGetTextDatum(audit_relation_name(RelationGetRelid(rel)));

	info->nkeys = 0;
	pk = mnl_primary_key_index(rel);
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

/* A value as the trail keeps it: free text (a name, a reason) may hold a number: masked. */
static Datum
value_text(RelAuditInfo *info, int i, Datum v)
{
	char	   *text = OutputFunctionCall(&info->out[i], v);

	log_hygiene_mask(text);
	return CStringGetTextDatum(text);
}

/* text[] of the primary key values of a row; sensitive key columns as NULL elements. */
static Datum
row_key(RelAuditInfo *info, Datum *v, bool *isnull)
{
	Datum		d[INDEX_MAX_KEYS];
	bool		n[INDEX_MAX_KEYS];
	int			dims[1];
	int			lbs[1] = {1};
	int			k;

	for (k = 0; k < info->nkeys; k++)
	{
		int			i = info->keys[k] - 1;

		n[k] = isnull[i] || info->sensitive[i];
		d[k] = n[k] ? (Datum) 0 : value_text(info, i, v[i]);
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

/*
 * Build and buffer the record of one changed row.  ov/on are the old row's values (NULL for
 * an insert), nv/nn the new row's (NULL for a delete), both in the table's column order.
 */
static void
record_row(Relation rel, RelAuditInfo *info, Datum *ov, bool *on, Datum *nv, bool *nn)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Datum		values[AUDIT_NATTS];
	bool		nulls[AUDIT_NATTS];
	Datum	   *cols = palloc(sizeof(Datum) * info->natts);
	Datum	   *sens = palloc(sizeof(Datum) * info->natts);
	Datum	   *olds = palloc(sizeof(Datum) * info->natts);
	Datum	   *news = palloc(sizeof(Datum) * info->natts);
	bool	   *oldn = palloc(sizeof(bool) * info->natts);
	bool	   *newn = palloc(sizeof(bool) * info->natts);
	bool		is_update = ov != NULL && nv != NULL;
	int			ncols = 0;
	int			nsens = 0;
	int			i;

	audit_fill_context(values, nulls);
	values[AA_KIND - 1] = CStringGetTextDatum(is_update ? AUDIT_KIND_UPDATE :
											  nv ? AUDIT_KIND_INSERT : AUDIT_KIND_DELETE);
	nulls[AA_KIND - 1] = false;
	values[AA_RELATION_ID - 1] = ObjectIdGetDatum(RelationGetRelid(rel));
	nulls[AA_RELATION_ID - 1] = false;
	values[AA_RELATION_NAME - 1] = info->relation_name;
	nulls[AA_RELATION_NAME - 1] = false;
	if (info->nkeys > 0)
	{
		values[AA_ROW_KEY - 1] = nv ? row_key(info, nv, nn) : row_key(info, ov, on);
		nulls[AA_ROW_KEY - 1] = false;
	}

	for (i = 0; i < info->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		onull = ov ? on[i] : true;
		bool		nnull = nv ? nn[i] : true;

		if (!info->live[i])
			continue;
		if (is_update)
		{
			/* An update records the columns whose stored image changed. */
			if (onull && nnull)
				continue;
			if (!onull && !nnull && datum_image_eq(ov[i], nv[i], att->attbyval, att->attlen))
				continue;
		}
		cols[ncols] = CStringGetTextDatum(info->colname[i]);
		if (info->sensitive[i])
		{
			sens[nsens++] = cols[ncols];
			onull = nnull = true;	/* withheld */
		}
		oldn[ncols] = onull;
		newn[ncols] = nnull;
		olds[ncols] = onull ? (Datum) 0 : value_text(info, i, ov[i]);
		news[ncols] = nnull ? (Datum) 0 : value_text(info, i, nv[i]);
		ncols++;
	}

	if (is_update)
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
	if (ov)
	{
		values[AA_OLD_VALUES - 1] = make_text_array(olds, oldn, ncols);
		nulls[AA_OLD_VALUES - 1] = false;
	}
	if (nv)
	{
		values[AA_NEW_VALUES - 1] = make_text_array(news, newn, ncols);
		nulls[AA_NEW_VALUES - 1] = false;
	}
	values[AA_ROW_COUNT - 1] = Int64GetDatum(1);
	nulls[AA_ROW_COUNT - 1] = false;

	audit_buffer_add(values, nulls);
}

static void
require_trigger(FunctionCallInfo fcinfo, bool ok, const char *name, const char *what)
{
	if (!CALLED_AS_TRIGGER(fcinfo) || !ok)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s must be %s", name, mnl_gettext(what)),
				 errhint("Attach it with ledger.audit_table().")));
}

/*
 * Row path, for partitioned tables (whose partitions cannot have transition tables): one
 * AFTER ROW trigger, cloned to every partition.
 */
Datum
audit_row_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	RelAuditInfo *info;
	Datum	   *ov = NULL,
			   *nv = NULL;
	bool	   *on = NULL,
			   *nn = NULL;

	require_trigger(fcinfo, CALLED_AS_TRIGGER(fcinfo) && TRIGGER_FIRED_AFTER(td->tg_event) &&
					TRIGGER_FIRED_FOR_ROW(td->tg_event),
					"ledger.audit_row_trigger", "an AFTER ... FOR EACH ROW trigger");
	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	info = get_rel_info(rel, td->tg_trigger);

	if (!TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		ov = palloc(sizeof(Datum) * desc->natts);
		on = palloc(sizeof(bool) * desc->natts);
		heap_deform_tuple(td->tg_trigtuple, desc, ov, on);
	}
	if (!TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		HeapTuple	newtup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;

		nv = palloc(sizeof(Datum) * desc->natts);
		nn = palloc(sizeof(bool) * desc->natts);
		heap_deform_tuple(newtup, desc, nv, nn);
	}
	record_row(rel, info, ov, on, nv, nn);
	return PointerGetDatum(NULL);
}

/* Row path: writes the statement's records (AFTER ... FOR EACH STATEMENT). */
Datum
audit_statement_trigger(PG_FUNCTION_ARGS)
{
	require_trigger(fcinfo, true, "ledger.audit_statement_trigger", "a trigger");
	audit_buffer_flush();
	return PointerGetDatum(NULL);
}

/* Per-row scratch memory, reset after every row (kept for the session). */
static MemoryContext row_context = NULL;

/*
 * Statement path, for ordinary tables: one AFTER ... FOR EACH STATEMENT trigger per event,
 * reading the statement's transition tables (old and new rows are in matching order for an
 * UPDATE).  No per-row trigger call, no per-row event in the after-trigger queue.
 */
Datum
audit_transition_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	RelAuditInfo *info;
	TupleTableSlot *oslot = NULL;
	TupleTableSlot *nslot = NULL;
	MemoryContext rowcxt;
	MemoryContext old;

	require_trigger(fcinfo, CALLED_AS_TRIGGER(fcinfo) && TRIGGER_FIRED_AFTER(td->tg_event) &&
					TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) &&
					(td->tg_oldtable != NULL || td->tg_newtable != NULL),
					"ledger.audit_transition_trigger",
					"an AFTER ... FOR EACH STATEMENT trigger with transition tables");
	rel = td->tg_relation;
	info = get_rel_info(rel, td->tg_trigger);
	if (td->tg_oldtable)
	{
		oslot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
		tuplestore_rescan(td->tg_oldtable);
	}
	if (td->tg_newtable)
	{
		nslot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
		tuplestore_rescan(td->tg_newtable);
	}
	if (row_context == NULL)
		row_context = AllocSetContextCreate(TopMemoryContext, "mynumber_ledger audit row",
											ALLOCSET_DEFAULT_SIZES);
	rowcxt = row_context;
	for (;;)
	{
		bool		have_old = oslot && tuplestore_gettupleslot(td->tg_oldtable, true, false, oslot);
		bool		have_new = nslot && tuplestore_gettupleslot(td->tg_newtable, true, false, nslot);

		if (!have_old && !have_new)
			break;
		if ((oslot && !have_old) || (nslot && !have_new))
			elog(ERROR, "transition tables of an UPDATE differ in length");
		old = MemoryContextSwitchTo(rowcxt);
		if (have_old)
			slot_getallattrs(oslot);
		if (have_new)
			slot_getallattrs(nslot);
		record_row(rel, info,
				   have_old ? oslot->tts_values : NULL, have_old ? oslot->tts_isnull : NULL,
				   have_new ? nslot->tts_values : NULL, have_new ? nslot->tts_isnull : NULL);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}
	MemoryContextReset(rowcxt);
	if (oslot)
		ExecDropSingleTupleTableSlot(oslot);
	if (nslot)
		ExecDropSingleTupleTableSlot(nslot);
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

	require_trigger(fcinfo, CALLED_AS_TRIGGER(fcinfo) && TRIGGER_FIRED_BY_TRUNCATE(td->tg_event),
					"ledger.audit_truncate_trigger", "a TRUNCATE trigger");
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

/*
 * A record of a change to an audited table's definition, kind (drop, alter) with detail
 * (masked: names are the DBA's free text), for the table relid: written in the changing
 * transaction, like a row record, so it is there exactly when the change committed.  Called
 * by the guard (guard/objects.c, guard/utility.c) while the relation still exists.
 */
void
audit_record_ddl(Oid relid, const char *kind, const char *detail)
{
	Datum		values[AUDIT_NATTS];
	bool		nulls[AUDIT_NATTS];
	char	   *name = audit_relation_name(relid);
	char	   *masked = pstrdup(detail);

	log_hygiene_mask(masked);
	audit_fill_context(values, nulls);
	values[AA_KIND - 1] = CStringGetTextDatum(kind);
	nulls[AA_KIND - 1] = false;
	values[AA_RELATION_ID - 1] = ObjectIdGetDatum(relid);
	nulls[AA_RELATION_ID - 1] = false;
	values[AA_RELATION_NAME - 1] = CStringGetTextDatum(name);
	nulls[AA_RELATION_NAME - 1] = false;
	values[AA_DETAIL - 1] = CStringGetTextDatum(masked);
	nulls[AA_DETAIL - 1] = false;
	audit_buffer_add(values, nulls);
	audit_buffer_flush();
}

/* An audited table (subid 0) or one of its columns dropped. */
void
audit_record_drop(Oid relid, int subid)
{
	char	   *column;

	if (subid == 0)
	{
		audit_record_ddl(relid, AUDIT_KIND_DROP, "table dropped");
		return;
	}
	column = get_attname(relid, (AttrNumber) subid, true);
	audit_record_ddl(relid, AUDIT_KIND_DROP, psprintf("column %s dropped", column ? column : "?"));
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

static const char *const audit_trigger_names[] = {
	AUDIT_INSERT_TRIGGER, AUDIT_UPDATE_TRIGGER, AUDIT_DELETE_TRIGGER,
	AUDIT_ROW_TRIGGER, AUDIT_STMT_TRIGGER, AUDIT_TRUNCATE_TRIGGER
};

static void
drop_audit_triggers(Oid relid, const char *qualified)
{
	int			i;

	for (i = 0; i < lengthof(audit_trigger_names); i++)
		if (OidIsValid(get_trigger_oid(relid, audit_trigger_names[i], true)))
			run_ddl(psprintf("DROP TRIGGER %s ON %s", quote_identifier(audit_trigger_names[i]), qualified));
}

static void
create_trigger(const char *name, const char *when, const char *qualified, const char *rest)
{
	run_ddl(psprintf("CREATE TRIGGER %s %s ON %s %s", name, when, qualified, rest));
	run_ddl(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER %s", qualified, name));
}

/* The table argument (the first) of audit_table and unaudit_table: not NULL, a table. */
static Oid
table_arg(FunctionCallInfo fcinfo)
{
	Oid			relid;
	char		relkind;

	mnl_require_arg(fcinfo, 0, "tab");
	relid = PG_GETARG_OID(0);
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("only tables can be audited"),
				 errhint("Give a table or a partitioned table.")));
	return relid;
}

/* Append the column names of a text[] to args as quoted trigger arguments, each checked. */
static void
append_columns(StringInfo args, ArrayType *cols, Oid relid, const char *qualified)
{
	Datum	   *elems = NULL;
	bool	   *enulls = NULL;
	int			nelems = 0;
	int			i;

	if (cols == NULL)
		return;
	deconstruct_array(cols, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &nelems);
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
					 errhint("Name the columns as they are spelt in the table.")));
		appendStringInfo(args, "%s%s", args->len ? ", " : "", quote_literal_cstr(col));
	}
}

/*
 * ledger.audit_table(tab regclass, sensitive_columns text[] DEFAULT '{}',
 *                    keep_columns text[] DEFAULT NULL)
 * The caller must own the table.  Re-auditing replaces the triggers (with the new list of
 * sensitive columns); the number types are sensitive whatever the list says.  With
 * keep_columns (protect_table passes it), every value is withheld but those of the key
 * columns and the columns named there.
 */
Datum
audit_table(PG_FUNCTION_ARGS)
{
	Oid			relid;
	ArrayType  *sens = PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *keep = PG_NARGS() > 2 && !PG_ARGISNULL(2) ? PG_GETARG_ARRAYTYPE_P(2) : NULL;
	char		relkind;
	char	   *qualified;
	StringInfoData args;
	StringInfoData unused;

	relid = table_arg(fcinfo);
	relkind = get_rel_relkind(relid);
	if (audit_is_trail_relation(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("the audit trail cannot audit itself"),
				 errhint("Its integrity is checked by ledger.verify_audit().")));
	if (!mnl_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(relkind), get_rel_name(relid));

	/*
	 * A protected table's audit is set by ledger.protect_table (every value withheld but the
	 * keys and the columns named then): its owner may not later have staff's values kept in
	 * the trail that auditors read.
	 */
	if (!superuser() && !mnl_guard_bypass && mnl_is_protected_relid(relid))
		audit_refuse(relid, "audit_table refused: a protected table", AUDIT_MUST_RECORD,
					 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					  errmsg("permission denied: the audit of a protected table is set by ledger.protect_table"),
					  errhint("The columns safe to keep are named when the table is protected (keep_columns); a superuser can change them.")));

	/* an unlogged table is emptied by a crash or a failover, with no record of the loss */
	if (get_rel_persistence(relid) == RELPERSISTENCE_UNLOGGED)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s cannot be audited: it is unlogged", get_rel_name(relid)),
				 errhint("A crash or a failover would empty it with no record; ALTER TABLE ... SET LOGGED first.")));

	/*
	 * A partition or inheritance child of a table that is not audited: its rows are read and
	 * changed through that parent, whose statements fire none of the child's statement
	 * triggers, with no record.  Audit the parent (its partitions get the row trigger).
	 */
	{
		List	   *parents = get_partition_ancestors(relid);
		ListCell   *lc;
		bool		unaudited_parent = false;

		if (parents == NIL && has_superclass(relid))
			unaudited_parent = true;	/* inheritance: only a partition's parent is audited through */
		foreach(lc, parents)
		{
			if (!mnl_relation_test(lfirst_oid(lc), audit_is_audited_relation))
				unaudited_parent = true;
		}
		if (unaudited_parent)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table %s cannot be audited on its own: it is an inheritance child, or a partition of a table that is not audited",
							get_rel_name(relid)),
					 errhint("Writes and reads through the parent would leave no record; audit the partitioned parent "
							 "(ledger.audit_table on it gives every partition its row trigger).")));
	}

	qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										   get_rel_name(relid));
	initStringInfo(&args);
	if (keep != NULL)
	{
		/* everything withheld but the keys and the kept columns; the sensitive list is moot */
		initStringInfo(&unused);
		append_columns(&unused, sens, relid, qualified);
		appendStringInfoString(&args, quote_literal_cstr(AUDIT_WITHHOLD_ALL));
		append_columns(&args, keep, relid, qualified);
	}
	else
		append_columns(&args, sens, relid, qualified);

	SPI_connect();
	GUARD_BYPASS_BEGIN;
	{
		drop_audit_triggers(relid, qualified);
		if (relkind == RELKIND_PARTITIONED_TABLE)
		{
			/* Partitions cannot have transition tables: a row trigger, cloned to each. */
			create_trigger(AUDIT_ROW_TRIGGER, "AFTER INSERT OR UPDATE OR DELETE", qualified,
						   psprintf("FOR EACH ROW EXECUTE FUNCTION ledger.audit_row_trigger(%s)", args.data));
			create_trigger(AUDIT_STMT_TRIGGER, "AFTER INSERT OR UPDATE OR DELETE", qualified,
						   "FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_statement_trigger()");
		}
		else
		{
			create_trigger(AUDIT_INSERT_TRIGGER, "AFTER INSERT", qualified,
						   psprintf("REFERENCING NEW TABLE AS mnl_new FOR EACH STATEMENT "
									"EXECUTE FUNCTION ledger.audit_transition_trigger(%s)", args.data));
			create_trigger(AUDIT_UPDATE_TRIGGER, "AFTER UPDATE", qualified,
						   psprintf("REFERENCING OLD TABLE AS mnl_old NEW TABLE AS mnl_new FOR EACH STATEMENT "
									"EXECUTE FUNCTION ledger.audit_transition_trigger(%s)", args.data));
			create_trigger(AUDIT_DELETE_TRIGGER, "AFTER DELETE", qualified,
						   psprintf("REFERENCING OLD TABLE AS mnl_old FOR EACH STATEMENT "
									"EXECUTE FUNCTION ledger.audit_transition_trigger(%s)", args.data));
		}
		create_trigger(AUDIT_TRUNCATE_TRIGGER, "AFTER TRUNCATE", qualified,
					   psprintf("FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_truncate_trigger(%s)", args.data));
	}
	GUARD_BYPASS_END;
	SPI_finish();
	/* auditing started, or its columns changed (what a record keeps): on the record */
	audit_record_ddl(relid, AUDIT_KIND_ALTER, "ledger.audit_table: audited (sensitive and kept columns as given)");
	PG_RETURN_VOID();
}

/*
 * ledger.unaudit_table(tab regclass): the only way to remove the audit triggers.  EXECUTE is
 * revoked from PUBLIC; the extension owner (a superuser) may call it.
 */
Datum
unaudit_table(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *qualified;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser can stop auditing a table"),
				 errhint("Ask the extension owner; the table's owner cannot remove its audit.")));
	relid = table_arg(fcinfo);
	qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										   get_rel_name(relid));
	/* the last record of an audited table: its auditing ends here (in this transaction) */
	audit_record_ddl(relid, AUDIT_KIND_ALTER, "ledger.unaudit_table: auditing removed");
	SPI_connect();
	GUARD_BYPASS_BEGIN;
	{
		drop_audit_triggers(relid, qualified);
	}
	GUARD_BYPASS_END;
	SPI_finish();
	PG_RETURN_VOID();
}
