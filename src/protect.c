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
 *   - the audit triggers of ledger.audit_table().
 * The guard (audit_hooks.c) keeps a non-superuser, the table's owner included, from
 * weakening any of this afterwards.
 *
 * Must never: build SQL from a name without quoting it.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "access/relation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "rewrite/rowsecurity.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/varlena.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "audit.h"
#include "guard.h"
#include "mynumber_ledger.h"
#include "protect.h"

PG_FUNCTION_INFO_V1(protect_table);

static void
run(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "protect_table: \"%s\" failed: %s", sql, SPI_result_code_string(rc));
}

/* Is relid protected (has the extension's policies)? */
bool
protect_is_protected(Relation rel)
{
	ListCell   *lc;

	if (rel->rd_rsdesc == NULL)
		return false;
	foreach(lc, rel->rd_rsdesc->policies)
	{
		RowSecurityPolicy *p = lfirst(lc);

		if (strncmp(p->policy_name, PROTECT_POLICY_PREFIX, strlen(PROTECT_POLICY_PREFIX)) == 0)
			return true;
	}
	return false;
}

/*
 * A table a non-superuser asks to protect must not already hold anything of its owner's that
 * sees every row or could be redefined later to do so: policies, triggers, rules, CHECK
 * constraints, generated columns, expression or partial indexes, column types the owner
 * controls, inheritance.  (A superuser's table is trusted as it is.)
 */
static void
refuse_unsafe_table(Oid relid)
{
	char	   *why = NULL;

	SPI_connect();
	if (SPI_execute_with_args(
			"SELECT r FROM (VALUES "
			" ('it has row-level security policies', EXISTS (SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid = $1)),"
			" ('it has triggers', EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND NOT tgisinternal"
			"                             AND tgname NOT LIKE 'mnl\\_audit\\_%')),"
			" ('it has rules', EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite WHERE ev_class = $1)),"
			" ('it has CHECK constraints', EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype IN ('c', 'x'))),"
			" ('it has generated columns', EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attgenerated <> '')),"
			" ('it has expression or partial indexes', EXISTS (SELECT 1 FROM pg_catalog.pg_index WHERE indrelid = $1"
			"                                                  AND (indexprs IS NOT NULL OR indpred IS NOT NULL))),"
			" ('a column''s type is not owned by a superuser', EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a"
			"     JOIN pg_catalog.pg_type t ON t.oid = a.atttypid JOIN pg_catalog.pg_roles o ON o.oid = t.typowner"
			"     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND NOT o.rolsuper)),"
			" ('it inherits or is inherited', EXISTS (SELECT 1 FROM pg_catalog.pg_inherits WHERE inhrelid = $1 OR inhparent = $1)),"
			" ('a column default calls a function of a non-superuser or of the ledger', EXISTS ("
			"     SELECT 1 FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_depend dep"
			"       ON dep.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND dep.objid = d.oid"
			"      AND dep.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass"
			"     JOIN pg_catalog.pg_proc p ON p.oid = dep.refobjid JOIN pg_catalog.pg_roles o ON o.oid = p.proowner"
			"     WHERE d.adrelid = $1 AND (NOT o.rolsuper OR p.pronamespace = 'ledger'::pg_catalog.regnamespace)))"
			") v(r, bad) WHERE bad LIMIT 1",
			1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)}, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		why = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	SPI_finish();
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s cannot be protected: %s", get_rel_name(relid), why),
				 errhint("Protect a plain table (columns of built-in or extension types, plain indexes), or ask a superuser.")));
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
	Oid			pk = RelationGetPrimaryKeyIndex(rel);
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
	char	   *hold_args;

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
	if (!pg_class_ownercheck(relid, GetUserId()))
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
	already = protect_is_protected(rel);
	nkeys = read_keys_table_keys(rel, keys);
	RelationClose(rel);
	if (!already && !superuser())
		refuse_unsafe_table(relid);
	if (already)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("table %s is already protected", get_rel_name(relid)),
				 errhint("Its policies stay as they are; a superuser can drop them to protect it again.")));
	/* every read records the keys of the rows it returned (audit_readkeys.c) */
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
		hold_args = hold_guard_args(relid);
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
		{
			/*
			 * The trail keeps no personal value of a protected table (the auditor reads the
			 * trail, never personal data): every value withheld but the keys, the org unit
			 * column and the columns the owner names as safe to keep.
			 */
			Datum	   *elems = NULL;
			bool	   *enulls = NULL;
			int			n = 0;
			Datum	   *with_org;
			Datum		keep;

			if (PG_NARGS() > 4 && !PG_ARGISNULL(4))
				deconstruct_array(PG_GETARG_ARRAYTYPE_P(4), TEXTOID, -1, false, TYPALIGN_INT,
								  &elems, &enulls, &n);
			with_org = palloc(sizeof(Datum) * (n + 1));
			for (int i = 0; i < n; i++)
				with_org[i] = enulls[i] ? CStringGetTextDatum("") : elems[i];
			with_org[n] = CStringGetTextDatum(column);
			keep = PointerGetDatum(construct_array(with_org, n + 1, TEXTOID, -1, false, TYPALIGN_INT));

			if (SPI_execute_with_args("SELECT ledger.audit_table($1, $2, $3)", 3,
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

/* ---------------------------------------------------------------------------------------
 * The guard: what a non-superuser, the owner included, may not do to a protected table.
 * Called from the utility hook (audit_hooks.c), which skips it for the extension's own work.
 * ---------------------------------------------------------------------------------------
 */

static bool
protected_relid(Oid relid)
{
	return guard_table_test(relid, protect_is_protected);
}

static Oid
relid_of(RangeVar *rv)
{
	return rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
}

#define HINT_SUPERUSER "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table)."

/*
 * Does a raw default expression run code (a function, an operator, a subquery)?  A default
 * is evaluated as the role that inserts — a clerk, an examiner who may reveal — so the owner
 * of a protected table may give constants only (ATTACKS.md §1).
 */
static bool
default_runs_code_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall) || IsA(node, A_Expr) || IsA(node, SubLink) || IsA(node, ColumnRef) ||
		IsA(node, ParamRef) || IsA(node, A_Indirection))
		return true;
	return raw_expression_tree_walker(node, default_runs_code_walker, context);
}

static bool
default_runs_code(Node *expr)
{
	return default_runs_code_walker(expr, NULL);
}

/* A column definition whose expression would be computed over every existing row, or run as
 * the inserting role. */
static bool
column_def_sees_rows(ColumnDef *def)
{
	ListCell   *lc;

	if (def->raw_default && default_runs_code(def->raw_default))
		return true;
	foreach(lc, def->constraints)
	{
		Constraint *c = lfirst(lc);

		if (c->contype == CONSTR_CHECK || c->contype == CONSTR_GENERATED ||
			c->contype == CONSTR_EXCLUSION ||
			(c->contype == CONSTR_DEFAULT && c->raw_expr && default_runs_code(c->raw_expr)))
			return true;
	}
	return false;
}

/*
 * Is a type one a superuser answers for, all the way down (a domain's base, an array's
 * element, a composite's attributes)?  A domain a DBA owns could be given a default or a
 * check later (ALTER DOMAIN) that runs as every staff member who writes the table.
 */
static bool
type_trusted(Oid typid, int depth)
{
	HeapTuple	tup;
	Form_pg_type t;
	bool		ok;

	if (depth > 16)
		return false;
	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		return false;
	t = (Form_pg_type) GETSTRUCT(tup);
	ok = superuser_arg(t->typowner);
	if (ok && t->typtype == TYPTYPE_DOMAIN)
		ok = type_trusted(t->typbasetype, depth + 1);
	if (ok && OidIsValid(t->typelem) && t->typlen == -1)
		ok = type_trusted(t->typelem, depth + 1);
	if (ok && OidIsValid(t->typrelid))
	{
		Relation	rel = relation_open(t->typrelid, AccessShareLock);
		int			i;

		for (i = 0; ok && i < RelationGetDescr(rel)->natts; i++)
			if (!TupleDescAttr(RelationGetDescr(rel), i)->attisdropped)
				ok = type_trusted(TupleDescAttr(RelationGetDescr(rel), i)->atttypid, depth + 1);
		relation_close(rel, AccessShareLock);
	}
	ReleaseSysCache(tup);
	return ok;
}

/*
 * What the owner of a protected table may still change: an allowlist.  Everything else
 * could evaluate an expression over every row, report a row's values in an error (a
 * constraint or index being validated), move rows under an unprotected parent, or remove
 * the protection; a superuser does it.
 */
static bool
owner_may(AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_SetStatistics:
		case AT_SetStorage:
		case AT_SetCompression:
		case AT_SetRelOptions:
		case AT_ResetRelOptions:
		case AT_SetOptions:
		case AT_ResetOptions:
		case AT_EnableRowSecurity:
		case AT_ForceRowSecurity:
		case AT_DropNotNull:
		case AT_ReplicaIdentity:
		case AT_EnableTrig:		/* the owner's own triggers: mnl_ ones are guarded by name */
		case AT_DisableTrig:
			return true;
		case AT_AddColumn:
			{
				ColumnDef  *def = castNode(ColumnDef, cmd->def);
				Oid			typid = def->typeName ? LookupTypeNameOid(NULL, def->typeName, true) : InvalidOid;

				return !column_def_sees_rows(def) && OidIsValid(typid) && type_trusted(typid, 0);
			}
		case AT_ColumnDefault:
			/* a constant only: any code in a default runs with the inserting role's rights */
			return cmd->def == NULL || !default_runs_code(cmd->def);
		default:
			return false;
	}
}

static void
guard_alter(AlterTableStmt *stmt, Oid relid)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);

		if (cmd->subtype == AT_DisableRowSecurity || cmd->subtype == AT_NoForceRowSecurity)
			guard_refuse(relid, "row-level security of a protected table cannot be disabled or unforced", HINT_SUPERUSER);
		if (!owner_may(cmd))
			guard_refuse(relid, "this change to a protected table is reserved to a superuser",
				   "Its owner may only set storage options and statistics, add plain columns and set defaults; "
				   "anything else could read rows past row-level security. " HINT_SUPERUSER);
	}
}

/* ATTACH PARTITION of a protected table under any parent would expose it through the parent. */
static void
guard_attach(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);

		if (cmd->subtype == AT_AttachPartition)
		{
			Oid			part = relid_of(castNode(PartitionCmd, cmd->def)->name);

			if (protected_relid(part))
				guard_refuse(part, "a protected table cannot be attached as a partition",
					   "Its rows would be read through the parent, past its policies. " HINT_SUPERUSER);
		}
	}
}

/* Does schema nsp hold a protected table? */
static bool
schema_has_protected(Oid nsp)
{
	bool		found = false;

	if (!OidIsValid(nsp))
		return false;
	SPI_connect();
	if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid "
							  "WHERE p.polname = 'mnl_rls_select' AND c.relnamespace = $1 LIMIT 1",
							  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(nsp)}, NULL, true, 1) == SPI_OK_SELECT)
		found = SPI_processed > 0;
	SPI_finish();
	return found;
}

/* DROP OWNED BY a role that owns protected tables would drop them. */
static void
guard_drop_owned(DropOwnedStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->roles)
	{
		Oid			role = get_rolespec_oid(lfirst(lc), true);
		bool		owns = false;

		if (!OidIsValid(role))
			continue;
		SPI_connect();
		if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid "
								  "WHERE p.polname = 'mnl_rls_select' AND c.relowner = $1 LIMIT 1",
								  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(role)}, NULL, true, 1) == SPI_OK_SELECT)
			owns = SPI_processed > 0;
		SPI_finish();
		if (owns)
			guard_refuse(InvalidOid, "DROP OWNED would drop protected tables",
				   "A protected table can be dropped only by a superuser.");
	}
}

void
protect_guard_utility(Node *stmt)
{
	Oid			relid = InvalidOid;

	if (superuser())
		return;
	switch (nodeTag(stmt))
	{
		case T_AlterTableStmt:
			relid = relid_of(((AlterTableStmt *) stmt)->relation);
			if (protected_relid(relid))
				guard_alter((AlterTableStmt *) stmt, relid);
			guard_attach((AlterTableStmt *) stmt);
			break;
		case T_DropOwnedStmt:
			guard_drop_owned((DropOwnedStmt *) stmt);
			break;
		case T_RenameStmt:
			{
				RenameStmt *r = (RenameStmt *) stmt;

				if (r->renameType == OBJECT_POLICY && r->relation &&
					(protected_relid(relid_of(r->relation)) ||
					 strncmp(r->subname, PROTECT_POLICY_PREFIX, strlen(PROTECT_POLICY_PREFIX)) == 0))
					guard_refuse(relid_of(r->relation), "the policies of a protected table cannot be renamed", HINT_SUPERUSER);
				/* legal holds name a table by schema and name, and its guard a column by name */
				if ((r->renameType == OBJECT_TABLE || r->renameType == OBJECT_COLUMN) && r->relation &&
					protected_relid(relid_of(r->relation)))
					guard_refuse(relid_of(r->relation), "a protected table and its columns cannot be renamed",
						   "Legal holds and the hold guard name them; renaming would take them out from under a hold. " HINT_SUPERUSER);
				if (r->renameType == OBJECT_SCHEMA &&
					schema_has_protected(get_namespace_oid(r->subname, true)))
					guard_refuse(InvalidOid, "a schema holding a protected table cannot be renamed",
						   "Legal holds name tables by schema and name. " HINT_SUPERUSER);
				break;
			}
		case T_AlterObjectSchemaStmt:
			{
				AlterObjectSchemaStmt *a = (AlterObjectSchemaStmt *) stmt;

				if (a->relation && protected_relid(relid_of(a->relation)))
					guard_refuse(relid_of(a->relation), "a protected table cannot be moved to another schema",
						   "Legal holds name tables by schema and name. " HINT_SUPERUSER);
				break;
			}
		case T_LockStmt:
			{
				ListCell   *lc;

				foreach(lc, ((LockStmt *) stmt)->relations)
				{
					relid = relid_of(lfirst(lc));
					if (protected_relid(relid))
						guard_refuse(relid, "a protected table cannot be locked with LOCK TABLE",
							   "Rows are locked by the statements that change them; a table lock held in an open "
							   "transaction would hold up the municipality's jobs. " HINT_SUPERUSER);
				}
				break;
			}
		case T_CreatePolicyStmt:
			{
				CreatePolicyStmt *c = (CreatePolicyStmt *) stmt;

				relid = relid_of(c->table);
				if (strncmp(c->policy_name, PROTECT_POLICY_PREFIX, strlen(PROTECT_POLICY_PREFIX)) == 0)
					guard_refuse(relid, "policy names beginning with mnl_rls_ are reserved",
						   "Use ledger.protect_table() to protect a table.");
				if (protected_relid(relid))
					guard_refuse(relid, "a protected table cannot get more policies", HINT_SUPERUSER);
				break;
			}
		case T_AlterPolicyStmt:
			relid = relid_of(((AlterPolicyStmt *) stmt)->table);
			if (protected_relid(relid))
				guard_refuse(relid, "the policies of a protected table cannot be altered", HINT_SUPERUSER);
			break;
		case T_DropStmt:
			{
				DropStmt   *d = (DropStmt *) stmt;
				ListCell   *lc;

				foreach(lc, d->objects)
				{
					List	   *names;

					if (d->removeType == OBJECT_POLICY || d->removeType == OBJECT_RULE ||
						d->removeType == OBJECT_TRIGGER)
					{
						names = castNode(List, lfirst(lc));
						relid = relid_of(makeRangeVarFromNameList(list_truncate(list_copy(names),
																				list_length(names) - 1)));
						if (d->removeType == OBJECT_POLICY && protected_relid(relid))
							guard_refuse(relid, "the policies of a protected table cannot be dropped", HINT_SUPERUSER);
					}
					else if (d->removeType == OBJECT_TABLE)
					{
						relid = relid_of(makeRangeVarFromNameList(castNode(List, lfirst(lc))));
						if (protected_relid(relid))
							guard_refuse(relid, "a protected table can be dropped only by a superuser", HINT_SUPERUSER);
					}
					else if (d->removeType == OBJECT_SCHEMA &&
							 schema_has_protected(get_namespace_oid(strVal(lfirst(lc)), true)))
						guard_refuse(InvalidOid, "a schema holding a protected table can be dropped only by a superuser",
							   HINT_SUPERUSER);
				}
				break;
			}
		case T_TruncateStmt:
			{
				ListCell   *lc;

				foreach(lc, ((TruncateStmt *) stmt)->relations)
				{
					relid = relid_of(lfirst(lc));
					if (protected_relid(relid))
						guard_refuse(relid, "a protected table cannot be truncated",
							   "TRUNCATE is not subject to row-level security; delete rows with DELETE, or ask a superuser.");
				}
				break;
			}
		case T_CreateTrigStmt:
			{
				CreateTrigStmt *c = (CreateTrigStmt *) stmt;
				Oid			fn = LookupFuncName(c->funcname, 0, NULL, true);

				relid = relid_of(c->relation);
				if (protected_relid(relid))
					guard_refuse(relid, "a protected table cannot get new triggers from a non-superuser",
						   "A trigger sees every row written, past row-level security. " HINT_SUPERUSER);
				/* the guard triggers run as the extension's owner: only its own code attaches them */
				if (OidIsValid(fn) && get_func_namespace(fn) == get_namespace_oid("ledger", true))
					guard_refuse(relid, "the extension's trigger functions are attached only by the extension",
						   "Use ledger.protect_table() or ledger.audit_table().");
				break;
			}
		case T_RuleStmt:
			relid = relid_of(((RuleStmt *) stmt)->relation);
			if (protected_relid(relid))
				guard_refuse(relid, "a protected table cannot get rules", HINT_SUPERUSER);
			break;
		case T_IndexStmt:
			relid = relid_of(((IndexStmt *) stmt)->relation);
			if (protected_relid(relid))
				guard_refuse(relid, "a protected table cannot get new indexes from a non-superuser",
					   "Building an index evaluates its expressions over every row and reports duplicate values, past row-level security. " HINT_SUPERUSER);
			break;
		case T_CreateStatsStmt:
			{
				CreateStatsStmt *cs = (CreateStatsStmt *) stmt;

				if (list_length(cs->relations) == 1 && IsA(linitial(cs->relations), RangeVar))
				{
					relid = relid_of(linitial(cs->relations));
					if (protected_relid(relid))
						guard_refuse(relid, "a protected table cannot get extended statistics from a non-superuser",
							   "Extended statistics keep values sampled past row-level security. " HINT_SUPERUSER);
				}
				break;
			}
		default:
			break;
	}
}
