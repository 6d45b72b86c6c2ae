/*
 * guard/expressions.c — what a role that is not a superuser may write into an expression that
 * runs in other roles' sessions.
 *
 * A domain's CHECK and DEFAULT, a table's CHECK constraints and column defaults, a trigger's
 * WHEN condition: PostgreSQL evaluates them as whoever writes the row, casts the value or
 * reads the literal, with that role's sight and rights.  In a staff session the guard refuses
 * any function whose owner is not trusted (objects.c), but an expression of the DBA's own can
 * do harm with functions a superuser owns: ledger.reveal_person_number() run as an examiner,
 * setval(), nextval() or lo_put() carrying what it reveals or reads into the DBA's objects.
 * A domain's CHECK even runs while a staff query's literals are parsed, before any query tree
 * exists for the guard to look at.
 *
 * So the rule is applied where such an expression is made, from the object-access hook on
 * the new or changed catalog row (read with SnapshotSelf, as it is not yet visible otherwise):
 * a CHECK constraint (of a table or a domain), a column default or generation expression,
 * a trigger's WHEN, a domain's default.  Made by a role that is not a superuser (outside the
 * extension's own code and scripts), it may call
 *
 *   - a function of a role that is not a superuser (its own): such code does not run in a
 *     staff session at all (the fmgr hook refuses it there);
 *   - a function a superuser owns that is not volatile (no effect beyond its result), except
 *     the extension's own functions, which must be immutable (ledger.contains_mynumber may be
 *     used; ledger.may, which answers with the caller's duties, may not), and PostgreSQL's
 *     functions that run SQL given as text (table_to_xml is stable, and reads a whole table
 *     with the caller's sight — inside a foreign key's action, with its owner's FORCE lifted);
 *   - nextval(), the clocks and the random functions, which carry nothing of the row.
 *
 * Anything else — setval, lo_put, pg_notify, set_config, a reveal — is refused with 42501
 * and recorded.  PostgreSQL allows no sub-select in these expressions.
 *
 * Must never: refuse the extension's own objects, a superuser's, or PostgreSQL's internal ones
 * (pg_upgrade, the extension's scripts).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "core/mynumber_ledger.h"
#include "guard/guard.h"

/* A function an expression of a non-superuser's may not call (see the header). */
static bool
call_unsafe(Oid fn, void *context)
{
	HeapTuple	tup;
	Form_pg_proc proc;
	bool		unsafe;

	if (mnl_function_carries_nothing(fn))
		return false;
	/* query_to_xml, table_to_xml ...: some are stable, and all run a query with the caller's sight */
	if (guard_function_runs_sql_text(fn))
		return true;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(tup))
		return true;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	if (!superuser_arg(proc->proowner))
		unsafe = false;			/* the owner's own code: refused in every staff session */
	else if (proc->provolatile == PROVOLATILE_VOLATILE)
		unsafe = true;
	else
		unsafe = proc->pronamespace == get_namespace_oid("ledger", true) &&
			proc->provolatile != PROVOLATILE_IMMUTABLE;
	ReleaseSysCache(tup);
	return unsafe;
}

static bool
expression_unsafe_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, call_unsafe, context))
		return true;
	if (IsA(node, SubLink))
		return true;			/* PostgreSQL refuses them here; never let one by */
	return expression_tree_walker(node, expression_unsafe_walker, context);
}

/* The text of a stored expression (pg_node_tree): refused if it calls what it may not. */
static void
check_stored(Datum bin, Oid relid)
{
	Node	   *expr = stringToNode(TextDatumGetCString(bin));

	if (expression_unsafe_walker(expr, NULL))
		guard_refuse(relid, "a CHECK, default or trigger condition of a role that is not a superuser calls a function that acts with the rights of whoever runs it",
					 "It runs as every role that writes, casts or reads the value, staff included: it may call PostgreSQL's functions that are not volatile (and nextval, the clocks, random), the extension's immutable ones and its owner's own. A superuser makes it if it must be otherwise.");
}

/* The row of a catalog by its oid, as this command left it (not yet visible otherwise). */
static HeapTuple
catalog_row(Relation cat, Oid indexid, AttrNumber oidcol, Oid oid)
{
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key, oidcol, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(oid));
	scan = systable_beginscan(cat, indexid, true, SnapshotSelf, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		tup = heap_copytuple(tup);
	systable_endscan(scan);
	return tup;
}

static void
check_constraint(Oid conoid)
{
	Relation	cat = table_open(ConstraintRelationId, AccessShareLock);
	HeapTuple	tup = catalog_row(cat, ConstraintOidIndexId, Anum_pg_constraint_oid, conoid);
	bool		isnull;

	if (HeapTupleIsValid(tup) && ((Form_pg_constraint) GETSTRUCT(tup))->contype == CONSTRAINT_CHECK)
	{
		Datum		bin = heap_getattr(tup, Anum_pg_constraint_conbin, RelationGetDescr(cat), &isnull);

		if (!isnull)
			check_stored(bin, ((Form_pg_constraint) GETSTRUCT(tup))->conrelid);
	}
	table_close(cat, AccessShareLock);
}

static void
check_default(Oid relid, AttrNumber attnum)
{
	Relation	cat = table_open(AttrDefaultRelationId, AccessShareLock);
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		isnull;

	ScanKeyInit(&keys[0], Anum_pg_attrdef_adrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_attrdef_adnum, BTEqualStrategyNumber, F_INT2EQ, Int16GetDatum(attnum));
	scan = systable_beginscan(cat, AttrDefaultIndexId, true, SnapshotSelf, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Datum		bin = heap_getattr(tup, Anum_pg_attrdef_adbin, RelationGetDescr(cat), &isnull);

		if (!isnull)
			check_stored(bin, relid);
	}
	systable_endscan(scan);
	table_close(cat, AccessShareLock);
}

static void
check_trigger(Oid trigoid)
{
	Relation	cat = table_open(TriggerRelationId, AccessShareLock);
	HeapTuple	tup = catalog_row(cat, TriggerOidIndexId, Anum_pg_trigger_oid, trigoid);
	bool		isnull;

	if (HeapTupleIsValid(tup))
	{
		Datum		qual = heap_getattr(tup, Anum_pg_trigger_tgqual, RelationGetDescr(cat), &isnull);

		if (!isnull)
			check_stored(qual, ((Form_pg_trigger) GETSTRUCT(tup))->tgrelid);
	}
	table_close(cat, AccessShareLock);
}

static void
check_domain_default(Oid typid)
{
	Relation	cat = table_open(TypeRelationId, AccessShareLock);
	HeapTuple	tup = catalog_row(cat, TypeOidIndexId, Anum_pg_type_oid, typid);
	bool		isnull;

	if (HeapTupleIsValid(tup) && ((Form_pg_type) GETSTRUCT(tup))->typtype == TYPTYPE_DOMAIN)
	{
		Datum		bin = heap_getattr(tup, Anum_pg_type_typdefaultbin, RelationGetDescr(cat), &isnull);

		if (!isnull)
			check_stored(bin, InvalidOid);
	}
	table_close(cat, AccessShareLock);
}

/* From the object-access hook (objects.c): an object made or changed. */
void
guard_expression_made(ObjectAccessType access, Oid classId, Oid objectId, int subId)
{
	if (access != OAT_POST_CREATE && access != OAT_POST_ALTER)
		return;
	if (classId != ConstraintRelationId && classId != AttrDefaultRelationId &&
		classId != TriggerRelationId && classId != TypeRelationId)
		return;
	if (!IsTransactionState() || mnl_guard_bypass || mnl_internal_depth > 0 || IsBinaryUpgrade ||
		superuser())
		return;
	if (creating_extension &&
		CurrentExtensionObject == get_extension_oid(MNL_EXTENSION_NAME, true))
		return;
	if (classId == ConstraintRelationId)
		check_constraint(objectId);
	else if (classId == AttrDefaultRelationId && subId > 0)
		check_default(objectId, (AttrNumber) subId);
	else if (classId == TriggerRelationId)
		check_trigger(objectId);
	else if (classId == TypeRelationId)
		check_domain_default(objectId);
}
