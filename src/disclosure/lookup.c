/*
 * lookup.c — limits on the lookup of a person by My Number (ledger.find_person), which is an
 * oracle: whoever may ask "is this number enrolled, and whose is it?" can search the
 * candidates a masked number leaves.  Every lookup is recorded (caller, outcome, the person
 * when found; never the number), each staff member's lookups are limited per minute and per
 * day (ledger.lookup_rate_per_minute, ledger.lookup_daily_cap: superuser-only settings), and
 * found and not found take the same time (ledger.lookup_min_duration: the answer is held
 * back until that time has passed since the lookup began).
 *
 * The counts live in shared memory, outside every transaction: a ROLLBACK, a savepoint, the
 * isolation level or a second session of the same staff member cannot give a lookup back.
 * One LWLock protects the table of counters; a slot is taken for a role on its first lookup
 * since the server started, and its day count is then read back from the trail (the lookup
 * events of today), so a restart does not reset the daily cap.
 *
 * Must never: put the number looked up into an event or a message.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "audit/audit.h"
#include "disclosure/lookup.h"
#include "core/mynumber_ledger.h"

#define LOOKUP_SLOTS	1024


typedef struct LookupSlot
{
	Oid			role;
	int32		day;			/* days since 2000-01-01 in ledger.time_zone */
	int32		day_count;
	int64		minute;			/* minutes since the epoch */
	int32		minute_count;
} LookupSlot;

typedef struct LookupShared
{
	LWLock	   *lock;
	LookupSlot	slots[LOOKUP_SLOTS];
} LookupShared;

static LookupShared *shared = NULL;
static TimestampTz lookup_started = 0;

PG_FUNCTION_INFO_V1(lookup_begin);
PG_FUNCTION_INFO_V1(lookup_done);

void
lookup_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(LookupShared)));
	RequestNamedLWLockTranche("mynumber_ledger_lookup", 1);
}

void
lookup_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("mynumber_ledger lookups", sizeof(LookupShared), &found);
	if (!found)
	{
		memset(shared->slots, 0, sizeof(shared->slots));
		shared->lock = &(GetNamedLWLockTranche("mynumber_ledger_lookup"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Today (ledger.time_zone) as days since 2000-01-01, and the day's lookups in the trail. */
static int32
today_and_recorded(const char *role, int32 *recorded)
{
	Datum		arg = CStringGetTextDatum(role);
	bool		isnull;
	int32		day;

	SPI_connect();
	if (SPI_execute_with_args("SELECT ledger._today() - date '2000-01-01', "
							  "(SELECT count(*)::integer FROM ledger.audit_event e "
							  "  WHERE e.kind = 'lookup' AND e.acting_role = $1 "
							  "    AND e.logged_at >= (ledger._today()::timestamp AT TIME ZONE pg_catalog.current_setting('ledger.time_zone')))",
							  1, (Oid[]) {TEXTOID}, &arg, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read today's lookups");
	day = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*recorded = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_finish();
	return day;
}

static int32
today(void)
{
	bool		isnull;
	int32		day;

	SPI_connect();
	if (SPI_execute("SELECT ledger._today() - date '2000-01-01'", true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read today's date");
	day = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return day;
}

static void
refuse(const char *why, int limit, const char *hint)
{
	char		detail[160];

	snprintf(detail, sizeof(detail), "lookup refused: %s (%d)", why, limit);
	audit_refuse(InvalidOid, detail, AUDIT_MUST_RECORD,
				 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				  errmsg("permission denied: %s (%d)", mnl_gettext(why), limit),
				  errhint("%s", mnl_gettext(hint))));
}

/*
 * SQL function: ledger._lookup_begin(caller oid) returns void
 * Counts one lookup of the caller against the limits, or refuses it (42501, recorded).  A
 * superuser is not limited (but still recorded by _lookup_done).
 */
Datum
lookup_begin(PG_FUNCTION_ARGS)
{
	Oid			caller = PG_GETARG_OID(0);
	const char *role = GetUserNameFromId(caller, true);
	int64		minute = GetCurrentTimestamp() / USECS_PER_MINUTE;
	LookupSlot *slot = NULL;
	int32		day;
	int32		recorded = 0;
	int			i;

	lookup_started = GetCurrentTimestamp();
	if (role == NULL || superuser_arg(caller) || shared == NULL)
		return (Datum) 0;

	/* the day, and the trail's count for a role not yet in the table (outside the lock) */
	LWLockAcquire(shared->lock, LW_SHARED);
	for (i = 0; i < LOOKUP_SLOTS; i++)
		if (shared->slots[i].role == caller)
			break;
	LWLockRelease(shared->lock);
	if (i < LOOKUP_SLOTS)
		day = today();
	else
		day = today_and_recorded(role, &recorded);

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < LOOKUP_SLOTS; i++)
		if (shared->slots[i].role == caller)
		{
			slot = &shared->slots[i];
			break;
		}
	if (slot == NULL)
	{
		/* a free slot, else the one whose last lookup is oldest */
		for (i = 0; i < LOOKUP_SLOTS; i++)
			if (slot == NULL || shared->slots[i].role == InvalidOid ||
				shared->slots[i].minute < slot->minute)
			{
				slot = &shared->slots[i];
				if (slot->role == InvalidOid)
					break;
			}
		slot->role = caller;
		slot->day = day;
		slot->day_count = recorded;
		slot->minute = minute;
		slot->minute_count = 0;
	}
	if (slot->day != day)
	{
		slot->day = day;
		slot->day_count = 0;
	}
	if (slot->minute != minute)
	{
		slot->minute = minute;
		slot->minute_count = 0;
	}
	if (slot->day_count >= mnl_lookup_daily_cap)
	{
		LWLockRelease(shared->lock);
		refuse("the daily lookup cap is reached", mnl_lookup_daily_cap,
			   "Lookups by My Number are limited per staff member and day (ledger.lookup_daily_cap); ask the system administrator if the work needs more.");
	}
	if (slot->minute_count >= mnl_lookup_rate_per_minute)
	{
		LWLockRelease(shared->lock);
		refuse("the lookup rate per minute is reached", mnl_lookup_rate_per_minute,
			   "Wait a minute: lookups by My Number are limited per staff member (ledger.lookup_rate_per_minute).");
	}
	slot->day_count++;
	slot->minute_count++;
	LWLockRelease(shared->lock);
	PG_RETURN_VOID();
}

/*
 * SQL function: ledger._lookup_done(found boolean, municipality_code text, person_id bigint)
 * returns void
 * Records the lookup (outcome and, when found, the person), then holds the answer back
 * until ledger.lookup_min_duration has passed since _lookup_begin: found and not found are
 * told apart by neither the answer's timing nor anything but the answer itself.
 */
Datum
lookup_done(PG_FUNCTION_ARGS)
{
	bool		found = !PG_ARGISNULL(0) && PG_GETARG_BOOL(0);
	bool		enrolled = !PG_ARGISNULL(1) && !PG_ARGISNULL(2);
	const char *keys[2];
	int			nkeys = 0;
	TimestampTz until;
	long		secs;
	int			usecs;

	/* the subject whenever the number is enrolled: a probe of a hidden person is theirs too */
	if (enrolled)
	{
		keys[0] = TextDatumGetCString(PG_GETARG_DATUM(1));
		keys[1] = psprintf(INT64_FORMAT, PG_GETARG_INT64(2));
		nkeys = 2;
	}
	audit_emit_subject(AUDIT_KIND_LOOKUP,
					   enrolled ? get_relname_relid("person", get_func_namespace(fcinfo->flinfo->fn_oid)) : InvalidOid,
					   found ? 1 : 0, keys, nkeys,
					   found ? "lookup by number: found" :
					   enrolled ? "lookup by number: a person the caller may not read (answered not found)" :
					   "lookup by number: not found");
	until = TimestampTzPlusMilliseconds(lookup_started, mnl_lookup_min_duration);
	for (;;)
	{
		TimestampDifference(GetCurrentTimestamp(), until, &secs, &usecs);
		if (secs == 0 && usecs == 0)
			break;
		pg_usleep(secs * 1000000L + usecs);
		CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_VOID();
}
