/*
 * log_hygiene.h — masking My Numbers in the server log (log_hygiene.c).
 */
#ifndef MNL_LOG_HYGIENE_H
#define MNL_LOG_HYGIENE_H

extern void log_hygiene_install(void);

/* Replace the digits of every valid My Number in str by '*'; true if any was found. */
extern bool log_hygiene_mask(char *str);

#endif							/* MNL_LOG_HYGIENE_H */
