#!/bin/sh
# Runs one test program with a hard time limit, so a hung test fails
# instead of hanging `make check` (and CI).
exec timeout --kill-after=15 "${LF_TEST_TIMEOUT:-900}" "$@"
