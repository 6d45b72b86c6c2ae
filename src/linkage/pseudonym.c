/*
 * pseudonym.c — per-affair pseudonyms (符号): HMAC-SHA256 of a My Number under the affair's
 * own data key ("pseudonym:<affair>"), so that the tables of two affairs hold unrelated
 * identifiers and cannot be joined without ledger.link(), which checks a rule and records
 * the link (linkage.sql).
 *
 * Must never: return or log the number; compute an affair's pseudonym for a role that holds
 * no duty in that affair (a pseudonym of another affair is exactly the join key the design
 * withholds).
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "audit/audit.h"
#include "keys/keys.h"
#include "sealed/sealed.h"
#include "core/mynumber_ledger.h"
#include "staff/perm.h"

PG_FUNCTION_INFO_V1(pseudonym_of_number);
PG_FUNCTION_INFO_V1(pseudonym_of_sealed);

static bytea *
pseudonym(int64 value, const char *affair)
{
	char		purpose[KEY_PURPOSE_MAX];

	if (strlen(affair) + strlen(KEY_PURPOSE_PSEUDONYM_PREFIX) >= sizeof(purpose))
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("affair code is too long for a pseudonym key"),
				 errhint("Affair codes of at most %d characters have pseudonyms.",
						 (int) (sizeof(purpose) - strlen(KEY_PURPOSE_PSEUDONYM_PREFIX) - 1))));
	snprintf(purpose, sizeof(purpose), "%s%s", KEY_PURPOSE_PSEUDONYM_PREFIX, affair);
	return sealed_digits_mac(value, purpose);
}

static void
require_affair_duty(const char *affair)
{
	if (!perm_may_any("read", affair))
	{
		char		detail[160];

		snprintf(detail, sizeof(detail), "pseudonym denied: no read duty for affair %s", affair);
		audit_refuse(InvalidOid, detail, AUDIT_MUST_RECORD,
					 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					  errmsg("permission denied: %s", detail),
					  errhint("Only staff of an affair compute its pseudonyms; map a person between affairs with ledger.link().")));
	}
}

/* ledger.pseudonym(mn mynumber, affair text) RETURNS bytea — staff of the affair only. */
Datum
pseudonym_of_number(PG_FUNCTION_ARGS)
{
	char	   *affair = text_to_cstring(PG_GETARG_TEXT_PP(1));

	require_affair_duty(affair);
	PG_RETURN_BYTEA_P(pseudonym(PG_GETARG_INT64(0), affair));
}

/*
 * ledger._pseudonym_of_sealed(value sealed_mynumber, context text, affair text) RETURNS
 * bytea — for ledger.link and enrolment, run as the extension owner (EXECUTE revoked from
 * PUBLIC): the number is opened and hashed here and never leaves.
 */
Datum
pseudonym_of_sealed(PG_FUNCTION_ARGS)
{
	int64		value = sealed_open(PG_GETARG_BYTEA_PP(0), PG_GETARG_TEXT_PP(1));
	bytea	   *out = pseudonym(value, text_to_cstring(PG_GETARG_TEXT_PP(2)));

	value = 0;
	PG_RETURN_BYTEA_P(out);
}
