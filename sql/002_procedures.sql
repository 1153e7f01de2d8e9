-- 002_procedures.sql - the stored procedures were created here until they
-- moved to procedures.sql, which `ledgerflowctl migrate` applies (with
-- CREATE OR REPLACE) whenever it changes. Kept as a no-op so that the
-- version stays recorded the same way on every database.
DO 0;
