/* Times of X.509: see cc_time.h. */
#include <string.h>

#include "cc_time.h"
#include "mbedtls/asn1write.h"

static int days_in_month(int y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return days[m - 1] + (m == 2 && leap);
}

int cc_time_parse(const uint8_t *s, size_t len, mbedtls_x509_time *t)
{
    static const int widths[6] = { 4, 2, 2, 2, 2, 2 };
    int v[6] = { 0 }, f, i;
    size_t pos = 0;

    if (len != CC_TIME_LEN) {
        return CC_E_TIME;
    }
    for (f = 0; f < 6; f++) {
        for (i = 0; i < widths[f]; i++, pos++) {
            if (s[pos] < '0' || s[pos] > '9') {
                return CC_E_TIME;
            }
            v[f] = v[f] * 10 + (s[pos] - '0');
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > days_in_month(v[0], v[1]) ||
        v[3] > 23 || v[4] > 59 || v[5] > 59) {
        return CC_E_TIME;
    }
    t->year = v[0], t->mon = v[1], t->day = v[2], t->hour = v[3], t->min = v[4], t->sec = v[5];
    return CC_OK;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long long days_from_civil(long long y, int m, int d)
{
    long long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

long long cc_time_unix(const mbedtls_x509_time *t)
{
    return days_from_civil(t->year, t->mon, t->day) * 86400 +
           t->hour * 3600 + t->min * 60 + t->sec;
}

int cc_time_write(unsigned char **p, const unsigned char *start, const uint8_t *text, int year)
{
    char z[CC_TIME_LEN + 1];
    int utc = year >= 1950 && year <= 2049;
    size_t n = utc ? CC_TIME_LEN - 2 : CC_TIME_LEN;

    /* UTCTime drops the century; both end in Z (UTC) and have seconds (RFC 5280). */
    memcpy(z, utc ? text + 2 : text, n);
    z[n] = 'Z';
    return mbedtls_asn1_write_tagged_string(p, start, utc ? MBEDTLS_ASN1_UTC_TIME
                                                          : MBEDTLS_ASN1_GENERALIZED_TIME,
                                            z, n + 1);
}
