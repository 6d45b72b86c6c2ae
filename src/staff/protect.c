/*
 * protect.c — ledger.protect_table(): the extension's row-level security and audit on a
 * table, the same as on the ledger's own tables.
 *
 * A protected table has
 *   - row-level security ENABLEd and FORCEd (its owner is subject to it too);
 *   - four policies named mnl_rls_*: rows are visible to roles with the read action for the
 *     row's org unit, writable by roles with write; a written row whose org unit the role may
 *     not write is refused with an error that is recorded (ledger.must);
 *   - statement triggers mnl_rls_hold_delete (AFTER DELETE, over the deleted rows),
 *     mnl_rls_hold_update (AFTER UPDATE) and mnl_rls_hold_truncate (BEFORE TRUNCATE) that
 *     refuse to remove a row a legal hold names, or move it out from under the hold, by any
 *     road (ledger._hold_guard, staff.sql);
 *   - a statement trigger mnl_rls_write_gate that refuses, with an error and an audit event,
 *     any INSERT, UPDATE or DELETE by a role without the write action for the affair;
 *   - a row trigger mnl_rls_no_number (BEFORE INSERT OR UPDATE) that refuses a valid My
 *     Number in clear in any column (staff/no_number.c);
 *   - the audit triggers of ledger.audit_table().
 * The guard (guard/utility.c) keeps a non-superuser, the table's owner included, from
 * weakening any of this afterwards.
 *
 * Must never: build SQL from a name without quoting it.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "access/relation.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "nodes/readfuncs.h"
#include "optimizer/optimizer.h"
#include "utils/fmgroids.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "rewrite/rowsecurity.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/varlena.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "audit/audit.h"
#include "core/mynumber_ledger.h"

PG_FUNCTION_INFO_V1(protect_table);
PG_FUNCTION_INFO_V1(protect_update);

static void
run(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "protect_table: \"%s\" failed: %s", sql, SPI_result_code_string(rc));
}

/*
 * A table a non-superuser asks to protect must not already hold anything of its owner's that
 * sees every row or could be redefined later to do so: policies, triggers, rules, CHECK
 * constraints, generated columns, expression or partial indexes, extended statistics, column
 * types the owner controls, inheritance, a foreign key to a table the owner changes freely.
 * (A superuser's table is trusted as it is.)  The extension's own triggers (an audited table's)
 * are known by their function, one of the ledger's, and have no WHEN: never by their name,
 * which a DBA could give its own.
 */
static bool defaults_run_code(Oid relid);

/* What refuse_unsafe_table's query finds, by its number there. */
static const char *const unsafe_reasons[] = {
	mnl_gettext_noop("it has row-level security policies"),
	mnl_gettext_noop("it has triggers"),
	mnl_gettext_noop("it has rules"),
	mnl_gettext_noop("it has CHECK constraints"),
	mnl_gettext_noop("it has generated columns"),
	mnl_gettext_noop("it has expression or partial indexes"),
	mnl_gettext_noop("a column's type is not owned by a superuser"),
	mnl_gettext_noop("it is unlogged (a crash or a failover empties it, with no record)"),
	mnl_gettext_noop("it inherits or is inherited"),
	mnl_gettext_noop("it is a typed table (OF a composite type, which ALTER TYPE ... CASCADE changes)"),
	mnl_gettext_noop("another table's foreign key references it"),
	mnl_gettext_noop("its foreign key references a table that is not protected (a change there checks the key against every row of this one, past its policies, and the error names the row's values)"),
	mnl_gettext_noop("it has extended statistics (ANALYZE, autovacuum's too, evaluates them over every row)"),
	mnl_gettext_noop("a column default uses an operator of a non-superuser"),
	mnl_gettext_noop("a column default calls a function of a non-superuser or of the ledger"),
	mnl_gettext_noop("a column default uses a type not owned by a superuser"),
	mnl_gettext_noop("its foreign key to itself cascades or sets values (ON DELETE or ON UPDATE CASCADE, SET NULL, SET DEFAULT): PostgreSQL would change rows of every org unit past the policies"),
};

static void
refuse_unsafe_table(Oid relid)
{
	const char *why = NULL;

	SPI_connect();
	if (SPI_execute_with_args(
			"SELECT r FROM (VALUES "
			" (1, EXISTS (SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid = $1)),"
			" (2, EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND NOT tgisinternal           "
			"                  AND NOT (tgqual IS NULL AND tgfoid IN (SELECT p.oid FROM pg_catalog.pg_proc p"
			"                  WHERE p.pronamespace = 'ledger'::pg_catalog.regnamespace)))),"
			" (3, EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite WHERE ev_class = $1)),"
			" (4, EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype IN ('c', 'x'))),"
			" (5, EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attgenerated <> '')),"
			" (6, EXISTS (SELECT 1 FROM pg_catalog.pg_index WHERE indrelid = $1                                 "
			"                 AND (indexprs IS NOT NULL OR indpred IS NOT NULL))),"
			" (7, EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a     JOIN pg_catalog.pg_type t ON t.oid ="
			" a.atttypid JOIN pg_catalog.pg_roles o ON o.oid = t.typowner     WHERE a.attrelid = $1 AND a.attnum"
			" > 0 AND NOT a.attisdropped AND NOT o.rolsuper)),"
			" (8, EXISTS (SELECT 1 FROM pg_catalog.pg_class     WHERE oid = $1 AND relpersistence = 'u')),"
			" (9, EXISTS (SELECT 1 FROM pg_catalog.pg_inherits WHERE inhrelid = $1 OR inhparent = $1)),"
			" (10,     EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE oid = $1 AND reloftype <> 0)),"
			" (11, EXISTS (SELECT 1 FROM pg_catalog.pg_constraint     WHERE confrelid = $1 AND contype = 'f' AND"
			" conrelid <> $1)),"
			" (12, EXISTS (     SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conrelid = $1 AND c.contype ="
			" 'f' AND c.confrelid <> $1      AND c.confrelid NOT IN (SELECT oid FROM pg_catalog.pg_class WHERE"
			" relnamespace = 'ledger'::pg_catalog.regnamespace)      AND NOT EXISTS (SELECT 1 FROM"
			" pg_catalog.pg_policy p WHERE p.polrelid = c.confrelid AND p.polname = 'mnl_rls_select'))),"
			" (13,     EXISTS (SELECT 1 FROM pg_catalog.pg_statistic_ext WHERE stxrelid = $1)),"
			" (14, EXISTS (     SELECT 1 FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_depend dep       ON"
			" dep.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND dep.objid = d.oid      AND"
			" dep.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass     JOIN pg_catalog.pg_operator op"
			" ON op.oid = dep.refobjid JOIN pg_catalog.pg_roles o ON o.oid = op.oprowner     WHERE d.adrelid ="
			" $1 AND NOT o.rolsuper)),"
			" (15, EXISTS (     SELECT 1 FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_depend dep       ON"
			" dep.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND dep.objid = d.oid      AND"
			" dep.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass     JOIN pg_catalog.pg_proc p ON p.oid"
			" = dep.refobjid JOIN pg_catalog.pg_roles o ON o.oid = p.proowner     WHERE d.adrelid = $1 AND (NOT"
			" o.rolsuper OR p.pronamespace = 'ledger'::pg_catalog.regnamespace))),"
			" (16, EXISTS (     SELECT 1 FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_depend dep       ON"
			" dep.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND dep.objid = d.oid      AND"
			" dep.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass     JOIN pg_catalog.pg_type t ON t.oid"
			" = dep.refobjid JOIN pg_catalog.pg_roles o ON o.oid = t.typowner     WHERE d.adrelid = $1 AND NOT"
			" o.rolsuper)),"
			" (17, EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND confrelid = $1"
			" AND contype = 'f' AND (confdeltype NOT IN ('a', 'r') OR confupdtype NOT IN ('a', 'r'))))"
			") v(r, bad) WHERE bad LIMIT 1",
			1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)}, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		bool		isnull;
		int32		n = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		if (isnull || n < 1 || n > (int32) lengthof(unsafe_reasons))
			elog(ERROR, "protect_table: unexpected reason %d", n);
		why = unsafe_reasons[n - 1];
	}
	SPI_finish();
	if (why == NULL && defaults_run_code(relid))
		why = mnl_gettext_noop("a column default calls a function that could read tables (only PostgreSQL's immutable functions, sequences and clocks may be called)");
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s cannot be protected: %s", get_rel_name(relid), mnl_gettext(why)),
				 errhint("Protect a plain table (columns of built-in or extension types, plain indexes), or ask a superuser.")));
}

/*
 * May a column default of a protected table call fn?  It runs as each inserting staff member,
 * with their sight: only a function that cannot read anything (an immutable one of
 * PostgreSQL's) or one of the few that read nothing of the tables (sequences, clocks, random
 * values).  PostgreSQL's own functions that run SQL given as text (query_to_xml and its
 * family, ts_stat) are stable, not immutable: they are refused here.  Pinned system functions
 * leave no pg_depend row, so the expression itself is read.
 */
static bool
default_function_unsafe(Oid fn, void *context)
{
	if (mnl_function_carries_nothing(fn))
		return false;
	return get_func_namespace(fn) != PG_CATALOG_NAMESPACE || func_volatile(fn) != PROVOLATILE_IMMUTABLE;
}

static bool
default_unsafe_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, default_function_unsafe, context))
		return true;
	/* a sub-select in a default is refused by PostgreSQL; nothing else to look into */
	return expression_tree_walker(node, default_unsafe_walker, context);
}

/* Does a column default of relid call a function a staff member's insert must not run? */
static bool
defaults_run_code(Oid relid)
{
	bool		unsafe = false;
	uint64		i;

	SPI_connect();
	if (SPI_execute_with_args("SELECT adbin FROM pg_catalog.pg_attrdef WHERE adrelid = $1",
							  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)}, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the column defaults");
	for (i = 0; i < SPI_processed && !unsafe; i++)
	{
		char	   *adbin = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		if (adbin != NULL)
			unsafe = default_unsafe_walker(stringToNode(adbin), NULL);
	}
	SPI_finish();
	return unsafe;
}

typedef struct AffairLookup
{
	const char *affair;
	bool		found;
} AffairLookup;

/* Is the affair registered?  (Read as the owner: the caller need not see ledger.affair.) */
static void
affair_lookup(void *arg)
{
	AffairLookup *l = arg;

	l->found = SPI_execute_with_args("SELECT 1 FROM ledger.affair WHERE affair_code = $1", 1,
									 (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(l->affair)},
									 NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1;
}

/*
 * The hold guard's arguments for a table, as SQL literals: the key a record hold names (the
 * last column of the primary key, when it is an integer), the person column (person_id) and
 * the recipient column (recipient_id), each '' when the table has none.
 */
static char *
hold_guard_args(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	Oid			pk = mnl_primary_key_index(rel);
	const char *key = "";
	const char *person = get_attnum(relid, "person_id") != InvalidAttrNumber ? "person_id" : "";
	const char *recipient = get_attnum(relid, "recipient_id") != InvalidAttrNumber &&
		strcmp(get_rel_name(relid), "recipient") != 0 ? "recipient_id" : "";

	if (OidIsValid(pk))
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));

		if (HeapTupleIsValid(tup))
		{
			Form_pg_index idx = (Form_pg_index) GETSTRUCT(tup);
			AttrNumber	last = idx->indkey.values[idx->indnkeyatts - 1];
			Oid			type = last > 0 ? get_atttype(relid, last) : InvalidOid;

			if (type == INT8OID || type == INT4OID)
				key = get_attname(relid, last, false);
			ReleaseSysCache(tup);
		}
	}
	RelationClose(rel);
	return psprintf("%s, %s, %s", quote_literal_cstr(key), quote_literal_cstr(person),
					quote_literal_cstr(recipient));
}

/*
 * The legal-hold guard's triggers on a protected table (inside the guard's bypass, SPI
 * connected).
 */
static void
attach_hold_guard(Oid relid, const char *qualified)
{
	char	   *hold_args = hold_guard_args(relid);

	run(psprintf("CREATE TRIGGER " PROTECT_HOLD_DELETE " AFTER DELETE ON %s REFERENCING OLD TABLE AS mnl_old "
				 "FOR EACH STATEMENT EXECUTE FUNCTION ledger._hold_guard(%s)", qualified, hold_args));
	run(psprintf("CREATE TRIGGER " PROTECT_HOLD_UPDATE " AFTER UPDATE ON %s "
				 "REFERENCING OLD TABLE AS mnl_old NEW TABLE AS mnl_new "
				 "FOR EACH STATEMENT EXECUTE FUNCTION ledger._hold_guard(%s)", qualified, hold_args));
	run(psprintf("CREATE TRIGGER " PROTECT_HOLD_TRUNCATE " BEFORE TRUNCATE ON %s "
				 "FOR EACH STATEMENT EXECUTE FUNCTION ledger._hold_guard(%s)", qualified, hold_args));
	run(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER " PROTECT_HOLD_DELETE ", "
				 "ENABLE ALWAYS TRIGGER " PROTECT_HOLD_UPDATE ", "
				 "ENABLE ALWAYS TRIGGER " PROTECT_HOLD_TRUNCATE, qualified));
}

/* The row trigger that refuses a My Number in clear in any column (staff/no_number.c). */
static void
attach_no_number(const char *qualified)
{
	run(psprintf("CREATE TRIGGER " PROTECT_NO_NUMBER " BEFORE INSERT OR UPDATE ON %s "
				 "FOR EACH ROW EXECUTE FUNCTION ledger._no_number_in_row()", qualified));
	run(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER " PROTECT_NO_NUMBER, qualified));
}

/* keep_columns (NULL: none) and the org unit column: what a protected table's trail keeps. */
static Datum
keep_with_org(ArrayType *keep_columns, const char *org)
{
	Datum	   *elems = NULL;
	bool	   *enulls = NULL;
	int			n = 0;
	Datum	   *with_org;

	if (keep_columns != NULL)
		deconstruct_array(keep_columns, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
	with_org = palloc(sizeof(Datum) * (n + 1));
	for (int i = 0; i < n; i++)
		with_org[i] = enulls[i] ? CStringGetTextDatum("") : elems[i];
	with_org[n] = CStringGetTextDatum(org);
	return PointerGetDatum(construct_array(with_org, n + 1, TEXTOID, -1, false, TYPALIGN_INT));
}

/* The org unit column of a protected table: the one its read policy compares. */
static char *
protected_org_column(Oid relid)
{
	char	   *column = NULL;
	int			n;

	SPI_connect();
	n = SPI_execute_with_args("SELECT polqual FROM pg_catalog.pg_policy WHERE polrelid = $1 AND polname = 'mnl_rls_select'",
							  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)}, NULL, true, 1);
	if (n == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *qual = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		Bitmapset  *attrs = NULL;
		int			x;

		if (qual != NULL)
			pull_varattnos(stringToNode(qual), 1, &attrs);
		if (bms_get_singleton_member(attrs, &x))
			column = MemoryContextStrdup(TopTransactionContext,
										 get_attname(relid, x + FirstLowInvalidHeapAttributeNumber, false));
	}
	SPI_finish();
	if (column == NULL)
		elog(ERROR, "protected table %u has no org unit column in its read policy", relid);
	return column;
}

/*
 * ledger._protect_update(tab regclass, keep_columns text[] DEFAULT NULL): the update from
 * 0.1.0 gives a table protected before it what protect_table gives a table since 0.2.0:
 * the legal-hold guard, and an audit that keeps no value but the keys, the org unit and
 * keep_columns.  Only while the extension's own script runs (ALTER EXTENSION ... UPDATE).
 */
Datum
protect_update(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Relation	rel;
	bool		protected;
	char	   *qualified;
	char	   *org;
	Datum		keep;

	if (!creating_extension || CurrentExtensionObject != get_extension_oid(MNL_EXTENSION_NAME, true))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("ledger._protect_update runs only in the extension's update script"),
				 errhint("Run ALTER EXTENSION mynumber_ledger UPDATE; ledger.protect_table protects a new table.")));
	mnl_require_arg(fcinfo, 0, "tab");
	relid = PG_GETARG_OID(0);
	rel = RelationIdGetRelation(relid);
	if (!RelationIsValid(rel))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("no table with this oid"),
				 errhint("Give a protected table (ledger.protected_tables).")));
	protected = mnl_is_protected(rel);
	RelationClose(rel);
	if (!protected)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table \"%s\" is not protected", get_rel_name(relid)),
				 errhint("Give a protected table (ledger.protected_tables).")));
	qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										   get_rel_name(relid));
	org = protected_org_column(relid);
	keep = keep_with_org(PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1), org);
	SPI_connect();
	GUARD_BYPASS_BEGIN;
	{
		if (!OidIsValid(get_trigger_oid(relid, PROTECT_HOLD_DELETE, true)))
			attach_hold_guard(relid, qualified);
		if (!OidIsValid(get_trigger_oid(relid, PROTECT_NO_NUMBER, true)))
			attach_no_number(qualified);
		if (SPI_execute_with_args("SELECT ledger.audit_table($1, NULL, $2)", 2,
								  (Oid[]) {REGCLASSOID, TEXTARRAYOID},
								  (Datum[]) {ObjectIdGetDatum(relid), keep},
								  NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "audit_table failed");
	}
	GUARD_BYPASS_END;
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * ledger.protect_table(tab regclass, org_column name, affair text DEFAULT 'child_allowance',
 *                      sensitive_columns text[] DEFAULT NULL, keep_columns text[] DEFAULT NULL)
 * The caller must own the table.
 */
Datum
protect_table(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *column;
	char	   *affair;
	char		relkind;
	AttrNumber	attnum;
	char	   *qualified;
	char	   *col;
	char	   *aff;
	char	   *reg;
	Relation	rel;
	bool		already;
	AttrNumber	keys[INDEX_MAX_KEYS];
	int			nkeys;
	AffairLookup lookup;
	bool		sql_current;	/* the SQL objects of 0.2.0 (not a database not yet updated) */

	mnl_require_arg(fcinfo, 0, "tab");
	mnl_require_arg(fcinfo, 1, "org_column");
	mnl_require_arg(fcinfo, 2, "affair");
	relid = PG_GETARG_OID(0);
	column = NameStr(*PG_GETARG_NAME(1));
	affair = text_to_cstring(PG_GETARG_TEXT_PP(2));
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("only tables can be protected"),
				 errhint("Give a table or a partitioned table; protect a view's base tables instead.")));
	if (!mnl_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(relkind), get_rel_name(relid));
	attnum = get_attnum(relid, column);
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in the table", column),
				 errhint("Name the column that holds each row's org unit (ledger.org_unit.org_unit_id).")));
	if (get_atttype(relid, attnum) != INT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("org unit column \"%s\" must be of type integer", column),
				 errhint("It holds ledger.org_unit.org_unit_id.")));

	if (relkind == RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("partitioned tables cannot be protected"),
				 errhint("Each partition could be read on its own, past the parent's policies; protect an ordinary table.")));
	rel = RelationIdGetRelation(relid);
	already = mnl_is_protected(rel);
	nkeys = read_keys_table_keys(rel, keys);
	RelationClose(rel);
	if (!already && !superuser())
		refuse_unsafe_table(relid);
	if (already)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("table %s is already protected", get_rel_name(relid)),
				 errhint("Its policies stay as they are; a superuser can drop them to protect it again.")));
	/* every read records the keys of the rows it returned (audit/readkeys.c) */
	if (nkeys == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("table %s cannot be protected: it has no primary key to name its rows by",
						get_rel_name(relid)),
				 errhint("Every read of a protected table records the keys of the rows it returned; "
						 "add a primary key without My Number columns first.")));

	qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										   get_rel_name(relid));
	col = (char *) quote_identifier(column);
	aff = quote_literal_cstr(affair);
	reg = quote_literal_cstr(qualified);	/* a name: a dump restores it under new OIDs */

	lookup.affair = affair;
	sql_current = mnl_sql_at_least("0.2.0");
	lookup.found = false;
	/* a lookup, not a read of ledger data */
	mnl_as_owner(affair_lookup, &lookup, MNL_OWNER_RESTRICTED | MNL_OWNER_INTERNAL);
	if (!lookup.found)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("affair \"%s\" is not registered", affair),
				 errhint("See ledger.affair for the registered affairs.")));
	SPI_connect();
	GUARD_BYPASS_BEGIN;
	{
		run(psprintf("ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY", qualified));
		run(psprintf("CREATE POLICY mnl_rls_select ON %s FOR SELECT "
					 "USING (ledger.may('read', %s, %s))", qualified, aff, col));
		run(psprintf("CREATE POLICY mnl_rls_insert ON %s FOR INSERT "
					 "WITH CHECK (ledger.must('write', %s, %s, %s::regclass))", qualified, aff, col, reg));
		run(psprintf("CREATE POLICY mnl_rls_update ON %s FOR UPDATE "
					 "USING (ledger.may('write', %s, %s)) "
					 "WITH CHECK (ledger.must('write', %s, %s, %s::regclass))",
					 qualified, aff, col, aff, col, reg));
		run(psprintf("CREATE POLICY mnl_rls_delete ON %s FOR DELETE "
					 "USING (ledger.may('write', %s, %s))", qualified, aff, col));
		run(psprintf("CREATE TRIGGER mnl_rls_write_gate BEFORE INSERT OR UPDATE OR DELETE ON %s "
					 "FOR EACH STATEMENT EXECUTE FUNCTION ledger._write_gate(%s)", qualified, aff));
		run(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER mnl_rls_write_gate", qualified));
		/* a database whose SQL is 0.1.0 (not yet updated) has no hold guard: the update attaches it */
		if (sql_current)
		{
			attach_hold_guard(relid, qualified);
			attach_no_number(qualified);
		}
		{
			/*
			 * The trail keeps no personal value of a protected table (the auditor reads the
			 * trail, never personal data): every value withheld but the keys, the org unit
			 * column and the columns the owner names as safe to keep.
			 */
			Datum		keep = keep_with_org(PG_NARGS() > 4 && !PG_ARGISNULL(4) ? PG_GETARG_ARRAYTYPE_P(4) : NULL,
											 column);

			/* 0.1.0's ledger.audit_table has no keep_columns (the update sets them) */
			if (!sql_current)
			{
				if (SPI_execute_with_args("SELECT ledger.audit_table($1, $2)", 2,
										  (Oid[]) {REGCLASSOID, TEXTARRAYOID},
										  (Datum[]) {ObjectIdGetDatum(relid),
											  PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3)},
										  PG_ARGISNULL(3) ? " n" : "  ", false, 1) != SPI_OK_SELECT)
					elog(ERROR, "audit_table failed");
			}
			else if (SPI_execute_with_args("SELECT ledger.audit_table($1, $2, $3)", 3,
									  (Oid[]) {REGCLASSOID, TEXTARRAYOID, TEXTARRAYOID},
									  (Datum[]) {ObjectIdGetDatum(relid),
										  PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3), keep},
									  PG_ARGISNULL(3) ? " n " : "   ", false, 1) != SPI_OK_SELECT)
				elog(ERROR, "audit_table failed");
		}
	}
	GUARD_BYPASS_END;
	SPI_finish();
	PG_RETURN_VOID();
}
