/*
 * number_in_text.c — is there a My Number in this text, or in this value as it reads?
 *
 * The ledger's free-text columns (a person's name and address, a certification's reason, a
 * disclosure's purpose ...) are read by every clerk of the org unit, while the number itself
 * is sealed and shown only through a recorded reveal.  An examiner who revealed a number and
 * wrote it into an address would store it in clear — in the heap, the WAL and every backup,
 * even when the transaction rolls back — where clerks read it.  Two controls refuse that:
 *
 *   ledger.contains_mynumber(text), (jsonb)   the ledger's own text and jsonb columns carry
 *                                             a CHECK over it (ledger.sql and the others);
 *   log_hygiene_value_has_number              every column of every protected table, the
 *                                             DBA's included, whatever its type, is tested
 *                                             by the row trigger protect_table attaches
 *                                             (staff/no_number.c).
 *
 * "A My Number" is exactly what the log masker masks: any text the type accepts as a valid
 * number (numbers/numparse.c; every width and separator it allows, check digit right, not
 * all zeros), standing alone.  The masker reads the database's encoding (EUC_JP included),
 * which is fixed for a database: the functions are IMMUTABLE and never raise.  A jsonb value
 * is read decoded — each key, string and number on its own — not as its text form, where an
 * escaped control character (\u0010) would join the number to a longer run of digits.
 *
 * What it cannot see, and docs/permissions.md says so: a number written in a form the type
 * does not accept (split across two columns, its base without the check digit, spelled in
 * words).  Those are deliberate encodings by someone who saw the number in a recorded reveal.
 *
 * Must never: raise (but for a json value jsonb refuses), or change its argument.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "core/mynumber_ledger.h"
#include "log_hygiene/log_hygiene.h"

PG_FUNCTION_INFO_V1(contains_mynumber);
PG_FUNCTION_INFO_V1(contains_mynumber_jsonb);

/* str[0..len): a My Number in it? */
static bool
chars_have_number(const char *str, size_t len)
{
	char	   *copy;
	bool		found;

	/* twelve ASCII digits are the shortest number the type accepts */
	if (len < 12)
		return false;
	copy = pnstrdup(str, len);	/* the masker writes: never into the caller's text */
	found = log_hygiene_mask(copy);
	pfree(copy);
	return found;
}

/* Each key, string and number of a jsonb value, decoded. */
static bool
jsonb_has_number(Jsonb *jb)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken r;

	while ((r = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (r != WJB_KEY && r != WJB_VALUE && r != WJB_ELEM)
			continue;
		if (v.type == jbvString && chars_have_number(v.val.string.val, v.val.string.len))
			return true;
		if (v.type == jbvNumeric)
		{
			char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));

			if (chars_have_number(s, strlen(s)))
				return true;
		}
	}
	return false;
}

/*
 * An integer's digits (an optional sign, then digits, maybe a fraction): the number type
 * stores a My Number as this integer, so one that begins with 0 reads as eleven digits.
 */
static bool
integer_has_number(const char *s)
{
	const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
	size_t		n = strspn(d, "0123456789");
	char		padded[13];

	if (chars_have_number(s, strlen(s)))
		return true;
	if (n != 11)
		return false;
	padded[0] = '0';
	memcpy(padded + 1, d, 11);
	padded[12] = '\0';
	return chars_have_number(padded, 12);
}

/*
 * How a value of type typid is read: jsonb (and json, read as jsonb) decoded; an integer (and
 * numeric, and money's amount) also as the twelve digits of a number that begins with 0; any
 * other type in its text form.  Not read: bytea and uuid, opaque by nature (a blind index or a
 * random identifier holds a valid number in its hexadecimal digits by chance — one blind index
 * in about 400 — and a number put there by hand is an encoding, like any other, of someone the
 * trail shows revealing it), and arrays of them.  The catalog is asked here, once per column
 * (the row trigger keeps the answer for its statement), not once per value.
 */
void
log_hygiene_value_reader(Oid typid, LogHygieneValueReader *reader, MemoryContext mcxt)
{
	Oid			base = getBaseType(typid);
	Oid			elem = get_element_type(base);
	Oid			output;
	bool		varlena;

	if (OidIsValid(elem))
		elem = getBaseType(elem);
	memset(reader, 0, sizeof(*reader));
	if (base == BYTEAOID || base == UUIDOID || elem == BYTEAOID || elem == UUIDOID)
		reader->kind = LH_READ_NOT;
	else if (base == TEXTOID || base == VARCHAROID || base == BPCHAROID)
		reader->kind = LH_READ_TEXT;
	else if (base == JSONBOID)
		reader->kind = LH_READ_JSONB;
	else if (base == JSONOID)
		reader->kind = LH_READ_JSON;
	else if (base == CASHOID)
		reader->kind = LH_READ_MONEY;
	else
	{
		reader->kind = (base == INT8OID || base == INT4OID || base == NUMERICOID) ?
			LH_READ_INTEGER : LH_READ_OUTPUT;
		getTypeOutputInfo(base, &output, &varlena);
		fmgr_info_cxt(output, &reader->output, mcxt);
	}
}

/* A My Number in this value, read as reader says? */
bool
log_hygiene_read_value(LogHygieneValueReader *reader, Datum value)
{
	char	   *s;

	switch (reader->kind)
	{
		case LH_READ_NOT:
			return false;
		case LH_READ_TEXT:
			{
				text	   *t = DatumGetTextPP(value);

				return chars_have_number(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
		case LH_READ_JSONB:
			return jsonb_has_number(DatumGetJsonbP(value));
		case LH_READ_JSON:
			return jsonb_has_number(DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																	   CStringGetDatum(TextDatumGetCString(value)))));
		case LH_READ_MONEY:

			/*
			 * Its text groups digits by thousands ($500,000,020,004.00): the amount itself, in
			 * the currency's smallest unit and in whole units (lc_monetary decides which it
			 * counts).
			 */
			return integer_has_number(psprintf(INT64_FORMAT, DatumGetInt64(value))) ||
				integer_has_number(psprintf(INT64_FORMAT, DatumGetInt64(value) / 100));
		case LH_READ_INTEGER:
			return integer_has_number(OutputFunctionCall(&reader->output, value));
		case LH_READ_OUTPUT:
			s = OutputFunctionCall(&reader->output, value);
			return chars_have_number(s, strlen(s));
	}
	elog(ERROR, "unknown value reader kind %d", (int) reader->kind);
	return false;				/* keep the compiler quiet */
}

/* A value of type typid: a My Number in it, as it reads (log_hygiene_value_reader)? */
bool
log_hygiene_value_has_number(Datum value, Oid typid)
{
	LogHygieneValueReader reader;

	log_hygiene_value_reader(typid, &reader, CurrentMemoryContext);
	return log_hygiene_read_value(&reader, value);
}

Datum
contains_mynumber(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	bool		found = chars_have_number(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));

	PG_FREE_IF_COPY(t, 0);
	PG_RETURN_BOOL(found);
}

Datum
contains_mynumber_jsonb(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(jsonb_has_number(PG_GETARG_JSONB_P(0)));
}
