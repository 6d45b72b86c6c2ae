/*
 * guard/utility.c — the DDL guard: one dispatch over the utility statements that could
 * weaken a protected table, an audited table, the audit trail or the extension's own
 * objects.  One function per statement kind below answers, for that kind, every question
 * at once, so "is every way to weaken X refused?" is read in one place:
 *
 *   protected table  (ledger.protect_table)   a non-superuser, its owner included, may not
 *                    disable or unforce row-level security, change its policies, add
 *                    triggers, rules, indexes, statistics or columns that evaluate code,
 *                    rename, move, lock, truncate or drop it, attach it as a partition, give
 *                    it an inheritance parent or child, or drop it with DROP OWNED or its
 *                    schema; a superuser may (pg_restore).
 *   audited table    (ledger.audit_table)     nobody may disable, drop or rename its audit
 *                    triggers, or detach its partitions; only ledger.unaudit_table() may.
 *                    A non-superuser may not make it a partition of a table not audited,
 *                    nor an inheritance parent or child.
 *   the trail        (ledger.audit_*)          nobody may alter, drop, truncate, rename,
 *                    move or re-own it, give it triggers or rules, or drop or replace its
 *                    guard triggers.
 *   the extension    (schema ledger)           nobody may drop, rename, replace or alter its
 *                    functions one by one, attach its trigger functions, use its reserved
 *                    names, drop its schema, or change its members; DROP EXTENSION removes
 *                    it as a whole.
 *   any guarded table (protected, audited, the trail): nobody may make it, its triggers or
 *                    its indexes depend on or belong to another extension (whose DROP
 *                    EXTENSION would drop them past the guard).
 *
 * The extension's own code passes (the bypass scope, GUARD_BYPASS_BEGIN, and its install
 * and upgrade scripts).  Every refusal is recorded in the trail, then raised (42501).
 * The file guard (files.c, the event trigger at the end of DDL) and the checks at execution
 * (EXPLAIN, COPY ... TO; guard/hooks.c) are the guard's other doors; the trail's own trigger
 * (audit/trail_guard.c) refuses row changes to it.  Within a statement kind the rules of
 * protected tables are checked before the others.
 *
 * Must never: let a statement kind through because it is new (a new kind that can touch a
 * guarded table gets its function here and a test named after the attack); name a value in
 * a message.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/tablecmds.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "audit/audit.h"
#include "guard/guard.h"
#include "core/mynumber_ledger.h"


/* Refuse a statement (42501) and record the refusal: every refusal of the guard. */
void
guard_refuse(Oid relid, const char *what, const char *hint)
{
	char		detail[256];

	snprintf(detail, sizeof(detail), "refused: %s", what);
	audit_refuse(relid, detail, AUDIT_MAY_DROP,
				 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				  errmsg("%s", mnl_gettext(what)),
				  errhint("%s", mnl_gettext(hint))));
}

/* ---------------------------------------------------------------------------------------
 * What a name or oid is
 * ---------------------------------------------------------------------------------------
 */

/*
 * The relation a statement names, as PostgreSQL will act on it (ATTACKS.md §5).
 *
 * PostgreSQL looks a name up again after it has waited for the relation's lock.  A check made
 * on the name alone is made on whatever the name means before that wait: a decoy that another
 * session drops while the statement waits, so that PostgreSQL then finds the protected table
 * behind it on search_path and acts on a table the guard never looked at.  So for a
 * non-superuser (guard_locks) the guard takes the lock PostgreSQL will take, in the order it
 * takes it, looks the name up again until it stands still, and decides on that relation: held
 * locked to the end of the transaction, it can be neither dropped, renamed nor moved, and
 * PostgreSQL's own lookup finds it again.
 *
 * Where PostgreSQL checks the caller's right before it locks (a callback of
 * RangeVarGetRelidExtended), the guard checks the same right first and raises PostgreSQL's
 * own error without it: nobody queues a lock PostgreSQL would have refused at once.  Where
 * PostgreSQL locks first (get_object_address, CREATE TRIGGER, CREATE STATISTICS, a parent in
 * INHERITS), so does the guard.
 */
typedef enum GuardNeed
{
	NEED_NOTHING,				/* PostgreSQL locks before it checks */
	NEED_OWNER,					/* owner of the relation */
	NEED_DROP,					/* owner of the relation or of its schema */
	NEED_TRUNCATE,				/* the TRUNCATE privilege */
	NEED_LOCK					/* LOCK TABLE's privileges for the mode */
} GuardNeed;

static bool guard_locks = false;
static bool guarded_relid(Oid relid);

/* PostgreSQL's own refusal of a statement on a guarded table: an attempt like any other,
 * recorded (PostgreSQL then raises its error). */
static void
record_postgres_refusal(Oid relid, AclResult result)
{
	if (guarded_relid(relid))
		audit_emit(AUDIT_KIND_DENIED, relid, 0, false, 0,
				   result == ACLCHECK_NOT_OWNER ? "refused: not the owner" : "refused: permission denied", false);
}

static void
require_right(Oid relid, RangeVar *rv, GuardNeed need, LOCKMODE mode)
{
	Oid			user = GetUserId();
	AclResult	result = ACLCHECK_OK;

	switch (need)
	{
		case NEED_NOTHING:
			return;
		case NEED_OWNER:
			if (!mnl_class_ownercheck(relid, user))
				result = ACLCHECK_NOT_OWNER;
			break;
		case NEED_DROP:
			if (!mnl_class_ownercheck(relid, user) &&
				!mnl_namespace_ownercheck(get_rel_namespace(relid), user))
				result = ACLCHECK_NOT_OWNER;
			break;
		case NEED_TRUNCATE:
			result = pg_class_aclcheck(relid, user, ACL_TRUNCATE);
			break;
		case NEED_LOCK:
			result = pg_class_aclcheck(relid, user,
									   mode == AccessShareLock ? ACL_SELECT :
									   mode == RowExclusiveLock ? (ACL_INSERT | ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE) :
									   (ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE));
			break;
	}
	if (result != ACLCHECK_OK)
	{
		record_postgres_refusal(relid, result);
		aclcheck_error(result, get_relkind_objtype(get_rel_relkind(relid)), rv->relname);
	}
}

static Oid
relid_for(RangeVar *rv, LOCKMODE mode, GuardNeed need)
{
	Oid			relid = InvalidOid;

	if (rv == NULL)
		return InvalidOid;
	if (!guard_locks || mode == NoLock)
		return RangeVarGetRelid(rv, NoLock, true);
	for (;;)
	{
		Oid			now = RangeVarGetRelid(rv, NoLock, true);

		if (now == relid)
			return relid;
		if (OidIsValid(relid))
			UnlockRelationOid(relid, mode);
		relid = now;
		if (!OidIsValid(relid))
			return relid;
		require_right(relid, rv, need, mode);
		/* DROP of a partition: PostgreSQL locks the parent first (queries lock it first) */
		if (need == NEED_DROP && get_rel_relispartition(relid))
		{
			Oid			parent = get_partition_parent(relid, true);

			if (OidIsValid(parent))
				LockRelationOid(parent, AccessExclusiveLock);
		}
		/* the lock accepts invalidations: the next lookup sees what other sessions committed */
		LockRelationOid(relid, mode);
	}
}

/* Only looked up: for checks that bind every role, where no race gains anything (the
 * superuser who could run one can do what it would gain directly) or nothing is changed. */
static Oid
relid_of(RangeVar *rv)
{
	return relid_for(rv, NoLock, NEED_NOTHING);
}

/* The relation of an object named (schema.)table.object: a trigger, policy or rule.
 * get_object_address locks it before it checks the owner; RENAME checks first. */
static Oid
relid_of_member(List *names, LOCKMODE mode, GuardNeed need)
{
	return relid_for(makeRangeVarFromNameList(list_truncate(list_copy(names), list_length(names) - 1)),
					 mode, need);
}

static bool
protected_relid(Oid relid)
{
	return mnl_is_protected_relid(relid);
}

static bool
audited_relid(Oid relid)
{
	return mnl_relation_test(relid, audit_is_audited_relation);
}


/* A function or procedure in schema ledger (the extension's own). */
static bool
is_ledger_function(Oid fn)
{
	Oid			nsp;

	if (!OidIsValid(fn))
		return false;
	nsp = get_func_namespace(fn);
	return OidIsValid(nsp) && nsp == get_namespace_oid("ledger", true);
}

/* Is nsp the ledger's schema? */
static bool
is_ledger_namespace(Oid nsp)
{
	return OidIsValid(nsp) && nsp == get_namespace_oid("ledger", true);
}

/* A type in schema ledger (the extension's own). */
static bool
is_ledger_type(Oid typid)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	bool		ours = false;

	if (HeapTupleIsValid(tup))
	{
		ours = is_ledger_namespace(((Form_pg_type) GETSTRUCT(tup))->typnamespace);
		ReleaseSysCache(tup);
	}
	return ours;
}

/* Does the catalog query (one oid parameter, $1) return a row?  False for an invalid oid. */
static bool
catalog_query_finds(const char *query, Oid arg)
{
	bool		found = false;

	if (!OidIsValid(arg))
		return false;
	SPI_connect();
	if (SPI_execute_with_args(query, 1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(arg)},
							  NULL, true, 1) == SPI_OK_SELECT)
		found = SPI_processed > 0;
	SPI_finish();
	return found;
}

/* The first oid the catalog query (one oid parameter, $1) returns, or InvalidOid. */
static Oid
catalog_query_oid(const char *query, Oid arg)
{
	Oid			found = InvalidOid;
	bool		isnull;

	if (!OidIsValid(arg))
		return InvalidOid;
	SPI_connect();
	if (SPI_execute_with_args(query, 1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(arg)},
							  NULL, true, 1) == SPI_OK_SELECT && SPI_processed > 0)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			found = DatumGetObjectId(d);
	}
	SPI_finish();
	return found;
}

/* The protected tables: those carrying the extension's select policy. */
#define PROTECTED_TABLES \
	"pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid AND p.polname = 'mnl_rls_select'"

/* A composite type that a protected table is a typed table OF (CREATE TABLE ... OF type). */
static bool
type_of_protected(Oid typid)
{
	return catalog_query_finds("SELECT 1 FROM " PROTECTED_TABLES " WHERE c.reloftype = $1 LIMIT 1", typid);
}

/* An audited table that is a typed table OF typid (the first), or InvalidOid. */
static Oid
audited_table_of_type(Oid typid)
{
	return catalog_query_oid("SELECT c.oid FROM pg_catalog.pg_class c WHERE c.reloftype = $1 AND EXISTS "
							 "(SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname LIKE 'mnl\\_audit%') "
							 "ORDER BY c.oid LIMIT 1", typid);
}

/* The composite type of relid (ALTER TYPE ... ATTRIBUTE names one), or InvalidOid. */
static Oid
type_of_relid(Oid relid)
{
	return OidIsValid(relid) && get_rel_relkind(relid) == RELKIND_COMPOSITE_TYPE ? get_rel_type_id(relid) : InvalidOid;
}

/*
 * A change of the composite type typrel (ALTER TYPE ... CASCADE, RENAME ATTRIBUTE) reaches an
 * audited table OF it: refused to a non-superuser (hint), recorded for a superuser (what).
 */
static void
guard_audited_type(Oid typrel, bool owner_rules, const char *hint, const char *what)
{
	Oid			table = audited_table_of_type(type_of_relid(typrel));

	if (!OidIsValid(table))
		return;
	if (owner_rules)
		guard_refuse(InvalidOid, "the type of an audited typed table is altered only by a superuser", hint);
	audit_record_ddl(table, AUDIT_KIND_ALTER, what);
}

/* Names beginning mnl_ are the extension's (audit triggers, the write gate, policies). */
static bool
is_reserved_name(const char *name)
{
	return name != NULL && strncmp(name, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0;
}

static bool
is_protect_policy_name(const char *name)
{
	return name != NULL && strncmp(name, PROTECT_POLICY_PREFIX, strlen(PROTECT_POLICY_PREFIX)) == 0;
}

/* A view whose query reads a protected table, through other views too (LOCK on a view locks
 * the tables it reads). */
static bool
view_reads_protected(Oid relid)
{
	if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_VIEW)
		return false;
	return catalog_query_finds("WITH RECURSIVE r(rel) AS (SELECT $1::pg_catalog.oid UNION "
							   " SELECT d.refobjid FROM r JOIN pg_catalog.pg_rewrite w ON w.ev_class = r.rel "
							   " JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
							   "  AND d.objid = w.oid AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
							   "  AND d.refobjid <> r.rel) "
							   "SELECT 1 FROM r JOIN " PROTECTED_TABLES " ON c.oid = r.rel LIMIT 1", relid);
}

/* Would TRUNCATE ... CASCADE of relid reach a protected table (through foreign keys that
 * reference it, at any depth)? */
static bool
truncate_cascade_reaches_protected(Oid relid)
{
	return catalog_query_finds("WITH RECURSIVE r(rel) AS (SELECT $1::pg_catalog.oid UNION "
							   " SELECT c.conrelid FROM r JOIN pg_catalog.pg_constraint c "
							   "  ON c.confrelid = r.rel AND c.contype = 'f') "
							   "SELECT 1 FROM r JOIN " PROTECTED_TABLES " ON c.oid = r.rel LIMIT 1", relid);
}

/* Does the table hold a row?  (The caller owns it: ATTACH PARTITION asks that.) */
static bool
relation_has_rows(Oid relid)
{
	List	   *rels;
	ListCell   *lc;
	bool		found = false;

	/* a partitioned table's rows are in its partitions */
	rels = get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE ?
		find_all_inheritors(relid, AccessShareLock, NULL) : list_make1_oid(relid);
	foreach(lc, rels)
	{
		Oid			oid = lfirst_oid(lc);
		char		kind = get_rel_relkind(oid);
		Relation	rel;
		TableScanDesc scan;
		TupleTableSlot *slot;
		Snapshot	snap;

		if (kind == RELKIND_PARTITIONED_TABLE)
			continue;
		if (kind != RELKIND_RELATION && kind != RELKIND_MATVIEW)
			return true;		/* a foreign table: its rows cannot be counted here */
		/* the heap itself, not a query: the owner's own row-level security hides nothing */
		rel = table_open(oid, AccessShareLock);
		snap = RegisterSnapshot(GetLatestSnapshot());
		scan = table_beginscan(rel, snap, 0, NULL);
		slot = table_slot_create(rel, NULL);
		found = table_scan_getnextslot(scan, ForwardScanDirection, slot);
		ExecDropSingleTupleTableSlot(slot);
		table_endscan(scan);
		UnregisterSnapshot(snap);
		table_close(rel, AccessShareLock);
		if (found)
			break;
	}
	return found;
}

/* Does schema nsp hold a protected table? */
static bool
schema_has_protected(Oid nsp)
{
	return catalog_query_finds("SELECT 1 FROM " PROTECTED_TABLES " WHERE c.relnamespace = $1 LIMIT 1", nsp);
}

/* Does role own a protected table? */
static bool
role_owns_protected(Oid role)
{
	return catalog_query_finds("SELECT 1 FROM " PROTECTED_TABLES " WHERE c.relowner = $1 LIMIT 1", role);
}

/* ---------------------------------------------------------------------------------------
 * What the owner of a protected table may still attach
 * ---------------------------------------------------------------------------------------
 */

static bool type_trusted(Oid typid, int depth);
static void refuse_reference_to_protected(Constraint *c);

/*
 * Does a raw default expression run code (a function, an operator, a subquery, or a cast
 * to a type a superuser does not answer for — a domain's CHECK, its own default)?  A
 * default is evaluated as the role that inserts — a clerk, an examiner who may reveal — so
 * the owner of a protected table may give constants of trusted types only (ATTACKS.md §1).
 */
static bool
default_runs_code_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	/*
	 * An allowlist: constants, casts of constants, arrays of them and the SQL value
	 * functions (CURRENT_DATE ...).  Anything else may call an operator or function found
	 * on the caller's search_path (CASE compares with "=", GREATEST with the type's order).
	 */
	if (!IsA(node, A_Const) && !IsA(node, TypeCast) && !IsA(node, TypeName) && !IsA(node, A_ArrayExpr) &&
		!IsA(node, SQLValueFunction) && !IsA(node, List))
		return true;
	if (IsA(node, TypeCast))
	{
		TypeName   *tn = ((TypeCast *) node)->typeName;
		Oid			typid = tn ? LookupTypeNameOid(NULL, tn, true) : InvalidOid;

		if (!OidIsValid(typid) || !type_trusted(typid, 0))
			return true;
	}
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

		/* a foreign key: TRUNCATE ... CASCADE of the referenced table would empty this one */
		if (c->contype == CONSTR_CHECK || c->contype == CONSTR_GENERATED ||
			c->contype == CONSTR_EXCLUSION || c->contype == CONSTR_FOREIGN ||
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

/* ---------------------------------------------------------------------------------------
 * One function per statement kind.  owner_rules: the caller is not a superuser, so the
 * rules of protected tables apply; the rules of the trail, audited tables and the
 * extension's objects apply to every role.
 * ---------------------------------------------------------------------------------------
 */

/* What an ALTER TABLE of an audited table changes, for its record ("alter table: ..."). */
static char *
alter_table_summary(List *cmds)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "alter table:");
	foreach(lc, cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);
		const char *what;

		switch (cmd->subtype)
		{
			case AT_AlterColumnType:
				what = "column type changed (rows rewritten)";
				break;
			case AT_SetUnLogged:
				what = "set unlogged (a crash empties it)";
				break;
			case AT_SetLogged:
				what = "set logged";
				break;
			case AT_AddColumn:
				what = "column added";
				break;
			case AT_DropColumn:
				what = "column dropped";
				break;
			case AT_ColumnDefault:
				what = "default changed";
				break;
			case AT_SetNotNull:
			case AT_DropNotNull:
				what = "not null changed";
				break;
			case AT_AddConstraint:
				what = "constraint added";
				break;
			case AT_DropConstraint:
				what = "constraint dropped";
				break;
			case AT_EnableRowSecurity:
			case AT_DisableRowSecurity:
			case AT_ForceRowSecurity:
			case AT_NoForceRowSecurity:
				what = "row-level security changed";
				break;
			case AT_ChangeOwner:
				what = "owner changed";
				break;
			case AT_AttachPartition:
				what = "partition attached";
				break;
			case AT_EnableTrig:
			case AT_EnableAlwaysTrig:
			case AT_EnableReplicaTrig:
			case AT_DisableTrig:
			case AT_EnableTrigAll:
			case AT_DisableTrigAll:
			case AT_EnableTrigUser:
			case AT_DisableTrigUser:
				what = "triggers enabled or disabled";
				break;
			default:
				what = "other change";
				break;
		}
		appendStringInfo(&buf, "%s %s", foreach_current_index(lc) > 0 ? ";" : "", what);
	}
	return buf.data;
}

static void
guard_alter_table(AlterTableStmt *stmt, bool owner_rules)
{
	Oid			relid = relid_for(stmt->relation, AlterTableGetLockLevel(stmt->cmds), NEED_OWNER);
	ListCell   *lc;

	/* ALTER TYPE ... ADD/ALTER/DROP ATTRIBUTE ... CASCADE reaches the tables OF the type */
	if (owner_rules && stmt->objtype == OBJECT_TYPE && type_of_protected(type_of_relid(relid)))
		guard_refuse(InvalidOid, "the type of a protected typed table cannot be altered",
					 "ALTER TYPE ... CASCADE would change the protected table's columns. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
	if (stmt->objtype == OBJECT_TYPE)
		guard_audited_type(relid, owner_rules,
						   "ALTER TYPE ... CASCADE rewrites or renames the audited table's columns with no record of an update.",
						   "alter type of the table (CASCADE)");
	if (owner_rules)
	{
		bool		protected = protected_relid(relid);

		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = lfirst(lc);

			if (protected && (cmd->subtype == AT_DisableRowSecurity || cmd->subtype == AT_NoForceRowSecurity))
				guard_refuse(relid, "row-level security of a protected table cannot be disabled or unforced", "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
			if (protected && !owner_may(cmd))
				guard_refuse(relid, "this change to a protected table is reserved to a superuser",
							 "Its owner may only set storage options and statistics, add plain columns and set defaults; "
							 "anything else could read rows past row-level security. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
		}
		/*
		 * The roads around a guarded table through another table (ATTACKS.md §2): as a
		 * partition or an inheritance child of a table not guarded the same way, its rows
		 * are read and changed through that parent, past its policies and its statement
		 * triggers; as an inheritance parent, the rows of an unguarded child are read
		 * through it.
		 */
		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = lfirst(lc);

			if (cmd->subtype == AT_AttachPartition)
			{
				/* ALTER INDEX ... ATTACH PARTITION names an index: nothing here to decide */
				Oid			part = relid_for(castNode(PartitionCmd, cmd->def)->name,
											 stmt->objtype == OBJECT_INDEX ? NoLock : AccessExclusiveLock,
											 NEED_NOTHING);

				if (protected_relid(part))
					guard_refuse(part, "a protected table cannot be attached as a partition",
								 "Its rows would be read through the parent, past its policies. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
				if (audited_relid(part) && !audited_relid(relid))
					guard_refuse(part, "an audited table cannot be attached as a partition of a table that is not audited",
								 "Changes made through the parent would leave no record; audit the parent first (ledger.audit_table). " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
				if (OidIsValid(part) && audited_relid(relid) &&
					get_rel_persistence(part) == RELPERSISTENCE_UNLOGGED)
					guard_refuse(part, "an unlogged table cannot be attached as a partition of an audited table",
								 "A crash or a failover would empty it with no record of the loss. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
				if (OidIsValid(part) && audited_relid(relid) && relation_has_rows(part))
					guard_refuse(part, "a table with rows cannot be attached as a partition of an audited table",
								 "Its rows would enter the audited table with no record of their insertion; attach it empty and insert the rows. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
			}
			else if (cmd->subtype == AT_AddConstraint && cmd->def != NULL && IsA(cmd->def, Constraint))
				refuse_reference_to_protected((Constraint *) cmd->def);
			else if (cmd->subtype == AT_AddColumn && cmd->def != NULL && IsA(cmd->def, ColumnDef))
			{
				ListCell   *lc2;

				foreach(lc2, ((ColumnDef *) cmd->def)->constraints)
					refuse_reference_to_protected(lfirst(lc2));
			}
			else if (cmd->subtype == AT_AddInherit)
			{
				Oid			parent = relid_for(castNode(RangeVar, cmd->def), ShareUpdateExclusiveLock, NEED_NOTHING);

				if (protected_relid(parent) || audited_relid(parent))
					guard_refuse(parent, "a protected or audited table cannot gain an inheritance child",
								 "The child's rows would be read through it with no policy or record of their own. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
				if (audited_relid(relid))
					guard_refuse(relid, "an audited table cannot become an inheritance child",
								 "Changes made through the parent would leave no record. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
			}
		}
	}

	if (!OidIsValid(relid))
		return;
	if (audit_is_trail_relation(relid))
		guard_refuse(relid, "the audit trail cannot be altered", "The trail is append-only; the retention procedure removes whole expired partitions.");
	if (!audited_relid(relid))
		return;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);

		switch (cmd->subtype)
		{
			case AT_EnableTrig:
			case AT_EnableReplicaTrig:
			case AT_DisableTrig:
				if (is_reserved_name(cmd->name))
					guard_refuse(relid, "the audit triggers of an audited table cannot be disabled",
								 "Only ledger.unaudit_table(), run by a superuser, removes them.");
				break;
			case AT_DetachPartition:
			case AT_DetachPartitionFinalize:
				guard_refuse(relid, "a partition of an audited table cannot be detached",
							 "Detaching removes the partition's audit triggers; a superuser can run ledger.unaudit_table() first.");
				break;
			case AT_EnableTrigAll:
			case AT_DisableTrigAll:
			case AT_EnableTrigUser:
			case AT_DisableTrigUser:
				guard_refuse(relid, "the audit triggers of an audited table cannot be disabled",
							 "Name the other triggers one by one; the audit triggers stay enabled.");
				break;
			case AT_AlterColumnType:
				/* a rewrite changes every value (USING, or the cast itself) with no update record */
				if (owner_rules)
					guard_refuse(relid, "the type of a column of an audited table is changed only by a superuser",
								 "The rewrite changes values with no record of an update; add a column and UPDATE into it instead.");
				break;
			case AT_SetUnLogged:
				/* an unlogged table is emptied by a crash or a failover, with no record */
				if (owner_rules)
					guard_refuse(relid, "an audited table cannot be made unlogged by a non-superuser",
								 "A crash or a failover would empty it with no record of the loss.");
				break;
			default:
				break;
		}
	}
	/* whoever may change it (a superuser: everything), the change is on the record */
	audit_record_ddl(relid, AUDIT_KIND_ALTER, alter_table_summary(stmt->cmds));
}

static void
guard_drop(DropStmt *stmt, bool owner_rules)
{
	ListCell   *lc;

	/* the rules of protected tables first, over every object named */
	if (owner_rules)
		foreach(lc, stmt->objects)
		{
			Node	   *obj = lfirst(lc);
			Oid			relid;

			if (stmt->removeType == OBJECT_POLICY)
			{
				relid = relid_of_member(castNode(List, obj), AccessExclusiveLock, NEED_NOTHING);
				if (protected_relid(relid))
					guard_refuse(relid, "the policies of a protected table cannot be dropped", "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
			}
			else if (stmt->removeType == OBJECT_TABLE)
			{
				relid = relid_for(makeRangeVarFromNameList(castNode(List, obj)), AccessExclusiveLock, NEED_DROP);
				if (protected_relid(relid))
					guard_refuse(relid, "a protected table can be dropped only by a superuser", "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
			}
			else if (stmt->removeType == OBJECT_SCHEMA &&
					 schema_has_protected(get_namespace_oid(strVal(obj), true)))
				guard_refuse(InvalidOid, "a schema holding a protected table can be dropped only by a superuser",
							 "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
		}

	/* then the rules of the trail, audited tables and the extension, for every role */
	foreach(lc, stmt->objects)
	{
		Node	   *obj = lfirst(lc);

		switch (stmt->removeType)
		{
			case OBJECT_TRIGGER:
				{
					List	   *names = castNode(List, obj);
					Oid			relid = relid_of_member(names, AccessExclusiveLock, NEED_NOTHING);

					if (is_reserved_name(strVal(llast(names))))
						guard_refuse(relid, "the audit triggers of an audited table cannot be dropped",
									 "Only ledger.unaudit_table(), run by a superuser, removes them.");
					if (audit_is_trail_relation(relid))
						guard_refuse(relid, "the audit trail's guard triggers cannot be dropped",
									 "The trail is append-only for every role.");
					break;
				}
			case OBJECT_TABLE:
			case OBJECT_SEQUENCE:
			case OBJECT_INDEX:
				{
					Oid			relid = relid_of(makeRangeVarFromNameList(castNode(List, obj)));

					if (audit_is_trail_relation(relid))
						guard_refuse(relid, "the audit trail cannot be dropped", "The trail is append-only; the retention procedure removes whole expired partitions.");
					break;
				}
			case OBJECT_TYPE:
			case OBJECT_DOMAIN:
				if (owner_rules &&
					type_of_protected(LookupTypeNameOid(NULL, castNode(TypeName, obj), true)))
					guard_refuse(InvalidOid, "the type of a protected typed table cannot be dropped",
								 "DROP TYPE ... CASCADE would drop the protected table. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
				break;
			case OBJECT_SCHEMA:
				if (strcmp(strVal(obj), "ledger") == 0)
					guard_refuse(InvalidOid, "the ledger schema cannot be dropped on its own",
								 "DROP EXTENSION mynumber_ledger removes the extension with its schema objects.");
				break;
			case OBJECT_FUNCTION:
			case OBJECT_PROCEDURE:
			case OBJECT_ROUTINE:
			case OBJECT_AGGREGATE:
				if (is_ledger_function(LookupFuncWithArgs(stmt->removeType, castNode(ObjectWithArgs, obj), true)))
					guard_refuse(InvalidOid, "the extension's functions cannot be dropped on their own",
								 "DROP EXTENSION mynumber_ledger removes the extension as a whole.");
				break;
			default:
				break;
		}
	}
}

/* DROP OWNED BY a role that owns protected tables would drop them. */
static void
guard_drop_owned(DropOwnedStmt *stmt, bool owner_rules)
{
	ListCell   *lc;

	if (!owner_rules)
		return;
	foreach(lc, stmt->roles)
	{
		if (role_owns_protected(get_rolespec_oid(lfirst(lc), true)))
			guard_refuse(InvalidOid, "DROP OWNED would drop protected tables",
						 "A protected table can be dropped only by a superuser.");
	}
}

/* REASSIGN OWNED BY a role that owns protected tables would hand them to another owner. */
static void
guard_reassign_owned(ReassignOwnedStmt *stmt, bool owner_rules)
{
	ListCell   *lc;

	if (!owner_rules)
		return;
	foreach(lc, stmt->roles)
	{
		if (role_owns_protected(get_rolespec_oid(lfirst(lc), true)))
			guard_refuse(InvalidOid, "REASSIGN OWNED would change the owner of protected tables",
						 "A protected table changes owner only by a superuser.");
	}
}

static void
guard_rename(RenameStmt *r, bool owner_rules)
{
	/* ALTER INDEX ... RENAME takes the weaker lock (PostgreSQL upgrades it for a table) */
	Oid			relid = relid_for(r->relation,
								  r->renameType == OBJECT_INDEX ? ShareUpdateExclusiveLock : AccessExclusiveLock,
								  NEED_OWNER);

	if (owner_rules)
	{
		/*
		 * The extension's policies and triggers are known by their names' prefix: a name is
		 * reserved when an object is renamed as much as when it is made (a DBA's own policy
		 * renamed mnl_rls_... would pass for the extension's and run as every staff reader; a
		 * trigger renamed mnl_audit_... would pass protect_table's check).
		 */
		if (r->renameType == OBJECT_POLICY && is_protect_policy_name(r->newname))
			guard_refuse(relid, "policy names beginning with mnl_rls_ are reserved",
						 "Use ledger.protect_table() to protect a table.");
		if (r->renameType == OBJECT_TRIGGER && is_reserved_name(r->newname))
			guard_refuse(relid, "audit trigger names are reserved",
						 "Use ledger.audit_table() to audit a table; name your own triggers differently.");
		if (r->renameType == OBJECT_POLICY && r->relation &&
			(protected_relid(relid) || is_protect_policy_name(r->subname)))
			guard_refuse(relid, "the policies of a protected table cannot be renamed", "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
		/*
		 * Legal holds name a table by schema and name, and its guard a column by name.  Every
		 * form that names the table: ALTER TABLE, and ALTER INDEX/VIEW/SEQUENCE/... or ALTER
		 * TYPE ... RENAME ATTRIBUTE written over the table's name, which PostgreSQL accepts.
		 */
		if (r->relation && r->renameType != OBJECT_POLICY && r->renameType != OBJECT_TRIGGER &&
			protected_relid(relid))
			guard_refuse(relid, "a protected table and its columns cannot be renamed",
						 "Legal holds and the hold guard name them; renaming would take them out from under a hold. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
		if (r->renameType == OBJECT_SCHEMA &&
			schema_has_protected(get_namespace_oid(r->subname, true)))
			guard_refuse(InvalidOid, "a schema holding a protected table cannot be renamed",
						 "Legal holds name tables by schema and name. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
	}
	/* an audited table's columns keep their names: a swap of two names swaps their values
	 * for every reader, with no record of an update */
	if (owner_rules && r->renameType == OBJECT_COLUMN && audited_relid(relid))
		guard_refuse(relid, "a column of an audited table is renamed only by a superuser",
					 "Renaming (swapping) columns changes what every row says, with no record of an update.");
	if (r->relation && audited_relid(relid) &&
		(r->renameType == OBJECT_COLUMN || r->renameType == OBJECT_TABLE))
		audit_record_ddl(relid, AUDIT_KIND_ALTER,
						 r->renameType == OBJECT_COLUMN ? "column renamed" : "table renamed");
	if (owner_rules && r->renameType == OBJECT_ATTRIBUTE && type_of_protected(type_of_relid(relid)))
		guard_refuse(InvalidOid, "the type of a protected typed table cannot be altered",
					 "Renaming its attribute would rename the protected table's column. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
	if (r->renameType == OBJECT_ATTRIBUTE)
		guard_audited_type(relid, owner_rules,
						   "Renaming its attribute renames the audited table's column: what every row says changes.",
						   "an attribute of the table's type renamed");
	if (r->renameType == OBJECT_SCHEMA && r->subname != NULL && strcmp(r->subname, "ledger") == 0)
		guard_refuse(InvalidOid, "the ledger schema cannot be renamed",
					 "The extension and its guard find the trail and the ledger by the schema's name.");
	if (r->renameType == OBJECT_TRIGGER && r->subname &&
		(is_reserved_name(r->subname) || audit_is_trail_relation(relid)))
		guard_refuse(relid, "the audit triggers cannot be renamed",
					 "They are found by name; leave them as they are.");
	if ((r->renameType == OBJECT_FUNCTION || r->renameType == OBJECT_PROCEDURE ||
		 r->renameType == OBJECT_ROUTINE) &&
		is_ledger_function(LookupFuncWithArgs(r->renameType, castNode(ObjectWithArgs, r->object), true)))
		guard_refuse(InvalidOid, "the extension's functions cannot be renamed", "They are called by name.");
	if (r->relation && audit_is_trail_relation(relid))
		guard_refuse(relid, "the audit trail cannot be renamed", "The trail's tables keep their names.");
}

static void
guard_alter_object_schema(AlterObjectSchemaStmt *a, bool owner_rules)
{
	Oid			relid = relid_for(a->relation, AccessExclusiveLock, NEED_OWNER);

	if (owner_rules && a->relation && protected_relid(relid))
		guard_refuse(relid, "a protected table cannot be moved to another schema",
					 "Legal holds name tables by schema and name. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
	if (a->relation && audit_is_trail_relation(relid))
		guard_refuse(relid, "the audit trail cannot be moved", "The trail stays in schema ledger.");
	if ((a->objectType == OBJECT_FUNCTION || a->objectType == OBJECT_PROCEDURE ||
		 a->objectType == OBJECT_ROUTINE || a->objectType == OBJECT_AGGREGATE) &&
		is_ledger_function(LookupFuncWithArgs(a->objectType, castNode(ObjectWithArgs, a->object), true)))
		guard_refuse(InvalidOid, "the extension's functions cannot be moved",
					 "They are called by schema-qualified name; a function of the same name could take the place.");
	if ((a->objectType == OBJECT_TYPE || a->objectType == OBJECT_DOMAIN) && a->object != NULL)
	{
		Oid			typid = LookupTypeNameOid(NULL, makeTypeNameFromNameList(castNode(List, a->object)), true);

		if (OidIsValid(typid) && is_ledger_type(typid))
			guard_refuse(InvalidOid, "the extension's types cannot be moved", "They stay in schema ledger.");
	}
}

/*
 * A foreign key that references a protected table: its checks see every row, past the
 * policies (an insert that succeeds tells which hidden keys exist), and ON DELETE RESTRICT
 * would hold staff's and the retention run's deletes.
 */
static void
refuse_reference_to_protected(Constraint *c)
{
	Oid			relid;

	if (c == NULL || c->contype != CONSTR_FOREIGN)
		return;
	relid = relid_for(c->pktable, ShareRowExclusiveLock, NEED_NOTHING);
	if (protected_relid(relid))
		guard_refuse(relid, "a foreign key cannot reference a protected table",
					 "Its checks read every row of the protected table, past row-level security. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
}

/* CREATE TABLE ... INHERITS (a guarded table): an unguarded child read through it. */
static void
guard_create_table(CreateStmt *stmt, bool owner_rules)
{
	ListCell   *lc;

	/* a partition or child of the trail: records outside its guard triggers (every role) */
	foreach(lc, stmt->inhRelations)
	{
		Oid			parent = relid_of(lfirst(lc));

		if (audit_is_trail_relation(parent))
			guard_refuse(parent, "the audit trail cannot get partitions or children",
						 "The writer adds the trail's month partitions with their guard triggers.");
	}
	if (!owner_rules)
		return;
	foreach(lc, stmt->tableElts)
	{
		Node	   *elt = lfirst(lc);

		if (IsA(elt, Constraint))
			refuse_reference_to_protected((Constraint *) elt);
		else if (IsA(elt, ColumnDef))
		{
			ListCell   *lc2;

			foreach(lc2, ((ColumnDef *) elt)->constraints)
				refuse_reference_to_protected(lfirst(lc2));
		}
	}
	foreach(lc, stmt->constraints)
		refuse_reference_to_protected(lfirst(lc));
	if (stmt->partbound != NULL)
	{
		/* PARTITION OF: the parent's row triggers are cloned onto it; a crash must not empty it */
		if (stmt->relation->relpersistence == RELPERSISTENCE_UNLOGGED && stmt->inhRelations != NIL &&
			audited_relid(relid_of(linitial(stmt->inhRelations))))
			guard_refuse(relid_of(linitial(stmt->inhRelations)),
						 "an unlogged partition of an audited table is created only by a superuser",
						 "A crash or a failover would empty it with no record of the loss.");
		return;
	}
	foreach(lc, stmt->inhRelations)
	{
		Oid			parent = relid_for(lfirst(lc), ShareUpdateExclusiveLock, NEED_NOTHING);

		if (protected_relid(parent) || audited_relid(parent))
			guard_refuse(parent, "a protected or audited table cannot gain an inheritance child",
						 "The child's rows would be read through it with no policy or record of their own. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
	}
}

static void
guard_alter_owner(AlterOwnerStmt *a)
{
	Oid			relid = relid_of(a->relation);

	if (a->relation && audit_is_trail_relation(relid))
		guard_refuse(relid, "the owner of the audit trail cannot be changed",
					 "The trail belongs to the extension's owner.");
	/* the extension's functions run as their owner (SECURITY DEFINER ones): every role */
	if ((a->objectType == OBJECT_FUNCTION || a->objectType == OBJECT_PROCEDURE ||
		 a->objectType == OBJECT_ROUTINE || a->objectType == OBJECT_AGGREGATE) &&
		is_ledger_function(LookupFuncWithArgs(a->objectType, castNode(ObjectWithArgs, a->object), true)))
		guard_refuse(InvalidOid, "the owner of the extension's functions cannot be changed",
					 "They belong to the extension's owner.");
	/* pg_restore sets the schema's owner before it creates the extension in it */
	if (a->objectType == OBJECT_SCHEMA && a->object != NULL && strcmp(strVal(a->object), "ledger") == 0 &&
		OidIsValid(get_extension_oid(MNL_EXTENSION_NAME, true)))
		guard_refuse(InvalidOid, "the owner of the ledger schema cannot be changed",
					 "The extension's work as the owner runs as the schema's owner.");
	if ((a->objectType == OBJECT_TYPE || a->objectType == OBJECT_DOMAIN) && a->object != NULL)
	{
		Oid			typid = LookupTypeNameOid(NULL, makeTypeNameFromNameList(castNode(List, a->object)), true);

		if (OidIsValid(typid) && is_ledger_type(typid))
			guard_refuse(InvalidOid, "the owner of the extension's types cannot be changed",
						 "They belong to the extension's owner.");
	}
}

static void
guard_lock(LockStmt *stmt, bool owner_rules)
{
	ListCell   *lc;

	if (!owner_rules)
		return;
	foreach(lc, stmt->relations)
	{
		/* NOWAIT: PostgreSQL does not wait, and so looks nothing up again */
		Oid			relid = relid_for(lfirst(lc), stmt->nowait ? NoLock : stmt->mode, NEED_LOCK);

		if (protected_relid(relid) || view_reads_protected(relid))
			guard_refuse(relid, "a protected table cannot be locked with LOCK TABLE",
						 "Rows are locked by the statements that change them; a table lock held in an open "
						 "transaction would hold up the municipality's jobs. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
	}
}

static void
guard_truncate(TruncateStmt *stmt, bool owner_rules)
{
	ListCell   *lc;

	if (owner_rules)
		foreach(lc, stmt->relations)
		{
			Oid			relid = relid_for(lfirst(lc), AccessExclusiveLock, NEED_TRUNCATE);

			if (protected_relid(relid))
				guard_refuse(relid, "a protected table cannot be truncated",
							 "TRUNCATE is not subject to row-level security; delete rows with DELETE, or ask a superuser.");
			if (stmt->behavior == DROP_CASCADE && truncate_cascade_reaches_protected(relid))
				guard_refuse(relid, "TRUNCATE ... CASCADE would truncate a protected table",
							 "A protected table's foreign key references this table; TRUNCATE is not subject to row-level security.");
		}
	foreach(lc, stmt->relations)
	{
		Oid			relid = relid_of(lfirst(lc));

		if (audit_is_trail_relation(relid))
			guard_refuse(relid, "the audit trail cannot be truncated", "The trail is append-only; the retention procedure removes whole expired partitions.");
		/*
		 * A partition of an audited table carries its parent's row triggers, not the
		 * statement-level TRUNCATE one: its truncation is recorded here, in its transaction.
		 */
		if (OidIsValid(relid) && get_rel_relispartition(relid) && audited_relid(relid))
			audit_record_ddl(relid, AUDIT_KIND_TRUNCATE, "partition of an audited table truncated");
	}
}

static void
guard_create_policy(CreatePolicyStmt *c, bool owner_rules)
{
	Oid			relid = relid_for(c->table, AccessExclusiveLock, NEED_OWNER);

	/* every role: a policy on the trail would hide records from whoever reads it */
	if (audit_is_trail_relation(relid))
		guard_refuse(relid, "the audit trail cannot get policies",
					 "A policy would hide records from the auditor who reads the trail; the trail is the same for every reader.");
	if (!owner_rules)
		return;
	if (is_protect_policy_name(c->policy_name))
		guard_refuse(relid, "policy names beginning with mnl_rls_ are reserved",
					 "Use ledger.protect_table() to protect a table.");
	if (protected_relid(relid))
		guard_refuse(relid, "a protected table cannot get more policies", "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
}

static void
guard_alter_policy(AlterPolicyStmt *a, bool owner_rules)
{
	Oid			relid = relid_for(a->table, AccessExclusiveLock, NEED_OWNER);

	if (audit_is_trail_relation(relid))
		guard_refuse(relid, "the audit trail cannot get policies",
					 "A policy would hide records from the auditor who reads the trail; the trail is the same for every reader.");
	if (owner_rules && protected_relid(relid))
		guard_refuse(relid, "the policies of a protected table cannot be altered", "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
}

static void
guard_create_trigger(CreateTrigStmt *c, bool owner_rules)
{
	Oid			relid = relid_for(c->relation, ShareRowExclusiveLock, NEED_NOTHING);

	/* every role: the trail's triggers are the extension's; OR REPLACE would swap a guard out */
	if (audit_is_trail_relation(relid))
		guard_refuse(relid, "the audit trail cannot get triggers",
					 "The trail's guard triggers are the extension's; the trail is append-only for every role.");
	if (c->replace && is_reserved_name(c->trigname))
		guard_refuse(relid, "the audit triggers of an audited table cannot be replaced",
					 "Only ledger.audit_table() and ledger.unaudit_table() change them.");

	if (owner_rules)
	{
		Oid			fn = LookupFuncName(c->funcname, 0, NULL, true);

		if (protected_relid(relid))
			guard_refuse(relid, "a protected table cannot get new triggers from a non-superuser",
						 "A trigger sees every row written, past row-level security. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
		/* the guard triggers run as the extension's owner: only its own code attaches them */
		if (OidIsValid(fn) && get_func_namespace(fn) == get_namespace_oid("ledger", true))
			guard_refuse(relid, "the extension's trigger functions are attached only by the extension",
						 "Use ledger.protect_table() or ledger.audit_table().");
		/* a superuser may use the names: pg_restore recreates the triggers of audited tables */
		if (is_reserved_name(c->trigname))
			guard_refuse(relid, "audit trigger names are reserved",
						 "Use ledger.audit_table() to audit a table; name your own triggers differently.");
	}
}

static void
guard_rule(RuleStmt *stmt, bool owner_rules)
{
	Oid			relid = relid_for(stmt->relation, AccessExclusiveLock, NEED_OWNER);

	if (audit_is_trail_relation(relid))
		guard_refuse(relid, "the audit trail cannot get rules",
					 "A rule could turn the writes of records or blocks into nothing; the trail is append-only for every role.");

	if (owner_rules && protected_relid(relid))
		guard_refuse(relid, "a protected table cannot get rules", "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
}

static void
guard_index(IndexStmt *stmt, bool owner_rules)
{
	Oid			relid = relid_for(stmt->relation, stmt->concurrent ? ShareUpdateExclusiveLock : ShareLock,
								  NEED_OWNER);

	if (audit_is_trail_relation(relid))
		guard_refuse(relid, "the audit trail cannot get indexes",
					 "An index expression would run on every record the writer stores; the trail's indexes are the extension's.");
	if (owner_rules && protected_relid(relid))
		guard_refuse(relid, "a protected table cannot get new indexes from a non-superuser",
					 "Building an index evaluates its expressions over every row and reports duplicate values, past row-level security. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
}

static void
guard_create_statistics(CreateStatsStmt *cs, bool owner_rules)
{
	Oid			relid;

	if (list_length(cs->relations) != 1 || !IsA(linitial(cs->relations), RangeVar))
		return;
	relid = relid_for(linitial(cs->relations), ShareUpdateExclusiveLock, NEED_NOTHING);
	if (audit_is_trail_relation(relid))
		guard_refuse(relid, "the audit trail cannot get extended statistics", "The trail's objects are the extension's.");
	if (owner_rules && protected_relid(relid))
		guard_refuse(relid, "a protected table cannot get extended statistics from a non-superuser",
					 "Extended statistics keep values sampled past row-level security. " "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
}

/* Is relid guarded: protected, audited or the trail? */
static bool
guarded_relid(Oid relid)
{
	return protected_relid(relid) || audited_relid(relid) || audit_is_trail_relation(relid);
}

/*
 * ALTER TRIGGER/INDEX/FUNCTION ... [NO] DEPENDS ON EXTENSION: marked so, a guarded table's
 * triggers, its indexes or the extension's functions would be dropped silently with another
 * extension (DROP EXTENSION cascades to them, past the guard).  Every role.
 */
static void
guard_alter_depends(AlterObjectDependsStmt *a)
{
	Oid			relid = InvalidOid;

	switch (a->objectType)
	{
		case OBJECT_TRIGGER:
			relid = relid_for(a->relation, AccessExclusiveLock, NEED_NOTHING);
			/* the grammar gives the trigger's name as a one-element list */
			if ((a->object != NULL && IsA(a->object, List) &&
				 is_reserved_name(strVal(llast(castNode(List, a->object))))) ||
				guarded_relid(relid))
				guard_refuse(relid, "the triggers of a guarded table cannot depend on an extension",
							 "DROP EXTENSION would drop them with the other extension.");
			break;
		case OBJECT_INDEX:
			relid = relid_for(a->relation, AccessExclusiveLock, NEED_NOTHING);
			if (OidIsValid(relid) && get_rel_relkind(relid) == RELKIND_INDEX)
				relid = IndexGetRelation(relid, true);
			if (guarded_relid(relid))
				guard_refuse(relid, "the indexes of a guarded table cannot depend on an extension",
							 "DROP EXTENSION would drop them with the other extension.");
			break;
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
			if (is_ledger_function(LookupFuncWithArgs(a->objectType, castNode(ObjectWithArgs, a->object), true)))
				guard_refuse(InvalidOid, "the extension's functions cannot depend on another extension",
							 "DROP EXTENSION would drop them with the other extension.");
			break;
		default:
			/* a table, view or materialized view named by a->relation */
			relid = relid_for(a->relation, AccessExclusiveLock, NEED_NOTHING);
			if (guarded_relid(relid))
				guard_refuse(relid, "a guarded table cannot depend on an extension",
							 "DROP EXTENSION would drop it with the other extension.");
			break;
	}
}

/*
 * ALTER EXTENSION ... ADD/DROP: a guarded table made a member of another extension is
 * dropped with it; the ledger's own members change only by its scripts.  Every role.
 */
static void
guard_alter_extension_contents(AlterExtensionContentsStmt *a)
{
	if (strcmp(a->extname, MNL_EXTENSION_NAME) == 0)
		guard_refuse(InvalidOid, "the members of the extension change only by its install and upgrade scripts",
					 "Upgrade the extension with ALTER EXTENSION mynumber_ledger UPDATE.");
	switch (a->objtype)
	{
		case OBJECT_TABLE:
		case OBJECT_FOREIGN_TABLE:
		case OBJECT_VIEW:
		case OBJECT_MATVIEW:
		case OBJECT_SEQUENCE:
			{
				Oid			relid = relid_for(makeRangeVarFromNameList(castNode(List, a->object)),
										  ShareUpdateExclusiveLock, NEED_NOTHING);

				if (guarded_relid(relid))
					guard_refuse(relid, "a guarded table cannot become a member of an extension",
								 "DROP EXTENSION would drop it with that extension.");
				break;
			}
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
		case OBJECT_AGGREGATE:
			if (is_ledger_function(LookupFuncWithArgs(a->objtype, castNode(ObjectWithArgs, a->object), true)))
				guard_refuse(InvalidOid, "the extension's functions cannot become members of another extension",
							 "DROP EXTENSION would drop them with that extension.");
			break;
		default:
			break;
	}
}

/*
 * Statements the guard has nothing to refuse on a guarded table but which PostgreSQL refuses
 * to a role without the right (REINDEX, CLUSTER, COMMENT, GRANT: the owner's; VACUUM and
 * ANALYZE: the owner's or the database owner's, skipped with a warning; COPY ... TO:
 * SELECT): the attempt is recorded, then PostgreSQL refuses it as usual.
 */
static void
record_if_refused(RangeVar *rv, bool need_select)
{
	Oid			relid = relid_of(rv);

	if (!OidIsValid(relid))
		return;
	/* a COPY TO of an audited table is recorded by the read audit (reads/hooks.c) */
	if (need_select && !audit_is_trail_relation(relid))
		return;
	if (need_select ? pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK ||
		pg_attribute_aclcheck_all(relid, GetUserId(), ACL_SELECT, ACLMASK_ANY) == ACLCHECK_OK :
		mnl_class_ownercheck(relid, GetUserId()))
		return;
	record_postgres_refusal(relid, need_select ? ACLCHECK_NO_PRIV : ACLCHECK_NOT_OWNER);
}

static void
guard_record_refusals(Node *stmt)
{
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_ReindexStmt:
			if (((ReindexStmt *) stmt)->relation != NULL &&
				((ReindexStmt *) stmt)->kind == REINDEX_OBJECT_TABLE)
				record_if_refused(((ReindexStmt *) stmt)->relation, false);
			break;
		case T_ClusterStmt:
			if (((ClusterStmt *) stmt)->relation != NULL)
				record_if_refused(((ClusterStmt *) stmt)->relation, false);
			break;
		case T_CommentStmt:
			if (((CommentStmt *) stmt)->objtype == OBJECT_TABLE)
				record_if_refused(makeRangeVarFromNameList(castNode(List, ((CommentStmt *) stmt)->object)), false);
			break;
		case T_GrantStmt:
			if (((GrantStmt *) stmt)->targtype == ACL_TARGET_OBJECT && ((GrantStmt *) stmt)->objtype == OBJECT_TABLE)
				foreach(lc, ((GrantStmt *) stmt)->objects)
					record_if_refused(lfirst(lc), false);
			break;
		case T_CopyStmt:
			if (!((CopyStmt *) stmt)->is_from && ((CopyStmt *) stmt)->relation != NULL)
				record_if_refused(((CopyStmt *) stmt)->relation, true);
			break;
		case T_VacuumStmt:
			/* skipped with a warning unless the owner's (or the database owner's) */
			if (!mnl_database_ownercheck(MyDatabaseId, GetUserId()))
				foreach(lc, ((VacuumStmt *) stmt)->rels)
					if (((VacuumRelation *) lfirst(lc))->relation != NULL)
						record_if_refused(((VacuumRelation *) lfirst(lc))->relation, false);
			break;
		default:
			break;
	}
}

/* COPY ... FROM into the trail (every role: it is written only by the writer and the
 * triggers) or into a protected table (row-level security does not apply to COPY FROM). */
static void
guard_copy_from(CopyStmt *c, bool owner_rules)
{
	Oid			relid;

	if (!c->is_from || c->relation == NULL)
		return;
	relid = relid_of(c->relation);
	if (audit_is_trail_relation(relid))
		guard_refuse(relid, "the audit trail cannot be written with COPY", "The trail is append-only; the retention procedure removes whole expired partitions.");
	if (owner_rules && protected_relid(relid))
		guard_refuse(relid, "COPY FROM into a protected table is refused",
					 "Row-level security does not apply to COPY FROM; insert rows with INSERT.");
}

/* ALTER TYPE ... RENAME VALUE of an enum a guarded table's column uses: its rows' values
 * change for every reader (a swap of two labels), with no record. */
static void
guard_alter_enum(AlterEnumStmt *a, bool owner_rules)
{
	Oid			typid;

	Oid			user_relid;

	if (a->oldVal == NULL)
		return;
	typid = LookupTypeNameOid(NULL, makeTypeNameFromNameList(a->typeName), true);
	/* the enum, and every type built on it: arrays, domains, composites (and theirs) */
	user_relid = catalog_query_oid("WITH RECURSIVE u(oid) AS (SELECT $1 UNION "
								   "  SELECT ty.oid FROM pg_catalog.pg_type ty JOIN u ON ty.typelem = u.oid OR ty.typbasetype = u.oid "
								   "  OR (ty.typrelid <> 0 AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a "
								   "      WHERE a.attrelid = ty.typrelid AND a.atttypid = u.oid AND NOT a.attisdropped))) "
								   "SELECT c.oid FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
								   "JOIN u ON a.atttypid = u.oid "
								   "WHERE NOT a.attisdropped AND c.relkind IN ('r', 'p') AND EXISTS "
								   "(SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname LIKE 'mnl\\_%') "
								   "ORDER BY c.oid LIMIT 1",
								   typid);
	if (!OidIsValid(user_relid))
		return;
	if (owner_rules)
		guard_refuse(InvalidOid, "a value of an enum that a guarded table uses is renamed only by a superuser",
					 "Renaming (swapping) labels changes what every row says, with no record of an update.");
	/* a superuser's rename: on the record of (the first) table that uses it */
	if (audited_relid(user_relid))
		audit_record_ddl(user_relid, AUDIT_KIND_ALTER, "a value of an enum type of its columns renamed");
}

static void
guard_create_function(CreateFunctionStmt *c)
{
	char	   *schema;
	char	   *name;

	DeconstructQualifiedName(c->funcname, &schema, &name);
	/* unqualified, it is created in the first schema of search_path: that may be ledger */
	if (c->replace && (schema != NULL ? strcmp(schema, "ledger") == 0 :
					   is_ledger_namespace(QualifiedNameGetCreationNamespace(c->funcname, &name))))
		guard_refuse(InvalidOid, "the extension's functions cannot be replaced",
					 "Upgrade the extension with ALTER EXTENSION mynumber_ledger UPDATE.");
}

static void
guard_alter_function(AlterFunctionStmt *a)
{
	if (is_ledger_function(LookupFuncWithArgs(a->objtype, a->func, true)))
		guard_refuse(InvalidOid, "the extension's functions cannot be altered",
					 "Upgrade the extension with ALTER EXTENSION mynumber_ledger UPDATE.");
}

/*
 * A statement that changes one of the extension's settings (or the log's), for a session,
 * a role, a database or the server: recorded (the value too, but a key command's).  The
 * writer records what a reload then changes (audit/worker.c).  set_config() is a function
 * call, not a statement: not recorded here.
 */
static void record_set(VariableSetStmt *set, const char *scope);

/* A function's SET clauses (CREATE or ALTER FUNCTION): applied at each of its calls. */
static void
record_function_sets(List *options, const char *scope)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *d = lfirst(lc);

		if (strcmp(d->defname, "set") == 0 && d->arg != NULL && IsA(d->arg, VariableSetStmt))
			record_set((VariableSetStmt *) d->arg, scope);
	}
}

static void
record_setting_statement(Node *stmt)
{
	VariableSetStmt *set = NULL;
	const char *scope = "SET";

	switch (nodeTag(stmt))
	{
		case T_CreateFunctionStmt:
			record_function_sets(((CreateFunctionStmt *) stmt)->options, "CREATE FUNCTION ... SET");
			return;
		case T_AlterFunctionStmt:
			record_function_sets(((AlterFunctionStmt *) stmt)->actions, "ALTER FUNCTION ... SET");
			return;
		case T_VariableSetStmt:
			set = (VariableSetStmt *) stmt;
			scope = set->is_local ? "SET LOCAL" : "SET";
			break;
		case T_AlterSystemStmt:
			set = ((AlterSystemStmt *) stmt)->setstmt;
			scope = "ALTER SYSTEM SET";
			break;
		case T_AlterRoleSetStmt:
			set = ((AlterRoleSetStmt *) stmt)->setstmt;
			scope = "ALTER ROLE ... SET";
			break;
		case T_AlterDatabaseSetStmt:
			set = ((AlterDatabaseSetStmt *) stmt)->setstmt;
			scope = "ALTER DATABASE ... SET";
			break;
		default:
			return;
	}
	record_set(set, scope);
}

static void
record_set(VariableSetStmt *set, const char *scope)
{
	char		detail[256];
	char	   *value;

	if (set != NULL && set->kind == VAR_RESET_ALL)
	{
		snprintf(detail, sizeof(detail), "%s: RESET ALL", scope);
		(void) audit_emit(AUDIT_KIND_SETTING, InvalidOid, 0, false, 0, detail, false);
		return;
	}
	if (set == NULL || set->name == NULL ||
		(strncmp(set->name, "ledger.", 7) != 0 && strcmp(set->name, "log_min_messages") != 0 &&
		 strcmp(set->name, "log_statement") != 0))
		return;
	value = set->kind == VAR_SET_VALUE && strstr(set->name, "_command") == NULL ?
		ExtractSetVariableArgs(set) : NULL;
	snprintf(detail, sizeof(detail), "%s %s%s%s", scope, set->name,
			 set->kind == VAR_SET_VALUE ? " = " : set->kind == VAR_RESET ? " (reset)" : " (default)",
			 value ? value : set->kind == VAR_SET_VALUE ? "..." : "");
	(void) audit_emit(AUDIT_KIND_SETTING, InvalidOid, 0, false, 0, detail, false);
}

/*
 * A change to what decides who reads or changes an audited table, or how — its policies,
 * triggers, rules, indexes, privileges — is recorded on the table's record (kind alter), in
 * the changing transaction, like ALTER TABLE: a superuser's ALTER POLICY ... USING (true) is
 * not a quiet way to open a protected table.
 */
static void
record_guarded_change(Node *stmt)
{
	Oid			relid = InvalidOid;
	const char *what = NULL;
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_CreatePolicyStmt:
			relid = relid_of(((CreatePolicyStmt *) stmt)->table);
			what = "policy created";
			break;
		case T_AlterPolicyStmt:
			relid = relid_of(((AlterPolicyStmt *) stmt)->table);
			what = "policy altered";
			break;
		case T_CreateTrigStmt:
			relid = relid_of(((CreateTrigStmt *) stmt)->relation);
			what = "trigger created";
			break;
		case T_RuleStmt:
			relid = relid_of(((RuleStmt *) stmt)->relation);
			what = "rule created";
			break;
		case T_IndexStmt:
			relid = relid_of(((IndexStmt *) stmt)->relation);
			what = "index created";
			break;
		case T_GrantStmt:
			{
				GrantStmt  *g = (GrantStmt *) stmt;

				if (g->targtype != ACL_TARGET_OBJECT || g->objtype != OBJECT_TABLE)
					return;
				foreach(lc, g->objects)
				{
					Oid			r = relid_of((RangeVar *) lfirst(lc));

					if (OidIsValid(r) && audited_relid(r))
						audit_record_ddl(r, AUDIT_KIND_ALTER, g->is_grant ? "privileges granted" : "privileges revoked");
				}
				return;
			}
		case T_DropStmt:
			{
				DropStmt   *d = (DropStmt *) stmt;

				if (d->removeType != OBJECT_POLICY && d->removeType != OBJECT_TRIGGER &&
					d->removeType != OBJECT_RULE && d->removeType != OBJECT_INDEX)
					return;
				foreach(lc, d->objects)
				{
					Oid			r;

					if (d->removeType == OBJECT_INDEX)
					{
						Oid			idx = relid_of(makeRangeVarFromNameList((List *) lfirst(lc)));

						r = OidIsValid(idx) ? IndexGetRelation(idx, true) : InvalidOid;
					}
					else
						r = list_length((List *) lfirst(lc)) >= 2 ?
							relid_of_member((List *) lfirst(lc), NoLock, NEED_NOTHING) : InvalidOid;
					if (OidIsValid(r) && audited_relid(r))
						audit_record_ddl(r, AUDIT_KIND_ALTER,
										 d->removeType == OBJECT_POLICY ? "policy dropped" :
										 d->removeType == OBJECT_TRIGGER ? "trigger dropped" :
										 d->removeType == OBJECT_RULE ? "rule dropped" : "index dropped");
				}
				return;
			}
		default:
			return;
	}
	if (OidIsValid(relid) && audited_relid(relid))
		audit_record_ddl(relid, AUDIT_KIND_ALTER, what);
}

/* ---------------------------------------------------------------------------------------
 * The dispatch
 * ---------------------------------------------------------------------------------------
 */

void
guard_statement(Node *stmt)
{
	bool		owner_rules;

	/*
	 * The extension's own code, and its install and upgrade scripts, build what is guarded;
	 * pg_upgrade (binary upgrade mode, superuser only) recreates it as it was.
	 */
	if (mnl_guard_bypass || IsBinaryUpgrade)
		return;
	/* ROLLBACK (or COMMIT) of a failed transaction: nothing to guard, no catalog to read */
	if (!IsTransactionState())
		return;
	if (creating_extension &&
		CurrentExtensionObject == get_extension_oid(MNL_EXTENSION_NAME, true))
		return;
	/* from any database: the trail's queue is the server's, and a role's or a database's
	 * setting made elsewhere applies in the ledger's */
	record_setting_statement(stmt);
	if (IsA(stmt, GrantStmt) && ((GrantStmt *) stmt)->is_grant &&
		((GrantStmt *) stmt)->objtype == OBJECT_PARAMETER_ACL)
	{
		ListCell   *lc;

		foreach(lc, ((GrantStmt *) stmt)->objects)
			if (strncmp(strVal(lfirst(lc)), "ledger.", 7) == 0)
				guard_refuse(InvalidOid, "the extension's settings cannot be granted to other roles",
							 "They are security settings: only a superuser sets them (postgresql.conf or ALTER SYSTEM).");
	}
	owner_rules = !superuser();
	guard_locks = owner_rules;
	if (owner_rules)
		guard_record_refusals(stmt);

	switch (nodeTag(stmt))
	{
		case T_AlterTableStmt:
			guard_alter_table((AlterTableStmt *) stmt, owner_rules);
			break;
		case T_DropStmt:
			guard_drop((DropStmt *) stmt, owner_rules);
			break;
		case T_DropOwnedStmt:
			guard_drop_owned((DropOwnedStmt *) stmt, owner_rules);
			break;
		case T_ReassignOwnedStmt:
			guard_reassign_owned((ReassignOwnedStmt *) stmt, owner_rules);
			break;
		case T_AlterObjectDependsStmt:
			guard_alter_depends((AlterObjectDependsStmt *) stmt);
			break;
		case T_AlterExtensionContentsStmt:
			guard_alter_extension_contents((AlterExtensionContentsStmt *) stmt);
			break;
		case T_RenameStmt:
			guard_rename((RenameStmt *) stmt, owner_rules);
			break;
		case T_AlterObjectSchemaStmt:
			guard_alter_object_schema((AlterObjectSchemaStmt *) stmt, owner_rules);
			break;
		case T_CreateStmt:
			guard_create_table((CreateStmt *) stmt, owner_rules);
			break;
		case T_CreateForeignTableStmt:
			guard_create_table(&((CreateForeignTableStmt *) stmt)->base, owner_rules);
			break;
		case T_AlterOwnerStmt:
			guard_alter_owner((AlterOwnerStmt *) stmt);
			break;
		case T_LockStmt:
			guard_lock((LockStmt *) stmt, owner_rules);
			break;
		case T_TruncateStmt:
			guard_truncate((TruncateStmt *) stmt, owner_rules);
			break;
		case T_CreatePolicyStmt:
			guard_create_policy((CreatePolicyStmt *) stmt, owner_rules);
			break;
		case T_AlterPolicyStmt:
			guard_alter_policy((AlterPolicyStmt *) stmt, owner_rules);
			break;
		case T_CreateTrigStmt:
			guard_create_trigger((CreateTrigStmt *) stmt, owner_rules);
			break;
		case T_RuleStmt:
			guard_rule((RuleStmt *) stmt, owner_rules);
			break;
		case T_IndexStmt:
			guard_index((IndexStmt *) stmt, owner_rules);
			break;
		case T_CreateStatsStmt:
			guard_create_statistics((CreateStatsStmt *) stmt, owner_rules);
			break;
		case T_CreateFunctionStmt:
			guard_create_function((CreateFunctionStmt *) stmt);
			break;
		case T_CopyStmt:
			guard_copy_from((CopyStmt *) stmt, owner_rules);
			break;
		case T_AlterEnumStmt:
			guard_alter_enum((AlterEnumStmt *) stmt, owner_rules);
			break;
		case T_AlterFunctionStmt:
			guard_alter_function((AlterFunctionStmt *) stmt);
			break;
		default:
			break;
	}
	/* what the guard let through (a superuser's, or an owner's of an audited table) */
	record_guarded_change(stmt);
}
