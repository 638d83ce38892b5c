"""``python -m pipekit.job SPEC --status-file FILE``: run one remote job (see :mod:`pipekit.job.node`)."""

import sys

from pipekit.job.node import main

sys.exit(main())
