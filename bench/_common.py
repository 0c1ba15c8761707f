"""Small helpers shared by the bench scripts: timing statistics and a uniform report line."""
import statistics
import time


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def best_of(func, rounds: int = 20) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def report(name: str, measured: str, target: str, ok: bool) -> None:
    print(f"{name}: {measured} (target {target}) {'OK' if ok else 'MISSED'}")


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def reference_loop_ms() -> float:
    """CPU time of a fixed pure-Python loop (best of 3): this shared VM's speed drifts by up to half within
    minutes, which moves every figure with it; printed so a slow run shows as the machine's."""
    def once() -> float:
        started, total = time.process_time(), 0
        for i in range(1_000_000):
            total += i * i % 7
        return (time.process_time() - started) * 1000
    return min(once() for _ in range(3))
