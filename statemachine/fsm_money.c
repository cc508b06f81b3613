#include "fsm_money.h"

int64_t fsm_cost(int64_t units, int64_t price)
{
    if (units <= 0 || price <= 0) {
        return 0;
    }
    /* units * price is in milli-units * nano-dollars = 10^-12 dollars;
     * a micro-dollar is 10^6 of those. */
    __extension__ typedef unsigned __int128 u128;
    u128 p = (u128)units * (u128)price;
    u128 micro = p / 1000000u + (p % 1000000u != 0);
    return micro > (u128)INT64_MAX ? INT64_MAX : (int64_t)micro;
}

int64_t fsm_money_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Civil date from days since 1970-01-01 (H. Hinnant's algorithm). */
uint32_t fsm_month_of(int64_t ms)
{
    int64_t z = ms / 86400000 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    return (uint32_t)(y * 100 + m);
}

int fsm_month_valid(uint64_t yyyymm)
{
    uint64_t y = yyyymm / 100, m = yyyymm % 100;
    return y >= 1970 && y <= 9999 && m >= 1 && m <= 12;
}
