/* cmocka with the headers it needs before it, in one place. */
#ifndef QM_TESTS_UNIT_HELPERS_TH_CMOCKA_H
#define QM_TESTS_UNIT_HELPERS_TH_CMOCKA_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#endif
