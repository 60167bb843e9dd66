"""Started in every Python process of bench/across_hosts.py's run (bench/request_log.py).

That run puts this directory first on ``PYTHONPATH`` and names a directory in
``BENCH_REQUEST_LOG``; Python imports ``sitecustomize`` as it starts, so each
``drwlab`` command (``python -m drwlab ...``) on each host records the requests it
sends. Other processes (the mock pipeline's, ``python -m drwlab.pipeline``) and
every process outside that run are left alone: nothing imported, no CPU spent.
"""

import os
import sys
from pathlib import Path

if os.environ.get("BENCH_REQUEST_LOG") and sys.orig_argv[1:3] == ["-m", "drwlab"]:
    from bench.request_log import start

    start(Path(os.environ["BENCH_REQUEST_LOG"]))
