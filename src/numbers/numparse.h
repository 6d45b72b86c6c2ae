/*
 * numparse.h — parsing and check digits of 個人番号 and 法人番号, free of
 * any PostgreSQL dependency.
 *
 * This is the one place that decides whether a string is a well-formed
 * My Number (個人番号, 12 digits, check digit last) or corporate number
 * (法人番号, 13 digits, check digit first).  The SQL layer (numbers.c) and
 * the fuzz target (test/fuzz/) both call it, which is why it must never
 * include postgres.h, allocate memory, or write anywhere but its out
 * parameters.
 *
 * Input is UTF-8.  The caller converts from the server encoding first.
 */
#ifndef MNL_NUMPARSE_H
#define MNL_NUMPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NP_MYNUMBER_DIGITS	12
#define NP_CORPORATE_DIGITS 13

/* Why an input was refused.  Messages for these live in numbers.c. */
typedef enum np_status
{
	NP_OK = 0,
	NP_EMPTY,					/* nothing but whitespace */
	NP_BAD_CHAR,				/* a character that is neither digit nor separator */
	NP_BAD_LENGTH,				/* wrong number of digits */
	NP_BAD_GROUPING,			/* separators not between the printed groups */
	NP_MIXED_SEPARATORS,		/* two different separator characters */
	NP_CHECK_DIGIT,				/* check digit does not match the base */
	NP_ALL_ZERO					/* 000000000000 while not allowed */
} np_status;

/*
 * Where the problem was, for the error message.  Never holds a digit of the
 * input: only a count and a character position.
 */
typedef struct np_detail
{
	int			position;		/* 1-based character position (NP_BAD_CHAR) */
	int			ndigits;		/* digits found (NP_BAD_LENGTH) */
} np_detail;

extern np_status np_parse_mynumber(const char *s, size_t len,
								   bool allow_all_zero,
								   int64_t *value, np_detail *detail);
extern np_status np_parse_corporate(const char *s, size_t len,
									int64_t *value, np_detail *detail);

/* Check digit of an 11-digit My Number base given as digit values 0..9. */
extern int	np_mynumber_check_digit(const uint8_t base[11]);

/* Check digit of a 12-digit corporate number base, digit values 0..9. */
extern int	np_corporate_check_digit(const uint8_t base[12]);

/*
 * Read exactly n digits (ASCII or full-width, nothing else, surrounding
 * whitespace allowed) into out[].  Used for check-digit helpers.
 */
extern np_status np_parse_base(const char *s, size_t len, int n,
							   uint8_t *out, np_detail *detail);

/* nummask.c: mask every valid My Number in str[0..len) in place; true if any. */
extern bool np_mask_numbers(char *str, size_t len);

/* Write the value as exactly ndigits ASCII digits plus a NUL. */
extern void np_format(int64_t value, int ndigits, char *out);

#endif							/* MNL_NUMPARSE_H */
