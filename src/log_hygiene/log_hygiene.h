/*
 * log_hygiene.h — masking My Numbers in the server log (log_hygiene.c).
 */
#ifndef MNL_LOG_HYGIENE_H
#define MNL_LOG_HYGIENE_H

#include "fmgr.h"

extern void log_hygiene_install(void);

/* Masking the text pg_stat_activity and pg_stat_statements keep (monitoring.c). */
extern void monitoring_install(void);

/*
 * Set by the staff statement gate (staff/session.c) at each statement: the session acts as a
 * staff member.  Its messages then carry at most LOG_HYGIENE_STAFF_TEXT bytes of message and
 * of detail, so that a staff member's RAISE or a failing cast cannot copy an org unit's rows
 * into the server log (a bulk road around the export duty, to the log's readers).
 */
#define LOG_HYGIENE_STAFF_TEXT 256
extern bool log_hygiene_staff_session;

/* Replace the digits of every valid My Number in str by '*'; true if any was found. */
extern bool log_hygiene_mask(char *str);
/* ... in a name PostgreSQL keeps in ASCII (application_name): non-ASCII runs read as separators */
extern bool log_hygiene_mask_ascii_name(char *str);

/* number_in_text.c: a My Number in this value (of this type), as it reads (jsonb decoded)? */
extern bool log_hygiene_value_has_number(Datum value, Oid typid);

/* ... the same, with the catalog asked once per column (a row trigger's statement) */
typedef enum LogHygieneReadKind
{
	LH_READ_NOT,				/* bytea, uuid: opaque, not read */
	LH_READ_TEXT,				/* text, varchar, char: as written */
	LH_READ_JSONB,				/* decoded */
	LH_READ_JSON,				/* read as jsonb, decoded */
	LH_READ_MONEY,				/* the amount, in both units */
	LH_READ_INTEGER,			/* its text, and as a number that begins with 0 */
	LH_READ_OUTPUT				/* its text form */
} LogHygieneReadKind;

typedef struct LogHygieneValueReader
{
	LogHygieneReadKind kind;
	FmgrInfo	output;			/* LH_READ_INTEGER, LH_READ_OUTPUT */
} LogHygieneValueReader;

extern void log_hygiene_value_reader(Oid typid, LogHygieneValueReader *reader, MemoryContext mcxt);
extern bool log_hygiene_read_value(LogHygieneValueReader *reader, Datum value);

#endif							/* MNL_LOG_HYGIENE_H */
