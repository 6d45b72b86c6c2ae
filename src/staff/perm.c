/*
 * perm.c — the permission decision behind row-level security: may the current role do
 * ACTION on a row of org unit ORG for AFFAIR?
 *
 * The answer comes from the staff registry (staff.sql): ledger._permitted_org_units()
 * computes, in plain SQL an auditor can read, the org units where a role may do an action
 * for an affair today.  This file caches that set at each call site (fn_extra) so that the
 * per-row cost of a policy is one comparison of counters and a search of a short sorted
 * array.
 *
 * When the answer must be recomputed:
 *   - the role changed (SET ROLE, a SECURITY DEFINER function): compared on every call;
 *   - the registry changed: any statement that writes a registry table bumps a backend-local
 *     counter at once and, when it commits, a counter in shared memory that every backend
 *     reads on every call (so a retirement is seen by every open session, cursors included,
 *     from the next row they read);
 *   - the day changed (validity periods are dates in ledger.time_zone): checked once per
 *     statement against the next midnight.
 * The registry is read with a fresh snapshot, so a session in a long transaction still sees a
 * committed retirement.  The shared counter is read before the snapshot is taken: a commit
 * that the snapshot missed bumps it afterwards, and the next call recomputes.
 *
 * Must never: raise an error from ledger.may() (it is LEAKPROOF: a policy filter whose
 * errors could reveal a hidden row); put a My Number or any row value in a message.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/primnodes.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "audit/audit.h"
#include "core/mynumber_ledger.h"
#include "staff/perm.h"

PG_FUNCTION_INFO_V1(perm_may);
PG_FUNCTION_INFO_V1(perm_must);
PG_FUNCTION_INFO_V1(perm_write_gate);
PG_FUNCTION_INFO_V1(perm_registry_changed);

#define MAX_NAME	64

/*
 * One answer: the org units where userid may do action for affair.  A backend keeps a few
 * (most sessions use one role and two or three actions); a call site remembers which one it
 * used last and the argument pointers it matched, so a policy's per-row cost is a handful
 * of integer comparisons and a binary search.
 */
typedef struct PermSet
{
	bool		valid;
	uint64		version;		/* bumped whenever this slot is recomputed or reused */
	Oid			userid;
	uint64		shared_gen;
	uint64		local_gen;
	TimestampTz checked_stmt;	/* statement start at which the day was last checked */
	TimestampTz recheck_at;		/* next midnight in ledger.time_zone */
	bool		superuser;
	bool		is_staff;
	int64		staff_id;
	char		action[MAX_NAME];
	char		affair[MAX_NAME];
	int			norgs;
	int32	   *orgs;			/* sorted, in perm_cxt */
} PermSet;

#define NSETS	8
static PermSet sets[NSETS];
static int	next_victim = 0;
static MemoryContext perm_cxt = NULL;

typedef struct PermSite
{
	PermSet    *set;
	uint64		version;
	bool		stable_args;	/* constants: the pointers identify the values */
	Datum		action_arg;
	Datum		affair_arg;
	PermSiteHook hook;			/* perm_watch_site(): called whenever ledger.may answers true */
	void	   *hook_arg;
} PermSite;

/*
 * ledger._registry_changed(): AFTER ... FOR EACH STATEMENT trigger on the registry tables;
 * the counters it moves are core's (registry.c).
 */
Datum
perm_registry_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ledger._registry_changed() must be called as a trigger"),
				 errhint("The registry tables' triggers call it; it is not called directly.")));
	mnl_registry_note_change();
	return PointerGetDatum(NULL);
}

/* ---------------------------------------------------------------------------------------
 * Computing a set
 * ---------------------------------------------------------------------------------------
 */

typedef struct BuildWork
{
	const char *role;
	const char *action;
	const char *affair;
	MemoryContext cxt;			/* where the org array goes */
	PermSet    *set;
} BuildWork;

static int
cmp_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

static void
build_work(void *arg)
{
	static SPIPlanPtr plan = NULL;
	BuildWork  *w = arg;
	PermSet    *s = w->set;
	Datum		values[3];
	Snapshot	snap;
	bool		isnull;
	Datum		d;
	int			rc;

	if (plan == NULL)
	{
		Oid			types[3] = {NAMEOID, TEXTOID, TEXTOID};

		plan = SPI_prepare("SELECT staff_id, org_units, recheck_at "
						   "FROM ledger._permitted_org_units($1, $2, $3)", 3, types);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
	}
	values[0] = DirectFunctionCall1(namein, CStringGetDatum(w->role));
	values[1] = CStringGetTextDatum(w->action);
	values[2] = CStringGetTextDatum(w->affair);
	/* A parallel query cannot take a new snapshot; it uses its own (same statement). */
	snap = IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot();
	rc = SPI_execute_snapshot(plan, values, NULL, snap, InvalidSnapshot, true, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "ledger._permitted_org_units returned %d rows (%d)", (int) SPI_processed, rc);

	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	s->is_staff = !isnull;
	s->staff_id = isnull ? 0 : DatumGetInt64(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	s->recheck_at = isnull ? DT_NOEND : DatumGetTimestampTz(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	s->norgs = 0;
	s->orgs = NULL;
	if (!isnull)
	{
		ArrayType  *arr = DatumGetArrayTypeP(d);
		int			n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));

		if (ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != INT4OID)
			elog(ERROR, "ledger._permitted_org_units returned a malformed array");
		if (n > 0)
		{
			s->orgs = MemoryContextAlloc(w->cxt, sizeof(int32) * n);
			memcpy(s->orgs, ARR_DATA_PTR(arr), sizeof(int32) * n);
			qsort(s->orgs, n, sizeof(int32), cmp_int32);
			s->norgs = n;
		}
	}
}

static void
copy_arg(char *dst, Datum arg)
{
	text	   *t = DatumGetTextPP(arg);
	int			len = Min(VARSIZE_ANY_EXHDR(t), MAX_NAME - 1);

	memcpy(dst, VARDATA_ANY(t), len);
	dst[len] = '\0';
}

static bool
same_arg(const char *cached, Datum arg)
{
	text	   *t = DatumGetTextPP(arg);
	int			len = VARSIZE_ANY_EXHDR(t);

	return len < MAX_NAME && strncmp(cached, VARDATA_ANY(t), len) == 0 && cached[len] == '\0';
}

static void
rebuild(PermSet *s, Datum action, Datum affair)
{
	BuildWork	w;
	uint64		gen = mnl_registry_shared_generation();	/* before the snapshot: see the header */
	char	   *role;

	if (perm_cxt == NULL)
		perm_cxt = AllocSetContextCreate(TopMemoryContext, "mynumber_ledger permissions",
										 ALLOCSET_SMALL_SIZES);
	if (s->orgs)
		pfree(s->orgs);
	s->orgs = NULL;
	s->norgs = 0;
	s->valid = false;
	s->version++;
	s->userid = GetUserId();
	s->shared_gen = gen;
	s->local_gen = mnl_registry_local_generation;
	s->checked_stmt = GetCurrentStatementStartTimestamp();
	copy_arg(s->action, action);
	copy_arg(s->affair, affair);
	s->superuser = superuser_arg(s->userid);
	s->is_staff = false;
	s->staff_id = 0;
	s->recheck_at = DT_NOEND;
	role = GetUserNameFromId(s->userid, true);
	if (role != NULL)
	{
		w.role = role;
		w.action = s->action;
		w.affair = s->affair;
		w.cxt = perm_cxt;
		w.set = s;
		mnl_as_owner(build_work, &w, MNL_OWNER_RESTRICTED | MNL_OWNER_INTERNAL);
	}
	s->valid = true;
}

/* Is the set still the answer for its role, now? */
static inline bool
set_current(PermSet *s)
{
	TimestampTz stmt;

	if (!s->valid || s->userid != GetUserId() ||
		s->shared_gen != mnl_registry_shared_generation() || s->local_gen != mnl_registry_local_generation)
		return false;
	stmt = GetCurrentStatementStartTimestamp();
	if (stmt != s->checked_stmt)
	{
		if (stmt >= s->recheck_at)
			return false;
		s->checked_stmt = stmt;
	}
	return true;
}

static PermSet *
find_set(Datum action, Datum affair)
{
	Oid			userid = GetUserId();
	PermSet    *s;
	int			i;

	for (i = 0; i < NSETS; i++)
	{
		s = &sets[i];
		if (s->valid && s->userid == userid && same_arg(s->action, action) &&
			same_arg(s->affair, affair))
		{
			if (!set_current(s))
				rebuild(s, action, affair);
			return s;
		}
	}
	s = &sets[next_victim];
	next_victim = (next_victim + 1) % NSETS;
	rebuild(s, action, affair);
	return s;
}

/*
 * Is argument argnum a constant of the expression (as in a policy)?  Only then does its
 * pointer identify its value for the life of the call site; a parameter's memory can be
 * reused for another value.
 */
static bool
arg_is_const(FmgrInfo *flinfo, int argnum)
{
	List	   *args;

	if (flinfo->fn_expr == NULL)
		return false;
	if (IsA(flinfo->fn_expr, FuncExpr))
		args = ((FuncExpr *) flinfo->fn_expr)->args;
	else
		return false;
	return argnum < list_length(args) && IsA(list_nth(args, argnum), Const);
}

/* The call site's own state, made at its first call (or when it is watched). */
static PermSite *
site_of(FmgrInfo *flinfo)
{
	PermSite   *site = flinfo->fn_extra;

	if (site == NULL)
	{
		site = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(PermSite));
		site->stable_args = arg_is_const(flinfo, 0) && arg_is_const(flinfo, 1);
		flinfo->fn_extra = site;
	}
	return site;
}

/*
 * Watch a call site of ledger.may (a policy's condition in a scan of a protected table):
 * hook(arg) runs each time it answers true, while the row it answered for is the current
 * one (reads/scan.c names that row).  flinfo must be ledger.may's, not yet called.
 */
void
perm_watch_site(FmgrInfo *flinfo, PermSiteHook hook, void *arg)
{
	PermSite   *site = site_of(flinfo);

	site->hook = hook;
	site->hook_arg = arg;
}

/* The answer for a call site's arguments: the per-row fast path, else the backend's sets. */
static PermSet *
current_set(FunctionCallInfo fcinfo, Datum action, Datum affair)
{
	PermSite   *site = site_of(fcinfo->flinfo);

	if (likely(site->set != NULL && site->stable_args && site->set->version == site->version &&
			   site->action_arg == action && site->affair_arg == affair &&
			   set_current(site->set)))
		return site->set;
	site->set = find_set(action, affair);
	site->version = site->set->version;
	site->action_arg = action;
	site->affair_arg = affair;
	return site->set;
}

static inline bool
set_contains(const PermSet *s, int32 org)
{
	int			lo = 0;
	int			hi = s->norgs - 1;

	if (s->superuser)
		return true;
	while (lo <= hi)
	{
		int			mid = (lo + hi) >> 1;
		int32		v = s->orgs[mid];

		if (v == org)
			return true;
		if (v < org)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/* ---------------------------------------------------------------------------------------
 * SQL-callable
 * ---------------------------------------------------------------------------------------
 */

/*
 * A staff identity borrowed: the current role is a staff member's, but neither the login
 * nor the role it SET ROLE to.  That is a SECURITY DEFINER function the staff member owns,
 * run by someone else (a pooled connection, after RESET ROLE, or while acting for another
 * person): it would act with the staff member's duties, outside the statement gate (idle
 * limit, retirement) and recorded under them.  A borrowed identity is permitted nothing.
 */
bool
perm_identity_borrowed(void)
{
	Oid			current = GetUserId();
	int64		staff_id;

	if (likely(current == GetOuterUserId()) || current == GetSessionUserId())
		return false;
	return mnl_registry_staff_id(current, &staff_id);
}

/*
 * ledger.may(action text, affair text, org_unit integer) RETURNS boolean — LEAKPROOF
 * The USING clause of every ledger policy.  Unknown actions, affairs and org units are
 * simply not permitted; a NULL org unit never is.
 */
Datum
perm_may(PG_FUNCTION_ARGS)
{
	PermSet    *s;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_BOOL(false);
	s = current_set(fcinfo, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
	if (!set_contains(s, PG_GETARG_INT32(2)) || unlikely(perm_identity_borrowed()))
		PG_RETURN_BOOL(false);
	if (unlikely(((PermSite *) fcinfo->flinfo->fn_extra)->hook != NULL))
	{
		PermSite   *site = fcinfo->flinfo->fn_extra;

		site->hook(site->hook_arg);
	}
	PG_RETURN_BOOL(true);
}

static void
deny(const PermSet *s, Oid relid, const char *what, int32 org, bool has_org)
{
	char		detail[256];

	if (has_org)
		snprintf(detail, sizeof(detail), "%s denied: %s on org unit %d for affair %s",
				 what, s->action, org, s->affair);
	else
		snprintf(detail, sizeof(detail), "%s denied: no %s duty for affair %s",
				 what, s->action, s->affair);
	/* the trail keeps the org unit; the message names the action only */
	audit_refuse(relid, detail, AUDIT_MUST_RECORD,
				 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				  errmsg("permission denied: %s denied: %s for affair %s", mnl_gettext(what), s->action, s->affair),
				  !s->is_staff ?
				  errhint("The current role is not active staff; use SET ROLE to the staff member's own role.") :
				  errhint("This needs a duty with the %s action for the org unit concerned; ask a staff administrator.", s->action)));
}

/*
 * ledger.must(action text, affair text, org_unit integer, relation regclass) RETURNS boolean
 * The WITH CHECK clause of ledger policies: true, or an error (42501) whose denial is
 * recorded in the audit trail even if the transaction rolls back.
 */
Datum
perm_must(PG_FUNCTION_ARGS)
{
	PermSet    *s;
	Oid			relid = PG_ARGISNULL(3) ? InvalidOid : PG_GETARG_OID(3);

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("ledger.must needs an action and an affair"),
				 errhint("Write the policy as ledger.must('write', '<affair>', org_unit, '<table>'::regclass).")));
	s = current_set(fcinfo, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
	if (PG_ARGISNULL(2))
	{
		if (s->superuser)
			PG_RETURN_BOOL(true);
		deny(s, relid, "row without an org unit:", 0, false);
	}
	if (!set_contains(s, PG_GETARG_INT32(2)) || unlikely(perm_identity_borrowed()))
		deny(s, relid, "row", PG_GETARG_INT32(2), true);
	PG_RETURN_BOOL(true);
}

/*
 * ledger._write_gate(): BEFORE INSERT OR UPDATE OR DELETE FOR EACH STATEMENT trigger of a
 * protected table (argument: the affair).  A role without the write action anywhere is
 * refused before any row is touched — with an error and an audit event, where the policies
 * alone would silently update nothing.
 */
Datum
perm_write_gate(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	PermSet    *s;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ledger._write_gate() must be a statement trigger with the affair as argument"),
				 errhint("ledger.protect_table() creates the trigger; it is not called directly.")));
	s = current_set(fcinfo, CStringGetTextDatum("write"),
					CStringGetTextDatum(td->tg_trigger->tgargs[0]));
	if (!s->superuser && s->norgs == 0)
		deny(s, RelationGetRelid(td->tg_relation),
			 TRIGGER_FIRED_BY_INSERT(td->tg_event) ? mnl_gettext_noop("insert") :
			 TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? mnl_gettext_noop("update") : mnl_gettext_noop("delete"), 0, false);
	return PointerGetDatum(NULL);
}

/* Does the current role hold action for affair in any org unit (or is it a superuser)? */
bool
perm_may_any(const char *action, const char *affair)
{
	PermSet    *s = find_set(CStringGetTextDatum(action), CStringGetTextDatum(affair));

	return s->superuser || (s->norgs > 0 && !perm_identity_borrowed());
}

