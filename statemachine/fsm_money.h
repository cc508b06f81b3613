/* Money and the calendar, in integers: the cost of an amount at a price,
 * and the UTC month of a cluster time. Pure functions, thread-safe. */
#ifndef QM_STATEMACHINE_FSM_MONEY_H
#define QM_STATEMACHINE_FSM_MONEY_H

#include <stdint.h>

/* Micro-dollars for @units milli-units at @price nano-dollars per unit,
 * rounded up (a charge never rounds to free). Exact for every amount and
 * price qm_limits.h allows; saturates at INT64_MAX. */
int64_t fsm_cost(int64_t units, int64_t price);

/* @a + @b for amounts >= 0 (micro-dollars, milli-units), saturating at
 * INT64_MAX like fsm_cost, so that sums of saturated costs never wrap. */
int64_t fsm_money_add(int64_t a, int64_t b);

/* YYYYMM of the UTC calendar month holding @ms (milliseconds since the
 * epoch, >= 0). */
uint32_t fsm_month_of(int64_t ms);

/* Whether @yyyymm is a real month (year 1970..9999, month 1..12). */
int fsm_month_valid(uint64_t yyyymm);

#endif
