/*
 * registry.c — the staff registry as every room sees it: whether it changed (the counters
 * every backend compares) and who a role is in it (its staff id, active today or not).
 *
 *   - Any statement that writes a registry table (ledger._registry_changed(), a statement
 *     trigger, staff/perm.c) bumps a backend-local counter at once and, when its transaction
 *     commits, a counter in shared memory that every backend reads before it trusts a
 *     cached answer: the permission sets (perm.c) and the staff ids below.
 *   - The staff id of a role is looked up as the owner with the latest snapshot and cached
 *     for a handful of roles until either counter moves or the day ends (validity periods
 *     are dates in ledger.time_zone).
 *
 * The audit trail stamps every record with the staff id from here; the statement gate and
 * the idle limit ask whether a role is retired.  None of this decides a permission.
 *
 * Must never: raise an error while a lookup is disabled (an error unwinding); put a role's
 * registry row in a message.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/mynumber_ledger.h"

typedef struct RegistryShared
{
	pg_atomic_uint64 generation;	/* bumped by every commit that changed the registry */
} RegistryShared;

static RegistryShared *registry_shared = NULL;
uint64		mnl_registry_local_generation = 0; /* bumped by registry writes in this backend */
static bool changed_in_xact = false;
static bool callbacks_registered = false;

bool		mnl_registry_lookups_disabled = false;

/* ---------------------------------------------------------------------------------------
 * Shared memory and invalidation
 * ---------------------------------------------------------------------------------------
 */

void
mnl_registry_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(RegistryShared)));
}

void
mnl_registry_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	registry_shared = ShmemInitStruct("mynumber_ledger permissions", sizeof(RegistryShared), &found);
	if (!found)
	{
		pg_atomic_init_u64(&registry_shared->generation, 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

uint64
mnl_registry_shared_generation(void)
{
	return registry_shared ? pg_atomic_read_u64(&registry_shared->generation) : 0;
}

static void
registry_xact_callback(XactEvent event, void *arg)
{
	if (!changed_in_xact)
		return;
	/* A prepared transaction commits in another backend, which would not bump the counter. */
	if (event == XACT_EVENT_PRE_PREPARE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a transaction that changes the staff registry cannot be prepared"),
				 errhint("Commit registry changes directly, outside two-phase commit.")));
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
	{
		/* After ProcArrayEndTransaction: a backend that sees the new value sees the change. */
		if (registry_shared)
			pg_atomic_fetch_add_u64(&registry_shared->generation, 1);
		mnl_registry_local_generation++;
		changed_in_xact = false;
	}
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		mnl_registry_local_generation++;
		changed_in_xact = false;
	}
}

static void
registry_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && changed_in_xact)
		mnl_registry_local_generation++;
}

static void
register_callbacks(void)
{
	if (!callbacks_registered)
	{
		RegisterXactCallback(registry_xact_callback, NULL);
		RegisterSubXactCallback(registry_subxact_callback, NULL);
		callbacks_registered = true;
	}
}

/*
 * The registry changed in this transaction (ledger._registry_changed(), staff/perm.c): this
 * backend recomputes at once; every other one when the transaction commits.
 */
void
mnl_registry_note_change(void)
{
	register_callbacks();
	changed_in_xact = true;
	mnl_registry_local_generation++;
}

/* ---------------------------------------------------------------------------------------
 * Who a role is in the registry (the staff id every record carries)
 * ---------------------------------------------------------------------------------------
 */

typedef struct RegistryLookup
{
	const char *role;
	bool		found;
	int64		staff_id;
	bool		active;
	TimestampTz recheck_at;
} RegistryLookup;

static void
registry_lookup_work(void *arg)
{
	static SPIPlanPtr plan = NULL;
	RegistryLookup *l = arg;
	Datum		value;
	bool		isnull;

	if (plan == NULL)
	{
		Oid			types[1] = {NAMEOID};

		plan = SPI_prepare("SELECT s.staff_id, "
						   "       s.retired_at IS NULL AND s.valid_from <= d.today "
						   "       AND (s.valid_until IS NULL OR s.valid_until >= d.today), "
						   "       ((d.today + 1)::timestamp AT TIME ZONE pg_catalog.current_setting('ledger.time_zone')) "
						   "FROM ledger.staff s, (SELECT ledger._today() AS today) d WHERE s.role_name = $1",
						   1, types);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
	}
	value = DirectFunctionCall1(namein, CStringGetDatum(l->role));
	if (SPI_execute_snapshot(plan, &value, NULL,
							 IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot(),
							 InvalidSnapshot, true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "staff lookup failed");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		d = SPI_getbinval(tup, desc, 1, &isnull);

		l->found = !isnull;
		l->staff_id = isnull ? 0 : DatumGetInt64(d);
		d = SPI_getbinval(tup, desc, 2, &isnull);
		l->active = !isnull && DatumGetBool(d);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		l->recheck_at = isnull ? DT_NOEND : DatumGetTimestampTz(d);
	}
}

/*
 * What the registry says of a role, from a small cache: recomputed when the registry
 * changed (either counter) or the day it was computed for has ended.  Looked up only inside
 * a healthy transaction of a database where the extension is installed; false otherwise
 * (nothing known).
 */
typedef struct RegistryEntry
{
	Oid			role;
	Oid			db;
	uint64		shared_gen;
	uint64		local_gen;
	TimestampTz recheck_at;
	bool		found;
	int64		staff_id;
	bool		active;
} RegistryEntry;

#define NSTAFF	4
static RegistryEntry registry_cache[NSTAFF];
static int	registry_victim = 0;

static RegistryEntry *
registry_entry(Oid roleid)
{
	static bool busy = false;
	RegistryLookup l;
	RegistryEntry *e;
	uint64		gen_shared;
	uint64		gen_local;
	TimestampTz now = IsTransactionState() ? GetCurrentStatementStartTimestamp() : GetCurrentTimestamp();
	int			i;

	for (i = 0; i < NSTAFF; i++)
	{
		e = &registry_cache[i];
		if (OidIsValid(e->role) && e->role == roleid && e->db == MyDatabaseId &&
			e->shared_gen == mnl_registry_shared_generation() && e->local_gen == mnl_registry_local_generation &&
			now < e->recheck_at)
			return e;
	}
	/* creating_extension: the registry is not there yet while the script runs */
	if (busy || mnl_registry_lookups_disabled || !IsTransactionState() || IsAbortedTransactionBlockState() ||
		!IsNormalProcessingMode() || MyBackendType != B_BACKEND || creating_extension ||
		!OidIsValid(get_extension_oid(MNL_EXTENSION_NAME, true)))
		return NULL;

	l.role = GetUserNameFromId(roleid, true);
	l.found = false;
	l.staff_id = 0;
	l.active = false;
	l.recheck_at = DT_NOEND;
	if (l.role == NULL)
		return NULL;
	gen_shared = mnl_registry_shared_generation();	/* before the lookup's snapshot */
	gen_local = mnl_registry_local_generation;
	busy = true;
	PG_TRY();
	{
		mnl_as_owner(registry_lookup_work, &l, MNL_OWNER_RESTRICTED | MNL_OWNER_INTERNAL);
	}
	PG_FINALLY();
	{
		busy = false;
	}
	PG_END_TRY();
	/* only now: a failed lookup leaves no stale entry */
	e = &registry_cache[registry_victim];
	registry_victim = (registry_victim + 1) % NSTAFF;
	e->role = roleid;
	e->db = MyDatabaseId;
	e->shared_gen = gen_shared;
	e->local_gen = gen_local;
	e->recheck_at = l.recheck_at;
	e->found = l.found;
	e->staff_id = l.staff_id;
	e->active = l.active;
	return e;
}

/* The staff id of roleid; false if the role is not (or cannot now be looked up as) staff. */
bool
mnl_registry_staff_id(Oid roleid, int64 *staff_id)
{
	RegistryEntry *e;

	/* pg_upgrade's restore: the registry's tables may not be there yet, and no staff acts */
	if (IsBinaryUpgrade)
	{
		*staff_id = 0;
		return false;
	}
	e = registry_entry(roleid);

	*staff_id = (e && e->found) ? e->staff_id : 0;
	return e && e->found;
}

/*
 * Is roleid registered staff who is not active today (retired, or outside the validity
 * period)?  False for roles that are not staff, and when nothing can be looked up.
 */
bool
mnl_registry_staff_inactive(Oid roleid, int64 *staff_id)
{
	RegistryEntry *e = IsBinaryUpgrade ? NULL : registry_entry(roleid);

	*staff_id = (e && e->found) ? e->staff_id : 0;
	return e && e->found && !e->active;
}


