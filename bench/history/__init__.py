"""History across commits (asv's model): a store of result rows filed by machine class and suite, keyed
by git sha and time; change-point detection over commit order; a report and a CI check."""
