"""The three benchmark jobs (issue 3), shared by every script in bench/."""

from collections import namedtuple

Job = namedtuple("Job", "name ops width height fill quality")

JOBS = [
    Job("fill 280x210 q80", "280x210c-q80", 280, 210, True, 80),
    Job("fit 280x280 q80", "280x280-q80", 280, 280, False, 80),
    Job("fit 1024x1024 q85", "1024x1024-q85", 1024, 1024, False, 85),
]
