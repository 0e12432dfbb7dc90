import signal

from bench.cli import main

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `python -m bench list | head` ends quietly, as Unix tools do
raise SystemExit(main())
