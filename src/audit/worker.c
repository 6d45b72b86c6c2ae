/*
 * audit/worker.c — the audit writer, a background worker in the database named by
 * ledger.database.
 *
 * Each turn of its loop it:
 *   1. drains the shared-memory queue (audit/queue.c) and commits the events, in batches,
 *      in its own transactions — within ledger.audit_flush_delay of their arrival, since
 *      every producer sets its latch;
 *   2. every ledger.audit_seal_interval, seals committed records into the next block
 *      (audit/seal.c);
 *   3. every hour, creates the trail's month partitions a few months ahead.
 * It announces itself in the queue only while the extension exists in its database, so
 * callers that need their events written learn at once when nothing would write them.
 *
 * SIGTERM ends it after the current turn; SIGHUP re-reads the configuration.  However it
 * ends (pg_terminate_backend, DROP DATABASE ... FORCE, a crash), the postmaster starts it
 * again after five seconds, unless the server itself is stopping; events still in the queue wait for it
 * (they are lost only if the whole server stops first).
 *
 * In the same transaction as a batch, it counts the batch's reveals per role and day in
 * ledger.reveal_tally and adds each use of a two-person approval to the approval: the reveal
 * quotas and approvals are checked against what the writer committed, which a revealer's
 * ROLLBACK cannot take back.  A batch with a durable event commits synchronously.
 *
 * Must never: write an event anywhere but ledger.audit_event, or drop one it has drained
 * without an error in the server log.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "audit/audit.h"
#include "core/mynumber_ledger.h"

#define DRAIN_BATCH			256
#define PARTITION_INTERVAL_MS (3600 * 1000)

PGDLLEXPORT void audit_worker_main(Datum arg);

void
audit_worker_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "mynumber_ledger");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "audit_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "mynumber_ledger audit writer");
	snprintf(worker.bgw_type, BGW_MAXLEN, "mynumber_ledger audit writer");
	RegisterBackgroundWorker(&worker);
}

static void
writer_exit(int code, Datum arg)
{
	audit_queue_set_writer(false);
}

static bool
extension_present(void)
{
	bool		present;

	StartTransactionCommand();
	present = OidIsValid(get_extension_oid("mynumber_ledger", true));
	CommitTransactionCommand();
	return present;
}

/*
 * Write what is in the queue, DRAIN_BATCH events per transaction, at most
 * DRAIN_BATCHES_PER_PASS batches so that sealing, reloads and shutdown are not put off under
 * constant load.  Returns true when events are left for the next pass.
 */
#define DRAIN_BATCHES_PER_PASS 64
#define DRAIN_KEY_BYTES		(8 * 1024 * 1024)	/* row keys of one batch, at most (but one event) */

static SPIPlanPtr
keep_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types)
{
	if (*plan == NULL)
	{
		*plan = SPI_prepare(sql, nargs, types);
		if (*plan == NULL)
			elog(ERROR, "could not prepare \"%s\"", sql);
		SPI_keepplan(*plan);
	}
	return *plan;
}

/*
 * The disclosure limits' bookkeeping, in the same transaction as the batch's events: each
 * reveal is counted in ledger.reveal_tally, each use of an approval added to its used_count
 * (never past its count: the writer must not fail on a row).  A revealer's ROLLBACK takes
 * neither back.
 */
static void
account_disclosures(Datum *values, bool *nulls, int n)
{
	static SPIPlanPtr tally = NULL;
	static SPIPlanPtr approval = NULL;
	int			i;
	bool		connected = false;

	for (i = 0; i < n; i++)
	{
		Datum	   *v = values + i * AUDIT_NATTS;
		bool	   *nl = nulls + i * AUDIT_NATTS;
		Datum		args[2];
		char	   *kind;
		bool		reveal;

		if (nl[AA_KIND - 1] || nl[AA_CURRENT_ROLE - 1])
			continue;
		kind = TextDatumGetCString(v[AA_KIND - 1]);
		reveal = strcmp(kind, AUDIT_KIND_REVEAL) == 0;
		if (!reveal && (strcmp(kind, AUDIT_KIND_APPROVAL_USED) != 0 || nl[AA_ROW_KEY - 1] || nl[AA_ROW_COUNT - 1]))
			continue;
		if (!connected)
		{
			SPI_connect();
			connected = true;
		}
		if (reveal)
		{
			args[0] = v[AA_CURRENT_ROLE - 1];
			args[1] = v[AA_LOGGED_AT - 1];
			if (SPI_execute_plan(keep_plan(&tally,
										   "INSERT INTO ledger.reveal_tally AS t (role_name, day, reveals) "
										   "VALUES ($1, ($2 AT TIME ZONE pg_catalog.current_setting('ledger.time_zone'))::date, 1) "
										   "ON CONFLICT (role_name, day) DO UPDATE SET reveals = t.reveals + 1",
										   2, (Oid[]) {TEXTOID, TIMESTAMPTZOID}),
								 args, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not count a reveal");
		}
		else
		{
			args[0] = v[AA_ROW_KEY - 1];
			args[1] = v[AA_ROW_COUNT - 1];
			if (SPI_execute_plan(keep_plan(&approval,
										   "UPDATE ledger.disclosure_approval "
										   "SET used_count = LEAST(count, used_count + $2) "
										   "WHERE approval_id = (($1)[1])::bigint",
										   2, (Oid[]) {TEXTARRAYOID, INT8OID}),
								 args, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "could not record the use of an approval");
		}
	}
	if (connected)
		SPI_finish();
}

static bool
drain_queue(void)
{
	int			batches = 0;
	AuditQueueEvent *events = palloc(audit_queue_event_size() * DRAIN_BATCH);
	Datum	   *values = palloc(sizeof(Datum) * AUDIT_NATTS * DRAIN_BATCH);
	bool	   *nulls = palloc(sizeof(bool) * AUDIT_NATTS * DRAIN_BATCH);
	MemoryContext keys_cxt = AllocSetContextCreate(CurrentMemoryContext, "audit writer keys",
												   ALLOCSET_DEFAULT_SIZES);
	int			n;

	while (batches++ < DRAIN_BATCHES_PER_PASS)
	{
		int			i;
		bool		durable = false;
		int			saved_commit = synchronous_commit;

		MemoryContextReset(keys_cxt);
		n = audit_queue_drain(events, DRAIN_BATCH, DRAIN_KEY_BYTES, keys_cxt);
		if (n == 0)
			break;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		for (i = 0; i < n; i++)
		{
			AuditQueueEvent *ev = (AuditQueueEvent *) ((char *) events + i * audit_queue_event_size());

			audit_queue_event_to_values(ev, values + i * AUDIT_NATTS, nulls + i * AUDIT_NATTS);
			durable |= audit_queue_event_durable(ev);
		}
		audit_store_now(values, nulls, n);
		account_disclosures(values, nulls, n);
		PopActiveSnapshot();
		/* a caller waits for a durable event: flushed (and on a synchronous standby) first */
		if (durable && synchronous_commit < SYNCHRONOUS_COMMIT_ON)
			synchronous_commit = SYNCHRONOUS_COMMIT_ON;
		CommitTransactionCommand();
		synchronous_commit = saved_commit;
		audit_queue_release(n);
	}
	pfree(events);
	pfree(values);
	pfree(nulls);
	MemoryContextDelete(keys_cxt);
	return batches > DRAIN_BATCHES_PER_PASS;
}

static void
seal(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	audit_summarize_trail_index();
	audit_seal_pending();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

static void
add_partitions(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	if (SPI_execute("SELECT ledger._audit_add_partitions(3)", false, 0) != SPI_OK_SELECT)
		elog(WARNING, "could not add audit trail partitions");
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * The extension's settings as the server has them: a change made by a reload (ALTER SYSTEM,
 * postgresql.conf) is recorded, with the old and the new value (not a key command's: it
 * may hold a secret).  The writer sees every reload; a session's own SET is recorded by the
 * guard (guard/utility.c).
 */
static const char *const recorded_settings[] = {
	"ledger.allow_all_zero_mynumber", "ledger.kek_command", "ledger.kek_command_next",
	"ledger.period_key_command", "ledger.audit_queue_timeout", "ledger.audit_flush_delay",
	"ledger.audit_seal_interval", "ledger.audit_unsealed_limit", "ledger.audit_read_durable",
	"ledger.audit_sessions", "ledger.office_hours_start", "ledger.office_hours_end",
	"ledger.time_zone", "ledger.staff_idle_session_timeout", "ledger.inquiry_permit_lifetime",
	"ledger.inquiry_result_lifetime", "ledger.reveal_quota_per_day",
	"ledger.bulk_reveal_threshold", "ledger.lookup_rate_per_minute", "ledger.lookup_daily_cap",
	"ledger.lookup_min_duration", "ledger.mask_digits", "ledger.job_lock_timeout",
	"ledger.audit_retention", "log_min_messages", "log_statement", "shared_preload_libraries"
};
static char *setting_values[lengthof(recorded_settings)];

static void
record_setting_changes(bool first)
{
	int			i;

	if (!first)
		StartTransactionCommand();
	for (i = 0; i < (int) lengthof(recorded_settings); i++)
	{
		const char *name = recorded_settings[i];
		const char *now = GetConfigOption(name, true, false);

		if (now == NULL)
			now = "";
		if (!first && strcmp(now, setting_values[i]) != 0)
		{
			char		detail[256];

			if (strstr(name, "_command") != NULL)
				snprintf(detail, sizeof(detail), "%s changed by a reload", name);
			else
				snprintf(detail, sizeof(detail), "%s changed by a reload from '%s' to '%s'",
						 name, setting_values[i], now);
			(void) audit_emit(AUDIT_KIND_SETTING, InvalidOid, 0, false, 0, detail, false);
		}
		if (first || strcmp(now, setting_values[i]) != 0)
		{
			if (!first)
				pfree(setting_values[i]);
			setting_values[i] = MemoryContextStrdup(TopMemoryContext, now);
		}
	}
	if (!first)
		CommitTransactionCommand();
}

/*
 * At each start of the writer (a server start or restart, where no reload is seen): the
 * trail's own settings as they are now, so that one changed across a restart is on record.
 */
static void
record_settings_at_start(void)
{
	static const char *const at_start[] = {
		"ledger.audit_sessions", "ledger.audit_read_durable", "ledger.audit_seal_interval",
		"ledger.audit_unsealed_limit", "ledger.audit_queue_timeout", "ledger.audit_flush_delay",
		"ledger.audit_retention", "log_min_messages", "log_statement"
	};
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "at the audit writer's start:");
	for (i = 0; i < (int) lengthof(at_start); i++)
	{
		const char *v = GetConfigOption(at_start[i], true, false);

		appendStringInfo(&buf, "%s %s=%s", i > 0 ? "," : "", at_start[i], v ? v : "");
	}
	StartTransactionCommand();
	(void) audit_emit(AUDIT_KIND_SETTING, InvalidOid, 0, false, 0, buf.data, false);
	CommitTransactionCommand();
	pfree(buf.data);
}

void
audit_worker_main(Datum arg)
{
	TimestampTz last_seal = 0;
	TimestampTz next_partitions = 0;
	TimestampTz next_check = 0;
	bool		ready = false;
	bool		said_read_only = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(mnl_database, NULL, 0);
	pgstat_report_appname("mynumber_ledger audit writer");
	before_shmem_exit(writer_exit, (Datum) 0);
	record_setting_changes(true);

	while (!ShutdownRequestPending)
	{
		TimestampTz now;
		long		timeout = mnl_audit_flush_delay;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (ready)
				record_setting_changes(false);
		}

		/*
		 * A server held read-only (default_transaction_read_only: pg_auto_failover holds a
		 * promoted standby so until the old primary is known to be demoted) takes no writes,
		 * records included: the writer waits, and sessions that need a record are refused,
		 * instead of failing and being restarted every few seconds.
		 */
		if (DefaultXactReadOnly)
		{
			if (ready)
			{
				ready = false;
				audit_queue_set_writer(false);
			}
			if (!said_read_only)
				ereport(LOG,
						(errmsg("the audit writer waits: default_transaction_read_only is on"),
						 errdetail("No audit record can be written until the server takes writes; sessions that need one are refused.")));
			said_read_only = true;
			timeout = 1000;
		}
		else if (!ready)
		{
			ready = extension_present();
			if (ready)
			{
				if (said_read_only)
					ereport(LOG, (errmsg("the audit writer resumes: default_transaction_read_only is off")));
				said_read_only = false;
				audit_queue_set_writer(true);
				record_settings_at_start();
			}
			else
				timeout = 1000;
		}

		if (ready)
		{
			pgstat_report_activity(STATE_RUNNING, "writing audit events");
			if (drain_queue())
				timeout = 0;	/* more to write: come straight back */
			now = GetCurrentTimestamp();
			if (now >= next_partitions)
			{
				add_partitions();
				next_partitions = TimestampTzPlusMilliseconds(now, PARTITION_INTERVAL_MS);
			}
			/* from the last seal and the interval as it is now (a reload applies at once) */
			if (now >= TimestampTzPlusMilliseconds(last_seal, mnl_audit_seal_interval))
			{
				seal();
				last_seal = GetCurrentTimestamp();
			}
			pgstat_report_activity(STATE_IDLE, NULL);
			if (now >= next_check)
			{
				/* DROP EXTENSION: stop accepting events nobody could write. */
				if (!extension_present())
				{
					ready = false;
					audit_queue_set_writer(false);
				}
				next_check = TimestampTzPlusMilliseconds(now, 1000);
			}
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	/* A clean stop: stop accepting, then write what was accepted. */
	audit_queue_set_writer(false);
	if (ready)
		while (drain_queue())
			;
	/* Exit code 1: the postmaster starts the writer again (0 would unregister it). */
	proc_exit(1);
}
