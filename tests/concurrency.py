"""Release n threads at once on one function and count what they got: the
shape of every race test (seats, points, coupons, stock)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from tenants.errors import DomainError


def race(n: int, fn: Callable[[int], object]) -> Counter[str]:
    """Run fn(0..n-1) in n threads released at once; count outcomes by error key
    ("ok" for a return, the DomainError's key, else the exception's text)."""
    barrier = threading.Barrier(n)
    out: Counter[str] = Counter()
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            fn(i)
            result = "ok"
        except DomainError as exc:
            result = exc.key
        except Exception as exc:  # pragma: no cover - shown in the assertion
            result = f"{type(exc).__name__}: {exc}"[:200]
        with lock:
            out[result] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out
