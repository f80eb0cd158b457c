"""The library's own small linear algebra runs on one BLAS thread.

A fit makes hundreds of small BLAS calls of its own (scoring each fold's
models, risk sums, bootstrap sums): each is too small to gain from threads,
and on a busy machine every call of a multithreaded OpenBLAS waits for
threads that the scheduler has parked, which made whole fits several times
slower. The base estimator's own fits keep the threads they are given.
"""

import functools

from threadpoolctl import ThreadpoolController

_CONTROLLER = []


def _controller():
    # Created on first use, once numpy and scipy have loaded their BLAS.
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def one_blas_thread(function):
    """Run ``function`` with every loaded BLAS limited to one thread; the
    limits in force before are restored after it."""

    @functools.wraps(function)
    def limited(*args, **kwargs):
        with _controller().limit(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return limited
