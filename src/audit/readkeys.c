/*
 * audit/readkeys.c — the row keys a read of a protected table returned: collected row by
 * row while the statement runs, written compactly into its "select" record, and read back
 * by the functions that answer "whose data" (本人開示, the incident question).
 *
 * A key set holds primary-key values.  Rows are grouped by the leading key columns (for the
 * ledger's tables, the 団体コード); within a group, an integer last column is kept as runs
 * of consecutive values, anything else as its distinct values.  The text form (the row_key
 * of a "select" record, docs/audit.md) has one element per group:
 *
 *     element := [ value ':' ]... set
 *     set     := item [ ',' item ]...
 *     item    := integer | integer '..' integer | value
 *
 * where value is the column's text form with '\', ':', ',' and '.' escaped by '\'.  So a
 * statement that read the persons 1 to 500 and 731 of municipality 131016 is recorded as
 * {131016:1..500,731}: one record, whatever the number of rows.
 *
 * Collecting costs a comparison of the leading values and an append per row; sorting
 * happens once, at the end, and only when the rows did not come in key order.
 *
 * Must never: record a value of a number type (a table whose key holds one has no key set),
 * or fail on a text it is asked to read back (it answers no match / no key instead).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "audit/audit.h"
#include "core/mynumber_ledger.h"

PG_FUNCTION_INFO_V1(audit_read_keys);
PG_FUNCTION_INFO_V1(audit_keys_contain);

typedef struct KeyRun
{
	int64		lo;
	int64		hi;
} KeyRun;

typedef struct KeyGroup
{
	Datum		lead[INDEX_MAX_KEYS];	/* values of the leading key columns (copies) */
	char	   *prefix;			/* their escaped text, each followed by ':' */
	KeyRun	   *runs;			/* an integer last column: runs of consecutive values */
	int64		nruns;
	int64		maxruns;
	bool		sorted;			/* runs in increasing order, never overlapping */
	char	  **texts;			/* another last column: escaped values */
	int64		ntexts;
	int64		maxtexts;
} KeyGroup;

struct ReadKeySet
{
	MemoryContext cxt;
	int			nkeys;
	int16		typlen[INDEX_MAX_KEYS];
	bool		typbyval[INDEX_MAX_KEYS];
	Oid			typid[INDEX_MAX_KEYS];
	FmgrInfo	out[INDEX_MAX_KEYS];
	bool		int_last;		/* the last key column is int2, int4 or int8 */
	KeyGroup  **groups;
	int			ngroups;
	int			maxgroups;
	KeyGroup   *current;		/* the group of the last row */
};

/* Runs kept unsorted before they are sorted and merged to make room. */
#define COMPACT_AT	65536

/*
 * The primary-key columns of rel, into attnos; 0 when it has none, or when one of them is
 * of a number type (its values never go into the trail).
 */
int
read_keys_table_keys(Relation rel, AttrNumber *attnos)
{
	Oid			pk = mnl_primary_key_index(rel);
	HeapTuple	itup;
	int			n = 0;
	int			i;

	if (!OidIsValid(pk))
		return 0;
	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));
	if (!HeapTupleIsValid(itup))
		return 0;
	for (i = 0; i < ((Form_pg_index) GETSTRUCT(itup))->indnkeyatts; i++)
	{
		AttrNumber	a = ((Form_pg_index) GETSTRUCT(itup))->indkey.values[i];

		if (a <= 0 || audit_is_number_type(TupleDescAttr(RelationGetDescr(rel), a - 1)->atttypid))
		{
			n = 0;
			break;
		}
		attnos[n++] = a;
	}
	ReleaseSysCache(itup);
	return n;
}

/* ---------------------------------------------------------------------------------------
 * What a read needs to know about a relation, cached per backend until its relcache entry
 * (or a schema's name) changes: every statement that reads a protected table asks.
 * ---------------------------------------------------------------------------------------
 */

static HTAB *rel_infos = NULL;

static void
rel_info_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	ReadRelInfo *info;

	hash_seq_init(&status, rel_infos);
	while ((info = hash_seq_search(&status)) != NULL)
		if (relid == InvalidOid || info->relid == relid)
			info->valid = false;
}

static void
rel_info_invalidate_all(Datum arg, int cacheid, uint32 hashvalue)
{
	rel_info_invalidate(arg, InvalidOid);
}

/*
 * What a read of relid needs to know: whether it is protected, its key columns and their
 * types, its name.  NULL for anything but an ordinary table.  The caller holds a lock on the
 * relation; the answer is valid until the next call (copy what is kept).
 */
const ReadRelInfo *
read_rel_info(Oid relid)
{
	ReadRelInfo *info;
	Relation	rel;
	bool		found;
	int			i;

	if (rel_infos == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(ReadRelInfo);
		rel_infos = hash_create("mynumber_ledger read relations", 64, &ctl, HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(rel_info_invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, rel_info_invalidate_all, (Datum) 0);
	}
	info = hash_search(rel_infos, &relid, HASH_ENTER, &found);
	if (found && info->valid)
		return info->is_table ? info : NULL;

	info->valid = false;
	info->is_table = get_rel_relkind(relid) == RELKIND_RELATION;
	info->protected = false;
	info->nkeys = 0;
	info->relname[0] = '\0';
	if (info->is_table && RelationIsValid(rel = RelationIdGetRelation(relid)))
	{
		info->protected = mnl_is_protected(rel);
		/* keys only for a protected table: the extension is in this database then */
		info->nkeys = info->protected ? read_keys_table_keys(rel, info->attnos) : 0;
		for (i = 0; i < info->nkeys; i++)
		{
			bool		varlena;

			info->typid[i] = TupleDescAttr(RelationGetDescr(rel), info->attnos[i] - 1)->atttypid;
			get_typlenbyval(info->typid[i], &info->typlen[i], &info->typbyval[i]);
			getTypeOutputInfo(info->typid[i], &info->outfn[i], &varlena);
		}
		strlcpy(info->relname,
				quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										   RelationGetRelationName(rel)),
				sizeof(info->relname));
		RelationClose(rel);
	}
	info->valid = true;
	return info->is_table ? info : NULL;
}

/* A key set for rows of a relation, allocated in cxt; NULL when it has no key to name rows by. */
ReadKeySet *
read_keys_create(const ReadRelInfo *info, MemoryContext cxt)
{
	ReadKeySet *ks;
	int			n = info->nkeys;
	int			i;

	if (n == 0)
		return NULL;
	ks = MemoryContextAllocZero(cxt, sizeof(ReadKeySet));
	ks->cxt = cxt;
	ks->nkeys = n;
	for (i = 0; i < n; i++)
	{
		ks->typid[i] = info->typid[i];
		ks->typlen[i] = info->typlen[i];
		ks->typbyval[i] = info->typbyval[i];
		fmgr_info_cxt(info->outfn[i], &ks->out[i], cxt);
	}
	ks->int_last = ks->typid[n - 1] == INT2OID || ks->typid[n - 1] == INT4OID ||
		ks->typid[n - 1] == INT8OID;
	return ks;
}

/* Append s to buf with '\', ':', ',' and '.' escaped. */
static void
append_escaped(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		if (*s == '\\' || *s == ':' || *s == ',' || *s == '.')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *s);
	}
}

static char *
escaped_value(ReadKeySet *ks, int col, Datum value)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_escaped(&buf, OutputFunctionCall(&ks->out[col], value));
	return buf.data;
}

/* The group of rows whose leading key values are lead: found by their text, or new. */
static KeyGroup *
find_group(ReadKeySet *ks, const Datum *lead)
{
	MemoryContext old = MemoryContextSwitchTo(ks->cxt);
	StringInfoData buf;
	KeyGroup   *g;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < ks->nkeys - 1; i++)
	{
		append_escaped(&buf, OutputFunctionCall(&ks->out[i], lead[i]));
		appendStringInfoChar(&buf, ':');
	}
	for (i = 0; i < ks->ngroups; i++)
		if (strcmp(ks->groups[i]->prefix, buf.data) == 0)
		{
			pfree(buf.data);
			MemoryContextSwitchTo(old);
			return ks->groups[i];
		}
	g = palloc0(sizeof(KeyGroup));
	g->prefix = buf.data;
	g->sorted = true;
	for (i = 0; i < ks->nkeys - 1; i++)
		g->lead[i] = datumCopy(lead[i], ks->typbyval[i], ks->typlen[i]);
	if (ks->ngroups == ks->maxgroups)
	{
		ks->maxgroups = Max(4, ks->maxgroups * 2);
		ks->groups = ks->groups ? repalloc(ks->groups, sizeof(KeyGroup *) * ks->maxgroups)
			: palloc(sizeof(KeyGroup *) * ks->maxgroups);
	}
	ks->groups[ks->ngroups++] = g;
	MemoryContextSwitchTo(old);
	return g;
}

static int
cmp_runs(const void *a, const void *b)
{
	int64		x = ((const KeyRun *) a)->lo;
	int64		y = ((const KeyRun *) b)->lo;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Sort (if needed) and merge overlapping or adjacent runs. */
static void
compact_runs(KeyGroup *g)
{
	int64		n = 0;
	int64		i;

	if (g->nruns == 0)
		return;
	if (!g->sorted)
		qsort(g->runs, g->nruns, sizeof(KeyRun), cmp_runs);
	for (i = 1; i < g->nruns; i++)
	{
		KeyRun	   *r = &g->runs[n];

		if (g->runs[i].lo <= r->hi || (r->hi < PG_INT64_MAX && g->runs[i].lo == r->hi + 1))
			r->hi = Max(r->hi, g->runs[i].hi);
		else
			g->runs[++n] = g->runs[i];
	}
	g->nruns = n + 1;
	g->sorted = true;
}

static void
add_int(ReadKeySet *ks, KeyGroup *g, int64 v)
{
	if (g->nruns > 0)
	{
		KeyRun	   *r = &g->runs[g->nruns - 1];

		if (v >= r->lo && v <= r->hi)
			return;
		if (r->hi < PG_INT64_MAX && v == r->hi + 1)
		{
			r->hi = v;
			return;
		}
		if (v < r->lo)
			g->sorted = false;
	}
	if (g->nruns == g->maxruns)
	{
		if (!g->sorted && g->nruns >= COMPACT_AT)
			compact_runs(g);
		if (g->maxruns == 0 || g->nruns * 2 > g->maxruns)
		{
			g->maxruns = Max(64, g->maxruns * 2);
			g->runs = g->runs ? repalloc_huge(g->runs, sizeof(KeyRun) * g->maxruns)
				: MemoryContextAllocHuge(ks->cxt, sizeof(KeyRun) * g->maxruns);
		}
	}
	g->runs[g->nruns].lo = g->runs[g->nruns].hi = v;
	g->nruns++;
}

static int
cmp_texts(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
compact_texts(KeyGroup *g)
{
	int64		n = 0;
	int64		i;

	if (g->ntexts == 0)
		return;
	qsort(g->texts, g->ntexts, sizeof(char *), cmp_texts);
	for (i = 1; i < g->ntexts; i++)
		if (strcmp(g->texts[i], g->texts[n]) != 0)
			g->texts[++n] = g->texts[i];
	g->ntexts = n + 1;
}

static void
add_text(ReadKeySet *ks, KeyGroup *g, Datum v)
{
	MemoryContext old = MemoryContextSwitchTo(ks->cxt);
	char	   *s = escaped_value(ks, ks->nkeys - 1, v);

	if (g->ntexts > 0 && strcmp(g->texts[g->ntexts - 1], s) == 0)
		pfree(s);
	else
	{
		if (g->ntexts == g->maxtexts)
		{
			if (g->ntexts >= COMPACT_AT)
				compact_texts(g);
			if (g->maxtexts == 0 || g->ntexts * 2 > g->maxtexts)
			{
				g->maxtexts = Max(64, g->maxtexts * 2);
				g->texts = g->texts ? repalloc_huge(g->texts, sizeof(char *) * g->maxtexts)
					: MemoryContextAllocHuge(ks->cxt, sizeof(char *) * g->maxtexts);
			}
		}
		g->texts[g->ntexts++] = s;
	}
	MemoryContextSwitchTo(old);
}

/*
 * One row read: its key columns are attnos of slot (the scan's own tuple).  A NULL key value
 * (never in a primary key) names nothing.
 */
void
read_keys_add(ReadKeySet *ks, TupleTableSlot *slot, const AttrNumber *attnos)
{
	Datum		lead[INDEX_MAX_KEYS];
	KeyGroup   *g = ks->current;
	int			nlead = ks->nkeys - 1;
	bool		isnull;
	Datum		last;
	int			i;

	for (i = 0; i < nlead; i++)
	{
		lead[i] = slot_getattr(slot, attnos[i], &isnull);
		if (isnull)
			return;
		if (g != NULL && !datumIsEqual(lead[i], g->lead[i], ks->typbyval[i], ks->typlen[i]))
			g = NULL;
	}
	if (g == NULL)
		g = ks->current = find_group(ks, lead);
	last = slot_getattr(slot, attnos[nlead], &isnull);
	if (isnull)
		return;
	if (!ks->int_last)
		add_text(ks, g, last);
	else if (ks->typid[nlead] == INT8OID)
		add_int(ks, g, DatumGetInt64(last));
	else if (ks->typid[nlead] == INT4OID)
		add_int(ks, g, DatumGetInt32(last));
	else
		add_int(ks, g, DatumGetInt16(last));
}

/* Did the statement read any row? */
bool
read_keys_empty(ReadKeySet *ks)
{
	return ks->ngroups == 0;
}

/* Forget the rows so far (they were recorded); the set goes on collecting. */
void
read_keys_clear(ReadKeySet *ks)
{
	ks->ngroups = 0;
	ks->current = NULL;
}

/*
 * The key set as row_key elements (char *, in the current memory context), each at most
 * about max_element bytes: a group larger than that is split over several elements with
 * the same leading values.
 */
List *
read_keys_encode(ReadKeySet *ks, Size max_element)
{
	List	   *out = NIL;
	int			gi;

	for (gi = 0; gi < ks->ngroups; gi++)
	{
		KeyGroup   *g = ks->groups[gi];
		StringInfoData buf;
		int64		n;
		int64		i;
		int			items = 0;
		char		item[64];

		if (ks->int_last)
			compact_runs(g);
		else
			compact_texts(g);
		n = ks->int_last ? g->nruns : g->ntexts;
		initStringInfo(&buf);
		appendStringInfoString(&buf, g->prefix);
		for (i = 0; i < n; i++)
		{
			const char *text = item;

			if (!ks->int_last)
				text = g->texts[i];
			else
			{
				int			len = pg_lltoa(g->runs[i].lo, item);

				if (g->runs[i].hi != g->runs[i].lo)
				{
					/* two values as a pair, more as a run */
					if (g->runs[i].hi == g->runs[i].lo + 1)
						item[len++] = ',';
					else
					{
						item[len++] = '.';
						item[len++] = '.';
					}
					pg_lltoa(g->runs[i].hi, item + len);
				}
			}
			if (items > 0 && buf.len + strlen(text) + 1 > max_element)
			{
				out = lappend(out, buf.data);
				initStringInfo(&buf);
				appendStringInfoString(&buf, g->prefix);
				items = 0;
			}
			if (items++ > 0)
				appendStringInfoChar(&buf, ',');
			appendStringInfoString(&buf, text);
		}
		if (items > 0)
			out = lappend(out, buf.data);
		else
			pfree(buf.data);
	}
	return out;
}

/* ---------------------------------------------------------------------------------------
 * Reading the text form back
 * ---------------------------------------------------------------------------------------
 */

/*
 * Split s at its unescaped sep characters into unescaped parts (palloc'd).  For ',' the
 * parts keep a mark of whether they held an unescaped ".." (a range): *ranges[i] is the
 * offset of that ".." in the unescaped part, or -1.
 */
static List *
split_unescaped(const char *s, char sep, List **ranges)
{
	List	   *parts = NIL;
	StringInfoData buf;
	int			range_at = -1;

	initStringInfo(&buf);
	for (;; s++)
	{
		if (*s == '\\' && s[1] != '\0')
		{
			s++;
			appendStringInfoChar(&buf, *s);
			continue;
		}
		if (*s == '\0' || *s == sep)
		{
			parts = lappend(parts, buf.data);
			if (ranges)
				*ranges = lappend_int(*ranges, range_at);
			if (*s == '\0')
				break;
			initStringInfo(&buf);
			range_at = -1;
			continue;
		}
		if (ranges && *s == '.' && s[1] == '.' && range_at < 0)
		{
			range_at = buf.len;
			appendStringInfoString(&buf, "..");
			s++;
			continue;
		}
		appendStringInfoChar(&buf, *s);
	}
	return parts;
}

/* Split an element at its unescaped ':' (leading values, then the set), keeping escapes in
 * the set so that its ',' and '..' can be told apart from escaped ones. */
static List *
split_element(const char *s, char **set)
{
	List	   *lead = NIL;
	StringInfoData buf;
	const char *start = s;

	initStringInfo(&buf);
	for (; *s; s++)
	{
		if (*s == '\\' && s[1] != '\0')
		{
			appendStringInfoChar(&buf, s[1]);
			s++;
		}
		else if (*s == ':')
		{
			lead = lappend(lead, buf.data);
			initStringInfo(&buf);
			start = s + 1;
		}
		else
			appendStringInfoChar(&buf, *s);
	}
	*set = pstrdup(start);
	pfree(buf.data);
	return lead;
}

static bool
parse_int64(const char *s, int64 *out)
{
	char	   *end;
	long long	v;

	if (*s == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (int64) v;
	return true;
}

typedef struct KeyItem
{
	char	   *value;			/* a single value, unescaped; NULL for a range */
	int64		lo;
	int64		hi;
} KeyItem;

/* The items of a set, in order; a malformed range is taken as a value (it names no row). */
static List *
parse_set(const char *set)
{
	List	   *ranges = NIL;
	List	   *parts = split_unescaped(set, ',', &ranges);
	List	   *items = NIL;
	ListCell   *lc,
			   *rc;

	forboth(lc, parts, rc, ranges)
	{
		char	   *p = lfirst(lc);
		int			at = lfirst_int(rc);
		KeyItem    *it = palloc0(sizeof(KeyItem));

		if (at >= 0)
		{
			p[at] = '\0';
			if (!parse_int64(p, &it->lo) || !parse_int64(p + at + 2, &it->hi) || it->lo > it->hi)
			{
				p[at] = '.';
				it->value = p;
			}
		}
		else
			it->value = p;
		items = lappend(items, it);
	}
	return items;
}

/* The non-NULL elements of a text[] as C strings. */
static List *
array_strings(ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	List	   *out = NIL;

	if (ARR_ELEMTYPE(arr) != TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("row keys must be a text array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
		if (!nulls[i])
			out = lappend(out, TextDatumGetCString(elems[i]));
	return out;
}

/* Where ledger.audit_read_keys is in its key set, between calls. */
typedef struct ReadKeysWalk
{
	List	   *elements;		/* the array's non-NULL elements */
	int			next_element;
	Datum	   *vals;			/* leading values of the current element, then the last */
	int			nlead;
	List	   *items;			/* the current element's set */
	int			next_item;
	KeyItem    *item;			/* the item being walked; NULL between items */
	int64		v;				/* the next value of a range */
	MemoryContext row_cxt;		/* each returned row, reset at the next call */
	int64		total;			/* keys named so far (check_key_count) */
} ReadKeysWalk;

/*
 * No record names more rows than a statement can read, and a FROM clause stores every row
 * the function returns before the first is read: a forged range of 2^63 keys would fill the
 * disk.  At most READ_KEYS_MAX keys per call.
 */
#define READ_KEYS_MAX	INT64CONST(100000000)

static void
check_key_count(ReadKeysWalk *w)
{
	ListCell   *lc;

	foreach(lc, w->items)
	{
		KeyItem    *it = lfirst(lc);
		uint64		span = it->value != NULL ? 0 : (uint64) it->hi - (uint64) it->lo;	/* hi >= lo */
		int64		n = span < (uint64) READ_KEYS_MAX ? (int64) span + 1 : READ_KEYS_MAX + 1;

		w->total += n;
		if (w->total > READ_KEYS_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("row keys name more than %lld rows", (long long) READ_KEYS_MAX),
					 errhint("No statement's record names that many; ask about one row with ledger.audit_keys_contain().")));
	}
}

/*
 * SQL function: ledger.audit_read_keys(row_keys text[]) returns setof text[]
 * The row keys of a "select" record one by one, each as the row_key of a change record.
 * One row per call (value per call): a range of any length costs no memory, and a LIMIT
 * or a cancellation stops it.
 */
Datum
audit_read_keys(PG_FUNCTION_ARGS)
{
	FuncCallContext *fc;
	ReadKeysWalk *w;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;

		fc = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(fc->multi_call_memory_ctx);
		w = palloc0(sizeof(ReadKeysWalk));
		w->elements = PG_ARGISNULL(0) ? NIL : array_strings(PG_GETARG_ARRAYTYPE_P(0));
		w->row_cxt = AllocSetContextCreate(fc->multi_call_memory_ctx, "audit_read_keys row",
										   ALLOCSET_SMALL_SIZES);
		fc->user_fctx = w;
		MemoryContextSwitchTo(old);
	}
	fc = SRF_PERCALL_SETUP();
	w = fc->user_fctx;
	MemoryContextReset(w->row_cxt);
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (w->item == NULL && w->items != NIL && w->next_item < list_length(w->items))
		{
			w->item = list_nth(w->items, w->next_item++);
			w->v = w->item->lo;
		}
		if (w->item != NULL)
		{
			KeyItem    *it = w->item;
			MemoryContext old = MemoryContextSwitchTo(w->row_cxt);
			char		num[32];
			Datum		row;

			if (it->value == NULL)
			{
				snprintf(num, sizeof(num), INT64_FORMAT, w->v);
				w->vals[w->nlead] = CStringGetTextDatum(num);
			}
			else
				w->vals[w->nlead] = CStringGetTextDatum(it->value);
			row = PointerGetDatum(construct_array(w->vals, w->nlead + 1, TEXTOID, -1, false, TYPALIGN_INT));
			MemoryContextSwitchTo(old);
			if (it->value != NULL || w->v == it->hi)
				w->item = NULL;
			else
				w->v++;
			SRF_RETURN_NEXT(fc, row);
		}
		/* the current element is done: the next one */
		if (w->next_element >= list_length(w->elements))
			SRF_RETURN_DONE(fc);
		{
			MemoryContext old = MemoryContextSwitchTo(fc->multi_call_memory_ctx);
			char	   *set;
			List	   *lead = split_element(list_nth(w->elements, w->next_element++), &set);
			ListCell   *vc;
			int			i = 0;

			w->nlead = list_length(lead);
			w->vals = palloc(sizeof(Datum) * (w->nlead + 1));
			foreach(vc, lead)
				w->vals[i++] = CStringGetTextDatum(lfirst(vc));
			w->items = parse_set(set);
			w->next_item = 0;
			MemoryContextSwitchTo(old);
			check_key_count(w);
		}
	}
}

/*
 * SQL function: ledger.audit_keys_contain(row_keys text[], row_key text[]) returns boolean
 * Does the key set of a "select" record name the row whose key is row_key?  NULL for NULL.
 */
Datum
audit_keys_contain(PG_FUNCTION_ARGS)
{
	List	   *want;
	int			nwant;
	ListCell   *lc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	want = array_strings(PG_GETARG_ARRAYTYPE_P(1));
	nwant = list_length(want);
	if (nwant == 0 || nwant != ArrayGetNItems(ARR_NDIM(PG_GETARG_ARRAYTYPE_P(1)),
											  ARR_DIMS(PG_GETARG_ARRAYTYPE_P(1))))
		PG_RETURN_BOOL(false);	/* an empty key, or one with a NULL value, names no row */
	foreach(lc, array_strings(PG_GETARG_ARRAYTYPE_P(0)))
	{
		char	   *set;
		List	   *lead = split_element(lfirst(lc), &set);
		const char *last = llast(want);
		int64		v = 0;
		bool		is_int = parse_int64(last, &v);
		bool		same = list_length(lead) == nwant - 1;
		ListCell   *a,
				   *b;
		ListCell   *ic;

		if (!same)
			continue;
		forboth(a, lead, b, want)
			if (strcmp(lfirst(a), lfirst(b)) != 0)
				same = false;
		if (!same)
			continue;
		foreach(ic, parse_set(set))
		{
			KeyItem    *it = lfirst(ic);

			if (it->value != NULL ? strcmp(it->value, last) == 0 : (is_int && v >= it->lo && v <= it->hi))
				PG_RETURN_BOOL(true);
		}
	}
	PG_RETURN_BOOL(false);
}
