"""bulletin: builds the Inspectorate's annual research bulletin from case-level data.

From Python (see docs/api.md):

    import bulletin
    ed = bulletin.open_edition("2018-19")     # cases, facts, models, tables
    bulletin.compare("2018-19", "2019-20")    # the diff as a data frame

The API is loaded on first use, so that the command line (`bulletin --help`,
`bulletin validate`) does not pay for pandas and the analysis when it does not need them.
"""

from __future__ import annotations

import os
from typing import Any

# One BLAS thread unless the user chose otherwise: measured, the X'WX products of model
# fitting ran 4 to 20 times slower with two OpenBLAS threads than with one on a busy
# two-core machine (docs/stepwise.md, "Speed"). OpenBLAS reads this only when numpy is
# first imported, so it is set here, before any stage imports numpy.
for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

__version__ = "0.1.0"
__all__ = ["BulletinError", "EditionData", "compare", "open_edition"]


def __getattr__(name: str) -> Any:
    if name in ("open_edition", "compare", "EditionData"):
        from bulletin import api

        return getattr(api, name)
    if name == "BulletinError":
        from bulletin.errors import BulletinError

        return BulletinError
    raise AttributeError(f"module 'bulletin' has no attribute {name!r}")
