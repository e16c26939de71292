BEGIN READ ONLY;
COPY roh FROM STDIN;
500	1
\.
ROLLBACK;
SELECT count(*) FROM roh WHERE id = 500;
BEGIN READ ONLY;
COPY ror FROM STDIN;
500	1
\.
ROLLBACK;
BEGIN READ ONLY;
COPY rod FROM STDIN;
500	1
\.
ROLLBACK;
SET default_transaction_read_only = on;
COPY roh FROM STDIN;
501	1
\.
RESET default_transaction_read_only;
SELECT count(*) FROM roh WHERE id > 499;
