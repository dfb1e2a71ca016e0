/* Times of X.509: the "YYYYMMDDhhmmss" UTC text the core's API takes, seconds since the
 * epoch, and the Time of a certificate's validity. Not exported. */
#ifndef CC_TIME_H
#define CC_TIME_H

#include "cc_internal.h"
#include "mbedtls/x509.h"

#define CC_TIME_LEN 14   /* YYYYMMDDhhmmss */

/* Reads "YYYYMMDDhhmmss" (UTC): 14 digits and a real date and time of the proleptic
 * Gregorian calendar, year 0000 included (callers that refuse it check t->year).
 * CC_E_TIME otherwise. */
int cc_time_parse(const uint8_t *s, size_t len, mbedtls_x509_time *t);

/* Seconds since the epoch of a checked time (year 0-9999, a real date). */
long long cc_time_unix(const mbedtls_x509_time *t);

/* Writes text (CC_TIME_LEN digits, checked) of the given year as a Time: UTCTime for 1950
 * through 2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
int cc_time_write(unsigned char **p, const unsigned char *start, const uint8_t *text, int year);

#endif /* CC_TIME_H */
