/*
 * audit/trail_guard.c — the trail's own guard trigger, ledger.audit_trail_guard(): every
 * row and statement trigger of the trail's tables calls it, and it refuses every INSERT,
 * UPDATE, DELETE and TRUNCATE made through SQL, by any role, superusers included.  Only the
 * extension's own C code inserts (sealed blocks), inside the guard's bypass scope.
 *
 * The DDL that could remove these triggers or the trail's tables is the guard room's
 * (guard/utility.c); this trigger refuses the rows.
 *
 * Must never: let an UPDATE or DELETE through, whatever the scope.
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/rel.h"

#include "audit/audit.h"
#include "core/mynumber_ledger.h"

PG_FUNCTION_INFO_V1(audit_trail_guard);

Datum
audit_trail_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ledger.audit_trail_guard must be called as a trigger"),
				 errhint("It guards the audit trail's tables.")));
	if (mnl_guard_bypass && TRIGGER_FIRED_BY_INSERT(td->tg_event))
		return TRIGGER_FIRED_FOR_ROW(td->tg_event) ? PointerGetDatum(td->tg_trigtuple) : PointerGetDatum(NULL);
	audit_refuse(RelationGetRelid(td->tg_relation), "refused: the audit trail is append-only", AUDIT_MAY_DROP,
				 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				  errmsg("the audit trail is append-only"),
				  errhint("Nobody can change or remove audit records through SQL; the retention procedure removes whole expired partitions.")));
	return PointerGetDatum(NULL);
}
