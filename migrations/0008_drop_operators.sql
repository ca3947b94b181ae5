-- Operators live in the config only: the copy kept here was written and never read.
DROP TABLE operators;
