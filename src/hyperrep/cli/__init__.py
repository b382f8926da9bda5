"""The `hyperrep` command-line tool: a thin layer over the library."""

import os

# OpenMP threads that wait for work spin only briefly, then sleep: GNU OpenMP's long default
# spin starves a second CPU-bound job on a shared machine (measured: 15% of the alone rate
# beside another build, 54% with this; alone speed unchanged on the CNN kernels). Set here,
# in the command-line tool, before anything loads torch and its runtime; `import hyperrep`
# leaves the environment alone (docs/reliability.md). A policy or spin count the user set
# wins.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "3000"
