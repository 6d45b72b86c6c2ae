/*
 * settings.c — the extension's settings (ledger.*): their variables and their definitions.
 * A variable C reads elsewhere is defined here and declared in mynumber_ledger.h; the others
 * are static here and read by SQL through current_setting().  Security settings are PGC_SUSET or PGC_POSTMASTER, and those that name
 * commands or keys are GUC_SUPERUSER_ONLY.
 *
 * Must never: define a setting after MarkGUCPrefixReserved("ledger"), or let a non-superuser
 * change one that decides a protection.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "core/mynumber_ledger.h"

bool		mnl_allow_all_zero_mynumber = false;
char	   *mnl_database = NULL;
char	   *mnl_kek_command = NULL;
char	   *mnl_kek_command_next = NULL;
char	   *mnl_period_key_command = NULL;
int			mnl_audit_queue_size = 4096;
int			mnl_audit_key_buffer = 8192;
int			mnl_audit_queue_timeout = 5000;
int			mnl_audit_flush_delay = 200;
int			mnl_audit_seal_interval = 1000;
int			mnl_audit_unsealed_limit = 900;
bool		mnl_audit_read_durable = true;
bool		mnl_audit_sessions = true;
char	   *mnl_office_hours_start = NULL;
char	   *mnl_office_hours_end = NULL;
char	   *mnl_time_zone = NULL;
int			mnl_staff_idle_timeout = 15 * 60 * 1000;
static char *mnl_inquiry_permit_lifetime = NULL;
static char *mnl_audit_retention = NULL;
static int	mnl_reveal_quota_per_day = 20;
static int	mnl_bulk_reveal_threshold = 10;
static char *mnl_inquiry_result_lifetime = NULL;
int			mnl_mask_digits = 0;
int			mnl_lookup_rate_per_minute = 30;
int			mnl_lookup_daily_cap = 1000;
int			mnl_lookup_min_duration = 5;
static int	mnl_job_lock_timeout = 10000;

void
mnl_define_settings(void)
{
	DefineCustomBoolVariable("ledger.allow_all_zero_mynumber",
							 gettext_noop("Accepts the all-zero My Number 000000000000."),
							 gettext_noop("It passes the check-digit formula but no real number is all zeros; "
										  "turn it on only for test data."),
							 &mnl_allow_all_zero_mynumber, false, PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("ledger.database",
							   gettext_noop("Database in which the audit writer runs and keeps the audit trail."),
							   gettext_noop("Install the extension in this database."),
							   &mnl_database, "postgres", PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("ledger.kek_command",
							   gettext_noop("Command that prints the key-encryption key when the server starts."),
							   gettext_noop("It must print 32 bytes as 64 hexadecimal digits or as base64."),
							   &mnl_kek_command, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("ledger.kek_command_next",
							   gettext_noop("Command that prints the next key-encryption key, during a key rotation."),
							   gettext_noop("ledger.rewrap_data_keys() wraps every data key with it; then make it ledger.kek_command."),
							   &mnl_kek_command_next, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("ledger.period_key_command",
							   gettext_noop("Command that prints (%o = get) or forgets (%o = forget) the secret of retention period %p."),
							   gettext_noop("Numbers are sealed under their retention period's key; forgetting the period's secret shreds every copy, backups included."),
							   &mnl_period_key_command, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.audit_queue_size",
							gettext_noop("Events the audit queue holds before callers must wait."),
							NULL, &mnl_audit_queue_size, 4096, 64, 1024 * 1024,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.audit_key_buffer",
							gettext_noop("Shared memory for the row keys of queued audit events (the rows a read returned, a reveal's person)."),
							gettext_noop("A read whose keys exceed a quarter of it is recorded in several events."),
							&mnl_audit_key_buffer, 8192, 256, 1024 * 1024,
							PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.audit_queue_timeout",
							gettext_noop("How long a caller whose event must be recorded waits for room in a full audit queue."),
							gettext_noop("After this the caller gets an error instead of going on unrecorded."),
							&mnl_audit_queue_timeout, 5000, 0, 600000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.audit_flush_delay",
							gettext_noop("Longest time the audit writer sleeps between checks of its queue."),
							gettext_noop("Producers wake it at once; this bounds the delay when a wake-up is missed."),
							&mnl_audit_flush_delay, 200, 10, 10000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.audit_seal_interval",
							gettext_noop("How often the audit writer seals committed records into a block."),
							NULL, &mnl_audit_seal_interval, 1000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.audit_unsealed_limit",
							gettext_noop("How long a record may wait to be sealed before ledger.verify_audit() reports it."),
							gettext_noop("A transaction held open stalls sealing of the records after it; records rewritten "
										 "while unsealed would not be caught, so the verifier names the wait."),
							&mnl_audit_unsealed_limit, 900, 1, 7 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomBoolVariable("ledger.audit_read_durable",
							 gettext_noop("A statement that read an audited table ends only once its read record is durable."),
							 gettext_noop("The writer commits read records synchronously and the reading statement waits for "
										  "that at its end (group commit); off, a crash can lose reads of the last moments."),
							 &mnl_audit_read_durable, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("ledger.audit_sessions",
							 gettext_noop("Records logins, failed logins and logouts in the audit trail."),
							 NULL, &mnl_audit_sessions, true, PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("ledger.office_hours_start",
							   gettext_noop("Start of office hours (HH:MM), for the after-hours audit report."),
							   NULL, &mnl_office_hours_start, "08:30", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("ledger.office_hours_end",
							   gettext_noop("End of office hours (HH:MM), for the after-hours audit report."),
							   NULL, &mnl_office_hours_end, "17:15", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("ledger.time_zone",
							   gettext_noop("Time zone in which staff validity dates begin and end."),
							   gettext_noop("A session's TimeZone does not move a retirement date."),
							   &mnl_time_zone, "Asia/Tokyo", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.staff_idle_session_timeout",
							gettext_noop("idle_session_timeout that ledger.register_staff() sets on each staff role (automatic log-off)."),
							gettext_noop("0 sets none."),
							&mnl_staff_idle_timeout, 15 * 60 * 1000, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomStringVariable("ledger.inquiry_permit_lifetime",
							   gettext_noop("How long an inquiry permit stays valid."),
							   NULL, &mnl_inquiry_permit_lifetime, "1 day", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("ledger.inquiry_result_lifetime",
							   gettext_noop("How long an inquiry result is kept before ledger.expire_inquiry_data() deletes it."),
							   NULL, &mnl_inquiry_result_lifetime, "30 days", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.reveal_quota_per_day",
							gettext_noop("Reveals a staff member may make per day without a second person's approval, unless their duty sets its own."),
							NULL, &mnl_reveal_quota_per_day, 20, 0, 100000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.bulk_reveal_threshold",
							gettext_noop("Numbers revealed at once above which a second staff member must approve (two-person rule)."),
							NULL, &mnl_bulk_reveal_threshold, 10, 1, 100000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.lookup_rate_per_minute",
							gettext_noop("Lookups by My Number (ledger.find_person) a staff member may make per minute."),
							gettext_noop("A lookup is an oracle for the digits a mask hides; see docs/permissions.md for the arithmetic."),
							&mnl_lookup_rate_per_minute, 30, 1, 100000,
							PGC_SUSET, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.lookup_daily_cap",
							gettext_noop("Lookups by My Number a staff member may make per day (in ledger.time_zone)."),
							NULL, &mnl_lookup_daily_cap, 1000, 1, 10000000,
							PGC_SUSET, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.lookup_min_duration",
							gettext_noop("Time a lookup by My Number takes at least, found or not."),
							gettext_noop("Found and not found must not be told apart by their timing."),
							&mnl_lookup_min_duration, 5, 0, 10000,
							PGC_SUSET, GUC_UNIT_MS | GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.mask_digits",
							gettext_noop("Trailing digits of a My Number that ledger.mask() shows."),
							gettext_noop("Every digit shown divides the candidates of a search by ten; the default shows none."),
							&mnl_mask_digits, 0, 0, 4,
							PGC_SUSET, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("ledger.job_lock_timeout",
							gettext_noop("How long the payment run waits for a row another session holds locked before it leaves it to the next run."),
							gettext_noop("A clerk's open transaction cannot hold up the municipality's job longer than this."),
							&mnl_job_lock_timeout, 10000, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomStringVariable("ledger.audit_retention",
							   gettext_noop("How long the audit trail keeps a month before the retention run detaches it."),
							   NULL, &mnl_audit_retention, "7 years", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved("ledger");
}

