"""Plan a suite, identify its runs, and execute each run (in a child process, or on Ray)."""
