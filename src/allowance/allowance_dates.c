/*
 * allowance_dates.c — the date rules of the 児童手当, in C because every payment run evaluates
 * them for every child and month (four per row): a person reaches an age on the day before
 * the birthday (年齢計算ニ関スル法律, 民法第143条), 「N歳に達する日以後の最初の3月31日」 and the
 * last month of the under-3 amount.  The SQL definitions they replace are kept as the
 * reference the tests compare them with (test/pgtap/allowance_dates.sql).
 *
 * Dates outside what a birth date can be (before 1900, after 9999) are refused: the
 * arithmetic below is plain Gregorian and never needs PostgreSQL's infinities.
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/date.h"
#include "utils/datetime.h"

#include "core/mynumber_ledger.h"

PG_FUNCTION_INFO_V1(allowance_age_reached_on);
PG_FUNCTION_INFO_V1(allowance_first_march31);
PG_FUNCTION_INFO_V1(allowance_school_year_end);
PG_FUNCTION_INFO_V1(allowance_under3_last_month);

#define MIN_YEAR 1900
#define MAX_YEAR 9999

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static DateADT
checked_finite(DateADT d)
{
	if (DATE_NOT_FINITE(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the allowance date rules need a finite date"),
				 errhint("Give a birth date between %d and %d.", MIN_YEAR, MAX_YEAR)));
	return d;
}

static void
split(DateADT d, int *y, int *m, int *day)
{
	(void) checked_finite(d);
	j2date(d + POSTGRES_EPOCH_JDATE, y, m, day);
	if (*y < MIN_YEAR || *y > MAX_YEAR)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("date out of range for the allowance date rules"),
				 errhint("Give a date between %d and %d.", MIN_YEAR, MAX_YEAR)));
}

static DateADT
join(int y, int m, int day)
{
	return date2j(y, m, day) - POSTGRES_EPOCH_JDATE;
}

static int
checked_years(int32 years)
{
	if (years < 0 || years > 150)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an age must be between 0 and 150 years"),
				 errhint("The allowance rules use 3, 12, 15, 18 and 22.")));
	return years;
}

/* The day before the birthday of the given age; a 29 February birthday in a common year: 28 Feb. */
static DateADT
age_reached_on(DateADT birth, int years)
{
	int			y, m, d;

	split(checked_finite(birth) - 1, &y, &m, &d);
	y += years;
	if (m == 2 && d == 29 && !is_leap(y))
		d = 28;
	return join(y, m, d);
}

/* The first 31 March on or after d. */
static DateADT
first_march31(DateADT d)
{
	int			y, m, day;

	split(d, &y, &m, &day);
	return join(m > 3 ? y + 1 : y, 3, 31);
}

Datum
allowance_age_reached_on(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(age_reached_on(PG_GETARG_DATEADT(0), checked_years(PG_GETARG_INT32(1))));
}

Datum
allowance_first_march31(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(first_march31(PG_GETARG_DATEADT(0)));
}

Datum
allowance_school_year_end(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(first_march31(age_reached_on(PG_GETARG_DATEADT(0),
												   checked_years(PG_GETARG_INT32(1)))));
}

/* The first day of the month of the 3rd birthday. */
Datum
allowance_under3_last_month(PG_FUNCTION_ARGS)
{
	int			y, m, d;

	split(PG_GETARG_DATEADT(0), &y, &m, &d);
	PG_RETURN_DATEADT(join(y + 3, m, 1));
}
