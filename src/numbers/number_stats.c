/*
 * number_stats.c — ANALYZE support for the number types that keeps the
 * numbers themselves out of pg_statistic.
 *
 * PostgreSQL's standard statistics copy sample values into
 * most_common_vals and histogram_bounds, readable through pg_stats.  For a
 * column of My Numbers that would be a plaintext copy of real numbers in a
 * catalog (invariant 2).  This typanalyze gathers only what the planner
 * needs for equality and joins — the null fraction, the width and the
 * number of distinct values — and never stores a value.
 *
 * Must never: fill a stavalues slot.
 */
#include "postgres.h"

#include <math.h>

#include "commands/vacuum.h"
#include "fmgr.h"

#include "core/mynumber_ledger.h"

PG_FUNCTION_INFO_V1(number_typanalyze);

static int
compare_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * Null fraction and distinct count from the sample.  The distinct estimate
 * is the Haas-Stokes "Duj1" estimator that ANALYZE uses for scalar columns:
 * n*d / (n - f1 + f1*n/N), with d distinct values in the sample, f1 of them
 * seen exactly once, n non-null sampled rows and N non-null rows in total.
 */
static void
compute_count_only_stats(VacAttrStatsP stats, AnalyzeAttrFetchFunc fetchfunc,
						 int samplerows, double totalrows)
{
	int64	   *values = palloc(Max(samplerows, 1) * sizeof(int64));
	int			nonnull = 0;
	int			nulls = 0;
	int			distinct = 0;
	int			singletons = 0;
	int			i;

	for (i = 0; i < samplerows; i++)
	{
		bool		isnull;
		Datum		d;

		mnl_analyze_delay_point();
		d = fetchfunc(stats, i, &isnull);
		if (isnull)
			nulls++;
		else
			values[nonnull++] = DatumGetInt64(d);
	}

	if (samplerows == 0)
		return;

	stats->stats_valid = true;
	stats->stanullfrac = (double) nulls / (double) samplerows;
	stats->stawidth = sizeof(int64);

	if (nonnull == 0)
	{
		stats->stadistinct = 0.0;
		return;
	}

	qsort(values, nonnull, sizeof(int64), compare_int64);
	for (i = 0; i < nonnull;)
	{
		int			j = i + 1;

		while (j < nonnull && values[j] == values[i])
			j++;
		distinct++;
		if (j - i == 1)
			singletons++;
		i = j;
	}
	pfree(values);

	if (singletons == distinct)
		stats->stadistinct = -1.0 * (1.0 - stats->stanullfrac);	/* unique */
	else
	{
		double		n = nonnull;
		double		N = totalrows * (1.0 - stats->stanullfrac);
		double		est = N > 0 ? (n * distinct) / ((n - singletons) + singletons * n / N) : 0;

		if (est < distinct)
			est = distinct;
		if (est > N)
			est = N;
		stats->stadistinct = floor(est + 0.5);
		if (stats->stadistinct > 0.1 * totalrows)
			stats->stadistinct = -(stats->stadistinct / totalrows);
	}
}

Datum
number_typanalyze(PG_FUNCTION_ARGS)
{
	VacAttrStats *stats = (VacAttrStats *) PG_GETARG_POINTER(0);
	int			target = MNL_STATTARGET(stats);

	if (target < 0)
		target = default_statistics_target;
	stats->compute_stats = compute_count_only_stats;
	stats->minrows = 300 * target;
	PG_RETURN_BOOL(true);
}
